"""Audit exports that a third party can verify without our code, and checkpoints of the chain.

`export_audit` writes one ZIP file for a scope (a tenant, a matter, a document's subject, a time
range; each optional):

=========================  =======================================================================
events.jsonl               the selected events, one a line: every column, exactly the values that
                           were hashed, as canonical JSON (core.audit_chain)
events.csv                 the same rows for a spreadsheet; `details` as canonical JSON
links.jsonl                {seq, prev_hash, hash} of every other row of the chain in the covered
                           range (other tenants, other matters): no content, so nothing leaks,
                           yet the selected events can be shown to sit in one unbroken chain
report.pdf                 the human-readable report
public_key.pem             the Ed25519 public key that signed the manifest and the checkpoint
manifest.json              scope, counts, the covered range, the chain's head, the latest signed
                           checkpoint, each file's sha256, and `signature` (base64 Ed25519 over
                           the canonical JSON of the manifest without `signature`)
manifest_unsigned.json     exactly the signed bytes; manifest.sig: the raw 64-byte signature
checkpoint_unsigned.json   (with a checkpoint) the checkpoint's signed bytes; checkpoint.sig its
                           raw signature: both checkable with openssl alone
README.txt                 how to verify with sha256sum, openssl and ~25 lines of plain Python
SHA256SUMS                 `sha256sum -c` input for every other file
=========================  =======================================================================

The covered range runs from the first selected event to the last one, or - when the scope has
no end (`until` is None) - to the chain's head at export time, so that an export of "everything
up to now" also shows that nothing was cut from the end: the latest checkpoint (signed earlier,
with a key the database does not hold; see docanalysis.audit_signing) then lies inside the
range, and the row at its seq must carry the signed hash.

Exporting is audited: an `audit.exported` event (actor, scope, the ZIP's and every file's sha256)
is appended in its own transaction AFTER the ZIP is written. It cannot be inside the export: the
export's hashes would have to cover the event that records them. Writing it after also means a
failed export leaves no event claiming a file that does not exist; the next export of the same
scope shows the event.

`verify_export` checks a ZIP and names the FIRST problem, starting with the file it concerns.

This module holds the scope, the export and the checkpoints; the layout that the writer and
the verifier share is in audit_export_format, the writing of each file in audit_export_files,
report.pdf and README.txt in audit_export_docs, and the checking in audit_export_verify (whose
names are importable from here as well).
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine

from docanalysis.audit_signing import (
    append_checkpoint,
    latest_checkpoint,
    public_key_pem,
    sign_checkpoint,
)
from docanalysis.core.audit_chain import GENESIS_HASH, format_timestamp, verify_events
from docanalysis.db.audit import append_event, utc
from docanalysis.db.engine import reading, transaction
from docanalysis.db.tables import audit_events
from docanalysis.services.audit_export_docs import (
    readme_text,
    report_pdf,
)
from docanalysis.services.audit_export_files import (
    RowsWritten,
    build_manifest,
    hash_at,
    read_head,
    read_rows,
    write_key_files,
    write_manifest,
    write_rows,
    write_zip,
)
from docanalysis.services.audit_export_format import (
    README,
    REPORT,
    sha256_hex,
)
from docanalysis.services.audit_export_verify import ExportCheck, verify_export

EXPORT_ACTION = "audit.exported"


class AuditChainError(RuntimeError):
    """The live chain contradicts itself or the latest signed checkpoint."""


# -- scope ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportScope:
    """Which events an export selects. Every given field must match; `since` is inclusive and
    `until` exclusive (since <= occurred_at < until), so consecutive ranges never overlap."""

    tenant_id: int | None = None
    matter_id: int | None = None
    subject: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and (value.tzinfo is None or value.utcoffset() is None):
                raise ValueError(f"{name} must be timezone-aware")

    def as_json(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "matter_id": self.matter_id,
            "subject": self.subject,
            "since": format_timestamp(self.since) if self.since else None,
            "until": format_timestamp(self.until) if self.until else None,
        }

    def conditions(self) -> list[Any]:
        c = audit_events.c
        found: list[Any] = []
        if self.tenant_id is not None:
            found.append(c.tenant_id == self.tenant_id)
        if self.matter_id is not None:
            found.append(c.matter_id == self.matter_id)
        if self.subject is not None:
            found.append(c.subject == self.subject)
        # SQLite stores UTC wall-clock times; PostgreSQL compares instants: UTC suits both.
        if self.since is not None:
            found.append(c.occurred_at >= utc(self.since))
        if self.until is not None:
            found.append(c.occurred_at < utc(self.until))
        return found

    def describe(self) -> str:
        parts = [
            f"tenant {self.tenant_id}" if self.tenant_id is not None else "all tenants",
        ]
        if self.matter_id is not None:
            parts.append(f"matter {self.matter_id}")
        if self.subject is not None:
            parts.append(f"subject {self.subject}")
        scope = self.as_json()
        parts.append(f"from {scope['since'] or 'the beginning'} to {scope['until'] or 'now'}")
        return ", ".join(parts)


def record_checkpoint(
    engine: Engine,
    key: Ed25519PrivateKey,
    checkpoint_file: Path,
    *,
    now: datetime | None = None,
) -> dict[str, Any] | None:
    """Sign the chain's head and append it to `checkpoint_file`; the new (or unchanged latest)
    checkpoint, or None while the chain is empty.

    Before signing, the rows since the previous checkpoint are verified and the row at its seq
    must still carry the signed hash: a checkpoint never blesses a rewritten history.
    AuditChainError says what is wrong. Run it periodically (the interval bounds how much
    recent history an attacker with database access could rewrite undetected)."""
    public = public_key_pem(key)
    previous = latest_checkpoint(checkpoint_file, public)
    with reading(engine) as conn:
        head_seq, head_hash = read_head(conn)
        if previous is None:
            start, prev_hash = 0, GENESIS_HASH
        else:
            start, prev_hash = int(previous["seq"]), str(previous["hash"])
            if head_seq < start:
                raise AuditChainError(
                    f"the chain ends at seq {head_seq}, before the checkpoint signed at "
                    f"{previous['at']} for seq {start}: events were removed"
                )
            if start and hash_at(conn, start) != prev_hash:
                raise AuditChainError(
                    f"seq {start} no longer has the hash signed at {previous['at']}: "
                    "the history was rewritten"
                )
        check = verify_events(
            read_rows(conn, after=start, upto=head_seq), first_seq=start + 1, prev_hash=prev_hash
        )
    if not check.ok:
        raise AuditChainError(check.problem)
    if head_seq == 0:
        return None
    if previous is not None and start == head_seq:
        return previous
    checkpoint = sign_checkpoint(key, head_seq, head_hash, now or datetime.now(UTC))
    append_checkpoint(checkpoint_file, checkpoint)
    return checkpoint


# -- writing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportSummary:
    """What export_audit wrote. `export_event_seq` is the seq of its audit.exported event."""

    path: Path
    zip_sha256: str
    events: int
    links: int
    first_seq: int | None
    last_seq: int | None
    head_seq: int
    checkpoint: dict[str, Any] | None
    files: dict[str, str]
    export_event_seq: int
    problems: tuple[str, ...] = ()


def _subject_of(scope: ExportScope) -> str:
    if scope.subject is not None:
        return scope.subject
    if scope.matter_id is not None:
        return f"matter:{scope.matter_id}"
    if scope.tenant_id is not None:
        return f"tenant:{scope.tenant_id}"
    return "audit:all"


def export_audit(
    engine: Engine,
    out_zip: Path,
    *,
    key: Ed25519PrivateKey,
    actor: str,
    actor_id: int | None = None,
    tenant_id: int | None = None,
    matter_id: int | None = None,
    subject: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    checkpoint_file: Path | None = None,
    created_at: datetime | None = None,
) -> ExportSummary:
    """Write the export ZIP of a scope to `out_zip` (atomically: a temporary file renamed into
    place), then append its audit.exported event. See the module docstring for the layout.

    `checkpoint_file` is the checkpoints file (audit_signing.checkpoints_path(key path)); the
    latest checkpoint signed by `key` goes into the manifest. Problems seen while exporting
    (the live chain contradicts that checkpoint) do not stop the export - it is the evidence -
    but are listed in the report and in ExportSummary.problems; verify_export fails on them.
    """
    scope = ExportScope(tenant_id, matter_id, subject, since, until)
    out_zip = Path(out_zip)
    out_zip.parent.mkdir(parents=True, exist_ok=True)
    created = utc(created_at) if created_at is not None else datetime.now(UTC)
    public = public_key_pem(key)
    # Read before the chain, so the checkpoint is never newer than the head read below.
    checkpoint = latest_checkpoint(checkpoint_file, public) if checkpoint_file else None

    with tempfile.TemporaryDirectory(dir=out_zip.parent, prefix=".audit_export_") as work:
        folder = Path(work)
        with reading(engine) as conn:
            data = write_rows(
                conn,
                scope.conditions(),
                open_ended=scope.until is None,
                folder=folder,
                checkpoint=checkpoint,
            )
        files = dict(data.files)
        problems = list(data.problems)
        files.update(write_key_files(folder, public, checkpoint))
        manifest = build_manifest(scope.as_json(), created, data, checkpoint, public)
        files.update(_write_docs(folder, scope, manifest, data, problems, created))
        manifest_file = write_manifest(folder, manifest, files, key)
        zip_sha256 = write_zip(folder, files, checkpoint is not None, created, out_zip)

    details = {
        "scope": scope.as_json(),
        "file": out_zip.name,
        "zip_sha256": zip_sha256,
        "manifest_sha256": sha256_hex(manifest_file),
        "files": manifest["files"],
        "events": data.events,
        "first_seq": data.first["seq"] if data.first else None,
        "last_seq": data.last["seq"] if data.last else None,
        "head_seq": data.head[0],
        "checkpoint_seq": checkpoint["seq"] if checkpoint else None,
    }
    event_seq = _record_export(engine, scope, details, actor=actor, actor_id=actor_id)
    return ExportSummary(
        path=out_zip,
        zip_sha256=zip_sha256,
        events=data.events,
        links=data.links,
        first_seq=details["first_seq"],
        last_seq=details["last_seq"],
        head_seq=data.head[0],
        checkpoint=checkpoint,
        files=dict(manifest["files"]),
        export_event_seq=event_seq,
        problems=tuple(problems),
    )


def _write_docs(
    folder: Path,
    scope: ExportScope,
    manifest: Mapping[str, Any],
    data: RowsWritten,
    problems: list[str],
    created: datetime,
) -> dict[str, str]:
    """Write report.pdf and README.txt; the sha256 of each."""
    report = report_pdf(scope.describe(), manifest, data, problems, created)
    (folder / REPORT).write_bytes(report)
    readme = readme_text(manifest, manifest["checkpoint"] is not None).encode("utf-8")
    (folder / README).write_bytes(readme)
    return {REPORT: sha256_hex(report), README: sha256_hex(readme)}


def _record_export(
    engine: Engine,
    scope: ExportScope,
    details: dict[str, Any],
    *,
    actor: str,
    actor_id: int | None,
) -> int:
    """Append the audit.exported event in its own transaction; its seq."""
    with transaction(engine) as conn:
        event = append_event(
            conn,
            action=EXPORT_ACTION,
            subject=_subject_of(scope),
            actor=actor,
            actor_id=actor_id,
            tenant_id=scope.tenant_id,
            matter_id=scope.matter_id,
            details=details,
        )
    return event.seq


__all__ = [
    "EXPORT_ACTION",
    "AuditChainError",
    "ExportCheck",
    "ExportScope",
    "ExportSummary",
    "export_audit",
    "record_checkpoint",
    "verify_export",
]
