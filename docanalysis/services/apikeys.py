"""REST API keys: created (the key shown once), checked on each request, revoked.

A key reads ``dak_<8 characters>_<43 characters>``. The first part (``dak_`` and 8 characters)
is its prefix: public, unique, stored, shown in listings and audit events, so a key found in a
log or a repository is recognizable and can be revoked. Only the sha256 of the whole key is
stored; a check compares hashes in constant time. A key is scoped to its tenant (every matter,
and it may create matters), or to a list of the tenant's matters. Creation and revocation are
audited (`api_key.created`, `api_key.revoked`), with the prefix and never the key.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, insert, select, text, update

from docanalysis.db import repositories as repo
from docanalysis.db import tenancy
from docanalysis.db.audit import utc
from docanalysis.db.engine import reading, transaction
from docanalysis.db.tables import api_key_matters, api_keys, tenants
from docanalysis.services.audit import record
from docanalysis.services.errors import NotFound, Rejected
from docanalysis.services.runtime import Runtime
from docanalysis.services.views import Actor

KEY_PATTERN = re.compile(r"(dak_[a-z2-7]{8})_[A-Za-z0-9_-]{43}")
MAX_EXPIRY_DAYS = 3660


@dataclass(frozen=True)
class NewKey:
    """A key just created: `secret` is the whole key, shown to its owner this once."""

    id: int
    prefix: str
    secret: str
    tenant: str
    tenant_created: bool
    matter_ids: tuple[int, ...]
    expires_at: datetime | None


@dataclass(frozen=True)
class ApiPrincipal:
    """Who calls the API: a key of a tenant, limited to `matter_ids` unless None."""

    key_id: int
    prefix: str
    tenant_id: int
    matter_ids: frozenset[int] | None

    @property
    def identity(self) -> str:
        return f"api-key:{self.prefix}"

    def may_use(self, matter_id: int) -> bool:
        return self.matter_ids is None or matter_id in self.matter_ids


def _sha256(key: str) -> str:
    return hashlib.sha256(key.encode("ascii")).hexdigest()


def _new_secret() -> tuple[str, str]:
    """(prefix, key): 8 base32 characters of prefix (40 bits), 32 random bytes of secret."""
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    prefix = "dak_" + "".join(secrets.choice(alphabet) for _ in range(8))
    return prefix, f"{prefix}_{secrets.token_urlsafe(32)}"


def create_key(
    rt: Runtime,
    actor: Actor,
    tenant: str,
    *,
    matter_ids: tuple[int, ...] = (),
    expires_days: int | None = None,
    name: str = "",
) -> NewKey:
    """A new key for the tenant (created if it does not exist yet), or for some of its matters."""
    if expires_days is not None and not 1 <= expires_days <= MAX_EXPIRY_DAYS:
        raise Rejected(f"an API key expires after 1 to {MAX_EXPIRY_DAYS} days")
    prefix, secret = _new_secret()
    with transaction(rt.engine) as conn:
        existed = conn.execute(select(tenants.c.id).where(tenants.c.name == tenant)).first()
        tenant_id = repo.get_or_create_tenant(conn, tenant)
        _check_matters(conn, tenant_id, matter_ids)
        now = repo.now()
        expires_at = None if expires_days is None else now + timedelta(days=expires_days)
        key_id = _insert_key(conn, tenant_id, prefix, secret, name, actor, now, expires_at)
        for matter_id in matter_ids:
            conn.execute(insert(api_key_matters).values(api_key_id=key_id, matter_id=matter_id))
        record(
            conn,
            actor,
            "api_key.created",
            f"api_key:{prefix}",
            tenant_id=tenant_id,
            matter_id=matter_ids[0] if len(matter_ids) == 1 else None,
            name=name,
            matters=list(matter_ids),
            expires_at=expires_at,
            tenant_created=existed is None,
        )
    return NewKey(key_id, prefix, secret, tenant, existed is None, tuple(matter_ids), expires_at)


def _check_matters(conn: Connection, tenant_id: int, matter_ids: tuple[int, ...]) -> None:
    for matter_id in matter_ids:
        found = repo.matter(conn, matter_id)
        if found is None or int(found.tenant_id) != tenant_id:
            raise Rejected(f"matter {matter_id} is not a matter of this tenant")


def _insert_key(
    conn: Connection,
    tenant_id: int,
    prefix: str,
    secret: str,
    name: str,
    actor: Actor,
    now: datetime,
    expires_at: datetime | None,
) -> int:
    values = {
        "tenant_id": tenant_id,
        "prefix": prefix,
        "key_sha256": _sha256(secret),
        "name": " ".join(name.split())[:200],
        "created_by": actor.identity,
        "created_at": now,
        "expires_at": expires_at,
        "revoked_by": "",
    }
    query = insert(api_keys).values(**values).returning(api_keys.c.id)
    return int(conn.execute(query).scalar_one())


def revoke_key(rt: Runtime, actor: Actor, prefix: str, tenant_id: int | None = None) -> None:
    """Revoke the key with this prefix (of this tenant, when given); at once, for every
    request after the commit."""
    with transaction(rt.engine) as conn:
        query = select(api_keys).where(api_keys.c.prefix == prefix)
        found = conn.execute(query).first()
        if found is None or (tenant_id is not None and int(found.tenant_id) != tenant_id):
            raise NotFound(f"no API key {prefix}")
        if found.revoked_at is not None:
            raise Rejected(f"API key {prefix} is already revoked")
        conn.execute(
            update(api_keys)
            .where(api_keys.c.id == found.id)
            .values(revoked_at=repo.now(), revoked_by=actor.identity)
        )
        record(
            conn,
            actor,
            "api_key.revoked",
            f"api_key:{prefix}",
            tenant_id=int(found.tenant_id),
            matter_id=None,
        )


def authenticate(rt: Runtime, presented: str, at: datetime | None = None) -> ApiPrincipal | None:
    """The key's principal, or None for a malformed, unknown, revoked or expired key (the
    caller answers all of them alike). On PostgreSQL the caller's scope must hold the key's
    tenant (row-level security); authenticate_request sets it."""
    match = KEY_PATTERN.fullmatch(presented)
    if match is None:
        return None
    with reading(rt.engine) as conn:
        return _principal(conn, presented, match[1], at)


def authenticate_request(
    rt: Runtime, presented: str, at: datetime | None = None
) -> ApiPrincipal | None:
    """authenticate, with the scope of the rest of the unit of work (a request) widened to the
    key's tenant, found by its prefix first: row-level security hides the key's row until its
    tenant is in scope. One connection for both, not one each: every API request pays this."""
    match = KEY_PATTERN.fullmatch(presented)
    if match is None:
        return None
    with reading(rt.engine) as conn:
        tenant = _tenant_of_prefix(conn, match[1])
        if tenant is not None:
            tenancy.widen(conn, tenant)
        return _principal(conn, presented, match[1], at)


def _tenant_of_prefix(conn: Connection, prefix: str) -> int | None:
    """The tenant of the key with this prefix, through the lookup that bypasses row-level
    security (it returns an id only); None if there is none, and on SQLite, which needs none."""
    if conn.dialect.name != "postgresql":
        return None
    lookup = text(f"SELECT {tenancy.LOOKUPS['api_key']}(:prefix)")
    found = conn.execute(lookup, {"prefix": prefix}).scalar()
    return None if found is None else int(found)


def _principal(
    conn: Connection, presented: str, prefix: str, at: datetime | None
) -> ApiPrincipal | None:
    # The key and its matters in one query: one row per matter, or one with none.
    query = (
        select(api_keys, api_key_matters.c.matter_id)
        .outerjoin(api_key_matters, api_key_matters.c.api_key_id == api_keys.c.id)
        .where(api_keys.c.prefix == prefix)
    )
    rows = conn.execute(query).all()
    found = rows[0] if rows else None
    if found is None or not hmac.compare_digest(found.key_sha256, _sha256(presented)):
        return None
    if found.revoked_at is not None:
        return None
    if found.expires_at is not None and utc(found.expires_at) <= (at or repo.now()):
        return None
    matter_ids = frozenset(int(r.matter_id) for r in rows if r.matter_id is not None)
    return ApiPrincipal(int(found.id), found.prefix, int(found.tenant_id), matter_ids or None)


def keys_of_tenant(rt: Runtime, tenant_id: int) -> list[repo.Record]:
    """The tenant's keys, newest first, for the admin's list (never the hash)."""
    query = (
        select(
            api_keys.c.id,
            api_keys.c.prefix,
            api_keys.c.name,
            api_keys.c.created_by,
            api_keys.c.created_at,
            api_keys.c.expires_at,
            api_keys.c.revoked_at,
        )
        .where(api_keys.c.tenant_id == tenant_id)
        .order_by(api_keys.c.id.desc())
    )
    with reading(rt.engine) as conn:
        return list(conn.execute(query))
