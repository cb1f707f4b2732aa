"""The layout of an audit export ZIP, shared by the writer and the verifier.

File names, the manifest's fields, and how rows and the manifest are serialized: the writer
(services.audit_export) and the verifier (services.audit_export_verify) must agree on every
byte, so both take these definitions from here. The layout itself is described in
services.audit_export's docstring.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from docanalysis.core.audit_chain import (
    CONTENT_FIELDS,
    OPTIONAL_FIELDS,
    canonical_json,
    event_content,
)

EXPORT_FORMAT = "docanalysis-audit-export/1"
EVENTS = "events.jsonl"
EVENTS_CSV = "events.csv"
LINKS = "links.jsonl"
REPORT = "report.pdf"
PUBLIC_KEY = "public_key.pem"
README = "README.txt"
MANIFEST = "manifest.json"
MANIFEST_UNSIGNED = "manifest_unsigned.json"
MANIFEST_SIG = "manifest.sig"
CHECKPOINT_UNSIGNED = "checkpoint_unsigned.json"
CHECKPOINT_SIG = "checkpoint.sig"
SUMS = "SHA256SUMS"

# Files whose sha256 the manifest lists (plus the checkpoint's two when there is one).
HASHED_FILES = (EVENTS, EVENTS_CSV, LINKS, REPORT, PUBLIC_KEY, README)
ALWAYS = (MANIFEST, MANIFEST_UNSIGNED, MANIFEST_SIG, *HASHED_FILES, SUMS)
# A line of events.jsonl holds exactly the hashed content and the hash: CONTENT_FIELDS, "hash",
# and the OPTIONAL_FIELDS that are not empty. events.csv always has every column.
EVENT_FIELDS = (*CONTENT_FIELDS, "hash")
CSV_FIELDS = (*CONTENT_FIELDS, *OPTIONAL_FIELDS, "hash")
_DETAILS = CSV_FIELDS.index("details")
LINK_FIELDS = ("seq", "prev_hash", "hash")

# The manifest's top-level fields and the JSON types they must have (the writer adds "files"
# and "signature" last, once every other file is written).
MANIFEST_FIELDS: dict[str, type | tuple[type, ...]] = {
    "format": str,
    "scope": dict,
    "counts": dict,
    "selection": dict,
    "chain": (dict, type(None)),
    "head": dict,
    "checkpoint": (dict, type(None)),
    "public_key": str,
    "files": dict,
    "signature": str,
}
# The manifest's "hashing" field: the chain's rule in words, for a reader without our code.
HASHING_RULE = (
    "hash = sha256(prev_hash + canonical JSON of the row without hash), UTF-8; "
    "canonical JSON = json.dumps(sort_keys=True, separators=(',', ':'), "
    "ensure_ascii=False, allow_nan=False)"
)

CHUNK = 1 << 20  # bytes read or copied at a time, so a large export never sits in memory
HEX64 = re.compile(r"[0-9a-f]{64}")
SUMS_LINE = re.compile(r"([0-9a-f]{64})  ([A-Za-z0-9_.\-]+)")  # as `sha256sum` writes it


def canonical_line(row: Mapping[str, Any]) -> str:
    """A line of events.jsonl or links.jsonl: the row's canonical JSON and a line break."""
    return canonical_json(row) + "\n"


def link_of(row: Mapping[str, Any]) -> dict[str, Any]:
    """What links.jsonl keeps of a row outside the scope: no content, only its place."""
    return {name: row[name] for name in LINK_FIELDS}


def event_line(row: Mapping[str, Any]) -> str:
    """A line of events.jsonl: the row's hashed content and its hash."""
    return canonical_line({**event_content(row), "hash": row["hash"]})


def csv_cells(row: Mapping[str, Any]) -> list[Any]:
    """The cells of a row in events.csv, in CSV_FIELDS order; `details` as canonical JSON.
    `occurred_at` must already be its canonical text (CSV writes None as an empty cell)."""
    cells = [row.get(name, "") for name in CSV_FIELDS]
    cells[_DETAILS] = canonical_json(row["details"])
    return cells


def signed_bytes(manifest: Mapping[str, Any]) -> bytes:
    """What the manifest's signature covers (manifest_unsigned.json): its canonical JSON
    without `signature`."""
    unsigned = {name: value for name, value in manifest.items() if name != "signature"}
    return canonical_json(unsigned).encode("utf-8")


def manifest_bytes(manifest: Mapping[str, Any]) -> bytes:
    """manifest.json as written: indented for people, keys sorted, one final newline."""
    text = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
