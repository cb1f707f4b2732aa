"""Deleting a document, retention periods and legal hold: each change and each refusal audited.

A purge (a person's delete, or a retention period running out) removes the document's content
and keeps its rows as tombstones (see db.purge); audit events are never purged. While its
matter is under legal hold nothing in it may be deleted: a person's attempt is refused and the
refusal audited; the retention job leaves it and records that it did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from docanalysis.db import purge
from docanalysis.db import repositories as repo
from docanalysis.db.audit import utc
from docanalysis.db.engine import reading, transaction
from docanalysis.services.audit import record, record_alone
from docanalysis.services.errors import NotFound, Rejected
from docanalysis.services.members import require
from docanalysis.services.pages import forget_pages
from docanalysis.services.queries import visible_document
from docanalysis.services.runtime import Runtime
from docanalysis.services.views import Actor
from docanalysis.services.webhooks import announce_deleted

RETENTION_ACTOR = Actor(None, "system:retention")
MAX_RETENTION_DAYS = 100 * 366


class OnLegalHold(Rejected):
    """The matter is under legal hold: nothing in it may be deleted."""

    code = "legal_hold"


def delete_document(rt: Runtime, actor: Actor, document_id: int) -> None:
    """Purge a document's content at a person's request; refused (and audited) under hold."""
    with transaction(rt.engine) as conn:
        doc = visible_document(conn, actor.user_id, document_id)
        require(conn, actor, int(doc.matter_id), "editor")
        matter = purge.lock_matter(conn, int(doc.matter_id))
        on_hold = matter is not None and matter.legal_hold_since is not None
        if not on_hold:
            _purge(conn, actor, doc, "deleted")
    if on_hold:
        record_alone(
            rt,
            actor,
            "document.delete_refused",
            f"document:{document_id}",
            tenant_id=int(doc.tenant_id),
            matter_id=int(doc.matter_id),
            outcome="refused",
            reason="legal_hold",
        )
        raise OnLegalHold("this matter is under legal hold: its documents cannot be deleted")
    drop_unused_blob(rt, str(doc.sha256))


def _purge(conn: Connection, actor: Actor, doc: repo.Record, reason: str) -> None:
    stopped = purge.purge_content(conn, int(doc.id), reason)
    record(
        conn,
        actor,
        "document.deleted" if reason == "deleted" else "document.purged",
        f"document:{doc.id}",
        tenant_id=int(doc.tenant_id),
        matter_id=int(doc.matter_id),
        reason=reason,
        sha256=doc.sha256,
        stopped_runs=stopped,
    )
    announce_deleted(conn, doc, reason)  # document.deleted, with the commit


def drop_unused_blob(rt: Runtime, sha256: str) -> None:
    """Remove the stored file once no document still has it (the same file uploaded into two
    matters is stored once). After the purge's commit, never before: a purge rolled back must
    not lose its file. Under the file's lock, which an upload of the same bytes also takes, so
    the two are decided one after the other (submit stores the file again if it is gone)."""
    with transaction(rt.engine) as conn:
        repo.lock_blob(conn, sha256)
        if not purge.blob_in_use(conn, sha256):
            rt.blobs.remove(sha256)
            forget_pages(rt, sha256)  # the page images rendered from it


def set_legal_hold(rt: Runtime, actor: Actor, matter_id: int, reason: str) -> None:
    """Put a matter under legal hold (a reason is required: it is what an auditor reads)."""
    reason = " ".join(reason.split())
    if not reason or len(reason) > 1000:
        raise Rejected("a legal hold needs a reason of 1 to 1000 characters")
    with transaction(rt.engine) as conn:
        matter = _matter(conn, matter_id)
        if matter.legal_hold_since is not None:
            raise Rejected("this matter is already under legal hold")
        purge.set_legal_hold(conn, matter_id, repo.now(), actor.identity, reason)
        _matter_event(conn, actor, matter, "matter.legal_hold_set", reason=reason)


def lift_legal_hold(rt: Runtime, actor: Actor, matter_id: int, reason: str = "") -> None:
    with transaction(rt.engine) as conn:
        matter = _matter(conn, matter_id)
        if matter.legal_hold_since is None:
            raise Rejected("this matter is not under legal hold")
        purge.set_legal_hold(conn, matter_id, None, "", "")
        _matter_event(
            conn,
            actor,
            matter,
            "matter.legal_hold_lifted",
            reason=" ".join(reason.split()),
            held_since=utc(matter.legal_hold_since),
        )


def set_retention(
    rt: Runtime, actor: Actor, days: int | None, *, tenant: str = "", matter_id: int | None = None
) -> None:
    """Keep documents `days` after upload (None: keep them) for a matter, or for a tenant's
    matters that set none of their own."""
    if days is not None and not 1 <= days <= MAX_RETENTION_DAYS:
        raise Rejected(f"a retention period is 1 to {MAX_RETENTION_DAYS} days")
    with transaction(rt.engine) as conn:
        if matter_id is not None:
            matter = _matter(conn, matter_id)
            purge.set_matter_retention(conn, matter_id, days)
            before = matter.retention_days
            _matter_event(conn, actor, matter, "retention.set", days=days, before=before)
            return
        tenant_id = repo.get_or_create_tenant(conn, tenant)
        found = purge.tenant(conn, tenant_id)
        purge.set_tenant_retention(conn, tenant_id, days)
        before = None if found is None else found.retention_days
        record(
            conn,
            actor,
            "retention.set",
            f"tenant:{tenant_id}",
            tenant_id=tenant_id,
            matter_id=None,
            days=days,
            before=before,
        )


def _matter(conn: Connection, matter_id: int) -> repo.Record:
    matter = purge.lock_matter(conn, matter_id)
    if matter is None:
        raise NotFound(f"matter {matter_id} does not exist")
    return matter


def _matter_event(
    conn: Connection, actor: Actor, matter: repo.Record, action: str, **details: Any
) -> None:
    record(
        conn,
        actor,
        action,
        f"matter:{matter.id}",
        tenant_id=int(matter.tenant_id),
        matter_id=int(matter.id),
        **details,
    )


@dataclass
class PurgeReport:
    """What one pass of the retention job did."""

    purged: list[int] = field(default_factory=list)
    held: dict[int, list[int]] = field(default_factory=dict)  # matter id -> its document ids


def purge_expired(rt: Runtime, at: datetime | None = None) -> PurgeReport:
    """Purge every document whose retention ran out by `at` (now), one transaction each, so a
    crash half-way loses nothing and the next pass finishes the rest. Documents in a matter
    under hold are left; the pass records one refusal per such matter."""
    at = at or datetime.now(UTC)
    report = PurgeReport()
    with reading(rt.engine) as conn:
        expired = purge.expired_documents(conn, at)
    for row in expired:
        if row.on_hold:
            report.held.setdefault(int(row.matter_id), []).append(int(row.id))
        elif _purge_if_still_due(rt, int(row.id), at):
            report.purged.append(int(row.id))
    for matter_id, document_ids in report.held.items():
        _record_deferred(rt, matter_id, document_ids)
    return report


def _purge_if_still_due(rt: Runtime, document_id: int, at: datetime) -> bool:
    with transaction(rt.engine) as conn:
        doc = repo.document(conn, document_id)
        matter = None if doc is None else purge.lock_matter(conn, int(doc.matter_id))
        # Read again under the lock: a delete or a hold may have come since the list was made.
        due = purge.expired_documents(conn, at, document_id)
        if doc is None or matter is None or not due or due[0].on_hold:
            return False
        _purge(conn, RETENTION_ACTOR, doc, "retention")
    drop_unused_blob(rt, str(doc.sha256))
    return True


def _record_deferred(rt: Runtime, matter_id: int, document_ids: list[int]) -> None:
    with reading(rt.engine) as conn:
        matter = repo.matter(conn, matter_id)
    record_alone(
        rt,
        RETENTION_ACTOR,
        "retention.purge_refused",
        f"matter:{matter_id}",
        tenant_id=None if matter is None else int(matter.tenant_id),
        matter_id=matter_id,
        outcome="refused",
        reason="legal_hold",
        documents=document_ids,
    )
