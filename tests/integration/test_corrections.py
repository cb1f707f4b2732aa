"""A reviewer's decisions on clauses over a real database (SQLite and PostgreSQL): confirmed,
rejected or corrected beside the model's unchanged finding; a corrected span quoted by the
system with its page; who may decide; every decision audited without the document's words;
a purge removes the reviews' words too."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from docanalysis.db.audit import read_events, verify_chain
from docanalysis.db.engine import reading
from docanalysis.db.tables import finding_reviews, findings
from docanalysis.services import members, retention
from docanalysis.services.corrections import Decision, review_finding
from docanalysis.services.errors import NotFound, Rejected
from docanalysis.services.matters import create_matter
from docanalysis.services.members import Forbidden
from docanalysis.services.pipeline import load_document
from docanalysis.services.queries import document_analysis
from docanalysis.services.runtime import Runtime
from docanalysis.services.steps import run_to_end
from docanalysis.services.submit import submit_document
from docanalysis.services.views import Actor, FindingView
from tests.conftest import THREE_PAGE_CONTRACT
from tests.integration.test_pipeline import ALICE, runtime
from tests.support.fakes import FixedGuard

VERA = Actor(user_id=31, identity="vera <vera@firm.example>")  # a viewer of the matter
MALLORY = Actor(user_id=66, identity="mallory <mallory@other.example>")  # not a member


@pytest.fixture
def rt(db_url: str, tmp_path: Path) -> Runtime:
    return runtime(db_url, tmp_path, FixedGuard("safe"))


def _analyzed(rt: Runtime) -> tuple[int, int, list[FindingView]]:
    """(matter id, document id, its clauses) of the three-page contract, analyzed."""
    matter_id = create_matter(rt, ALICE, "Reviewed matter")
    members.add(rt, ALICE, matter_id, int(VERA.user_id or 0), "vera", "viewer")
    submitted = submit_document(
        rt, ALICE, matter_id, "contract.pdf", THREE_PAGE_CONTRACT.read_bytes()
    )
    assert run_to_end(rt, submitted.run_id) == "done"
    clauses = list(document_analysis(rt, ALICE.user_id, submitted.document_id).clauses)
    assert len(clauses) >= 3
    return matter_id, submitted.document_id, clauses


def _clause(rt: Runtime, document_id: int, finding_id: int) -> FindingView:
    analysis = document_analysis(rt, ALICE.user_id, document_id)
    return next(c for c in analysis.clauses if c.id == finding_id)


def test_confirm_then_reject_the_latest_decision_counts(rt: Runtime) -> None:
    _, document_id, clauses = _analyzed(rt)
    first = clauses[0]
    assert first.review is None
    review_finding(rt, ALICE, first.id, Decision("confirmed", note="checked the signature"))
    confirmed = _clause(rt, document_id, first.id)
    assert confirmed.review is not None
    assert (confirmed.review.decision, confirmed.review.reviewer) == ("confirmed", ALICE.identity)
    assert confirmed.review.note == "checked the signature"
    assert confirmed.final is confirmed  # nothing changed: the model's clause stands
    assert not confirmed.rejected

    review_finding(rt, ALICE, first.id, Decision("rejected"))
    rejected = _clause(rt, document_id, first.id)
    assert rejected.rejected and rejected.review is not None
    assert (rejected.text, rejected.value) == (first.text, first.value)  # the model's, kept
    with reading(rt.engine) as conn:
        assert conn.execute(select(finding_reviews.c.decision)).scalars().all() == [
            "confirmed",
            "rejected",
        ]


def test_a_correction_keeps_the_model_original_beside_it(rt: Runtime) -> None:
    _, document_id, clauses = _analyzed(rt)
    target = clauses[0]
    other = "governing_law" if target.category != "governing_law" else "parties"
    review_finding(
        rt, ALICE, target.id, Decision("corrected", category=other, value=" 6 July 2020 ")
    )

    clause = _clause(rt, document_id, target.id)
    assert (clause.category, clause.value, clause.text) == (
        target.category,
        target.value,
        target.text,
    )
    final = clause.final
    assert (final.category, final.value) == (other, "6 July 2020")
    assert final.category_name == rt.category_names[other]
    assert (final.text, final.page, final.start, final.end) == (
        target.text,
        target.page,
        target.start,
        target.end,
    )


def test_a_corrected_span_is_quoted_by_the_system_with_its_page(rt: Runtime) -> None:
    _, document_id, clauses = _analyzed(rt)
    with reading(rt.engine) as conn:
        extracted = load_document(conn, document_id)
    page_two = next(p for p in extracted.pages if p.number == 2)
    start, end = page_two.start + 5, page_two.start + 60
    review_finding(rt, ALICE, clauses[0].id, Decision("corrected", start=start, end=end))

    final = _clause(rt, document_id, clauses[0].id).final
    assert (final.start, final.end, final.page) == (start, end, 2)
    assert final.text == extracted.text[start:end]


@pytest.mark.parametrize(
    ("asked", "reason"),
    [
        (Decision("approved"), "a decision is one of confirmed, rejected, corrected"),
        (Decision("corrected", category="no_such"), "'no_such' is not a clause category"),
        (Decision("corrected"), "a correction changes the category, the value or the span"),
        (Decision("confirmed", value="other"), "to change the clause, choose 'correct'"),
        (Decision("corrected", start=5), "a span needs both its start and its end"),
        (Decision("corrected", start=10, end=10**7), "a span lies within the document's"),
        (Decision("corrected", start=20, end=10), "a span lies within the document's"),
        (Decision("corrected", value="x" * 2001), "a value is at most 2000 characters"),
    ],
)
def test_a_decision_that_cannot_stand_is_refused_and_nothing_is_stored(
    rt: Runtime, asked: Decision, reason: str
) -> None:
    _, _, clauses = _analyzed(rt)
    with pytest.raises(Rejected) as refused:
        review_finding(rt, ALICE, clauses[0].id, asked)
    assert refused.value.reason.startswith(reason)
    with reading(rt.engine) as conn:
        assert conn.execute(select(finding_reviews)).all() == []


def test_viewers_may_not_decide_and_strangers_do_not_see_the_clause(rt: Runtime) -> None:
    _, _, clauses = _analyzed(rt)
    with pytest.raises(Forbidden, match="as a viewer of this matter you cannot upload, review"):
        review_finding(rt, VERA, clauses[0].id, Decision("confirmed"))
    with pytest.raises(NotFound):
        review_finding(rt, MALLORY, clauses[0].id, Decision("confirmed"))
    with pytest.raises(NotFound):
        review_finding(rt, ALICE, 10**9, Decision("confirmed"))


def test_a_held_clause_is_released_first(db_url: str, tmp_path: Path) -> None:
    rt = runtime(db_url, tmp_path, FixedGuard(fail=True))  # the guard is down: all held
    matter_id = create_matter(rt, ALICE, "Held")
    submitted = submit_document(rt, ALICE, matter_id, "c.pdf", THREE_PAGE_CONTRACT.read_bytes())
    assert run_to_end(rt, submitted.run_id) == "held"
    held = document_analysis(rt, ALICE.user_id, submitted.document_id).clauses[0]
    with pytest.raises(Rejected) as refused:
        review_finding(rt, ALICE, held.id, Decision("confirmed"))
    assert refused.value.code == "held"


def test_each_decision_is_audited_without_the_documents_words(rt: Runtime) -> None:
    matter_id, document_id, clauses = _analyzed(rt)
    with reading(rt.engine) as conn:
        start = read_events(conn)[-1].seq
        extracted = load_document(conn, document_id)
    review_finding(
        rt, ALICE, clauses[1].id, Decision("corrected", value="HPS", start=0, end=40, note="n")
    )
    with reading(rt.engine) as conn:
        events = [e for e in read_events(conn) if e.seq > start]
        assert verify_chain(conn).ok
    assert [e.action for e in events] == ["finding.reviewed"]
    event = events[0]
    assert (event.actor, event.subject, event.matter_id) == (
        ALICE.identity,
        f"document:{document_id}",
        matter_id,
    )
    details = dict(event.details)
    assert {k: details[k] for k in ("finding_id", "decision", "changed", "start", "end")} == {
        "finding_id": clauses[1].id,
        "decision": "corrected",
        "changed": ["value", "span"],
        "start": 0,
        "end": 40,
    }
    assert len(details["value_sha256"]) == 64 and len(details["note_sha256"]) == 64
    assert extracted.text[0:40] not in str(details)


def test_a_purge_removes_the_reviews_words(rt: Runtime) -> None:
    _, document_id, clauses = _analyzed(rt)
    review_finding(rt, ALICE, clauses[0].id, Decision("corrected", value="v", start=0, end=30))
    retention.delete_document(rt, ALICE, document_id)
    with reading(rt.engine) as conn:
        rows = conn.execute(select(finding_reviews.c.text, finding_reviews.c.value)).all()
        kept = conn.execute(select(findings.c.text).where(findings.c.id == clauses[0].id))
        assert kept.scalar_one() == ""
    assert [tuple(r) for r in rows] == [("", "")]
