"""SQLite: INSERT OR REPLACE can no longer overwrite an audit event or a guard verdict

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27

REPLACE resolves a conflict by deleting the old row without firing DELETE triggers (SQLite's
recursive_triggers is off by default), which slipped past the append-only guards. A BEFORE
INSERT trigger refuses a row that would collide. PostgreSQL needs nothing: its upsert (ON
CONFLICT DO UPDATE) fires the UPDATE triggers, which already refuse.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GUARDS = {
    "audit_events_no_replace": (
        "audit_events",
        "SELECT 1 FROM audit_events WHERE seq = NEW.seq OR hash = NEW.hash",
        "audit_events is append-only",
    ),
    "guard_verdicts_no_replace": (
        "guard_verdicts",
        "SELECT 1 FROM guard_verdicts WHERE id = NEW.id OR finding_id = NEW.finding_id",
        "guard_verdicts are written once",
    ),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name, (table, clash, message) in GUARDS.items():
        op.execute(
            f"CREATE TRIGGER {name} BEFORE INSERT ON {table} WHEN EXISTS ({clash}) "
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in GUARDS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
