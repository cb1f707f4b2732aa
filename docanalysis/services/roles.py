"""Tenant-wide roles: who may read the audit trail, set legal holds, administer a tenant.

A grant or a revocation is a permission change: it is audited in the same transaction as the
change (`user.role_granted`, `user.role_revoked`), naming the user by id and by name.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Connection, and_, delete, insert, select

from docanalysis.db import repositories as repo
from docanalysis.db.engine import reading, transaction
from docanalysis.db.tables import TENANT_ROLES, tenant_roles, tenants
from docanalysis.services.audit import record
from docanalysis.services.errors import Rejected
from docanalysis.services.matters import DEFAULT_TENANT
from docanalysis.services.runtime import Runtime
from docanalysis.services.views import Actor


def _check(role: str) -> None:
    if role not in TENANT_ROLES:
        raise Rejected(f"unknown role {role!r}: choose one of {', '.join(TENANT_ROLES)}")


def _row(tenant_id: int, user_id: int, role: str) -> ColumnElement[bool]:
    return and_(
        tenant_roles.c.tenant_id == tenant_id,
        tenant_roles.c.user_id == user_id,
        tenant_roles.c.role == role,
    )


def _holds(conn: Connection, tenant_id: int, user_id: int, role: str) -> bool:
    query = select(tenant_roles.c.role).where(_row(tenant_id, user_id, role))
    return conn.execute(query).first() is not None


def grant_role(
    rt: Runtime, actor: Actor, user_id: int, username: str, role: str, tenant: str = DEFAULT_TENANT
) -> bool:
    """Give the user the role in the tenant; False (and no event) if they already hold it."""
    _check(role)
    with transaction(rt.engine) as conn:
        tenant_id = repo.get_or_create_tenant(conn, tenant)
        if _holds(conn, tenant_id, user_id, role):
            return False
        values = {"tenant_id": tenant_id, "user_id": user_id, "role": role}
        conn.execute(insert(tenant_roles).values(**values, created_at=repo.now()))
        _record(conn, actor, "user.role_granted", tenant_id, user_id, username, role)
    return True


def revoke_role(
    rt: Runtime, actor: Actor, user_id: int, username: str, role: str, tenant: str = DEFAULT_TENANT
) -> bool:
    """Take the role away; False (and no event) if the user did not hold it."""
    _check(role)
    with transaction(rt.engine) as conn:
        tenant_id = repo.get_or_create_tenant(conn, tenant)
        if not _holds(conn, tenant_id, user_id, role):
            return False
        conn.execute(delete(tenant_roles).where(_row(tenant_id, user_id, role)))
        _record(conn, actor, "user.role_revoked", tenant_id, user_id, username, role)
    return True


def _record(
    conn: Connection,
    actor: Actor,
    action: str,
    tenant_id: int,
    user_id: int,
    username: str,
    role: str,
) -> None:
    record(
        conn,
        actor,
        action,
        f"user:{user_id}",
        tenant_id=tenant_id,
        matter_id=None,
        role=role,
        username=username,
    )


def roles_of(rt: Runtime, user_id: int, tenant: str = DEFAULT_TENANT) -> set[str]:
    """The roles the user holds in the tenant (none if the tenant does not exist yet)."""
    with reading(rt.engine) as conn:
        query = (
            select(tenant_roles.c.role)
            .join(tenants, tenants.c.id == tenant_roles.c.tenant_id)
            .where(tenant_roles.c.user_id == user_id, tenants.c.name == tenant)
        )
        return {str(role) for role in conn.execute(query).scalars()}
