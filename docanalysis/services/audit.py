"""Audit events written by the use cases, in the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from docanalysis.db import repositories as repo
from docanalysis.db.audit import append_event
from docanalysis.db.engine import transaction
from docanalysis.services.runtime import Runtime
from docanalysis.services.views import Actor, DocumentView


def record(
    conn: Connection,
    actor: Actor,
    action: str,
    subject: str,
    *,
    tenant_id: int | None,
    matter_id: int | None,
    outcome: str = "ok",
    **details: Any,
) -> None:
    """One audit event by `actor` about `subject` (identity copied, not referred), with the
    request that acted and where it came from, for tracing it to the web server's logs."""
    append_event(
        conn,
        action=action,
        subject=subject,
        actor=actor.identity,
        actor_id=actor.user_id,
        tenant_id=tenant_id,
        matter_id=matter_id,
        details=details,
        outcome=outcome,
        request_id=actor.request_id,
        client_address=actor.client_address,
    )


def record_alone(
    rt: Runtime,
    actor: Actor,
    action: str,
    subject: str,
    tenant_id: int | None = None,
    matter_id: int | None = None,
    outcome: str = "ok",
    **details: Any,
) -> None:
    """An event in a transaction of its own: a sign-in, a look at the audit trail, a refusal
    (no domain change to share a transaction with)."""
    with transaction(rt.engine) as conn:
        record(
            conn,
            actor,
            action,
            subject,
            tenant_id=tenant_id,
            matter_id=matter_id,
            outcome=outcome,
            **details,
        )


def record_access(rt: Runtime, actor: Actor, action: str, outcome: str, **details: Any) -> None:
    """A sign-in, failed sign-in or sign-out (no matter, no tenant)."""
    subject = f"user:{actor.user_id}" if actor.user_id is not None else "user:unknown"
    record_alone(rt, actor, action, subject, outcome=outcome, **details)


def record_view(rt: Runtime, actor: Actor, document: DocumentView, what: str) -> None:
    """A person read a document's analysis or one of its provisions."""
    _record_read(rt, actor, document.id, document.matter_id, "document.viewed", view=what)


def record_download(
    rt: Runtime, actor: Actor, document_id: int, matter_id: int, sha256: str, what: str = "original"
) -> None:
    """A person took a copy of a document's file; the hash says which bytes left."""
    _record_read(rt, actor, document_id, matter_id, "document.downloaded", what=what, sha256=sha256)


def _record_read(
    rt: Runtime, actor: Actor, document_id: int, matter_id: int, action: str, **details: Any
) -> None:
    """One code path for every read of a document: a view and a download are audited alike."""
    with transaction(rt.engine) as conn:
        doc = repo.document(conn, document_id)
        record(
            conn,
            actor,
            action,
            f"document:{document_id}",
            tenant_id=int(doc.tenant_id) if doc is not None else 0,
            matter_id=matter_id,
            **details,
        )
