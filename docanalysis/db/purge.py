"""Reads and writes for deleting documents, retention periods and legal hold. Callers own the
transaction.

Purging a document removes its content and keeps its rows as tombstones: the audit trail and
the guard's verdicts (written once, never deleted) still name the document, its runs and its
findings. What stays holds no document text: hashes, sizes, page and token counts, offsets,
categories, states. Audit events are never purged.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, delete, func, select, update

from docanalysis.db.audit import utc
from docanalysis.db.repositories import Record, now
from docanalysis.db.tables import (
    FINAL_STATES,
    analysis_runs,
    analysis_windows,
    document_texts,
    documents,
    finding_reviews,
    findings,
    matters,
    tenants,
)

PURGE_REASONS = ("deleted", "retention")


def lock_matter(conn: Connection, matter_id: int) -> Record | None:
    """The matter with its hold and retention, locked (PostgreSQL) until the transaction ends:
    a hold set at the same moment as a delete is decided before or after it, never between."""
    query = select(matters).where(matters.c.id == matter_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return conn.execute(query).first()


def set_legal_hold(
    conn: Connection, matter_id: int, since: datetime | None, by: str, reason: str
) -> None:
    values = {"legal_hold_since": since, "legal_hold_by": by, "legal_hold_reason": reason}
    conn.execute(update(matters).where(matters.c.id == matter_id).values(**values))


def set_matter_retention(conn: Connection, matter_id: int, days: int | None) -> None:
    conn.execute(update(matters).where(matters.c.id == matter_id).values(retention_days=days))


def set_tenant_retention(conn: Connection, tenant_id: int, days: int | None) -> None:
    conn.execute(update(tenants).where(tenants.c.id == tenant_id).values(retention_days=days))


def tenant(conn: Connection, tenant_id: int) -> Record | None:
    return conn.execute(select(tenants).where(tenants.c.id == tenant_id)).first()


def expired_documents(
    conn: Connection, at: datetime, document_id: int | None = None
) -> Sequence[Record]:
    """Documents not yet purged whose matter's retention (else its tenant's) has run out at
    `at`, with their matter's hold: (id, matter_id, tenant_id, created_at, days, on_hold).
    With `document_id`, that document only."""
    days = func.coalesce(matters.c.retention_days, tenants.c.retention_days)
    query = (
        select(
            documents.c.id,
            documents.c.matter_id,
            documents.c.tenant_id,
            documents.c.created_at,
            days.label("days"),
            matters.c.legal_hold_since.is_not(None).label("on_hold"),
        )
        .join(matters, matters.c.id == documents.c.matter_id)
        .join(tenants, tenants.c.id == documents.c.tenant_id)
        .where(documents.c.purged_at.is_(None), days.is_not(None))
        .order_by(documents.c.id)
    )
    if document_id is not None:
        query = query.where(documents.c.id == document_id)
    rows = conn.execute(query).all()
    # Compared here, not in SQL: date arithmetic on a column differs between the two databases.
    return [r for r in rows if utc(r.created_at) + timedelta(days=int(r.days)) <= at]


def purge_content(conn: Connection, document_id: int, reason: str) -> list[int]:
    """Remove a document's text and results, mark it purged; the ids of runs that were still
    going, now failed (their workers find a final state and stop)."""
    if reason not in PURGE_REASONS:
        raise ValueError(f"purge reason {reason!r} is not one of {PURGE_REASONS}")
    run_ids = select(analysis_runs.c.id).where(analysis_runs.c.document_id == document_id)
    stopped = [
        int(r)
        for r in conn.execute(run_ids.where(analysis_runs.c.state.not_in(FINAL_STATES))).scalars()
    ]
    conn.execute(delete(document_texts).where(document_texts.c.document_id == document_id))
    conn.execute(
        update(analysis_windows)
        .where(analysis_windows.c.run_id.in_(run_ids))
        .values(output_raw=None, summary=None, sentences=None, clauses=None)
    )
    conn.execute(
        update(findings)
        .where(findings.c.run_id.in_(run_ids))
        .values(text="", value="", citations=None, basis_reason="")
    )
    reviewed = select(findings.c.id).where(findings.c.run_id.in_(run_ids))
    conn.execute(
        update(finding_reviews)
        .where(finding_reviews.c.finding_id.in_(reviewed))
        .values(text="", value="", note="")
    )
    stamp = now()
    conn.execute(
        update(analysis_runs)
        .where(analysis_runs.c.document_id == document_id)
        .values(warnings=[], grounding=None, updated_at=stamp)
    )
    if stopped:
        conn.execute(
            update(analysis_runs)
            .where(analysis_runs.c.id.in_(stopped))
            .values(
                state="failed",
                reason="the document was deleted",
                reason_code="deleted",
                finished_at=stamp,
            )
        )
    conn.execute(
        update(documents)
        .where(documents.c.id == document_id)
        .values(purged_at=stamp, purge_reason=reason)
    )
    return stopped


def blob_in_use(conn: Connection, sha256: str) -> bool:
    """Whether a document that is not purged still has this file."""
    query = select(documents.c.id).where(
        and_(documents.c.sha256 == sha256, documents.c.purged_at.is_(None))
    )
    return conn.execute(query.limit(1)).first() is not None
