"""The audit writer: append hash-chained events inside the caller's transaction, read, verify.

An event is written in the same transaction as the change it records, so either both exist or
neither does. Writers are serialized so that seq has no gap and every prev_hash links to the
row before it: PostgreSQL takes a transaction-level advisory lock; SQLite transactions from
docanalysis.db.engine are BEGIN IMMEDIATE, which already holds the database's write lock.

Values are normalized before hashing so that the row read back hashes identically on both
dialects: times are UTC with microseconds (SQLite stores them without tzinfo, so a naive value
read back is UTC by construction); details go through canonical JSON and back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, select

from docanalysis.core.audit_chain import (
    GENESIS_HASH,
    ChainCheck,
    canonical_json,
    event_hash,
    verify_events,
)
from docanalysis.db.tables import audit_events

# Key of the PostgreSQL advisory lock that serializes audit writers ("docaudit" in ASCII).
AUDIT_LOCK_KEY = 0x646F_6361_7564_6974
_STREAM_BATCH = 1000


@dataclass(frozen=True)
class AuditEvent:
    """One row of audit_events, with occurred_at always timezone-aware UTC."""

    seq: int
    occurred_at: datetime
    actor_id: int | None
    actor: str
    tenant_id: int | None
    matter_id: int | None
    action: str
    subject: str
    details: dict[str, Any]
    prev_hash: str
    hash: str

    def as_row(self) -> dict[str, Any]:
        """The row as a plain mapping, as core.audit_chain expects it."""
        return asdict(self)


def utc(value: datetime) -> datetime:
    """A timezone-aware UTC datetime; a naive one (as SQLite returns) is taken to be UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _lock_writers(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        # Released at commit or rollback; a writer waiting here then reads the new last row.
        conn.execute(select(func.pg_advisory_xact_lock(AUDIT_LOCK_KEY)))


def _last_link(conn: Connection) -> tuple[int, str]:
    query = select(audit_events.c.seq, audit_events.c.hash).order_by(audit_events.c.seq.desc())
    last = conn.execute(query.limit(1)).first()
    return (0, GENESIS_HASH) if last is None else (int(last.seq), str(last.hash))


def _normalized_details(details: Mapping[str, Any] | None) -> dict[str, Any]:
    # The round trip turns datetimes into their canonical strings and tuples into lists, so
    # what the JSON column stores is exactly what was hashed.
    loaded: dict[str, Any] = json.loads(canonical_json(dict(details or {})))
    return loaded


def append_event(
    conn: Connection,
    *,
    action: str,
    subject: str,
    actor: str,
    actor_id: int | None = None,
    tenant_id: int | None = None,
    matter_id: int | None = None,
    details: Mapping[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> AuditEvent:
    """Append one event inside the caller's transaction (conn must be in one: engine.begin())."""
    when = utc(occurred_at) if occurred_at is not None else datetime.now(UTC)
    _lock_writers(conn)
    last_seq, prev_hash = _last_link(conn)
    content: dict[str, Any] = {
        "seq": last_seq + 1,
        "occurred_at": when,
        "actor_id": actor_id,
        "actor": actor,
        "tenant_id": tenant_id,
        "matter_id": matter_id,
        "action": action,
        "subject": subject,
        "details": _normalized_details(details),
        "prev_hash": prev_hash,
    }
    row = {**content, "hash": event_hash(prev_hash, content)}
    conn.execute(audit_events.insert().values(**row))
    return AuditEvent(**row)


def _to_event(row: Any) -> AuditEvent:
    values = dict(row._mapping)
    values["occurred_at"] = utc(values["occurred_at"])
    return AuditEvent(**values)


def read_events(
    conn: Connection, *, after_seq: int = 0, limit: int | None = None
) -> list[AuditEvent]:
    """Events with seq > after_seq in order of seq, at most `limit` of them."""
    query = select(audit_events).where(audit_events.c.seq > after_seq).order_by(audit_events.c.seq)
    if limit is not None:
        query = query.limit(limit)
    return [_to_event(row) for row in conn.execute(query)]


def iter_events(conn: Connection, *, batch: int = _STREAM_BATCH) -> Iterator[AuditEvent]:
    """Every event in order of seq, read in batches so a long chain never sits in memory."""
    after = 0
    while True:
        page = read_events(conn, after_seq=after, limit=batch)
        yield from page
        if len(page) < batch:
            return
        after = page[-1].seq


def verify_chain(conn: Connection) -> ChainCheck:
    """Walk the whole chain from genesis; name the first bad row."""
    return verify_events(event.as_row() for event in iter_events(conn))


__all__ = [
    "AUDIT_LOCK_KEY",
    "AuditEvent",
    "append_event",
    "iter_events",
    "read_events",
    "utc",
    "verify_chain",
]
