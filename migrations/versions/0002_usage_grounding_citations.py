"""usage and grounding report per run; window usage and summary sentences; finding provenance

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_COLUMNS = {
    "analysis_runs": [
        sa.Column("usage", sa.JSON(), nullable=True),
        sa.Column("grounding", sa.JSON(), nullable=True),
    ],
    "analysis_windows": [
        sa.Column("sentences", sa.JSON(), nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), nullable=True),
        sa.Column("completion_tokens", sa.Integer(), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=True),
    ],
    "findings": [
        sa.Column("windows", sa.JSON(), nullable=True),
        sa.Column("support", sa.Integer(), nullable=True),
        sa.Column("citations", sa.JSON(), nullable=True),
    ],
}


def upgrade() -> None:
    for table, columns in NEW_COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.add_column(column)


def downgrade() -> None:
    for table, columns in NEW_COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column in reversed(columns):
                batch.drop_column(column.name)
