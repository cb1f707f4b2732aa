"""matter members get roles: viewer, editor, admin (the creator, "owner" so far, is an admin;
a "member" so far is an editor)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("UPDATE matter_members SET role = 'admin' WHERE role = 'owner'")
    op.execute("UPDATE matter_members SET role = 'editor' WHERE role = 'member'")


def downgrade() -> None:
    op.execute("UPDATE matter_members SET role = 'owner' WHERE role = 'admin'")
    op.execute("UPDATE matter_members SET role = 'member' WHERE role IN ('editor', 'viewer')")
