"""Shared test setup. Test data nobody here wrote lives in ../shared/data beside the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
CUAD = SHARED_DATA / "cuad"
PDFS = SHARED_DATA / "pdfs"

# Small real contracts used across layers (1 and 3 pages).
ONE_PAGE_CONTRACT = (
    CUAD / "pdfs" / "BellringBrandsInc_20190920_S-1_EX-10.12_11817081_EX-10.12_"
    "Manufacturing Agreement2.pdf"
)
THREE_PAGE_CONTRACT = CUAD / "pdfs" / "ATENTOSA_07_06_2020-EX-99.1-JOINT FILING AGREEMENT.PDF"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        raise RuntimeError(f"test data missing: {SHARED_DATA} (../shared/data beside the repo)")
    return SHARED_DATA
