"""REST API: hashed API keys scoped to a tenant or matters, idempotency keys, and the external
(system, id, version) of documents and references of matters

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27

The uniqueness rules are unique indexes (SQLite cannot add a constraint to an existing table
without rebuilding it). NULLs are distinct in both databases: browser uploads (no external
ids) never collide.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UNIQUE = {
    "uq_matters_tenant_external_ref": ("matters", ["tenant_id", "external_ref"]),
    "uq_documents_external": (
        "documents",
        ["tenant_id", "external_system", "external_id", "external_version"],
    ),
}


def _new_columns() -> dict[str, list[sa.Column[object]]]:
    return {
        "matters": [sa.Column("external_ref", sa.String(200), nullable=True)],
        "documents": [
            sa.Column("external_system", sa.String(100), nullable=True),
            sa.Column("external_id", sa.String(500), nullable=True),
            sa.Column("external_version", sa.String(100), nullable=True),
        ],
    }


def _create_tables() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", Id, primary_key=True),
        sa.Column("tenant_id", Id, sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("prefix", sa.String(20), nullable=False),
        sa.Column("key_sha256", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_by", sa.String(300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(300), nullable=False),
        sa.UniqueConstraint("prefix", name="uq_api_keys_prefix"),
    )
    op.create_index("ix_api_keys_tenant_id", "api_keys", ["tenant_id"])
    op.create_table(
        "api_key_matters",
        sa.Column("api_key_id", Id, sa.ForeignKey("api_keys.id"), primary_key=True),
        sa.Column("matter_id", Id, sa.ForeignKey("matters.id"), primary_key=True),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("api_key_id", Id, sa.ForeignKey("api_keys.id"), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("request_sha256", sa.String(64), nullable=False),
        sa.Column("document_id", Id, sa.ForeignKey("documents.id"), nullable=False),
        sa.Column("run_id", Id, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def upgrade() -> None:
    for table, columns in _new_columns().items():
        for column in columns:
            op.add_column(table, column)
    for name, (table, columns) in UNIQUE.items():
        op.create_index(name, table, columns, unique=True)
    _create_tables()


def downgrade() -> None:
    for table in ("idempotency_keys", "api_key_matters", "api_keys"):
        op.drop_table(table)
    for name, (table, _) in UNIQUE.items():
        op.drop_index(name, table_name=table)
    for table, columns in _new_columns().items():
        for column in reversed(columns):
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column.name}")
