"""PostgreSQL: row-level security on every tenant-owned table, forced for the owner too

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-27

ADR 2. A row is visible, and may be written, only when its tenant is in the transaction's
setting `docanalysis.tenants` (docanalysis.db.tenancy sets it per transaction); without it no
tenant's row is visible. Tables with a tenant_id compare it; their children reach it through
their parent's row, itself under its policy. tenants (the list of firms) and audit_events (one
global chain, verified whole; its exports filter by tenant) stay outside.

Before the scope is known, a run's, a webhook delivery's or an API key's tenant, and a user's
tenants, are looked up through SECURITY DEFINER functions that return ids and nothing else.
They belong to docanalysis_lookup, a role without login whose only privilege is to read the
columns those lookups need; the application's role is not a member of it.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LOOKUP_ROLE = "docanalysis_lookup"
SCOPE = "string_to_array(NULLIF(current_setting('docanalysis.tenants', true), ''), ',')::bigint[]"
OWN_TENANT = ("matters", "documents", "tenant_roles", "api_keys", "webhook_endpoints")
CHILDREN = {  # table: (its column, the parent table whose id it holds)
    "matter_members": ("matter_id", "matters"),
    "document_texts": ("document_id", "documents"),
    "analysis_runs": ("document_id", "documents"),
    "analysis_windows": ("run_id", "analysis_runs"),
    "findings": ("run_id", "analysis_runs"),
    "finding_reviews": ("finding_id", "findings"),
    "guard_verdicts": ("finding_id", "findings"),
    "api_key_matters": ("api_key_id", "api_keys"),
    "idempotency_keys": ("api_key_id", "api_keys"),
    "webhook_deliveries": ("endpoint_id", "webhook_endpoints"),
}
LOOKED_UP = (  # what the lookup functions read
    "analysis_runs",
    "documents",
    "webhook_deliveries",
    "webhook_endpoints",
    "api_keys",
    "tenant_roles",
    "matter_members",
    "matters",
)
DEFINER = "LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp"
FUNCTIONS = {
    "docanalysis_tenant_of_run(run bigint) RETURNS bigint": (
        "SELECT d.tenant_id FROM analysis_runs r JOIN documents d ON d.id = r.document_id "
        "WHERE r.id = run"
    ),
    "docanalysis_tenant_of_delivery(delivery bigint) RETURNS bigint": (
        "SELECT e.tenant_id FROM webhook_deliveries w "
        "JOIN webhook_endpoints e ON e.id = w.endpoint_id WHERE w.id = delivery"
    ),
    "docanalysis_tenant_of_api_key(key_prefix text) RETURNS bigint": (
        "SELECT tenant_id FROM api_keys WHERE prefix = key_prefix"
    ),
    "docanalysis_tenants_of_user(member integer) RETURNS bigint[]": (
        "SELECT coalesce(array_agg(DISTINCT t), '{}') FROM ("
        " SELECT tenant_id AS t FROM tenant_roles WHERE user_id = member"
        " UNION SELECT m.tenant_id FROM matter_members mm JOIN matters m ON m.id = mm.matter_id"
        " WHERE mm.user_id = member) AS found"
    ),
}


def _policies() -> list[str]:
    statements = []
    for table in OWN_TENANT:
        statements.append(
            f"CREATE POLICY tenant_scope ON {table} USING (tenant_id = ANY ({SCOPE}))"
        )
    for table, (column, parent) in CHILDREN.items():
        # The parent's row is read under the parent's own policy: visible only in scope.
        owned = f"EXISTS (SELECT 1 FROM {parent} p WHERE p.id = {table}.{column})"
        statements.append(f"CREATE POLICY tenant_scope ON {table} USING ({owned})")
    for table in (*OWN_TENANT, *CHILDREN):
        statements += [
            f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
            f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        ]
    return statements


def _lookups() -> list[str]:
    statements = [
        f"""
        DO $$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{LOOKUP_ROLE}') THEN
                CREATE ROLE {LOOKUP_ROLE} NOLOGIN;
            END IF;
        EXCEPTION WHEN duplicate_object THEN NULL;
        END $$
        """,
        # The migrating role hands the functions to the lookup role, which needs membership.
        f"GRANT {LOOKUP_ROLE} TO CURRENT_USER",
        f"GRANT USAGE ON SCHEMA public TO {LOOKUP_ROLE}",
    ]
    for table in LOOKED_UP:
        statements += [
            f"GRANT SELECT ON {table} TO {LOOKUP_ROLE}",
            f"CREATE POLICY lookup ON {table} FOR SELECT TO {LOOKUP_ROLE} USING (true)",
        ]
    for signature, body in FUNCTIONS.items():
        name = signature.split(" RETURNS")[0]
        statements += [
            f"CREATE FUNCTION {signature} {DEFINER} AS $$ {body} $$",
            f"ALTER FUNCTION {name} OWNER TO {LOOKUP_ROLE}",
            f"REVOKE ALL ON FUNCTION {name} FROM PUBLIC",
            f"GRANT EXECUTE ON FUNCTION {name} TO docanalysis_app",
        ]
    return statements


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite has no row-level security: the services' checks stand alone there
    for statement in _lookups() + _policies():
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for signature in FUNCTIONS:
        op.execute(f"DROP FUNCTION {signature.split(' RETURNS')[0]}")
    for table in LOOKED_UP:
        op.execute(f"DROP POLICY lookup ON {table}")
        op.execute(f"REVOKE SELECT ON {table} FROM {LOOKUP_ROLE}")
    for table in (*OWN_TENANT, *CHILDREN):
        op.execute(f"DROP POLICY tenant_scope ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {LOOKUP_ROLE}")
