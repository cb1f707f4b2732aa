"""The command line as a user runs it: a subprocess, stdout for the result, stderr for the rest."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from docanalysis.core.types import Provision
from tests.conftest import CUAD, PDFS, REPO, THREE_PAGE_CONTRACT

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


def check_plan(plan: dict, window_tokens: int) -> None:  # type: ignore[type-arg]
    """Windows within the limit, every provision in a window, in order, overlapping by one."""
    assert plan["window_tokens"] == window_tokens
    numbers = [p["n"] for p in plan["provisions"]]
    assert numbers == list(range(1, len(numbers) + 1))
    covered: set[int] = set()
    for window in plan["windows"]:
        assert window["tokens"] + plan["output_tokens"] <= window_tokens
        first, last = window["provisions"]
        covered.update(range(first, last + 1))
    assert covered == set(numbers)
    usage = plan["usage"]
    assert usage["calls"] == len(plan["windows"]) + (1 if len(plan["windows"]) > 1 else 0)
    assert usage["prompt_tokens"] >= usage["document_tokens"] > 0


def test_plan_a_117_page_pdf_at_128k_reads_each_token_about_once(tmp_path: Path) -> None:
    pdf = PDFS / "papers" / "GeoTopo_lecture_notes_117p.pdf"
    result = cli(tmp_path, "plan", str(pdf), "--window-tokens", "131072")
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    check_plan(plan, 131072)
    assert plan["document"]["pages"] == 117
    usage = plan["usage"]
    assert usage["prompt_tokens"] <= 1.15 * usage["document_tokens"]


def test_plan_a_text_file_in_small_windows(tmp_path: Path) -> None:
    contract = (
        CUAD
        / "contracts_txt"
        / "KIROMICBIOPHARMA,INC_04_08_2020-EX-10.28-JOINT VENTURE AGREEMENT.txt"
    )
    result = cli(tmp_path, "plan", str(contract), "--window-tokens", "4096")
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    check_plan(plan, 4096)
    assert len(plan["windows"]) >= 3
    for before, after in zip(plan["windows"], plan["windows"][1:], strict=False):
        assert after["provisions"][0] == before["provisions"][1]  # one provision of overlap


def test_plan_refuses_a_window_too_small_for_the_prompt(tmp_path: Path) -> None:
    result = cli(tmp_path, "plan", str(THREE_PAGE_CONTRACT), "--window-tokens", "1000")
    assert result.returncode == 2
    assert result.stderr.startswith("docanalysis: a window of 1000 tokens leaves no room for text")


def test_plan_provisions_cover_the_expert_spans_of_cuad_contract_texts(tmp_path: Path) -> None:
    from bench.provision_coverage import is_covered, trim

    records = [json.loads(line) for line in (CUAD / "spans_dev.jsonl").open()][:4]
    covered = total = 0
    for record in records:
        source = CUAD / record["txt"]
        result = cli(tmp_path, "plan", str(source), "--window-tokens", "131072")
        assert result.returncode == 0, result.stderr
        plan = json.loads(result.stdout)
        text = source.read_text(encoding="utf-8-sig")
        assert plan["document"]["chars"] == len(text)  # offsets index the file as it is
        provisions = [
            Provision(p["n"], p["start"], p["end"], p["page"]) for p in plan["provisions"]
        ]
        starts = [p.start for p in provisions]
        for label in record["labels"].values():
            for span in label["spans"]:
                start, end = trim(text, span["start"], span["end"])
                total += 1
                covered += is_covered(provisions, starts, start, end)
    assert total > 50
    assert covered / total >= 0.95
