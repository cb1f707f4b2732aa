"""each clause's confidence and basis (fusion of the model with the clause scorer)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = [
    sa.Column("confidence", sa.Float(), nullable=True),
    sa.Column("basis", sa.String(20), nullable=True),
    sa.Column("basis_reason", sa.Text(), nullable=True),
]


def upgrade() -> None:
    with op.batch_alter_table("findings") as batch:
        for column in COLUMNS:
            batch.add_column(column)


def downgrade() -> None:
    with op.batch_alter_table("findings") as batch:
        for column in reversed(COLUMNS):
            batch.drop_column(column.name)
