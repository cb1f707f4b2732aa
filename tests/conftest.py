"""Shared test setup. Test data nobody here wrote lives in ../shared/data beside the repository."""

from __future__ import annotations

from collections.abc import Iterator
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


# Django for the web tests (integration and browser): set up once per test process.
@pytest.fixture(scope="session")
def django_ready(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Django, set up once per test process (it cannot be set up twice), with its own tables
    (users, sessions) migrated into a SQLite file of this session's own. Web tests point the
    views at their own runtime (domain database and file store) by patching get_runtime."""
    import django
    from django.conf import settings
    from django.core.management import call_command
    from django.test.utils import setup_test_environment, teardown_test_environment

    assert not settings.configured, "Django was set up outside this fixture"
    data_dir = tmp_path_factory.mktemp("django")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DOCANALYSIS_DATA_DIR", str(data_dir))
        mp.setenv("DATABASE_URL", f"sqlite:///{data_dir / 'django.sqlite3'}")
        mp.setenv("DJANGO_SETTINGS_MODULE", "docanalysis.settings.test")
        django.setup()
    setup_test_environment()
    call_command("migrate", verbosity=0)
    yield
    teardown_test_environment()
