"""tenant-wide roles (compliance, tenant-admin) as a domain table, granted and revoked with
their audit event in one transaction

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "tenant_roles",
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_tenant_roles_tenant_id_tenants"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "user_id", "role", name="pk_tenant_roles"),
    )
    op.create_index("ix_tenant_roles_user_id", "tenant_roles", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_tenant_roles_user_id", table_name="tenant_roles")
    op.drop_table("tenant_roles")
