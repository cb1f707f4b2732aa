"""Matters: the unit of access. A user sees only the matters they are a member of."""

from __future__ import annotations

from sqlalchemy import Connection

from docanalysis.db import repositories as repo
from docanalysis.db.audit import utc
from docanalysis.db.engine import reading, transaction
from docanalysis.services.audit import record
from docanalysis.services.errors import Rejected
from docanalysis.services.runtime import Runtime
from docanalysis.services.views import Actor, MatterView

DEFAULT_TENANT = "default"


def create_matter(rt: Runtime, actor: Actor, name: str, tenant: str = DEFAULT_TENANT) -> int:
    """Create a matter; its creator (if a user) becomes a member. Audited in the same commit."""
    name = " ".join(name.split())
    if not name or len(name) > 200:
        raise Rejected("a matter needs a name of 1 to 200 characters")
    with transaction(rt.engine) as conn:
        tenant_id = repo.get_or_create_tenant(conn, tenant)
        if repo.find_matter(conn, tenant_id, name) is not None:
            raise Rejected(f"a matter named {name!r} already exists")
        matter_id = repo.create_matter(conn, tenant_id, name)
        record(
            conn,
            actor,
            "matter.created",
            f"matter:{matter_id}",
            tenant_id=tenant_id,
            matter_id=matter_id,
            name=name,
        )
        if actor.user_id is not None:
            _add_member(conn, actor, matter_id, tenant_id, actor.user_id, "admin")
    return matter_id


def add_member(rt: Runtime, actor: Actor, matter_id: int, user_id: int) -> None:
    with transaction(rt.engine) as conn:
        found = repo.matter(conn, matter_id)
        if found is None:
            raise Rejected(f"matter {matter_id} does not exist")
        _add_member(conn, actor, matter_id, int(found.tenant_id), user_id, "editor")


def _add_member(
    conn: Connection, actor: Actor, matter_id: int, tenant_id: int, user_id: int, role: str
) -> None:
    if repo.add_member(conn, matter_id, user_id, role):
        record(
            conn,
            actor,
            "matter.member_added",
            f"matter:{matter_id}",
            tenant_id=tenant_id,
            matter_id=matter_id,
            user_id=user_id,
            role=role,
        )


def ensure_matter(rt: Runtime, actor: Actor, name: str, tenant: str = DEFAULT_TENANT) -> int:
    """The id of the named matter, created if absent (the CLI's and first start's matter)."""
    with transaction(rt.engine) as conn:
        tenant_id = repo.get_or_create_tenant(conn, tenant)
        found = repo.find_matter(conn, tenant_id, name)
    if found is None:
        return create_matter(rt, actor, name, tenant)
    if actor.user_id is not None:
        add_member(rt, actor, found, actor.user_id)
    return found


def matters_for_user(rt: Runtime, user_id: int) -> list[MatterView]:
    with reading(rt.engine) as conn:
        return [matter_view(r) for r in repo.matters_of(conn, user_id)]


def matter_view(row: repo.Record) -> MatterView:
    since = row.legal_hold_since
    return MatterView(
        id=int(row.id),
        name=row.name,
        tenant=row.tenant,
        legal_hold_since=None if since is None else utc(since),
        legal_hold_by=row.legal_hold_by,
        legal_hold_reason=row.legal_hold_reason,
        retention_days=row.retention_days,
    )
