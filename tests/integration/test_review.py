"""Releasing held results after review, over a real database (SQLite and PostgreSQL): the
verdict stays as written, the finding records who released it and why, the release is audited,
and a held run with nothing held left is done."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from docanalysis.db import repositories as repo
from docanalysis.db.audit import read_events, verify_chain
from docanalysis.db.engine import reading
from docanalysis.db.tables import guard_verdicts
from docanalysis.services import retention, review
from docanalysis.services.errors import NotFound, Rejected
from docanalysis.services.matters import create_matter
from docanalysis.services.queries import document_analysis
from docanalysis.services.runtime import Runtime
from docanalysis.services.steps import run_to_end
from docanalysis.services.submit import submit_document
from docanalysis.services.views import Actor
from tests.conftest import THREE_PAGE_CONTRACT
from tests.integration.test_pipeline import ALICE, runtime
from tests.support.fakes import FixedGuard

OFFICER = Actor(user_id=9, identity="olga <olga@firm.example>", request_id="req-r")


@pytest.fixture
def rt(db_url: str, tmp_path: Path) -> Runtime:
    return runtime(db_url, tmp_path, FixedGuard(fail=True))  # the guard is down: all held


def _held_document(rt: Runtime) -> tuple[int, int, int]:
    matter_id = create_matter(rt, ALICE, "Held matter")
    submitted = submit_document(
        rt, ALICE, matter_id, "contract.pdf", THREE_PAGE_CONTRACT.read_bytes()
    )
    assert run_to_end(rt, submitted.run_id) == "held"
    with reading(rt.engine) as conn:
        tenant_id = int(repo.matter(conn, matter_id).tenant_id)  # type: ignore[union-attr]
    return tenant_id, submitted.document_id, submitted.run_id


def test_releasing_every_held_result_makes_the_run_done(rt: Runtime) -> None:
    tenant_id, document_id, run_id = _held_document(rt)
    held = review.held_findings(rt, tenant_id)
    assert held and {h.document_id for h in held} == {document_id}
    assert all(h.verdict == "held" and h.guard_reason == "guard is down" for h in held)
    assert held[0].text  # the reviewer reads what the guard held
    with reading(rt.engine) as conn:
        verdicts_before = conn.execute(select(guard_verdicts).order_by(guard_verdicts.c.id)).all()
        start = read_events(conn)[-1].seq

    for item in held:
        review.release_finding(rt, OFFICER, tenant_id, item.id, "read it: a plain indemnity")

    analysis = document_analysis(rt, ALICE.user_id, document_id)
    assert analysis.document.status.state == "done"
    shown = [c for c in analysis.clauses if c.status == "released"]
    assert shown and all(c.text and c.released_by == OFFICER.identity for c in shown)
    assert review.held_findings(rt, tenant_id) == []
    with reading(rt.engine) as conn:
        # The guard's verdicts are evidence: exactly as they were written.
        assert conn.execute(select(guard_verdicts).order_by(guard_verdicts.c.id)).all() == (
            verdicts_before
        )
        events = read_events(conn, after_seq=start)
        assert verify_chain(conn).ok
    assert [e.action for e in events] == ["finding.released"] * len(held) + ["run.released"]
    first = events[0]
    assert (first.subject, first.actor, first.request_id, first.outcome) == (
        f"finding:{held[0].id}",
        OFFICER.identity,
        "req-r",
        "ok",
    )
    assert first.details["reason"] == "read it: a plain indemnity"
    assert first.details["verdict"] == "held" and len(first.details["output_sha256"]) == 64
    assert held[0].text not in str([e.details for e in events])  # no document text


def test_a_release_needs_a_reason_a_held_result_and_the_right_tenant(rt: Runtime) -> None:
    tenant_id, document_id, _ = _held_document(rt)
    first = review.held_findings(rt, tenant_id)[0]
    with pytest.raises(Rejected, match="needs a reason"):
        review.release_finding(rt, OFFICER, tenant_id, first.id, "  ")
    with pytest.raises(NotFound):
        review.release_finding(rt, OFFICER, tenant_id + 1, first.id, "other tenant")
    review.release_finding(rt, OFFICER, tenant_id, first.id, "fine")
    with pytest.raises(Rejected, match="not held"):
        review.release_finding(rt, OFFICER, tenant_id, first.id, "twice")
    retention.delete_document(rt, ALICE, document_id)
    assert review.held_findings(rt, tenant_id) == []  # a deleted document has none to review
