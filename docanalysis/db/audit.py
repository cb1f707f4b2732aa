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
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, select

from docanalysis.core.audit_chain import (
    GENESIS_HASH,
    MISSING,
    REWRITTEN,
    TRUNCATED,
    ChainCheck,
    canonical_json,
    event_content,
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
    outcome: str = ""
    request_id: str = ""
    client_address: str = ""

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
    outcome: str = "ok",
    request_id: str = "",
    client_address: str = "",
) -> AuditEvent:
    """Append one event inside the caller's transaction (conn must be in one: engine.begin()).
    `outcome` is "ok" for a change that happened, "refused" for one a rule stopped, "failed"
    for one that went wrong."""
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
    optional = {"outcome": outcome, "request_id": request_id, "client_address": client_address}
    row = {**content, **optional, "hash": event_hash(prev_hash, event_content(content | optional))}
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


def _chain_rows(
    conn: Connection, *, after_seq: int, batch: int, read: list[int]
) -> Iterator[dict[str, Any]]:
    """Rows with seq > after_seq as plain mappings, in order, read in batches (keyset). Cheaper
    than iter_events for a walk over the whole table: no dataclass, no deep copy. `read[0]`
    counts the rows fetched."""
    query = select(audit_events).order_by(audit_events.c.seq).limit(batch)
    while True:
        page = conn.execute(query.where(audit_events.c.seq > after_seq)).all()
        read[0] += len(page)
        for row in page:
            values = dict(row._mapping)
            values["occurred_at"] = utc(values["occurred_at"])
            yield values
        if len(page) < batch:
            return
        after_seq = int(page[-1].seq)


# A problem of these kinds concerns rows that are gone or cannot be told apart (deleted rows, a
# cut-off end, a history rehashed up to a checkpoint): any tenant's events may be among them.
_EVERY_TENANT = frozenset({MISSING, TRUNCATED, REWRITTEN})


def _concerns_tenant(conn: Connection, check: ChainCheck, tenant_id: int) -> bool:
    if check.kind in _EVERY_TENANT or check.resume_seq is None or not check.rows:
        return True
    query = select(audit_events.c.tenant_id).where(audit_events.c.seq.in_(check.rows))
    return tenant_id in set(conn.execute(query).scalars())


def _resume_link(conn: Connection, seq: int, fallback: str) -> str:
    """The prev_hash of row `seq`, trusted as the start of a new segment (`fallback` if the row
    is not there: the walk then reports it missing)."""
    query = select(audit_events.c.prev_hash).where(audit_events.c.seq == seq)
    found = conn.execute(query).scalar_one_or_none()
    return fallback if found is None else str(found)


@dataclass(frozen=True)
class VerifyStats:
    """A verification and what it cost: `rows_read` counts the rows fetched from the database
    (the whole chain once when it is intact; more when a bad row is classified, which reads the
    rest of the chain again, or when a tenant's walk resumes past other tenants' problems),
    `segments` the walks made (1 unless a tenant walk resumed)."""

    check: ChainCheck
    rows_read: int
    segments: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows_read / self.seconds if self.seconds > 0 else 0.0


def verify_chain_stats(
    conn: Connection,
    tenant_id: int | None = None,
    *,
    expected_head: tuple[int, str] | None = None,
    batch: int = _STREAM_BATCH,
) -> VerifyStats:
    """verify_chain, timed, with the number of rows read and walks made (see VerifyStats)."""
    started = time.perf_counter()
    read = [0]
    if tenant_id is None:
        rows = _chain_rows(conn, after_seq=0, batch=batch, read=read)
        check = verify_events(rows, expected_head=expected_head)
        return VerifyStats(check, read[0], 1, time.perf_counter() - started)

    def is_tenants(row: Mapping[str, object]) -> bool:
        return row["tenant_id"] == tenant_id

    counted, segments = 0, 0
    first_seq, prev_hash = 1, GENESIS_HASH
    while True:
        segments += 1
        rows = _chain_rows(conn, after_seq=first_seq - 1, batch=batch, read=read)
        check = verify_events(
            rows,
            first_seq=first_seq,
            prev_hash=prev_hash,
            expected_head=expected_head,
            count_if=is_tenants,
        )
        counted += check.count
        if check.ok or _concerns_tenant(conn, check, tenant_id):
            check = replace(check, count=counted)
            return VerifyStats(check, read[0], segments, time.perf_counter() - started)
        # Another tenant's problem: go on from where the check says, trusting that row's link.
        if check.resume_seq is None or check.resume_seq <= first_seq:  # no progress: report it
            check = replace(check, count=counted)
            return VerifyStats(check, read[0], segments, time.perf_counter() - started)
        first_seq = check.resume_seq
        prev_hash = _resume_link(conn, first_seq, check.last_hash)


def verify_chain(
    conn: Connection,
    tenant_id: int | None = None,
    *,
    expected_head: tuple[int, str] | None = None,
) -> ChainCheck:
    """Walk the whole chain from genesis and say what is wrong with the first bad row (see
    core.audit_chain.verify_events for the rules and the kinds).

    `expected_head`: a (seq, hash) the chain is known to have reached, from a signed checkpoint.
    Without it a cut-off end or a history rehashed from the tampered row on verifies as ok.

    With `tenant_id`, every row is still checked (each link needs the row before it, whoever it
    belongs to), but only problems that matter to that tenant are reported, and `count` is the
    number of that tenant's events verified (before the first such problem; all when ok).
    A problem matters to the tenant when

    * it concerns a row of the tenant (the changed, forged or moved row itself), or
    * it breaks a link into or out of one of the tenant's rows (row n's prev_hash must be row
      n-1's hash: the tenant's row depends on its neighbours' links), or
    * the rows it concerns cannot be attributed: missing rows, a cut-off end, a history
      rewritten up to a checkpoint (a deleted row may have been the tenant's), or rows out of
      order with no place to resume.

    A problem confined to other tenants' rows is passed over: the walk starts a new segment
    where the check says (resume_seq), trusting that row's prev_hash, and goes on.
    `last_hash` is the hash of the last row found valid before the reported problem (the
    chain's head when ok).
    """
    return verify_chain_stats(conn, tenant_id, expected_head=expected_head).check


__all__ = [
    "AUDIT_LOCK_KEY",
    "AuditEvent",
    "VerifyStats",
    "append_event",
    "iter_events",
    "read_events",
    "utc",
    "verify_chain",
    "verify_chain_stats",
]
