"""A reviewer's decisions on clauses: confirm, reject, or correct (category, value, span).

The model's finding is never changed: each decision is a row of `finding_reviews` beside it
(this module owns that table), and the latest one is what the page, the exports and the API
report as the clause (`FindingView.final`). A corrected span is quoted by the system from the
document's text, with its page, like every clause shown: the reviewer points, the system
quotes. Each decision is audited in its own transaction, with hashes instead of text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, and_, func, insert, select

from docanalysis.db import repositories as repo
from docanalysis.db.audit import utc
from docanalysis.db.engine import reading, transaction
from docanalysis.db.repositories import now
from docanalysis.db.tables import REVIEW_DECISIONS, analysis_runs, finding_reviews, findings
from docanalysis.services.audit import record
from docanalysis.services.errors import NotFound, Rejected
from docanalysis.services.members import require
from docanalysis.services.pipeline import load_document, sha256_text
from docanalysis.services.runtime import Runtime
from docanalysis.services.views import SHOWN, Actor, ReviewView

MAX_SPAN_CHARS = 20_000  # a clause, not the whole document
MAX_VALUE_CHARS = 2_000
MAX_NOTE_CHARS = 2_000


@dataclass(frozen=True)
class Decision:
    """What the reviewer asked for. None keeps the finding's own category, value or span."""

    decision: str
    category: str | None = None
    value: str | None = None
    start: int | None = None
    end: int | None = None
    note: str = ""


def review_finding(
    rt: Runtime, actor: Actor, finding_id: int, asked: Decision
) -> tuple[int, ReviewView]:
    """Record the decision on a clause of a document the actor edits; (the document's id,
    the review). NotFound for others; Forbidden for viewers; Rejected with a reason for a
    decision that cannot stand."""
    _check_shape(asked, rt.category_names)
    with transaction(rt.engine) as conn:
        finding, doc = _clause(conn, finding_id)
        require(conn, actor, int(doc.matter_id), "editor")
        row = _decided(conn, finding, int(doc.id), asked)
        row.update(reviewer=actor.identity, reviewer_id=actor.user_id, reviewed_at=now())
        conn.execute(insert(finding_reviews).values(finding_id=finding_id, **row))
        record(
            conn,
            actor,
            "finding.reviewed",
            f"document:{doc.id}",
            tenant_id=int(doc.tenant_id),
            matter_id=int(doc.matter_id),
            finding_id=finding_id,
            decision=row["decision"],
            changed=_changes(finding, row),
            category=row["category"],
            start=row["start"],
            end=row["end"],
            value_sha256=sha256_text(row["value"]),
            note_sha256=sha256_text(row["note"]) if row["note"] else "",
        )
    return int(doc.id), review_view(row, rt.category_names)


def document_of(rt: Runtime, finding_id: int) -> int:
    """The document a finding belongs to (NotFound if none): for callers that check their own
    scope (an API key's) before deciding."""
    with reading(rt.engine) as conn:
        found = conn.execute(
            select(analysis_runs.c.document_id)
            .join(findings, findings.c.run_id == analysis_runs.c.id)
            .where(findings.c.id == finding_id)
        ).scalar()
    if found is None:
        raise NotFound("no such finding")
    return int(found)


def _check_shape(asked: Decision, categories: Mapping[str, str]) -> None:
    if asked.decision not in REVIEW_DECISIONS:
        raise Rejected(f"a decision is one of {', '.join(REVIEW_DECISIONS)}", code="invalid")
    if asked.category is not None and asked.category not in categories:
        raise Rejected(f"{asked.category!r} is not a clause category", code="invalid")
    if asked.value is not None and len(asked.value) > MAX_VALUE_CHARS:
        raise Rejected(f"a value is at most {MAX_VALUE_CHARS} characters", code="invalid")
    if len(asked.note) > MAX_NOTE_CHARS:
        raise Rejected(f"a note is at most {MAX_NOTE_CHARS} characters", code="invalid")
    if (asked.start is None) != (asked.end is None):
        raise Rejected("a span needs both its start and its end", code="invalid")


def _clause(conn: Connection, finding_id: int) -> tuple[repo.Record, repo.Record]:
    """The finding and its document, if it is a shown clause of the document's latest run."""
    found = conn.execute(
        select(findings, analysis_runs.c.document_id)
        .join(analysis_runs, analysis_runs.c.id == findings.c.run_id)
        .where(findings.c.id == finding_id)
    ).first()
    doc = repo.document(conn, int(found.document_id)) if found is not None else None
    latest = repo.latest_run(conn, int(doc.id)) if doc is not None else None
    if found is None or doc is None or doc.purged_at is not None or latest is None:
        raise NotFound("no such finding")
    if latest.id != found.run_id or found.kind != "clause":
        raise NotFound("no such finding")
    if found.status not in SHOWN:
        raise Rejected("a held clause is released on the compliance review page first", code="held")
    return found, doc


def _decided(
    conn: Connection, finding: repo.Record, document_id: int, asked: Decision
) -> dict[str, Any]:
    """The review row: the finding's own fields where the reviewer changed nothing."""
    row: dict[str, Any] = {
        "decision": asked.decision,
        "category": finding.category if asked.category is None else asked.category,
        "value": finding.value if asked.value is None else asked.value.strip(),
        "text": finding.text,
        "page": finding.page,
        "start": finding.start,
        "end": finding.end,
        "note": asked.note.strip(),
    }
    if asked.start is not None and asked.end is not None:
        row.update(_span(conn, document_id, asked.start, asked.end))
    if asked.decision == "corrected" and not _changes(finding, row):
        raise Rejected("a correction changes the category, the value or the span", code="invalid")
    if asked.decision != "corrected" and _changes(finding, row):
        raise Rejected("to change the clause, choose 'correct'", code="invalid")
    return row


def _span(conn: Connection, document_id: int, start: int, end: int) -> dict[str, Any]:
    """The source's own words at [start, end) with their page: the system quotes them."""
    try:
        extracted = load_document(conn, document_id)
    except LookupError:
        raise Rejected("this document has no text to quote from", code="invalid") from None
    if not 0 <= start < end <= len(extracted.text):
        raise Rejected(
            f"a span lies within the document's {len(extracted.text)} characters", code="invalid"
        )
    if end - start > MAX_SPAN_CHARS:
        raise Rejected(f"a span is at most {MAX_SPAN_CHARS} characters", code="invalid")
    text = extracted.text[start:end]
    if not text.strip():
        raise Rejected("the chosen span holds no text", code="invalid")
    return {"text": text, "page": extracted.page_at(start), "start": start, "end": end}


def _changes(finding: repo.Record, row: Mapping[str, Any]) -> list[str]:
    changed = [name for name in ("category", "value") if row[name] != getattr(finding, name)]
    if (row["start"], row["end"]) != (finding.start, finding.end):
        changed.append("span")
    return changed


# The latest review's columns beside a finding's, prefixed: read in the findings' query.
REVIEW_PREFIX = "review__"
_newest = finding_reviews.alias("newest_review")


def with_latest_review(query: Select[Any]) -> Select[Any]:
    """`query` (over findings) with each finding's latest review's columns, prefixed
    REVIEW_PREFIX (NULL where there is none): the reviews come in the same round trip."""
    newest = (
        select(func.max(_newest.c.id))
        .where(_newest.c.finding_id == findings.c.id)
        .correlate(findings)
        .scalar_subquery()
    )
    columns = [c.label(REVIEW_PREFIX + c.name) for c in finding_reviews.c]
    # The finding_id condition lets the planner reach a finding's reviews by their index
    # (without it, PostgreSQL hashes the whole table to match the newest id).
    latest = and_(finding_reviews.c.finding_id == findings.c.id, finding_reviews.c.id == newest)
    return query.add_columns(*columns).outerjoin_from(findings, finding_reviews, latest)


def latest_review_of(row: Any, categories: Mapping[str, str]) -> ReviewView | None:
    """The review a row read through with_latest_review carries, if any."""
    values = {c.name: row._mapping[REVIEW_PREFIX + c.name] for c in finding_reviews.c}
    return None if values["id"] is None else review_view(values, categories)


def review_view(row: Mapping[str, Any], categories: Mapping[str, str]) -> ReviewView:
    category = str(row["category"])
    return ReviewView(
        decision=str(row["decision"]),
        reviewer=str(row["reviewer"]),
        reviewed_at=utc(row["reviewed_at"]),
        category=category,
        category_name=categories.get(category, category),
        value=str(row["value"]),
        text=str(row["text"]),
        page=row["page"],
        start=row["start"],
        end=row["end"],
        note=str(row["note"]),
    )
