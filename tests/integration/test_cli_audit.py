"""`docanalysis audit ...` as a compliance officer runs it, on the embedded profile's database:
verify, sign a checkpoint, export, verify the export; then tamper and watch each fail."""

from __future__ import annotations

import sqlite3
import zipfile
from pathlib import Path

from tests.integration.test_cli import ENCRYPTED, cli


def _db(tmp_path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(tmp_path / "var" / "docanalysis.sqlite3")
    for name in ("audit_events_no_update", "audit_events_no_delete"):
        conn.execute(f"DROP TRIGGER {name}")  # what an attacker with the file can do
    return conn


def _trail(tmp_path: Path) -> int:
    """A few real events: a run that fails on an encrypted PDF (matter, upload, failure)."""
    cli(tmp_path, "analyze", str(ENCRYPTED), "--format", "json")
    verified = cli(tmp_path, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
    count = int(verified.stdout.split("verified: ")[1].split()[0])
    assert count >= 3
    return count


def test_verify_checkpoint_export_and_verify_export(tmp_path: Path) -> None:
    count = _trail(tmp_path)
    signed = cli(tmp_path, "audit", "checkpoint")
    assert signed.stdout.startswith(f"signed checkpoint: event {count}, hash ")
    assert (tmp_path / "var" / "audit_signing_key.pem").stat().st_mode & 0o777 == 0o600
    again = cli(tmp_path, "audit", "verify")
    assert again.stdout.strip() == (
        f"audit chain verified: {count} events, up to the signed checkpoint at event {count}"
    )
    out = tmp_path / "trail.zip"
    exported = cli(tmp_path, "audit", "export", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    checked = cli(tmp_path, "audit", "verify-export", str(out))
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith(f"{out}: verified, {count} events")
    # The export is itself audited.
    assert cli(tmp_path, "audit", "verify").stdout.startswith(
        f"audit chain verified: {count + 1} events"
    )
    flipped = tmp_path / "flipped.zip"
    with zipfile.ZipFile(out) as src, zipfile.ZipFile(flipped, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "events.jsonl":
                data = data[:40] + bytes([data[40] ^ 0x01]) + data[41:]  # one bit of one byte
            dst.writestr(item, data)
    refused = cli(tmp_path, "audit", "verify-export", str(flipped))
    assert refused.returncode == 1
    assert refused.stderr.startswith(f"{flipped}: NOT verified: events.jsonl")


def test_verify_names_a_changed_event(tmp_path: Path) -> None:
    _trail(tmp_path)
    with _db(tmp_path) as conn:
        conn.execute("UPDATE audit_events SET actor = 'mallory' WHERE seq = 2")
    broken = cli(tmp_path, "audit", "verify")
    assert broken.returncode == 1
    assert broken.stderr.startswith("audit chain BROKEN at event 2 (changed): ")


def test_a_signed_checkpoint_catches_a_deleted_tail(tmp_path: Path) -> None:
    count = _trail(tmp_path)
    assert cli(tmp_path, "audit", "checkpoint").returncode == 0
    with _db(tmp_path) as conn:
        conn.execute("DELETE FROM audit_events WHERE seq = ?", (count,))
    broken = cli(tmp_path, "audit", "verify")
    assert broken.returncode == 1
    assert "(truncated)" in broken.stderr and "checkpoint" in broken.stderr
