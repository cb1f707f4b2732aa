"""The audit trail's hash chain: a canonical form, the hash of one event, and a verifier.

Canonical form (what a third party reproduces to verify an export):

* JSON as Python writes it with ``json.dumps(value, sort_keys=True, separators=(",", ":"),
  ensure_ascii=False, allow_nan=False)``: keys sorted by code point, no whitespace, non-ASCII
  characters written as themselves, NaN and infinities refused.
* A ``datetime`` must be timezone-aware; it is written as a string in UTC with exactly six
  fractional digits and a ``Z``: ``2026-01-02T03:04:05.000006Z``. Naive datetimes are refused
  because their instant is ambiguous. Tuples are written as arrays.
* ``hash = sha256((prev_hash + canonical_json(content)).encode("utf-8")).hexdigest()`` where
  ``content`` is the row without its ``hash``: the keys of ``CONTENT_FIELDS``. The first event's
  ``prev_hash`` is ``GENESIS_HASH`` (64 zeros) and ``seq`` runs 1, 2, 3, ... with no gap.

Verifying an export therefore takes a few lines in any language: walk the rows in order of seq,
check each seq and prev_hash against the previous row, recompute the hash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

GENESIS_HASH = "0" * 64

# Every column of audit_events except `hash`, which is computed over them.
CONTENT_FIELDS = (
    "seq",
    "occurred_at",
    "actor_id",
    "actor",
    "tenant_id",
    "matter_id",
    "action",
    "subject",
    "details",
    "prev_hash",
)


def format_timestamp(value: datetime) -> str:
    """The canonical text of an instant: UTC, microseconds always written, a trailing Z."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} has no defined instant; use UTC")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _default(value: object) -> object:
    if isinstance(value, datetime):
        return format_timestamp(value)
    raise TypeError(f"{type(value).__name__} is not allowed in an audit event: {value!r}")


def canonical_json(value: object) -> str:
    """The one JSON text of `value` that the chain hashes (see the module docstring)."""
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_default,
    )


def event_content(row: Mapping[str, object]) -> dict[str, object]:
    """The hashed part of a row: every column but `hash`. A missing column is an error."""
    missing = [name for name in CONTENT_FIELDS if name not in row]
    if missing:
        raise KeyError(f"audit row lacks {', '.join(missing)}")
    return {name: row[name] for name in CONTENT_FIELDS}


def event_hash(prev_hash: str, content: Mapping[str, object]) -> str:
    """sha256 hex of prev_hash followed by the canonical JSON of the content, as UTF-8."""
    payload = prev_hash + canonical_json(dict(content))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainCheck:
    """The verdict on a chain. `count` is the number of rows found valid (all rows when ok);
    `last_hash` is the hash of the last valid row (GENESIS_HASH for an empty chain)."""

    ok: bool
    count: int
    first_bad_seq: int | None = None
    problem: str = ""
    last_hash: str = GENESIS_HASH


def _row_problem(row: Mapping[str, object], expected_seq: int, prev_hash: str) -> str:
    """Why this row breaks the chain, or "" if it does not. Order: seq, link, own hash."""
    seq = row.get("seq")
    if seq != expected_seq:
        return f"seq {seq} where {expected_seq} was expected (a gap or a reordering)"
    if row.get("prev_hash") != prev_hash:
        return f"prev_hash of seq {seq} does not match the hash of the row before it"
    try:
        recomputed = event_hash(prev_hash, event_content(row))
    except (KeyError, TypeError, ValueError) as exc:
        return f"seq {seq} cannot be hashed: {exc}"
    if row.get("hash") != recomputed:
        return f"hash of seq {seq} does not match its content (the row was changed)"
    return ""


def verify_events(
    events: Iterable[Mapping[str, object]],
    *,
    first_seq: int = 1,
    prev_hash: str = GENESIS_HASH,
) -> ChainCheck:
    """Walk rows in order of seq and name the first one that breaks the chain.

    `first_seq` and `prev_hash` let a caller verify a slice that starts after a known-good
    row; the defaults verify a whole chain from its genesis. Rows are consumed lazily, so a
    caller can stream a large table through this.
    """
    count = 0
    expected = first_seq
    for row in events:
        problem = _row_problem(row, expected, prev_hash)
        if problem:
            bad = row.get("seq")
            return ChainCheck(
                ok=False,
                count=count,
                first_bad_seq=bad if isinstance(bad, int) else expected,
                problem=problem,
                last_hash=prev_hash,
            )
        prev_hash = str(row["hash"])
        expected += 1
        count += 1
    return ChainCheck(ok=True, count=count, last_hash=prev_hash)


__all__ = [
    "CONTENT_FIELDS",
    "GENESIS_HASH",
    "ChainCheck",
    "canonical_json",
    "event_content",
    "event_hash",
    "format_timestamp",
    "verify_events",
]
