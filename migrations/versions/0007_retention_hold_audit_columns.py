"""audit rows get outcome, request id and client address as columns; retention periods, legal
hold, and purged documents kept as tombstones

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27

Plain ALTER TABLE ADD/DROP COLUMN, never a batch copy: on SQLite a batch rebuilds the table,
which would re-insert every audit row and drop its append-only triggers. Adding a column with
a default fires no UPDATE trigger on either database, and the new audit columns are hashed only
when not empty (core.audit_chain), so every existing row still verifies.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _columns() -> dict[str, list[sa.Column[object]]]:
    return {
        "audit_events": [
            sa.Column("outcome", sa.String(20), nullable=False, server_default=""),
            sa.Column("request_id", sa.String(100), nullable=False, server_default=""),
            sa.Column("client_address", sa.String(64), nullable=False, server_default=""),
        ],
        "tenants": [sa.Column("retention_days", sa.Integer(), nullable=True)],
        "matters": [
            sa.Column("retention_days", sa.Integer(), nullable=True),
            sa.Column("legal_hold_since", sa.DateTime(timezone=True), nullable=True),
            sa.Column("legal_hold_by", sa.String(300), nullable=False, server_default=""),
            sa.Column("legal_hold_reason", sa.Text(), nullable=False, server_default=""),
        ],
        "documents": [
            sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("purge_reason", sa.String(20), nullable=False, server_default=""),
        ],
    }


def upgrade() -> None:
    for table, columns in _columns().items():
        for column in columns:
            op.add_column(table, column)


def downgrade() -> None:
    for table, columns in _columns().items():
        for column in reversed(columns):
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column.name}")
