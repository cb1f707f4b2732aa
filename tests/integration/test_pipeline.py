"""The pipeline steps over a real database (SQLite and PostgreSQL), with a fake model and guard:
grounding, idempotence, guard holding, failure reasons and the audit trail."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from docanalysis.config import load_settings
from docanalysis.core.prompts import prompt_provision
from docanalysis.core.provisions import split_provisions
from docanalysis.core.types import ExtractedDocument, Page
from docanalysis.db.audit import read_events, verify_chain
from docanalysis.db.engine import reading
from docanalysis.db.tables import analysis_windows, findings
from docanalysis.sandbox import extract_in_sandbox
from docanalysis.services.matters import create_matter
from docanalysis.services.queries import document_analysis, document_status
from docanalysis.services.runtime import Runtime, build_runtime
from docanalysis.services.steps import advance, current_state, run_to_end
from docanalysis.services.submit import submit_document
from docanalysis.services.views import Actor
from tests.conftest import CUAD, PDFS, THREE_PAGE_CONTRACT
from tests.support.fakes import FixedGuard, KeywordModel
from workers.queue import InProcessQueue

ALICE = Actor(user_id=1, identity="alice <alice@firm.example>")


class RecordingQueue(InProcessQueue):
    def __init__(self) -> None:
        self.sent: list[int] = []

    def enqueue_run(self, run_id: int) -> None:
        self.sent.append(run_id)


def runtime(
    db_url: str,
    tmp_path: Path,
    guard: FixedGuard,
    context: int = 4096,
    scorer: str = "off",
    ocr: str = "1",
) -> Runtime:
    # The scorer is off unless a test is about it: the fake model's clauses stay exact.
    settings = load_settings(
        {
            "DATABASE_URL": db_url,
            "DOCANALYSIS_DATA_DIR": str(tmp_path),
            "DOCANALYSIS_OUTPUT_TOKENS": "64",
            "DOCANALYSIS_SCORER": scorer,
            "DOCANALYSIS_OCR": ocr,
        }
    )
    rt = build_runtime(settings, queue=RecordingQueue())
    rt.model = KeywordModel(context)  # type: ignore[misc]
    rt.guard = guard  # type: ignore[misc]
    return rt


def submit(rt: Runtime, path: Path) -> tuple[int, int]:
    matter_id = create_matter(rt, ALICE, "Acquisition of Beta")
    submitted = submit_document(rt, ALICE, matter_id, path.name, path.read_bytes())
    return submitted.document_id, submitted.run_id


def test_a_contract_reaches_done_with_grounded_clauses(db_url: str, tmp_path: Path) -> None:
    rt = runtime(db_url, tmp_path, FixedGuard("safe"))
    document_id, run_id = submit(rt, THREE_PAGE_CONTRACT)
    assert rt.queue.sent == [run_id]  # type: ignore[attr-defined]
    assert run_to_end(rt, run_id) == "done"
    analysis = document_analysis(rt, ALICE.user_id, document_id)
    with reading(rt.engine) as conn:
        stored = conn.execute(select(func.count()).select_from(findings)).scalar_one()
    assert stored == 1 + len(analysis.clauses)
    assert analysis.document.pages == 3
    # One window holds all 15 provisions of this short agreement.
    assert analysis.summary is not None and analysis.summary.text == "Provisions 1 to 15."
    dated = [c for c in analysis.clauses if c.category == "agreement_date"]
    assert [(c.page, c.text.splitlines()[:2]) for c in dated] == [
        (1, ["Dated: July 6, 2020", "HPS INVESTMENT PARTNERS, LLC"])
    ]
    assert all(c.status == "released" and c.verdict == "safe" for c in analysis.clauses)
    assert analysis.dropped_refs == 1  # the fake's citation of a provision that does not exist


def test_every_clause_has_a_confidence_and_a_basis_from_the_scorer(
    db_url: str, tmp_path: Path
) -> None:
    rt = runtime(db_url, tmp_path, FixedGuard("safe"), scorer="")
    document_id, run_id = submit(rt, THREE_PAGE_CONTRACT)
    assert run_to_end(rt, run_id) == "done"
    clauses = document_analysis(rt, ALICE.user_id, document_id).clauses
    text = _extracted(THREE_PAGE_CONTRACT).text
    by_basis: dict[str, list] = {}  # type: ignore[type-arg]
    for c in clauses:
        by_basis.setdefault(c.basis, []).append(c)
        assert c.confidence is not None and 0.0 <= c.confidence <= 1.0
        assert c.basis_reason and text[c.start : c.end] == c.text
    assert set(by_basis) <= {"agreed", "unconfirmed", "candidate"}
    # The fake model cites "Dated: July 6, 2020" as the agreement date: the scorer agrees.
    dated = [c for c in by_basis["agreed"] if c.category == "agreement_date"]
    assert [c.text.splitlines()[0] for c in dated] == ["Dated: July 6, 2020"]
    assert dated[0].confidence >= 0.2 + 0.8 * 0.3
    # What the scorer offers that the model did not: a candidate, with the scorer's own span.
    for c in by_basis.get("candidate", []):
        assert c.support == 0 and c.windows == () and c.confidence <= 0.8
    assert all(c.support >= 1 for c in by_basis.get("unconfirmed", []))
    # The audit trail says which scorer judged them, and how.
    with reading(rt.engine) as conn:
        analyzed = next(e for e in read_events(conn) if e.action == "run.analyzed")
    assert analyzed.details["scorer"].startswith("clause-scorer v1 labels ")
    assert analyzed.details["bases"] == {b: len(found) for b, found in by_basis.items()}
    assert analyzed.details["model_weight"] == 0.2


def _extracted(path: Path) -> ExtractedDocument:
    return extract_in_sandbox(path.read_bytes(), timeout_s=30, memory_mb=1024, max_pages=100)


def test_clause_offsets_index_the_extracted_text(db_url: str, tmp_path: Path) -> None:
    rt = runtime(db_url, tmp_path, FixedGuard("safe"))
    document_id, run_id = submit(rt, THREE_PAGE_CONTRACT)
    run_to_end(rt, run_id)
    extracted = _extracted(THREE_PAGE_CONTRACT)
    clauses = document_analysis(rt, None, document_id).clauses
    assert clauses
    for clause in clauses:
        assert extracted.text[clause.start : clause.end] == clause.text
        assert extracted.page_at(clause.start) == clause.page


def test_small_context_gives_several_windows_and_a_reduced_summary(
    db_url: str, tmp_path: Path
) -> None:
    rt = runtime(db_url, tmp_path, FixedGuard("safe"), context=1650)
    document_id, run_id = submit(rt, THREE_PAGE_CONTRACT)
    assert run_to_end(rt, run_id) == "done"
    with reading(rt.engine) as conn:
        windows = conn.execute(select(analysis_windows).order_by(analysis_windows.c.index)).all()
    assert len(windows) >= 2
    for before, after in zip(windows, windows[1:], strict=False):
        assert after.first_provision == before.last_provision  # one provision of overlap
    summary = document_analysis(rt, None, document_id).summary
    assert summary is not None and summary.text == "Whole document summary."


def test_steps_are_idempotent(db_url: str, tmp_path: Path) -> None:
    rt = runtime(db_url, tmp_path, FixedGuard("safe"))
    document_id, run_id = submit(rt, THREE_PAGE_CONTRACT)
    run_to_end(rt, run_id)
    with reading(rt.engine) as conn:
        before = len(read_events(conn))
    for state in ("queued", "windowing", "analyzing", "guarding"):
        assert advance(rt, run_id, state) is False  # a redelivered task finds the work done
    assert current_state(rt, run_id) == "done"
    with reading(rt.engine) as conn:
        assert len(read_events(conn)) == before


def test_unsafe_output_is_held_never_shown(db_url: str, tmp_path: Path) -> None:
    rt = runtime(db_url, tmp_path, FixedGuard("unsafe"))
    document_id, run_id = submit(rt, THREE_PAGE_CONTRACT)
    assert run_to_end(rt, run_id) == "held"
    analysis = document_analysis(rt, ALICE.user_id, document_id)
    assert analysis.summary is not None and analysis.summary.text == ""
    assert all(c.text == "" and c.status == "held" for c in analysis.clauses)
    status = document_status(rt, ALICE.user_id, document_id)
    count = 1 + len(analysis.clauses)
    assert status.label == "Held for review"
    assert status.reason == f"{count} of {count} results were held by the safety screen for review"


def test_a_guard_that_is_down_holds_everything(db_url: str, tmp_path: Path) -> None:
    rt = runtime(db_url, tmp_path, FixedGuard(fail=True))
    _, run_id = submit(rt, THREE_PAGE_CONTRACT)
    assert run_to_end(rt, run_id) == "held"


def test_a_scan_with_ocr_off_fails_with_a_reason_and_the_audit_chain_verifies(
    db_url: str, tmp_path: Path
) -> None:
    rt = runtime(db_url, tmp_path, FixedGuard("safe"), ocr="0")
    document_id, run_id = submit(rt, PDFS / "scanned" / "c02-22_public_domain_scan.pdf")
    assert run_to_end(rt, run_id) == "failed"
    status = document_status(rt, ALICE.user_id, document_id)
    assert status.reason.startswith("this PDF has no text layer")
    with reading(rt.engine) as conn:
        actions = [e.action for e in read_events(conn)]
        assert verify_chain(conn).ok
    assert actions == ["matter.created", "matter.member_added", "document.uploaded", "run.failed"]


def test_every_step_is_audited_with_model_and_hashes(db_url: str, tmp_path: Path) -> None:
    rt = runtime(db_url, tmp_path, FixedGuard("safe"))
    _, run_id = submit(rt, THREE_PAGE_CONTRACT)
    run_to_end(rt, run_id)
    with reading(rt.engine) as conn:
        events = read_events(conn)
        assert verify_chain(conn).ok
    window = next(e for e in events if e.action == "window.analyzed")
    assert window.details["model_id"] == "test/keyword-model"
    assert len(window.details["prompt_template_sha256"]) == 64
    assert len(window.details["input_sha256"]) == 64
    verdicts = [e for e in events if e.action == "guard.verdict"]
    assert {v.details["policy_version"] for v in verdicts} == {"test-policy"}
    analyzed = next(e for e in events if e.action == "run.analyzed")
    assert (analyzed.details["scorer"], analyzed.details["bases"]) == ("off", {"model_only": 7})
    assert events[-1].action == "run.done"
    assert json.loads(json.dumps(events[-1].details))["held"] == 0


def test_another_users_document_is_not_found(db_url: str, tmp_path: Path) -> None:
    from docanalysis.services.errors import NotFound

    rt = runtime(db_url, tmp_path, FixedGuard("safe"))
    document_id, _ = submit(rt, THREE_PAGE_CONTRACT)
    with pytest.raises(NotFound):
        document_status(rt, 2, document_id)


def test_usage_and_grounding_report_are_recorded(db_url: str, tmp_path: Path) -> None:
    rt = runtime(db_url, tmp_path, FixedGuard("safe"), context=1650)
    document_id, run_id = submit(rt, THREE_PAGE_CONTRACT)
    run_to_end(rt, run_id)
    analysis = document_analysis(rt, None, document_id)
    model: KeywordModel = rt.model  # type: ignore[assignment]
    windows = len(model.calls) - 1  # one call per window, then the reduce
    assert windows >= 2
    usage = analysis.usage
    assert usage["calls"] == windows + 1
    assert usage["prompt_tokens"] == sum(model.count_prompt_tokens(m) for m in model.calls)
    assert usage["completion_tokens"] == 20 * (windows + 1)
    # The document as the model reads it: every provision numbered, each counted once.
    text = document_texts_of(rt, document_id)
    numbered = "".join(prompt_provision(text, p) for p in split_provisions(one_page(text)))
    assert usage["document_tokens"] == model.count_tokens(numbered)
    assert set(usage["seconds"]) == {"extracting", "windowing", "analyzing", "guarding"}
    report = analysis.grounding
    # Each window cites provision 99999, which does not exist: dropped, kept for audit.
    assert [(d["window"], d["provision"], d["why"]) for d in report["dropped"]] == [
        (w, 99999, "unknown provision") for w in range(windows)
    ]
    assert report["verified"] == len(analysis.clauses)
    assert analysis.dropped_refs == windows


def test_overlapping_windows_give_one_finding_seen_by_both(db_url: str, tmp_path: Path) -> None:
    # 1600 tokens: two windows sharing provision 7, which names an LLC (a fake keyword).
    rt = runtime(db_url, tmp_path, FixedGuard("safe"), context=1600)
    document_id, run_id = submit(rt, THREE_PAGE_CONTRACT)
    run_to_end(rt, run_id)
    with reading(rt.engine) as conn:
        windows = conn.execute(select(analysis_windows).order_by(analysis_windows.c.index)).all()
    shared = windows[0].last_provision  # in both the first and the second window
    clauses = document_analysis(rt, None, document_id).clauses
    keys = [(c.category, c.start) for c in clauses]
    assert len(keys) == len(set(keys))  # one finding per (category, provision)
    in_overlap = [c for c in clauses if c.windows == (0, 1)]
    proposed_twice = {
        (c["category"], c["provisions"][0])
        for c in windows[0].clauses
        if c["provisions"][0] == shared
    }
    assert proposed_twice  # the fake proposes a clause in the shared provision
    assert len(in_overlap) == len(proposed_twice)
    assert all(c.support == 2 for c in in_overlap)


def test_summary_sentences_cite_located_provisions(db_url: str, tmp_path: Path) -> None:
    rt = runtime(db_url, tmp_path, FixedGuard("safe"))
    document_id, run_id = submit(rt, THREE_PAGE_CONTRACT)
    run_to_end(rt, run_id)
    summary = document_analysis(rt, None, document_id).summary
    assert summary is not None
    (line,) = summary.sentences
    assert line.text == "Provisions 1 to 15."
    assert [(p.n, p.page, p.start) for p in line.provisions] == [(1, 1, 0)]


def test_a_plain_text_contract_is_analyzed(db_url: str, tmp_path: Path) -> None:
    rt = runtime(db_url, tmp_path, FixedGuard("safe"))
    source = CUAD / "contracts_txt" / f"{THREE_PAGE_CONTRACT.stem}.txt"
    document_id, run_id = submit(rt, source)
    assert run_to_end(rt, run_id) == "done"
    analysis = document_analysis(rt, None, document_id)
    text = source.read_text(encoding="utf-8-sig")
    assert analysis.document.pages == 1
    assert analysis.document.chars == len(document_texts_of(rt, document_id))
    for clause in analysis.clauses:
        assert clause.text in text


def one_page(text: str) -> ExtractedDocument:
    return ExtractedDocument("0" * 64, text, (Page(1, 0, len(text)),))


def document_texts_of(rt: Runtime, document_id: int) -> str:
    from docanalysis.db.tables import document_texts

    with reading(rt.engine) as conn:
        return str(
            conn.execute(
                select(document_texts.c.text).where(document_texts.c.document_id == document_id)
            ).scalar_one()
        )
