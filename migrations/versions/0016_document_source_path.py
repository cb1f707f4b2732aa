"""a document of a bulk (ZIP) upload keeps where it was in the archive ("Data room/Leases/
lease-1.pdf"): documents.source_path, NULL for a file uploaded alone

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("documents", sa.Column("source_path", sa.String(1000), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE documents DROP COLUMN source_path")
