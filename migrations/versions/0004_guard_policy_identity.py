"""each guard verdict names its policy's hash and outcome; verdicts are written once

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = [
    sa.Column("policy_sha256", sa.String(64), nullable=False, server_default=""),
    sa.Column("outcome", sa.String(10), nullable=False, server_default=""),
]

# A verdict is evidence: a later policy never rewrites it (the findings' status, not the verdict,
# is what a reviewer's release changes).
WRITTEN_ONCE = "guard_verdicts are written once"

PG_GUARD = [
    f"""
    CREATE FUNCTION guard_verdicts_written_once() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{WRITTEN_ONCE}' USING ERRCODE = 'insufficient_privilege';
    END;
    $$
    """,
    """
    CREATE TRIGGER guard_verdicts_no_update_delete BEFORE UPDATE OR DELETE ON guard_verdicts
    FOR EACH ROW EXECUTE FUNCTION guard_verdicts_written_once()
    """,
]
PG_UNGUARD = [
    "DROP TRIGGER IF EXISTS guard_verdicts_no_update_delete ON guard_verdicts",
    "DROP FUNCTION IF EXISTS guard_verdicts_written_once()",
]
SQLITE_GUARD = [
    f"""
    CREATE TRIGGER guard_verdicts_no_{verb.lower()} BEFORE {verb} ON guard_verdicts
    BEGIN SELECT RAISE(ABORT, '{WRITTEN_ONCE}'); END
    """
    for verb in ("UPDATE", "DELETE")
]
SQLITE_UNGUARD = [
    "DROP TRIGGER IF EXISTS guard_verdicts_no_delete",
    "DROP TRIGGER IF EXISTS guard_verdicts_no_update",
]


def upgrade() -> None:
    with op.batch_alter_table("guard_verdicts") as batch:
        for column in COLUMNS:
            batch.add_column(column)
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in PG_GUARD if postgres else SQLITE_GUARD:
        op.execute(statement)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in PG_UNGUARD if postgres else SQLITE_UNGUARD:
        op.execute(statement)
    with op.batch_alter_table("guard_verdicts") as batch:
        for column in reversed(COLUMNS):
            batch.drop_column(column.name)
