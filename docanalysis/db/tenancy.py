"""Which tenants' rows a transaction may see: PostgreSQL row-level security's input (ADR 2).

Migration 0015 puts a policy on every tenant-owned table: a row is visible, and may be written,
only when its tenant is in the transaction's setting `docanalysis.tenants` (a comma-separated
list of ids). The setting is taken from a context variable at the start of every transaction
on a PostgreSQL engine (`SET LOCAL`, so a pooled connection never carries it to the next
user), and a transaction that began with no scope sees no tenant's rows at all.

The scope is set once per unit of work, where the caller's identity is known:
- an API request: the key's tenant (docanalysis.api.auth);
- a browser request: the tenants the user belongs to (docanalysis.web.tenant_scope);
- a worker step: the run's tenant; a webhook delivery: its endpoint's tenant (workers.tasks);
- a scheduled job or an operator's command: EVERY tenant (they act on all of them).
Before the scope is known, the identity is looked up through narrow SECURITY DEFINER functions
(migration 0015) that return a tenant id and nothing else.

This is a backstop against a query that forgets its tenant filter, not against SQL run by an
attacker as the application's role (which could set any scope). SQLite has no row-level
security: the embedded profile relies on the services' own checks alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Literal

from sqlalchemy import Connection, Engine, event, text

SETTING = "docanalysis.tenants"
EVERY: Literal["every"] = "every"  # a scheduled job's or an operator's scope: every tenant
Scope = frozenset[int] | Literal["every"]
LOOKUPS = {  # what a tenant id can be looked up from, and the function that does it
    "run": "docanalysis_tenant_of_run",
    "delivery": "docanalysis_tenant_of_delivery",
    "api_key": "docanalysis_tenant_of_api_key",
}
# "Every tenant" is read from the tenants table inside the transaction, so a tenant created
# since the job began is in it too.
_EVERY_SQL = "(SELECT coalesce(string_agg(id::text, ','), '') FROM tenants)"

_scope: ContextVar[Scope] = ContextVar("docanalysis_tenant_scope", default=frozenset())


def current_scope() -> Scope:
    return _scope.get()


def set_scope(scope: Scope | Iterable[int]) -> None:
    """The scope of the rest of this unit of work (a request: the middleware resets it)."""
    _scope.set(scope if scope == EVERY else frozenset(int(t) for t in scope))


@contextmanager
def tenant_scope(scope: Scope | Iterable[int]) -> Iterator[None]:
    """Transactions begun inside the block see the rows of the scope's tenants only."""
    token = _scope.set(_scope.get())
    set_scope(scope)
    try:
        yield
    finally:
        _scope.reset(token)


@contextmanager
def scope_of(engine: Engine, kind: str, ident: int | str) -> Iterator[None]:
    """The block runs in the scope of a run's or a delivery's tenant (empty if it is gone)."""
    tenant = tenant_of(engine, kind, ident)
    with tenant_scope(() if tenant is None else (tenant,)):
        yield


def widen(conn: Connection, tenant_id: int) -> None:
    """Add a tenant created in this transaction to its scope (and to the rest of the unit of
    work's): otherwise its first matter could not be written."""
    scope = _scope.get()
    if scope != EVERY:
        scope = scope | {tenant_id}
        _scope.set(scope)
    if conn.dialect.name == "postgresql":
        _apply(conn, scope)


def tenant_of(engine: Engine, kind: str, ident: int | str) -> int | None:
    """The tenant of a run, a webhook delivery or an API key (by prefix), before the scope is
    known; None if there is no such thing. On SQLite, which has no policies, None too: the
    caller then needs no scope."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as conn:
        found = conn.execute(text(f"SELECT {LOOKUPS[kind]}(:ident)"), {"ident": ident}).scalar()
    return None if found is None else int(found)


def user_tenants(engine: Engine, user_id: int, also: str) -> frozenset[int]:
    """The tenants a browser user holds a role or a matter in, and the tenant named `also`
    (the one the browser works in) if it exists. Empty on SQLite."""
    if engine.dialect.name != "postgresql":
        return frozenset()
    query = text(
        "SELECT docanalysis_tenants_of_user(:user_id)"
        " || ARRAY(SELECT id FROM tenants WHERE name = :also)"
    )
    with engine.connect() as conn:
        found = conn.execute(query, {"user_id": user_id, "also": also}).scalar()
    return frozenset(int(t) for t in found or ())


def install(engine: Engine) -> None:
    """Set the scope at the start of every transaction on a PostgreSQL engine."""
    if engine.dialect.name == "postgresql":
        event.listen(engine, "begin", _on_begin)


def _on_begin(conn: Connection) -> None:
    _apply(conn, _scope.get())


def _apply(conn: Connection, scope: Scope) -> None:
    if scope == EVERY:
        conn.exec_driver_sql(f"SELECT set_config('{SETTING}', {_EVERY_SQL}, true)")
        return
    value = ",".join(str(t) for t in sorted(scope))
    conn.exec_driver_sql(f"SELECT set_config('{SETTING}', %(value)s, true)", {"value": value})


__all__ = [
    "EVERY",
    "current_scope",
    "install",
    "scope_of",
    "set_scope",
    "tenant_of",
    "tenant_scope",
    "user_tenants",
    "widen",
]
