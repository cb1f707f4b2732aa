"""A run with the load-testing stubs (DOCANALYSIS_MODEL_BACKEND=stub, DOCANALYSIS_GUARD_MODEL=stub)
goes through every real step, grounding included, and ends `held` with nothing released."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from docanalysis.config import load_settings
from docanalysis.db.audit import read_events, verify_chain
from docanalysis.db.engine import reading
from docanalysis.db.tables import document_texts, findings, guard_verdicts
from docanalysis.llm.stub import STUB_GUARD_REASON, STUB_MODEL_ID
from docanalysis.services.matters import create_matter
from docanalysis.services.queries import document_analysis, document_status
from docanalysis.services.runtime import build_runtime
from docanalysis.services.steps import run_to_end
from docanalysis.services.submit import submit_document
from docanalysis.services.views import Actor
from tests.conftest import THREE_PAGE_CONTRACT
from workers.queue import InProcessQueue

ALICE = Actor(user_id=1, identity="alice <alice@firm.example>")


def test_a_run_with_both_stubs_ends_held_with_nothing_released(db_url: str, tmp_path: Path) -> None:
    settings = load_settings(
        {
            "DATABASE_URL": db_url,
            "DOCANALYSIS_DATA_DIR": str(tmp_path),
            "DOCANALYSIS_MODEL_BACKEND": "stub",
            "DOCANALYSIS_GUARD_MODEL": "stub",
            "DOCANALYSIS_SCORER": "off",  # the clauses are the stub's alone: exact
        }
    )
    rt = build_runtime(settings, queue=InProcessQueue())
    matter_id = create_matter(rt, ALICE, "Load test")
    pdf = THREE_PAGE_CONTRACT.read_bytes()
    submitted = submit_document(rt, ALICE, matter_id, THREE_PAGE_CONTRACT.name, pdf)

    assert run_to_end(rt, submitted.run_id) == "held"

    status = document_status(rt, ALICE.user_id, submitted.document_id)
    assert (status.state, status.reason) == (
        "held",
        "2 of 2 results were held by the safety screen for review",
    )
    analysis = document_analysis(rt, ALICE.user_id, submitted.document_id)
    assert analysis.model_id == STUB_MODEL_ID
    assert [(c.category, c.status, c.text) for c in analysis.clauses] == [
        ("document_name", "held", "")  # held: never shown
    ]
    with reading(rt.engine) as conn:
        text = conn.execute(select(document_texts.c.text)).scalar_one()
        rows = conn.execute(select(findings).order_by(findings.c.ordinal)).all()
        verdicts = conn.execute(select(guard_verdicts)).all()
        check = verify_chain(conn)
        actions = [e.action for e in read_events(conn)]
    # The stub pointed at provision 1; the system quoted it from the source, on page 1.
    clause = rows[1]
    assert (clause.kind, clause.provision, clause.page) == ("clause", 1, 1)
    assert text[clause.start : clause.end] == clause.text and clause.text.strip()
    assert [r.status for r in rows] == ["held", "held"]
    assert [(v.verdict, v.outcome, v.model, v.reason) for v in verdicts] == [
        ("held", "block", "stub", STUB_GUARD_REASON)
    ] * 2
    assert check.ok
    assert actions.count("guard.verdict") == 2 and actions[-1] == "run.held"
