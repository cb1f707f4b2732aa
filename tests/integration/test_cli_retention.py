"""`docanalysis hold ...` and `docanalysis retention ...` as an administrator runs them on the
embedded profile: each change audited under the OS user's name, bad input refused plainly."""

from __future__ import annotations

import getpass
import sqlite3
from pathlib import Path

from tests.integration.test_cli import ENCRYPTED, cli


def _actions(tmp_path: Path) -> list[tuple[str, str, str]]:
    conn = sqlite3.connect(tmp_path / "var" / "docanalysis.sqlite3")
    try:
        query = "SELECT action, actor, outcome FROM audit_events ORDER BY seq"
        return [tuple(row) for row in conn.execute(query)]
    finally:
        conn.close()


def test_hold_and_retention_commands_are_audited(tmp_path: Path) -> None:
    # A matter (id 1) with one document whose analysis failed: what `analyze` leaves behind.
    assert cli(tmp_path, "analyze", str(ENCRYPTED), "--format", "json").returncode == 1
    before = len(_actions(tmp_path))

    held = cli(tmp_path, "hold", "set", "--matter", "1", "--reason", "Beta v. Gamma")
    assert (held.returncode, held.stdout.strip()) == (
        0,
        "matter 1 is under legal hold: nothing in it can be deleted",
    )
    again = cli(tmp_path, "hold", "set", "--matter", "1", "--reason", "twice")
    assert (again.returncode, again.stderr.strip()) == (
        1,
        "docanalysis: this matter is already under legal hold",
    )
    period = cli(tmp_path, "retention", "set", "--days", "0", "--matter", "1")
    assert (period.returncode, period.stderr.strip()) == (
        1,
        "docanalysis: a retention period is 1 to 36600 days",
    )
    kept = cli(tmp_path, "retention", "set", "--days", "30", "--matter", "1")
    assert kept.stdout.strip() == "documents of matter 1 are purged 30 days after upload"
    purged = cli(tmp_path, "retention", "purge")
    assert (purged.returncode, purged.stdout.strip()) == (
        0,
        "purged 0 documents whose retention period ended",
    )
    assert cli(tmp_path, "hold", "lift", "--matter", "1").returncode == 0

    me = f"cli:{getpass.getuser()}"
    assert _actions(tmp_path)[before:] == [
        ("matter.legal_hold_set", me, "ok"),
        ("retention.set", me, "ok"),
        ("matter.legal_hold_lifted", me, "ok"),
    ]
    assert cli(tmp_path, "audit", "verify").returncode == 0
