"""Who may do what in a matter: a viewer reads; an editor also uploads and deletes; an admin
also adds members, changes their roles and removes them. Each change is audited with the
member's id and name; a matter always keeps at least one admin. The CLI (an actor without a
user id) is trusted, as it runs on the server."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from docanalysis.db import repositories as repo
from docanalysis.db.audit import utc
from docanalysis.db.engine import reading, transaction
from docanalysis.db.tables import MATTER_ROLES
from docanalysis.services.audit import record
from docanalysis.services.errors import NotFound, Rejected
from docanalysis.services.runtime import Runtime
from docanalysis.services.views import Actor

RANK = {role: rank for rank, role in enumerate(MATTER_ROLES)}
WHAT = {"editor": "upload, review or delete documents", "admin": "manage the members"}


class Forbidden(Rejected):
    """A member whose role does not allow the action (they may see the matter: not a 404)."""

    code = "forbidden"


@dataclass(frozen=True)
class Member:
    user_id: int
    role: str
    since: datetime


def require(conn: Connection, actor: Actor, matter_id: int, needed: str) -> None:
    """NotFound unless the actor is a member; Forbidden unless their role is `needed` or
    above."""
    if actor.user_id is None:
        return
    role = repo.member_role(conn, matter_id, actor.user_id)
    if role is None:
        raise NotFound("no such matter")
    if RANK.get(role, -1) < RANK[needed]:
        raise Forbidden(f"as a {role} of this matter you cannot {WHAT[needed]}")


def may(rt: Runtime, actor: Actor, matter_id: int, needed: str) -> bool:
    """Whether the actor's role in the matter allows what `needed` allows (to show a form)."""
    with reading(rt.engine) as conn:
        try:
            require(conn, actor, matter_id, needed)
        except (NotFound, Forbidden):
            return False
    return True


def members(rt: Runtime, actor: Actor, matter_id: int) -> list[Member]:
    with reading(rt.engine) as conn:
        require(conn, actor, matter_id, "viewer")
        rows = repo.members_of(conn, matter_id)
    return [Member(int(r.user_id), r.role, utc(r.created_at)) for r in rows]


def add(rt: Runtime, actor: Actor, matter_id: int, user_id: int, username: str, role: str) -> None:
    _check_role(role)
    with transaction(rt.engine) as conn:
        tenant_id = _admin_of(conn, actor, matter_id)
        if not repo.add_member(conn, matter_id, user_id, role):
            raise Rejected(f"{username} is already a member of this matter")
        _event(conn, actor, "matter.member_added", tenant_id, matter_id, user_id, username, role)


def change_role(
    rt: Runtime, actor: Actor, matter_id: int, user_id: int, username: str, role: str
) -> None:
    _check_role(role)
    with transaction(rt.engine) as conn:
        tenant_id = _admin_of(conn, actor, matter_id)
        before = _current(conn, matter_id, user_id, username)
        if before == role:
            return
        _keep_an_admin(conn, matter_id, user_id, before)
        repo.set_member_role(conn, matter_id, user_id, role)
        _event(
            conn,
            actor,
            "matter.member_role_changed",
            tenant_id,
            matter_id,
            user_id,
            username,
            role,
            before=before,
        )


def remove(rt: Runtime, actor: Actor, matter_id: int, user_id: int, username: str) -> None:
    with transaction(rt.engine) as conn:
        tenant_id = _admin_of(conn, actor, matter_id)
        before = _current(conn, matter_id, user_id, username)
        _keep_an_admin(conn, matter_id, user_id, before)
        repo.remove_member(conn, matter_id, user_id)
        _event(
            conn, actor, "matter.member_removed", tenant_id, matter_id, user_id, username, before
        )


def _check_role(role: str) -> None:
    if role not in MATTER_ROLES:
        raise Rejected(f"a member is a {', '.join(MATTER_ROLES[:-1])} or {MATTER_ROLES[-1]}")


def _admin_of(conn: Connection, actor: Actor, matter_id: int) -> int:
    """The matter's tenant, once the actor is known to administer it."""
    found = repo.matter(conn, matter_id)
    if found is None:
        raise NotFound("no such matter")
    require(conn, actor, matter_id, "admin")
    return int(found.tenant_id)


def _current(conn: Connection, matter_id: int, user_id: int, username: str) -> str:
    role = repo.member_role(conn, matter_id, user_id)
    if role is None:
        raise NotFound(f"{username} is not a member of this matter")
    return role


def _keep_an_admin(conn: Connection, matter_id: int, user_id: int, before: str) -> None:
    admins = [m for m in repo.members_of(conn, matter_id) if m.role == "admin"]
    if before == "admin" and [int(m.user_id) for m in admins] == [user_id]:
        raise Rejected("a matter keeps at least one admin: make someone else admin first")


def _event(
    conn: Connection,
    actor: Actor,
    action: str,
    tenant_id: int,
    matter_id: int,
    user_id: int,
    username: str,
    role: str,
    **details: str,
) -> None:
    record(
        conn,
        actor,
        action,
        f"matter:{matter_id}",
        tenant_id=tenant_id,
        matter_id=matter_id,
        user_id=user_id,
        username=username,
        role=role,
        **details,
    )
