"""PostgreSQL's fast audit paths: the one-round-trip append and the walk over rows read as text.

The append has the database splice the last seq and hash into the text Python prepared and hash
it; Python checks that hash. The verifier reads rows through a server-side cursor, the time as
to_char writes it, details as stored, and hands any row it cannot vouch for to verify_events.
These tests pin what that must not change: the bytes hashed, what is stored, what verify says.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, select, text

from docanalysis.core.audit_chain import canonical_json, event_content, event_hash
from docanalysis.db import audit
from docanalysis.db.audit import append_event, read_events, verify_chain, verify_chain_stats
from docanalysis.db.engine import make_engine, reading, transaction
from docanalysis.db.tables import audit_events

pytestmark = pytest.mark.postgres
T0 = datetime(2026, 3, 1, 9, 30, 0, 250000, tzinfo=UTC)


@pytest.fixture
def engine(fresh_pg_url: str) -> Iterator[Engine]:
    engine = make_engine(fresh_pg_url)
    yield engine
    engine.dispose()


def _append(engine: Engine, n: int, **changes: Any) -> audit.AuditEvent:
    values: dict[str, Any] = {
        "action": "document.upload",
        "subject": f"document:{n}",
        "actor": f'zoë "{n}" <z@firm.example>',
        "actor_id": n if n % 3 else None,
        "tenant_id": 1 + n % 3,
        "matter_id": 100 + n,
        "details": {"name": f"Vertrag-{n}.pdf", "pages": n, "seen": (T0, "it's")},
        "occurred_at": T0 + timedelta(minutes=n),
        "request_id": f"req-{n}" if n % 2 else "",
    }
    with transaction(engine) as conn:
        return append_event(conn, **{**values, **changes})


def _as_administrator(conn: Connection, statement: str, **params: Any) -> None:
    conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
    conn.execute(text(statement), params)
    conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))


def test_an_append_stores_the_text_it_hashed_and_returns_the_row_read_back(
    engine: Engine,
) -> None:
    written = [_append(engine, n) for n in range(1, 5)]
    with reading(engine) as conn:
        stored = conn.execute(text("SELECT details::text FROM audit_events ORDER BY seq"))
        read = read_events(conn)
    assert read == written
    assert [event.seq for event in read] == [1, 2, 3, 4]
    assert list(stored.scalars()) == [canonical_json(event.details) for event in read]
    assert written[0].details["seen"] == ["2026-03-01T09:30:00.250000Z", "it's"]
    for event in read:
        assert event.hash == event_hash(event.prev_hash, event_content(event.as_row()))


def test_an_append_follows_a_last_hash_that_is_not_hex_digits_in_python(engine: Engine) -> None:
    _append(engine, 1)
    with transaction(engine) as conn:
        _as_administrator(conn, "UPDATE audit_events SET hash = 'not \"hex\"' WHERE seq = 1")
    event = _append(engine, 2)
    assert (event.seq, event.prev_hash) == (2, 'not "hex"')
    assert event.hash == event_hash('not "hex"', event_content(event.as_row()))
    with reading(engine) as conn:
        check = verify_chain(conn)
    assert (check.ok, check.first_bad_seq, check.kind) == (False, 1, "changed")


def test_an_append_commits_with_a_connection_that_had_not_begun(engine: Engine) -> None:
    with engine.connect() as conn:
        append_event(conn, action="a", subject="s", actor="cli")
        conn.commit()
    with reading(engine) as conn:
        assert [event.subject for event in read_events(conn)] == ["s"]


def test_the_application_role_appends_and_verifies(app_pg_url: str) -> None:
    engine = make_engine(app_pg_url)
    try:
        for n in range(1, 4):
            _append(engine, n)
        with reading(engine) as conn:
            check = verify_chain(conn)
    finally:
        engine.dispose()
    assert (check.ok, check.count) == (True, 3)


def test_verify_walks_in_batches_and_passes_rows_written_the_older_way(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(1, 12):
        _append(engine, n)
    with transaction(engine) as conn:  # details as SQLAlchemy stored them before: same value
        for seq in (3, 8):
            spaced = json.dumps(read_events(conn, after_seq=seq - 1, limit=1)[0].details)
            _as_administrator(
                conn, "UPDATE audit_events SET details = :d WHERE seq = :s", d=spaced, s=seq
            )
    monkeypatch.setattr(audit, "_WALK_BATCH", 4)
    with reading(engine) as conn:
        whole = verify_chain_stats(conn)
        tenant = verify_chain_stats(conn, 2)
    assert (whole.check.ok, whole.check.count, whole.rows_read, whole.segments) == (True, 11, 11, 1)
    assert (tenant.check.ok, tenant.check.count) == (True, 4)


def _row(conn: Connection, seq: int) -> dict[str, Any]:
    return dict(conn.execute(select(audit_events).where(audit_events.c.seq == seq)).one()._mapping)


def test_verify_refuses_a_row_hashed_over_a_text_that_is_not_canonical(engine: Engine) -> None:
    for n in range(1, 4):
        _append(engine, n)
    with transaction(engine) as conn:
        row = _row(conn, 3)
        canonical, spaced = canonical_json(row["details"]), json.dumps(row["details"])
        payload = row["prev_hash"] + canonical_json(event_content(row))
        forged = payload.replace(f'"details":{canonical}', f'"details":{spaced}')
        assert forged != payload
        digest = hashlib.sha256(forged.encode()).hexdigest()
        statement = "UPDATE audit_events SET details = :d, hash = :h WHERE seq = 3"
        _as_administrator(conn, statement, d=spaced, h=digest)
    with reading(engine) as conn:
        check = verify_chain(conn)
    assert (check.ok, check.count, check.first_bad_seq, check.kind) == (False, 2, 3, "changed")


def test_verify_hands_a_year_the_database_pads_to_the_generic_walk(engine: Engine) -> None:
    for n in range(1, 4):
        _append(engine, n)
    with transaction(engine) as conn:  # row 2 dated in 999, rehashed, row 3 relinked
        prev = _row(conn, 1)["hash"]
        for seq, at in ((2, datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=UTC)), (3, None)):
            row = {**_row(conn, seq), "prev_hash": prev}
            row["occurred_at"] = at or row["occurred_at"]
            prev = row["hash"] = event_hash(prev, event_content(row))
            statement = "UPDATE audit_events SET occurred_at = :a, prev_hash = :p, hash = :h "
            params = {"a": row["occurred_at"], "p": row["prev_hash"], "h": row["hash"]}
            _as_administrator(conn, statement + "WHERE seq = :s", s=seq, **params)
        padded = conn.execute(text(audit._WIRE_SELECT.replace("%s", "2"))).first()
    assert padded is not None and padded[1] == "0999-01-02T03:04:05.000006Z"
    with reading(engine) as conn:
        stats = verify_chain_stats(conn)
    assert (stats.check.ok, stats.check.count, stats.check.last_hash) == (True, 3, prev)


def test_verify_opens_its_own_transaction_on_an_autocommit_connection(engine: Engine) -> None:
    for n in range(1, 4):
        _append(engine, n)
    with engine.connect() as conn:
        check = verify_chain(conn.execution_options(isolation_level="AUTOCOMMIT"))
    assert (check.ok, check.count) == (True, 3)
