"""Audit exports on both dialects: verifiable by our verifier and by standard tools alone,
tamper-evident file by file, scoped without leaking another tenant, and checked against the
signed checkpoint."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import subprocess
import sys
import textwrap
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pypdf
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, text

from docanalysis.audit_signing import (
    checkpoints_path,
    load_or_create_key,
    public_key_pem,
    read_checkpoints,
)
from docanalysis.core.audit_chain import canonical_json, event_content, event_hash
from docanalysis.db.audit import append_event, read_events, verify_chain
from docanalysis.db.engine import transaction
from docanalysis.services.audit_export import (
    AuditChainError,
    export_audit,
    record_checkpoint,
    verify_export,
)
from docanalysis.services.audit_export_docs import README_BEGIN, README_END
from docanalysis.services.audit_export_format import (
    CHECKPOINT_SIG,
    EVENTS,
    LINKS,
    MANIFEST,
    README,
    SUMS,
)

T0 = datetime(2026, 3, 1, 9, 30, 0, 123456, tzinfo=UTC)
# Tenant 2's identifying strings: none of them may appear in tenant 1's export.
SECRETS = ("mallory", "rival.example", "document:900", "merger-plan", "matter-77")


def _populate(engine: Engine, count: int = 24, *, start: int = 0) -> None:
    """Events of tenants 1 and 2 in turn (tenant 2 every third event)."""
    for n in range(start, start + count):
        tenant_two = n % 3 == 2
        with transaction(engine) as conn:
            append_event(
                conn,
                action=("document.upload", "run.start", "finding.review")[n % 3],
                subject=f"document:{900 + n}" if tenant_two else f"document:{n % 4 + 1}",
                actor="mallory <mallory@rival.example>" if tenant_two else "zoë <zoe@firm.example>",
                actor_id=2 if tenant_two else 1,
                tenant_id=2 if tenant_two else 1,
                matter_id=77 if tenant_two else 10,
                details=(
                    {"file": "merger-plan.pdf", "note": "matter-77"}
                    if tenant_two
                    else {"file": f"contract-{n}.pdf", "pages": n, "score": 0.25, "(x)": "a\\b"}
                ),
                occurred_at=T0 + timedelta(minutes=n),
            )


def _key(tmp_path: Path) -> tuple[Ed25519PrivateKey, Path]:
    key_path = tmp_path / "keys" / "audit_signing_key.pem"
    return load_or_create_key(key_path), checkpoints_path(key_path)


@pytest.fixture
def exported(db_engine: Engine, tmp_path: Path) -> dict[str, Any]:
    """24 events, a checkpoint at seq 24, 6 more events, then tenant 1's export."""
    key, checkpoints = _key(tmp_path)
    _populate(db_engine)
    checkpoint = record_checkpoint(db_engine, key, checkpoints)
    assert checkpoint is not None and checkpoint["seq"] == 24
    _populate(db_engine, 6, start=24)
    summary = export_audit(
        db_engine,
        tmp_path / "out" / "tenant-1.zip",
        key=key,
        actor="admin <admin@firm.example>",
        actor_id=1,
        tenant_id=1,
        checkpoint_file=checkpoints,
    )
    return {"engine": db_engine, "key": key, "summary": summary, "checkpoints": checkpoints}


def _unzip(zip_path: Path, folder: Path) -> Path:
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(folder)
    return folder


def _members(zip_path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(zip_path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _rezip(members: dict[str, bytes], path: Path) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_tenant_export_verifies_and_is_audited(exported: dict[str, Any]) -> None:
    summary = exported["summary"]
    engine = exported["engine"]
    assert (summary.events, summary.links) == (20, 10)  # tenant 1: 2 of every 3 of 30 events
    assert (summary.first_seq, summary.last_seq, summary.head_seq) == (1, 29, 30)
    assert summary.problems == ()
    assert summary.zip_sha256 == hashlib.sha256(summary.path.read_bytes()).hexdigest()

    check = verify_export(summary.path)
    assert check.ok, check.problem
    assert (check.events, check.links, check.first_seq, check.last_seq) == (20, 10, 1, 29)
    assert check.checkpoint_checked is True
    trusted = public_key_pem(exported["key"])
    assert verify_export(summary.path, trusted_public_key=trusted).ok

    with engine.connect() as conn:
        events = read_events(conn)
        assert verify_chain(conn).ok
    last = events[-1]
    assert (last.seq, last.action, last.subject) == (31, "audit.exported", "tenant:1")
    assert summary.export_event_seq == 31
    assert (last.actor, last.actor_id, last.tenant_id) == ("admin <admin@firm.example>", 1, 1)
    assert last.details["zip_sha256"] == summary.zip_sha256
    assert last.details["files"] == summary.files
    assert last.details["scope"]["tenant_id"] == 1
    assert (last.details["events"], last.details["checkpoint_seq"]) == (20, 24)

    manifest = json.loads(_members(summary.path)[MANIFEST])
    assert manifest["selection"]["last"]["seq"] == 29
    assert manifest["chain"] == {
        "from_seq": 1,
        "from_prev_hash": "0" * 64,
        "to_seq": 30,  # no end date: the covered range runs to the head
        "to_hash": events[29].hash,
    }
    assert manifest["checkpoint"]["seq"] == 24


def test_events_are_exactly_the_hashed_rows(exported: dict[str, Any]) -> None:
    members = _members(exported["summary"].path)
    with exported["engine"].connect() as conn:
        by_seq = {event.seq: event for event in read_events(conn)}
    lines = members[EVENTS].decode("utf-8").splitlines()
    assert len(lines) == 20
    for line in lines:
        row = json.loads(line)
        event = by_seq[row["seq"]]
        # The hashed content and the hash; an empty optional column is left out, as hashed.
        assert line == canonical_json({**event_content(event.as_row()), "hash": event.hash})
        assert (row["outcome"], "request_id" in row, "client_address" in row) == ("ok", 0, 0)
        assert event_hash(row["prev_hash"], event_content(row)) == row["hash"]
        assert row["tenant_id"] == 1
    links = [json.loads(line) for line in members[LINKS].decode().splitlines()]
    assert all(set(link) == {"seq", "prev_hash", "hash"} for link in links)
    assert [link["seq"] for link in links] == [n for n in range(1, 31) if n % 3 == 0]

    csv_lines = members["events.csv"].decode("utf-8").splitlines()
    assert csv_lines[0].startswith("seq,occurred_at,actor_id,actor,tenant_id")
    assert len(csv_lines) == 21

    report = pypdf.PdfReader(io.BytesIO(members["report.pdf"]))
    report_text = "\n".join(page.extract_text() for page in report.pages)
    assert "Audit trail export" in report_text
    assert "Scope: tenant 1, from the beginning to now" in report_text
    assert "Events: 20" in report_text
    assert "Seq 24, signed at" in report_text
    assert "1 2026-03-01 09:30:00 zoë <zoe@firm.example> document.upload document:1" in (
        report_text
    )


def test_no_content_of_the_other_tenant_leaks(exported: dict[str, Any]) -> None:
    path = exported["summary"].path
    members = _members(path)
    report = pypdf.PdfReader(io.BytesIO(members["report.pdf"]))
    texts = [path.read_bytes(), *members.values()]
    texts += [page.extract_text().encode("utf-8") for page in report.pages]
    for data in texts:
        for secret in SECRETS:
            assert secret.encode() not in data
    # The positive control: the same scan finds tenant 1's own strings.
    assert b"zoe@firm.example" in members[EVENTS]


def test_standard_tools_verify_the_unzipped_export(
    exported: dict[str, Any], tmp_path: Path
) -> None:
    folder = _unzip(exported["summary"].path, tmp_path / "unzipped")
    readme = (folder / README).read_text(encoding="utf-8")
    begin = readme.index(README_BEGIN)
    end = readme.index(README_END) + len(README_END)
    recipe = textwrap.dedent(readme[readme.rindex("\n", 0, begin) + 1 : end])
    python = shutil.which("python3") or sys.executable

    ran = subprocess.run([python, "-c", recipe], cwd=folder, capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "chain OK: 30 rows, 20 events"

    if shutil.which("sha256sum"):
        sums = subprocess.run(["sha256sum", "-c", SUMS], cwd=folder, capture_output=True)
        assert sums.returncode == 0, sums.stdout + sums.stderr
        assert sums.stdout.count(b": OK") == 11  # every file but SHA256SUMS

    if shutil.which("openssl"):
        for signed, signature in (
            ("manifest_unsigned.json", "manifest.sig"),
            ("checkpoint_unsigned.json", "checkpoint.sig"),
        ):
            command = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "public_key.pem"]
            command += ["-rawin", "-in", signed, "-sigfile", signature]
            ok = subprocess.run(command, cwd=folder, capture_output=True, text=True)
            assert ok.returncode == 0, ok.stdout + ok.stderr

    # The recipe fails on a changed event (its sha256 no longer matches the signed manifest).
    events = folder / EVENTS
    events.write_bytes(events.read_bytes().replace(b"contract-0.pdf", b"contract-9.pdf"))
    ran = subprocess.run([python, "-c", recipe], cwd=folder, capture_output=True, text=True)
    assert ran.returncode != 0 and "events.jsonl: sha256 differs" in ran.stderr


def test_each_changed_or_missing_file_is_named(exported: dict[str, Any], tmp_path: Path) -> None:
    members = _members(exported["summary"].path)
    assert len(members) == 12
    for name, data in members.items():
        # About 40 positions a file, both ends included, so manifest.json's and SHA256SUMS's
        # structure (keys, separators, line breaks) is hit as well as their values.
        for position in sorted({*range(0, len(data), max(1, len(data) // 40)), len(data) - 1}):
            changed = bytearray(data)
            changed[position] ^= 0x01
            path = _rezip({**members, name: bytes(changed)}, tmp_path / "flipped.zip")
            check = verify_export(path)
            assert not check.ok, (name, position)
            assert check.problem.startswith(f"{name}:"), (name, position, check.problem)

        path = _rezip({k: v for k, v in members.items() if k != name}, tmp_path / "less.zip")
        assert verify_export(path).problem == f"{name} is missing"

    path = _rezip({**members, "notes.txt": b"trust me"}, tmp_path / "more.zip")
    assert verify_export(path).problem.startswith("notes.txt is not part of an export")


def test_damage_inside_the_zip_and_a_foreign_key(exported: dict[str, Any], tmp_path: Path) -> None:
    path = exported["summary"].path
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(CHECKPOINT_SIG)
    # The checkpoint's signature is stored deflated right after its local header.
    header = 30 + len(info.filename.encode()) + len(info.extra)
    raw[info.header_offset + header + 2] ^= 0xFF
    damaged = tmp_path / "damaged.zip"
    damaged.write_bytes(bytes(raw))
    assert verify_export(damaged).problem.startswith(f"{CHECKPOINT_SIG}: ")

    stranger = public_key_pem(Ed25519PrivateKey.generate())
    check = verify_export(path, trusted_public_key=stranger)
    assert check.problem == f"{MANIFEST}: signed by a key other than the trusted one"

    not_a_zip = tmp_path / "x.zip"
    not_a_zip.write_bytes(b"PK nothing")
    assert verify_export(not_a_zip).problem.startswith("x.zip: not a readable ZIP file")


def _resign(members: dict[str, bytes], key: Ed25519PrivateKey, path: Path) -> Path:
    """What a malicious (or broken) exporter holding the key could produce: files changed,
    then the manifest's hashes, signature and SHA256SUMS made to agree with them."""
    manifest = json.loads(members[MANIFEST])
    files = {name: hashlib.sha256(members[name]).hexdigest() for name in manifest["files"]}
    manifest["files"] = files
    manifest.pop("signature")
    unsigned = canonical_json(manifest).encode()
    signature = key.sign(unsigned)
    manifest["signature"] = base64.b64encode(signature).decode()
    members = {
        **members,
        MANIFEST: (
            json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        ).encode(),
        "manifest_unsigned.json": unsigned,
        "manifest.sig": signature,
    }
    sums = "".join(
        f"{hashlib.sha256(data).hexdigest()}  {name}\n"
        for name, data in members.items()
        if name != SUMS
    )
    return _rezip({**members, SUMS: sums.encode()}, path)


def test_content_problems_are_named_by_line_and_seq(
    exported: dict[str, Any], tmp_path: Path
) -> None:
    key = exported["key"]
    members = _members(exported["summary"].path)
    assert verify_export(_resign(members, key, tmp_path / "same.zip")).ok

    lines = members[EVENTS].decode().splitlines(keepends=True)
    row = json.loads(lines[1])
    row["details"]["pages"] = 99
    changed = "".join([lines[0], canonical_json(row) + "\n", *lines[2:]]).encode()
    check = verify_export(_resign({**members, EVENTS: changed}, key, tmp_path / "a.zip"))
    assert check.problem == "events.jsonl line 2 (seq 2): hash does not match its content"

    dropped = "".join(lines[:3] + lines[4:]).encode()
    check = verify_export(_resign({**members, EVENTS: dropped}, key, tmp_path / "b.zip"))
    assert check.problem == "links.jsonl line 2 (seq 6): seq 5 is missing before it"

    links = members[LINKS].decode().splitlines(keepends=True)
    link = json.loads(links[0])
    link["hash"] = "f" * 64
    changed = "".join([canonical_json(link) + "\n", *links[1:]]).encode()
    check = verify_export(_resign({**members, LINKS: changed}, key, tmp_path / "c.zip"))
    assert (
        check.problem == "events.jsonl line 3 (seq 4): prev_hash does not match the hash of seq 3"
    )


def _without_guards(engine: Engine, statements: list[tuple[str, dict[str, Any]]]) -> None:
    """Run statements with the append-only triggers out of the way, as a DB admin could."""
    with transaction(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER ALL"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_delete"))
        for statement, values in statements:
            conn.execute(text(statement), values)
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER ALL"))


def test_rewritten_history_contradicts_the_checkpoint(db_engine: Engine, tmp_path: Path) -> None:
    key, checkpoints = _key(tmp_path)
    _populate(db_engine, 12)
    record_checkpoint(db_engine, key, checkpoints)
    _populate(db_engine, 3, start=12)

    # Change seq 4 and recompute every later hash: the chain alone verifies again.
    with db_engine.connect() as conn:
        rows = [event.as_row() for event in read_events(conn)]
    rows[3]["details"] = {**rows[3]["details"], "pages": 999}
    prev = rows[2]["hash"]
    updates = []
    for row in rows[3:]:
        row["prev_hash"] = prev
        row["hash"] = prev = event_hash(prev, event_content(row))
        updates.append(
            (
                "UPDATE audit_events SET details = :details, prev_hash = :prev, hash = :hash "
                "WHERE seq = :seq",
                {
                    "details": json.dumps(row["details"]),
                    "prev": row["prev_hash"],
                    "hash": row["hash"],
                    "seq": row["seq"],
                },
            )
        )
    _without_guards(db_engine, updates)
    with db_engine.connect() as conn:
        assert verify_chain(conn).ok

    with pytest.raises(AuditChainError, match="seq 12 no longer has the hash signed"):
        record_checkpoint(db_engine, key, checkpoints)
    summary = export_audit(
        db_engine,
        tmp_path / "rewritten.zip",
        key=key,
        actor="admin",
        tenant_id=1,
        checkpoint_file=checkpoints,
    )
    assert summary.problems and "history was rewritten" in summary.problems[0]
    check = verify_export(summary.path)
    assert check.problem.startswith("links.jsonl line 4 (seq 12): hash differs from the checkpoint")


def test_a_removed_tail_ends_before_the_checkpoint(db_engine: Engine, tmp_path: Path) -> None:
    key, checkpoints = _key(tmp_path)
    _populate(db_engine, 12)
    record_checkpoint(db_engine, key, checkpoints)
    _without_guards(db_engine, [("DELETE FROM audit_events WHERE seq > 9", {})])

    with pytest.raises(AuditChainError, match="ends at seq 9, before the checkpoint"):
        record_checkpoint(db_engine, key, checkpoints)
    summary = export_audit(
        db_engine, tmp_path / "cut.zip", key=key, actor="admin", checkpoint_file=checkpoints
    )
    assert summary.problems
    check = verify_export(summary.path)
    assert check.problem.startswith("links.jsonl: the chain ends at seq 9, before the checkpoint")


def test_document_and_time_range_scope(db_engine: Engine, tmp_path: Path) -> None:
    key, checkpoints = _key(tmp_path)
    _populate(db_engine, 30)
    record_checkpoint(db_engine, key, checkpoints)
    # Tenant 1's document:2 is at n = 1, 9, 13, 21, ... (seq n + 1); the range keeps n 5..20.
    summary = export_audit(
        db_engine,
        tmp_path / "doc.zip",
        key=key,
        actor="alice",
        tenant_id=1,
        subject="document:2",
        since=T0 + timedelta(minutes=5),
        until=T0 + timedelta(minutes=21),
        checkpoint_file=checkpoints,
    )
    check = verify_export(summary.path)
    assert check.ok, check.problem
    seqs = [json.loads(line)["seq"] for line in _members(summary.path)[EVENTS].splitlines()]
    assert seqs == [10, 14]
    # A closed range ends at its last event; the checkpoint (seq 30) lies outside it.
    assert (summary.links, check.checkpoint_checked) == (3, False)
    assert check.notes == (
        "the checkpoint (seq 30) lies outside the exported rows: only its signature was checked",
    )
    with db_engine.connect() as conn:
        last = read_events(conn)[-1]
    assert (last.action, last.subject) == ("audit.exported", "document:2")

    nothing = export_audit(db_engine, tmp_path / "none.zip", key=key, actor="a", tenant_id=3)
    assert (nothing.events, nothing.links, nothing.first_seq) == (0, 0, None)
    check = verify_export(nothing.path)
    assert check.ok, check.problem
    assert check.notes == ("no signed checkpoint was included",)


def test_checkpoints_are_appended_once_per_new_head(db_engine: Engine, tmp_path: Path) -> None:
    key, checkpoints = _key(tmp_path)
    assert record_checkpoint(db_engine, key, checkpoints) is None  # an empty chain
    _populate(db_engine, 3)
    first = record_checkpoint(db_engine, key, checkpoints)
    assert record_checkpoint(db_engine, key, checkpoints) == first
    _populate(db_engine, 2, start=3)
    second = record_checkpoint(db_engine, key, checkpoints)
    assert first is not None and second is not None
    assert (first["seq"], second["seq"]) == (3, 5)
    assert [c["seq"] for c in read_checkpoints(checkpoints)] == [3, 5]
