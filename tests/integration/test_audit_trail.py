"""The audit trail on both dialects: chained, append-only in the database, tamper-evident."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from docanalysis.core.audit_chain import GENESIS_HASH, event_content, event_hash
from docanalysis.db.audit import append_event, read_events, verify_chain
from docanalysis.db.engine import make_engine, transaction

T0 = datetime(2026, 3, 1, 9, 30, 0, 123456, tzinfo=UTC)


def _append_three(engine: Engine) -> None:
    for n in range(3):
        with transaction(engine) as conn:
            append_event(
                conn,
                action="document.upload",
                subject=f"document:{n + 1}",
                actor="alice <alice@firm.example>",
                actor_id=7,
                tenant_id=1,
                matter_id=2,
                details={"name": f"contract-{n + 1}.pdf", "pages": n + 1, "score": 0.25},
                occurred_at=T0 + timedelta(seconds=n),
            )


def test_events_chain_and_hash_from_the_row_alone(db_engine: Engine) -> None:
    _append_three(db_engine)

    with db_engine.connect() as conn:
        events = read_events(conn)
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[0].prev_hash == GENESIS_HASH
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    for event in events:
        assert event.hash == event_hash(event.prev_hash, event_content(event.as_row()))
    assert events[2].occurred_at == datetime(2026, 3, 1, 9, 30, 2, 123456, tzinfo=UTC)
    assert events[2].details == {"name": "contract-3.pdf", "pages": 3, "score": 0.25}
    assert events[2].actor == "alice <alice@firm.example>"


def test_returned_event_equals_the_row_read_back(db_engine: Engine) -> None:
    # A non-UTC offset, non-ASCII text and a datetime inside details: what was hashed at write
    # time must be exactly what either dialect gives back.
    paris = timezone(timedelta(hours=1))
    with transaction(db_engine) as conn:
        written = append_event(
            conn,
            action="export.create",
            subject="matter:2",
            actor="zoë <zoe@firm.example>",
            details={"until": datetime(2026, 3, 1, 10, 0, tzinfo=paris), "ids": (1, 2)},
            occurred_at=datetime(2026, 3, 1, 10, 30, 0, 5, tzinfo=paris),
        )

    with db_engine.connect() as conn:
        [read] = read_events(conn)
    assert read == written
    assert read.occurred_at == datetime(2026, 3, 1, 9, 30, 0, 5, tzinfo=UTC)
    assert read.occurred_at.tzinfo == UTC
    assert read.details == {"ids": [1, 2], "until": "2026-03-01T09:00:00.000000Z"}
    with db_engine.connect() as conn:
        assert verify_chain(conn).ok is True


def test_read_events_after_seq_and_limit(db_engine: Engine) -> None:
    _append_three(db_engine)

    with db_engine.connect() as conn:
        assert [e.seq for e in read_events(conn, after_seq=1)] == [2, 3]
        assert [e.seq for e in read_events(conn, after_seq=0, limit=2)] == [1, 2]


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_events SET action = 'x' WHERE seq = 2", "DELETE FROM audit_events"],
)
def test_database_refuses_update_and_delete(db_engine: Engine, statement: str) -> None:
    _append_three(db_engine)

    with (
        pytest.raises(DBAPIError, match="audit_events is append-only"),
        transaction(db_engine) as conn,
    ):
        conn.execute(text(statement))
    with db_engine.connect() as conn:
        assert [e.action for e in read_events(conn)] == ["document.upload"] * 3


@pytest.mark.postgres
def test_database_refuses_truncate_on_postgres(fresh_pg_url: str) -> None:
    engine = make_engine(fresh_pg_url)
    try:
        _append_three(engine)
        with (
            pytest.raises(DBAPIError, match="audit_events is append-only"),
            transaction(engine) as conn,
        ):
            conn.execute(text("TRUNCATE audit_events"))
        with engine.connect() as conn:
            assert len(read_events(conn)) == 3
    finally:
        engine.dispose()


def _tamper(engine: Engine, statement: str) -> None:
    """Change a row with the append-only guard bypassed, as someone with DDL rights could."""
    with transaction(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER ALL"))
            conn.execute(text(statement))
            conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER ALL"))
        else:
            conn.execute(text("DROP TRIGGER audit_events_no_update"))
            conn.execute(text(statement))


def test_verify_chain_names_the_tampered_row(db_engine: Engine) -> None:
    _append_three(db_engine)
    with db_engine.connect() as conn:
        assert verify_chain(conn).ok is True

    _tamper(db_engine, "UPDATE audit_events SET subject = 'document:99' WHERE seq = 2")

    with db_engine.connect() as conn:
        check = verify_chain(conn)
    assert (check.ok, check.count, check.first_bad_seq) == (False, 1, 2)
    assert check.problem == "hash of seq 2 does not match its content (the row was changed)"


def test_rolled_back_event_leaves_no_row(db_engine: Engine) -> None:
    with pytest.raises(RuntimeError, match="the change failed"), transaction(db_engine) as conn:
        append_event(conn, action="document.delete", subject="document:1", actor="bob")
        raise RuntimeError("the change failed")

    with db_engine.connect() as conn:
        assert read_events(conn) == []
    _append_three(db_engine)  # and the chain then starts at seq 1
    with db_engine.connect() as conn:
        assert [e.seq for e in read_events(conn)] == [1, 2, 3]


def test_concurrent_writers_make_one_gapless_chain(db_engine: Engine) -> None:
    # PostgreSQL serializes on the advisory lock, SQLite on BEGIN IMMEDIATE + busy_timeout.
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def writer(worker: int) -> None:
        try:
            start.wait()
            for n in range(25):
                with transaction(db_engine) as conn:
                    append_event(conn, action="test.write", subject=f"w{worker}:{n}", actor="t")
        except BaseException as exc:  # reported below; a thread's exception is otherwise lost
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    with db_engine.connect() as conn:
        events = read_events(conn)
        check = verify_chain(conn)
    assert [e.seq for e in events] == list(range(1, 101))
    assert len({e.subject for e in events}) == 100
    assert (check.ok, check.count, check.last_hash) == (True, 100, events[-1].hash)
