"""PostgreSQL: the application's role may append to the audit trail and the guard's verdicts,
never change or remove them

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27

Triggers refuse UPDATE, DELETE and TRUNCATE, but a table's owner can disable triggers. So the
schema is owned by the role that migrates, and the application runs as a login role that is a
member of `docanalysis_app` (GRANT docanalysis_app TO <login>): read and write on every table,
but only SELECT and INSERT on audit_events and guard_verdicts, and no ownership. The role is
cluster-wide and created once; its privileges are per database. SQLite has no roles: there the
triggers are the guard.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "docanalysis_app"
WRITTEN_ONCE = ("audit_events", "guard_verdicts")

UPGRADE = [
    # Created only where missing: a deployment whose migrating role may not create roles has
    # an administrator create it first (see docs/audit.md).
    f"""
    DO $$ BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
            CREATE ROLE {APP_ROLE} NOLOGIN;
        END IF;
    EXCEPTION WHEN duplicate_object THEN NULL;  -- another database's migration, at the same time
    END $$
    """,
    f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}",
    f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}",
    f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}",
    # Django's tables are created after Alembic's, by the same owner.
    "ALTER DEFAULT PRIVILEGES IN SCHEMA public "
    f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP_ROLE}",
    f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {APP_ROLE}",
    *(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM {APP_ROLE}" for table in WRITTEN_ONCE),
]

DOWNGRADE = [
    f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM {APP_ROLE}",
    f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM {APP_ROLE}",
    f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {APP_ROLE}",
    f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {APP_ROLE}",
    f"REVOKE USAGE ON SCHEMA public FROM {APP_ROLE}",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in UPGRADE:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in DOWNGRADE:
            op.execute(statement)
