"""The command line as a user runs it: a subprocess, stdout for the result, stderr for the rest."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PDFS, REPO, THREE_PAGE_CONTRACT

ENCRYPTED = PDFS / "malformed" / "pypdf" / "r6-both-passwords.pdf"


def cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env.update(DOCANALYSIS_DATA_DIR=str(tmp_path / "var"), DOCANALYSIS_OUTPUT_TOKENS="128")
    return subprocess.run(
        [sys.executable, "-m", "docanalysis", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=600,
    )


def test_extract_prints_text_and_pages_as_offsets(tmp_path: Path) -> None:
    result = cli(tmp_path, "extract", str(THREE_PAGE_CONTRACT), "--format", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert [(p["number"], p["start"], p["end"]) for p in doc["pages"]] == [
        (1, 0, 1012),
        (2, 1012, 1663),
        (3, 1663, 2282),
    ]
    assert len(doc["text"]) == 2282 and doc["text"].startswith("Exhibit 99.1\nJOINT FILING")
    assert doc["sha256"] == hashlib.sha256(THREE_PAGE_CONTRACT.read_bytes()).hexdigest()


def test_a_pdf_that_cannot_be_analyzed_exits_1_with_one_line_on_stderr(tmp_path: Path) -> None:
    result = cli(tmp_path, "analyze", str(ENCRYPTED), "--format", "json")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        "docanalysis: this PDF is password-protected: remove the password and upload it again\n"
    )


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    result = cli(tmp_path, "extract", str(tmp_path / "nope.pdf"))
    assert (result.returncode, result.stdout) == (1, "")
    assert (
        result.stderr
        == f"docanalysis: cannot read {tmp_path / 'nope.pdf'}: No such file or directory\n"
    )


@pytest.mark.slow
def test_analyze_quotes_the_extracted_text_and_records_an_audited_run(tmp_path: Path) -> None:
    extracted = json.loads(cli(tmp_path, "extract", str(THREE_PAGE_CONTRACT)).stdout)
    result = cli(tmp_path, "analyze", str(THREE_PAGE_CONTRACT), "--format", "json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["document"] == {
        "sha256": extracted["sha256"],
        "filename": THREE_PAGE_CONTRACT.name,
        "pages": 3,
        "chars": 2282,
    }
    assert out["model"]["id"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert out["run"]["state"] in ("done", "held")
    assert out["summary"]["guard"]["verdict"] in ("safe", "unsafe", "held")
    for clause in out["clauses"]:
        assert extracted["text"][clause["start"] : clause["end"]] == clause["text"]
        page = next(p for p in extracted["pages"] if p["start"] <= clause["start"] < p["end"])
        assert page["number"] == clause["page"]
    audit = cli(tmp_path, "verify-audit")
    assert audit.returncode == 0 and audit.stdout.startswith("audit chain verified: ")
