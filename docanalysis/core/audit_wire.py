"""The audit chain read fast: rows as the database sends them (db.audit's walk), hashed without
building a mapping per row. Whatever cannot be vouched for here is handed to
audit_chain.verify_events, which names what is wrong; the verdicts are the same.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any

from docanalysis.core.audit_chain import (
    CANONICAL,
    CONTENT_FIELDS,
    GENESIS_HASH,
    OPTIONAL_FIELDS,
    ChainCheck,
    chain_end,
)

# A wire row: an audit row as db.audit's fast walk reads it, columns in this order. seq is an
# int; occurred_at is already its canonical text (format_timestamp's); the ids are decimal text
# or None; details is the stored JSON text; the rest are the stored strings.
WIRE_COLUMNS = (*CONTENT_FIELDS[:-1], *OPTIONAL_FIELDS, "prev_hash", "hash")
_TIMESTAMP_CHARS = len("2026-01-02T03:04:05.000006Z")
_DECODE = json.JSONDecoder().raw_decode


def canonical_texts(texts: Sequence[str]) -> bool:
    """Whether each text is exactly the canonical JSON of the value it holds, checked with one
    encoder call for all (a call costs more than encoding a small value). Each is parsed alone
    as one whole value first, so the encodings and the texts line up one to one: a whole JSON
    value never starts with another whole value followed by a comma or a bracket."""
    values = []
    try:
        for text in texts:
            value, end = _DECODE(text)
            if end != len(text):
                return False
            values.append(value)
        return CANONICAL.encode(values) == "[" + ",".join(texts) + "]"
    except (TypeError, ValueError):
        return False


def wire_payload(row: Sequence[Any], canonical_details: bool = False) -> str:
    """What event_hash hashes for the row, written member by member in the canonical key order
    instead of through a mapping and the JSON encoder. The stored details text is hashed as it
    is only when the caller knows it canonical (canonical_texts); else it is parsed and encoded.
    Raises ValueError or TypeError where the text cannot be vouched for; a 4-digit year is the
    only one format_timestamp and the database write alike."""
    seq, at, actor_id, actor, tenant_id, matter_id, action, subject = row[:8]
    details, outcome, request_id, client_address, prev_hash = row[8:13]
    if len(at) != _TIMESTAMP_CHARS or at[0] == "0":
        raise ValueError(f"occurred_at {at!r} is not a timestamp of years 1000 to 9999")
    if not canonical_details:
        details = CANONICAL.encode(json.loads(details))
    q = encode_basestring  # what the encoder writes strings with when ensure_ascii is off
    return "".join((
        prev_hash,
        '{"action":', q(action),
        ',"actor":', q(actor),
        ',"actor_id":', "null" if actor_id is None else actor_id,
        ',"client_address":' + q(client_address) if client_address else "",
        ',"details":', details,
        ',"matter_id":', "null" if matter_id is None else matter_id,
        ',"occurred_at":"', at, '"',
        ',"outcome":' + q(outcome) if outcome else "",
        ',"prev_hash":', q(prev_hash),
        ',"request_id":' + q(request_id) if request_id else "",
        ',"seq":', str(seq),
        ',"subject":', q(subject),
        ',"tenant_id":', "null" if tenant_id is None else tenant_id,
        "}",
    ))  # fmt: skip


@dataclass(frozen=True)
class WalkStop:
    """Where walk_wire_rows handed over: verify_events should go on from row `seq` (the last
    row vouched for, so that it sees that row's neighbour, or the first row of the walk), whose
    prev_hash is `prev_hash`; `count` rows before it were counted."""

    seq: int
    prev_hash: str
    count: int


def walk_wire_rows(
    batches: Iterable[Sequence[Sequence[Any]]],
    *,
    first_seq: int = 1,
    prev_hash: str = GENESIS_HASH,
    expected_head: tuple[int, str] | None = None,
    tenant: int | None = None,
) -> ChainCheck | WalkStop:
    """verify_events' walk for wire rows (in batches), as long as every row checks out: the
    verdict on the whole chain, or, at the first row that does not (or cannot be hashed here),
    where verify_events should take over to name what is wrong. `tenant`: count its rows only."""
    head_seq, head_hash = expected_head or (0, "")
    tenant_text = None if tenant is None else str(tenant)
    sha256 = hashlib.sha256
    count, counted, expected, before = 0, False, first_seq, prev_hash
    for batch in batches:
        canonical = canonical_texts([row[8] for row in batch])
        for row in batch:
            try:
                good = (
                    row[0] == expected
                    and row[12] == prev_hash
                    and (expected != head_seq or row[13] == head_hash)
                    and sha256(wire_payload(row, canonical).encode("utf-8")).hexdigest() == row[13]
                )
            except (TypeError, ValueError):
                good = False
            if not good:
                if expected == first_seq:
                    return WalkStop(first_seq, prev_hash, 0)
                return WalkStop(expected - 1, before, count - counted)
            counted = tenant_text is None or row[4] == tenant_text
            count += counted
            before, prev_hash = prev_hash, row[13]
            expected += 1
    return chain_end(first_seq, expected, count, prev_hash, expected_head)


__all__ = ["WIRE_COLUMNS", "WalkStop", "canonical_texts", "walk_wire_rows", "wire_payload"]
