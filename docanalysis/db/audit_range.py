"""One range of the audit chain checked in a process of its own (db.audit_parallel).

Run as `python -m docanalysis.db.audit_range`, a fresh interpreter per range (not
multiprocessing, which would import the caller's main script again in every process). It
imports only psycopg and the pure walk: what it imports is part of a verification's time.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import asdict, dataclass
from typing import Any

import psycopg

from docanalysis.core.audit_chain import GENESIS_HASH, ChainCheck
from docanalysis.core.audit_wire import walk_wire_rows
from docanalysis.db.prefetch import prefetched

_BATCH = 2000
# Wire rows (core.audit_wire.WIRE_COLUMNS): the time already in its canonical text. Here, not
# in db.audit (which uses it too), so that a verifying process need not import SQLAlchemy.
WIRE_SELECT = """SELECT seq,
  to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
  actor_id::text, actor, tenant_id::text, matter_id::text, action, subject, details::text,
  outcome, request_id, client_address, prev_hash, hash
FROM audit_events"""
_RANGE_SELECT = WIRE_SELECT + " WHERE seq BETWEEN %s AND %s ORDER BY seq"


@dataclass(frozen=True)
class RangeCheck:
    """One process's verdict on rows first..last: whether every row was there, in order, and
    hashed right from the stored hash of the row before `first`; its tenant count."""

    ok: bool
    count: int
    last_hash: str


def check_range(url: str, bounds: tuple[int, int], tenant_id: int | None) -> RangeCheck:
    """In a process of its own: rows first..last, each linked and hashed right."""
    first, last = bounds
    with psycopg.connect(url) as conn:
        prev_hash = GENESIS_HASH if first == 1 else _stored_hash_on(conn, first - 1)
        if prev_hash is None:
            return RangeCheck(False, 0, "")
        seen = [first - 1]
        with conn.cursor(name="docanalysis_audit_range") as cursor:
            cursor.execute(_RANGE_SELECT, (first, last))
            with closing(prefetched(_batches(cursor, seen))) as batches:
                walk = walk_wire_rows(
                    batches, first_seq=first, prev_hash=prev_hash, tenant=tenant_id
                )
    if not isinstance(walk, ChainCheck) or not walk.ok or seen[0] != last:
        return RangeCheck(False, 0, "")
    return RangeCheck(True, walk.count, walk.last_hash)


def _batches(cursor: Any, seen: list[int]) -> Iterator[Sequence[Sequence[Any]]]:
    """The cursor's rows in batches; `seen[0]` ends as the last row's seq."""
    while batch := cursor.fetchmany(_BATCH):
        seen[0] = int(batch[-1][0])
        yield batch


def stored_hash(url: str, seq: int) -> str | None:
    with psycopg.connect(url) as conn:
        return _stored_hash_on(conn, seq)


def _stored_hash_on(conn: psycopg.Connection[Any], seq: int) -> str | None:
    row = conn.execute("SELECT hash FROM audit_events WHERE seq = %s", (seq,)).fetchone()
    return None if row is None else str(row[0])


def main() -> int:
    """`python -m docanalysis.db.audit_range`: the range named in the JSON on stdin (url, first,
    last, tenant; the url there, not in argv, where `ps` would show its password), the verdict
    as JSON on stdout."""
    asked = json.loads(sys.stdin.read())
    check = check_range(asked["url"], (asked["first"], asked["last"]), asked["tenant"])
    print(json.dumps(asdict(check)))
    return 0


__all__ = ["WIRE_SELECT", "RangeCheck", "check_range", "stored_hash"]

if __name__ == "__main__":
    sys.exit(main())
