"""Audit events written by the use cases, in the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from docanalysis.db.audit import append_event
from docanalysis.services.views import Actor


def record(
    conn: Connection,
    actor: Actor,
    action: str,
    subject: str,
    *,
    tenant_id: int,
    matter_id: int,
    **details: Any,
) -> None:
    """One audit event by `actor` about `subject` in a matter (identity copied, not referred)."""
    append_event(
        conn,
        action=action,
        subject=subject,
        actor=actor.identity,
        actor_id=actor.user_id,
        tenant_id=tenant_id,
        matter_id=matter_id,
        details=details,
    )
