"""The audit trail's hash chain: a canonical form, the hash of one event, and a verifier.

Canonical form (what a third party reproduces to verify an export):

* JSON as Python writes it with ``json.dumps(value, sort_keys=True, separators=(",", ":"),
  ensure_ascii=False, allow_nan=False)``: keys sorted by code point, no whitespace, non-ASCII
  characters written as themselves, NaN and infinities refused.
* A ``datetime`` must be timezone-aware; it is written as a string in UTC with exactly six
  fractional digits and a ``Z``: ``2026-01-02T03:04:05.000006Z``. Naive datetimes are refused
  because their instant is ambiguous. Tuples are written as arrays.
* ``hash = sha256((prev_hash + canonical_json(content)).encode("utf-8")).hexdigest()`` where
  ``content`` is the row without its ``hash``: the keys of ``CONTENT_FIELDS``, plus those of
  ``OPTIONAL_FIELDS`` whose value is not empty. (They became columns after the first rows were
  written; leaving out an empty one keeps those rows' hashes true.) The first event's
  ``prev_hash`` is ``GENESIS_HASH`` (64 zeros) and ``seq`` runs 1, 2, 3, ... with no gap.

Verifying an export therefore takes a few lines in any language: walk the rows in order of seq,
check each seq and prev_hash against the previous row, recompute the hash. `verify_events` does
that and, at the first bad row, reads the rest of the chain once more to say what happened to it
(changed, missing, reordered, forged, ...: see its docstring; core.audit_tamper tells them
apart). A cut-off end and a history rehashed from the tampered row on leave a consistent chain:
only a head recorded elsewhere (a signed checkpoint, passed as `expected_head`) shows them.

Two faster routes reach the same bytes: `payload_template` lets a writer that learns seq and
prev_hash only inside the database have it splice them in, and `walk_wire_rows` verifies rows
read as text without building a mapping per row, handing the first row it cannot vouch for to
verify_events. Both are tested to produce exactly event_hash's payload.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from docanalysis.core.audit_tamper import (
    CHANGED,
    FORGED,
    KINDS,
    MALFORMED,
    MISSING,
    REORDERED,
    REWRITTEN,
    TRUNCATED,
    Finding,
    bad_hash,
    broken_link,
    out_of_sequence,
    row_name,
    seq_of,
)

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
# Columns hashed only when they hold something: what came of the action ("ok", "refused",
# "failed"), the web request that acted and the address it came from.
OPTIONAL_FIELDS = ("outcome", "request_id", "client_address")


def format_timestamp(value: datetime) -> str:
    """The canonical text of an instant: UTC, microseconds always written, a trailing Z."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} has no defined instant; use UTC")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _default(value: object) -> object:
    if isinstance(value, datetime):
        return format_timestamp(value)
    raise TypeError(f"{type(value).__name__} is not allowed in an audit event: {value!r}")


# The encoder json.dumps(value, sort_keys=True, ...) builds on every call, built once: it keeps
# no state between calls, and building it took about a third of json.dumps's time per event.
CANONICAL = json.JSONEncoder(
    sort_keys=True,
    separators=(",", ":"),
    ensure_ascii=False,
    allow_nan=False,
    default=_default,
)


def canonical_json(value: object) -> str:
    """The one JSON text of `value` that the chain hashes (see the module docstring)."""
    return CANONICAL.encode(value)


def event_content(row: Mapping[str, object]) -> dict[str, object]:
    """The hashed part of a row: every column but `hash`, an optional one only when it is not
    empty. A missing column is an error (a missing optional one counts as empty)."""
    missing = [name for name in CONTENT_FIELDS if name not in row]
    if missing:
        raise KeyError(f"audit row lacks {', '.join(missing)}")
    content = {name: row[name] for name in CONTENT_FIELDS}
    content.update({name: row[name] for name in OPTIONAL_FIELDS if row.get(name)})
    return content


def event_hash(prev_hash: str, content: Mapping[str, object]) -> str:
    """sha256 hex of prev_hash followed by the canonical JSON of the content, as UTF-8."""
    payload = prev_hash + canonical_json(content if type(content) is dict else dict(content))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def payload_template(content: Mapping[str, object]) -> tuple[str, str, str]:
    """For a writer that learns seq and prev_hash only inside the database (db.audit on
    PostgreSQL): (head, middle, tail) such that prev_hash + head + prev_hash + middle + str(seq)
    + tail is event_hash's payload of `content` (event_content's form; its own seq and prev_hash
    are left out) at that seq after that prev_hash, if the prev_hash is hex digits, which JSON
    writes as themselves. Keys are sorted: the others go before prev_hash, between, or after seq."""

    def members(keep: Callable[[str], bool]) -> str:
        part = {k: v for k, v in content.items() if k not in ("seq", "prev_hash") and keep(k)}
        return canonical_json(part)[1:-1]  # without the braces

    before = members(lambda k: k < "prev_hash")
    between = members(lambda k: "prev_hash" < k < "seq")
    after = members(lambda k: k > "seq")
    return (
        "{" + (before + "," if before else "") + '"prev_hash":"',
        '"' + ("," + between if between else "") + ',"seq":',
        ("," + after if after else "") + "}",
    )


@dataclass(frozen=True)
class ChainCheck:
    """The verdict on a chain.

    `count` is the number of rows found valid before the first bad one (all rows when ok; only
    the rows `count_if` accepts when the caller gave one). `last_hash` is the hash of the last
    valid row (GENESIS_HASH for an empty chain). On failure, `kind` names what is wrong (one of
    KINDS), `first_bad_seq` the first row concerned, `problem` says it in words, `rows` lists
    the stored rows the problem concerns (the bad ones and those on either side of a broken
    link), and `resume_seq` is where a walk that wants to look past this problem may start a new
    segment, trusting that row's prev_hash (None: no sensible place, stop there).
    """

    ok: bool
    count: int
    first_bad_seq: int | None = None
    problem: str = ""
    last_hash: str = GENESIS_HASH
    kind: str = ""
    rows: tuple[int, ...] = ()
    resume_seq: int | None = None


def _hash_as(row: Mapping[str, object], seq: int, prev_hash: object) -> str | None:
    """The hash `row`'s content would have at position `seq` after `prev_hash`; None if it
    cannot be hashed. The RowHasher that audit_tamper's classifiers are given."""
    try:
        content = {**event_content(row), "seq": seq, "prev_hash": prev_hash}
        return event_hash(str(prev_hash), content)
    except (KeyError, TypeError, ValueError):
        return None


def _classify(
    row: Mapping[str, object],
    expected: int,
    prev_hash: str,
    prev_row: Mapping[str, object] | None,
    rest: Iterator[Mapping[str, object]],
) -> Finding | None:
    """What is wrong with `row` at position `expected`, or None if nothing is. This checks
    the row; audit_tamper works out which tampering a bad one shows."""
    seq = seq_of(row)
    if seq is None:
        return Finding(
            MALFORMED,
            expected,
            f"the row after {row_name(expected - 1)} has no valid seq ({row.get('seq')!r})",
            (),
            None,
        )
    if seq != expected:
        return out_of_sequence(row, seq, expected, prev_hash, prev_row, rest, _hash_as)
    if row.get("prev_hash") != prev_hash:
        return broken_link(row, seq, prev_hash, prev_row, rest, _hash_as)
    try:
        recomputed = event_hash(prev_hash, event_content(row))
    except (KeyError, TypeError, ValueError) as exc:
        return Finding(MALFORMED, seq, f"row {seq} cannot be checked: {exc}", (seq,), seq + 1)
    if row.get("hash") != recomputed:
        return bad_hash(row, seq, prev_row, rest, _hash_as)
    return None


def verify_events(
    events: Iterable[Mapping[str, object]],
    *,
    first_seq: int = 1,
    prev_hash: str = GENESIS_HASH,
    expected_head: tuple[int, str] | None = None,
    count_if: Callable[[Mapping[str, object]], bool] | None = None,
) -> ChainCheck:
    """Walk rows in order of seq and say what is wrong with the first one that breaks the chain.

    `first_seq` and `prev_hash` let a caller verify a slice that starts after a known-good
    row; the defaults verify a whole chain from its genesis. Rows are consumed lazily, so a
    caller can stream a large table through this; once a row is found bad, the rest are read
    once more to tell which tampering it was (see the rules below).

    `expected_head` is a (seq, hash) the chain is known to have had, e.g. from a signed
    checkpoint: the row with that seq must still carry that hash (else the history up to it was
    rewritten and rehashed, REWRITTEN), and the chain must reach it (else its end was removed,
    TRUNCATED). Without it, neither can be seen: a chain rehashed from the tampered row on, or
    cut short, is internally consistent. `count_if` restricts `count` to the rows it accepts.

    Rules, for the first row r at position n (n = the seq expected there):

    * seq of r > n: rows n.. are MISSING, unless the rows skipped appear later or the row
      written before r appears later under another number (REORDERED), or r links straight to
      row n-1 (CHANGED: renumbered).
    * seq of r < n: REORDERED (seq goes backwards), or FORGED when it repeats row n-1's seq.
    * prev_hash of r is not row n-1's hash:
      - r was written after a row that now comes later: REORDERED (whole rows swapped/moved);
      - row n-1's content is what the chain recorded at a later position k: REORDERED (rows
        n-1 and k swapped, hashes recomputed);
      - r and row n-1 name the same predecessor: row n-1 was inserted, FORGED;
      - r's own hash is right: row n-1 was edited and rehashed, CHANGED (first bad n-1);
      - else r is CHANGED if the next row still refers to its hash, FORGED if not.
    * r links but its hash does not match its content: FORGED if the next row names the same
      predecessor (r inserted); REORDERED if its content is what the chain recorded at a later
      position; CHANGED if the next row still refers to r's hash (or r is the last row);
      otherwise FORGED (r replaced, nothing refers to it).
    * a row that cannot be hashed at all: MALFORMED.
    """
    rows = iter(events)
    count = 0
    expected = first_seq
    prev_row: Mapping[str, object] | None = None
    prev_counted = False
    before_prev_hash = prev_hash
    for row in rows:
        finding = _classify(row, expected, prev_hash, prev_row, rows)
        head_broken = (
            finding is None
            and expected_head is not None
            and expected == expected_head[0]
            and row.get("hash") != expected_head[1]
        )
        if head_broken:
            finding = Finding(
                REWRITTEN,
                expected,
                f"row {expected} no longer has the hash the checkpoint recorded: the trail up "
                f"to row {expected} was rewritten and its hashes recomputed",
                (expected,),
                None,
            )
        if finding is not None:
            valid, last = count, prev_hash
            if finding.previous_bad:
                valid, last = count - int(prev_counted), before_prev_hash
            return ChainCheck(
                ok=False,
                count=valid,
                first_bad_seq=finding.first_bad_seq,
                problem=finding.problem,
                last_hash=last,
                kind=finding.kind,
                rows=tuple(sorted(set(finding.rows))),
                resume_seq=finding.resume_seq,
            )
        before_prev_hash, prev_hash, prev_row = prev_hash, str(row["hash"]), row
        prev_counted = count_if is None or count_if(row)
        count += int(prev_counted)
        expected += 1
    return chain_end(first_seq, expected, count, prev_hash, expected_head)


def chain_end(
    first_seq: int,
    expected: int,
    count: int,
    last_hash: str,
    expected_head: tuple[int, str] | None,
) -> ChainCheck:
    """The verdict of a walk that checked every row from `first_seq` up to `expected` - 1: ok,
    unless the chain ends before the head a checkpoint recorded."""
    if expected_head is None or expected - 1 >= expected_head[0]:
        return ChainCheck(ok=True, count=count, last_hash=last_hash)
    head = expected_head[0]
    gone = f"row {head} is" if expected == head else f"rows {expected} to {head} are"
    return ChainCheck(
        ok=False,
        count=count,
        first_bad_seq=expected,
        problem=(
            f"the chain ends before the checkpoint: it stops at row {expected - 1}, the "
            f"checkpoint covers row {head}, so {gone} missing (the end was deleted)"
        ),
        last_hash=last_hash,
        kind=TRUNCATED,
        rows=(expected - 1,) if expected - 1 >= first_seq else (),
    )


__all__ = [
    "CHANGED",
    "CONTENT_FIELDS",
    "OPTIONAL_FIELDS",
    "FORGED",
    "GENESIS_HASH",
    "KINDS",
    "MALFORMED",
    "MISSING",
    "REORDERED",
    "REWRITTEN",
    "TRUNCATED",
    "ChainCheck",
    "canonical_json",
    "event_content",
    "event_hash",
    "format_timestamp",
    "payload_template",
    "verify_events",
]
