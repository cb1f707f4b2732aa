"""The files of an audit export, written into a folder and zipped, and the chain they come from.

`read_rows` streams the chain in batches; `write_rows` writes events.jsonl, events.csv and
links.jsonl for a selection (services.audit_export's scope) and says what it wrote, for the
manifest and the report. `write_key_files`, `build_manifest`, `write_manifest` and `write_zip`
write the rest of the package; services.audit_export calls them in that order (the manifest
lists every file's sha256, so it comes after the files it lists). The layout comes from
services.audit_export_format.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import shutil
import zipfile
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, and_, case, func, literal, select

from docanalysis.audit_signing import checkpoint_payload, load_public_key
from docanalysis.core.audit_chain import GENESIS_HASH, format_timestamp
from docanalysis.db.audit import utc
from docanalysis.db.tables import audit_events
from docanalysis.services.audit_export_format import (
    CHECKPOINT_SIG,
    CHECKPOINT_UNSIGNED,
    CHUNK,
    CSV_FIELDS,
    EVENTS,
    EVENTS_CSV,
    EXPORT_FORMAT,
    HASHING_RULE,
    LINKS,
    MANIFEST,
    MANIFEST_SIG,
    MANIFEST_UNSIGNED,
    PUBLIC_KEY,
    README,
    REPORT,
    SUMS,
    canonical_line,
    csv_cells,
    event_line,
    file_sha256,
    link_of,
    manifest_bytes,
    sha256_hex,
    signed_bytes,
)

_BATCH = 5000


def read_head(conn: Connection) -> tuple[int, str]:
    """(seq, hash) of the chain's last row; (0, GENESIS_HASH) while it is empty."""
    query = select(audit_events.c.seq, audit_events.c.hash).order_by(audit_events.c.seq.desc())
    last = conn.execute(query.limit(1)).first()
    return (0, GENESIS_HASH) if last is None else (int(last.seq), str(last.hash))


def read_rows(
    conn: Connection, *, after: int, upto: int, selected: Any = None
) -> Iterator[dict[str, Any]]:
    """Rows after..upto in order of seq, read in batches (occurred_at as aware UTC). With
    `selected` (a SQL condition) each row also has "selected": 1 or 0."""
    columns: list[Any] = list(audit_events.c)
    if selected is not None:
        columns.append(selected.label("selected"))
    while after < upto:
        query = (
            select(*columns)
            .where(audit_events.c.seq > after, audit_events.c.seq <= upto)
            .order_by(audit_events.c.seq)
            .limit(_BATCH)
        )
        batch = [dict(row._mapping) for row in conn.execute(query)]
        if not batch:
            return
        for row in batch:
            row["occurred_at"] = utc(row["occurred_at"])
            yield row
        after = int(batch[-1]["seq"])


def hash_at(conn: Connection, seq: int) -> str | None:
    """The stored hash of row `seq`, None if there is no such row."""
    value = conn.execute(select(audit_events.c.hash).where(audit_events.c.seq == seq)).scalar()
    return None if value is None else str(value)


@dataclass
class RowsWritten:
    """What write_rows wrote: the counts, the covered range (`chain`, as in the manifest), each
    file's sha256, the rows for the report's table, and problems seen on the way."""

    head: tuple[int, str] = (0, GENESIS_HASH)
    events: int = 0
    links: int = 0
    by_action: Counter[str] = field(default_factory=Counter)
    first: dict[str, Any] | None = None
    last: dict[str, Any] | None = None
    chain: dict[str, Any] | None = None
    files: dict[str, str] = field(default_factory=dict)
    table: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class _HashingWriter:
    """A binary file that also computes the sha256 of what is written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle: IO[bytes] = path.open("wb")
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> None:
        self.handle.write(data)
        self.digest.update(data)

    def close(self) -> str:
        self.handle.close()
        return self.digest.hexdigest()


class _RowFiles:
    """events.jsonl, events.csv and links.jsonl while they are written, each hashed as it
    grows."""

    def __init__(self, folder: Path) -> None:
        self.events = _HashingWriter(folder / EVENTS)
        self.links = _HashingWriter(folder / LINKS)
        # The csv module writes text: each line passes through this buffer to become bytes.
        self.csv_text = io.StringIO()
        self.table = csv.writer(self.csv_text)
        self.table.writerow(CSV_FIELDS)
        self.csv_file = _HashingWriter(folder / EVENTS_CSV)
        self.csv_file.write(self.csv_text.getvalue().encode("utf-8"))

    def write_link(self, row: Mapping[str, Any]) -> None:
        self.links.write(canonical_line(link_of(row)).encode("utf-8"))

    def write_event(self, row: Mapping[str, Any]) -> None:
        """`row` with occurred_at already its canonical text, as the hash saw it."""
        self.events.write(event_line(row).encode("utf-8"))
        self.csv_text.seek(0)
        self.csv_text.truncate()
        self.table.writerow(csv_cells(row))
        self.csv_file.write(self.csv_text.getvalue().encode("utf-8"))

    def close(self) -> dict[str, str]:
        """Each file's sha256."""
        return {
            EVENTS: self.events.close(),
            LINKS: self.links.close(),
            EVENTS_CSV: self.csv_file.close(),
        }


def write_rows(
    conn: Connection,
    conditions: list[Any],
    *,
    open_ended: bool,
    folder: Path,
    checkpoint: Mapping[str, Any] | None,
) -> RowsWritten:
    """Write events.jsonl, events.csv and links.jsonl into `folder`; what was written.

    `conditions` (SQL) select the events; every other row of the covered range goes into
    links.jsonl. `open_ended`: the scope has no end, so the range runs to the chain's head."""
    data = RowsWritten(head=read_head(conn))
    head_seq = data.head[0]
    # Every bound is `seq <= head`: rows up to the head are committed and immutable, so later
    # appends by other requests cannot make the files disagree with each other.
    in_scope = [audit_events.c.seq <= head_seq, *conditions]
    bounds = conn.execute(
        select(func.min(audit_events.c.seq), func.max(audit_events.c.seq)).where(*in_scope)
    ).one()
    selected = case((and_(*conditions), 1), else_=0) if conditions else literal(1)
    files = _RowFiles(folder)
    try:
        if bounds[0] is not None:
            low = int(bounds[0])
            high = head_seq if open_ended else int(bounds[1])
            rows = read_rows(conn, after=low - 1, upto=high, selected=selected)
            data.chain = _copy_rows(rows, low, high, files, data, checkpoint)
        if checkpoint is not None and open_ended and head_seq < checkpoint["seq"]:
            data.problems.append(
                f"the chain ends at seq {head_seq}, before the checkpoint of {checkpoint['at']} "
                f"at seq {checkpoint['seq']}: events were removed from its end"
            )
    finally:
        data.files.update(files.close())
    return data


def _copy_rows(
    rows: Iterator[dict[str, Any]],
    low: int,
    high: int,
    files: _RowFiles,
    data: RowsWritten,
    checkpoint: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """Write rows low..high (each with "selected") to `files`, tallying them in `data`; the
    covered range as the manifest's "chain" records it."""
    prev_hash = ""
    last_hash = ""
    for row in rows:
        is_selected = bool(row.pop("selected"))
        if not prev_hash:
            prev_hash = str(row["prev_hash"])
        last_hash = str(row["hash"])
        at_checkpoint = checkpoint is not None and row["seq"] == checkpoint["seq"]
        if at_checkpoint and checkpoint and row["hash"] != checkpoint["hash"]:
            data.problems.append(
                f"seq {row['seq']} does not have the hash signed by the checkpoint "
                f"of {checkpoint['at']}: the history was rewritten"
            )
        if not is_selected:
            files.write_link(row)
            data.links += 1
            continue
        occurred_at = row["occurred_at"]
        # The canonical text, as the hash saw it; CSV writes None as an empty cell.
        row["occurred_at"] = format_timestamp(occurred_at)
        files.write_event(row)
        data.events += 1
        data.by_action[str(row["action"])] += 1
        link = {"seq": row["seq"], "hash": row["hash"]}
        data.first = data.first or link
        data.last = link
        when = occurred_at.strftime("%Y-%m-%d %H:%M:%S")
        data.table.append((str(row["seq"]), when, row["actor"], row["action"], row["subject"]))
    return {"from_seq": low, "from_prev_hash": prev_hash, "to_seq": high, "to_hash": last_hash}


def _fingerprint(public_pem: str) -> str:
    """sha256 of the key's DER form: what a reader compares with the fingerprint we publish."""
    der = load_public_key(public_pem).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return sha256_hex(der)


def write_key_files(
    folder: Path, public: str, checkpoint: Mapping[str, Any] | None
) -> dict[str, str]:
    """public_key.pem and, with a checkpoint, its signed bytes and raw signature (checkable
    with openssl alone); the sha256 of each file written."""
    public_bytes = public.encode("ascii")
    (folder / PUBLIC_KEY).write_bytes(public_bytes)
    written = {PUBLIC_KEY: sha256_hex(public_bytes)}
    if checkpoint is not None:
        unsigned = checkpoint_payload(checkpoint["seq"], checkpoint["hash"], checkpoint["at"])
        signature = base64.b64decode(checkpoint["signature"])
        (folder / CHECKPOINT_UNSIGNED).write_bytes(unsigned)
        (folder / CHECKPOINT_SIG).write_bytes(signature)
        written[CHECKPOINT_UNSIGNED] = sha256_hex(unsigned)
        written[CHECKPOINT_SIG] = sha256_hex(signature)
    return written


def build_manifest(
    scope_json: dict[str, Any],
    created: datetime,
    data: RowsWritten,
    checkpoint: dict[str, Any] | None,
    public: str,
) -> dict[str, Any]:
    """The manifest but for "files" and "signature", which come once every file is written."""
    return {
        "format": EXPORT_FORMAT,
        "created_at": format_timestamp(created),
        "scope": scope_json,
        "hashing": HASHING_RULE,
        "counts": {
            "events": data.events,
            "links": data.links,
            "by_action": dict(sorted(data.by_action.items())),
        },
        "selection": {"first": data.first, "last": data.last},
        "chain": data.chain,
        "head": {"seq": data.head[0], "hash": data.head[1]},
        "checkpoint": checkpoint,
        "public_key": public,
        "public_key_sha256": _fingerprint(public),
    }


def write_manifest(
    folder: Path, manifest: dict[str, Any], files: Mapping[str, str], key: Ed25519PrivateKey
) -> bytes:
    """Add the files' hashes and the signature to `manifest`, write manifest.json and the
    signed bytes and raw signature beside it; manifest.json's bytes."""
    manifest["files"] = dict(sorted(files.items()))
    unsigned_manifest = signed_bytes(manifest)
    manifest_signature = key.sign(unsigned_manifest)
    manifest["signature"] = base64.b64encode(manifest_signature).decode("ascii")
    manifest_file = manifest_bytes(manifest)
    (folder / MANIFEST).write_bytes(manifest_file)
    (folder / MANIFEST_UNSIGNED).write_bytes(unsigned_manifest)
    (folder / MANIFEST_SIG).write_bytes(manifest_signature)
    return manifest_file


def write_zip(
    folder: Path, files: Mapping[str, str], with_checkpoint: bool, created: datetime, out: Path
) -> str:
    """Write SHA256SUMS, zip every file into `out` (atomically); the ZIP's sha256."""
    order = [README, MANIFEST, MANIFEST_UNSIGNED, MANIFEST_SIG, PUBLIC_KEY]
    order += [EVENTS, EVENTS_CSV, LINKS, REPORT]
    if with_checkpoint:
        order += [CHECKPOINT_UNSIGNED, CHECKPOINT_SIG]
    sums = {name: files.get(name) or file_sha256(folder / name) for name in order}
    sums_bytes = "".join(f"{digest}  {name}\n" for name, digest in sums.items()).encode()
    (folder / SUMS).write_bytes(sums_bytes)
    order.append(SUMS)

    partial = folder / "export.zip"
    _zip(partial, folder, order, created)
    zip_sha256 = file_sha256(partial)
    os.replace(partial, out)
    return zip_sha256


def _zip(path: Path, folder: Path, names: list[str], created: datetime) -> None:
    stamp = created.astimezone(UTC).timetuple()[:6]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            source = folder / name
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            size = source.stat().st_size
            with (
                source.open("rb") as src,
                archive.open(info, "w", force_zip64=size > 1 << 30) as dst,
            ):
                shutil.copyfileobj(src, dst, CHUNK)
