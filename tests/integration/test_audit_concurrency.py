"""Many concurrent writers on PostgreSQL make one gapless, correctly linked chain.

50 threads, each with its own engine (so 50 connections really contend for the advisory lock
rather than queueing for a pooled connection), append 100 events each, every event in its own
transaction, as the application does. About 20-25 s on two busy cores.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, select

from docanalysis.core.audit_chain import GENESIS_HASH
from docanalysis.db.audit import append_event, verify_chain
from docanalysis.db.engine import make_engine, reading, transaction
from docanalysis.db.tables import audit_events

WRITERS = 50
EVENTS_EACH = 100


@pytest.mark.postgres
def test_fifty_writers_make_one_gapless_chain(fresh_pg_url: str) -> None:
    engines: list[Engine] = [make_engine(fresh_pg_url) for _ in range(WRITERS)]
    errors: list[BaseException] = []
    start = threading.Barrier(WRITERS)

    def writer(worker: int) -> None:
        try:
            start.wait(timeout=60)
            for n in range(EVENTS_EACH):
                with transaction(engines[worker]) as conn:
                    append_event(
                        conn,
                        action="test.write",
                        subject=f"w{worker}:{n}",
                        actor=f"writer {worker}",
                        tenant_id=1 + worker % 5,
                        details={"worker": worker, "n": n},
                    )
        except BaseException as exc:  # reported below; a thread's exception is otherwise lost
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        assert not any(thread.is_alive() for thread in threads)
    finally:
        for engine in engines:
            engine.dispose()
    assert errors == []

    total = WRITERS * EVENTS_EACH
    engine = make_engine(fresh_pg_url)
    try:
        with reading(engine) as conn:
            query = select(
                audit_events.c.seq,
                audit_events.c.prev_hash,
                audit_events.c.hash,
                audit_events.c.subject,
            ).order_by(audit_events.c.seq)
            rows = conn.execute(query).all()
            check = verify_chain(conn)
            tenant = verify_chain(conn, 3)
    finally:
        engine.dispose()

    assert [row.seq for row in rows] == list(range(1, total + 1))
    assert rows[0].prev_hash == GENESIS_HASH
    broken = [b.seq for a, b in zip(rows, rows[1:], strict=False) if b.prev_hash != a.hash]
    assert broken == []
    assert len({row.subject for row in rows}) == total  # every event once, none lost
    # Each writer's own events are in its order (its transactions were sequential).
    order = [int(row.subject.split(":")[1]) for row in rows if row.subject.startswith("w7:")]
    assert order == list(range(EVENTS_EACH))
    assert (check.ok, check.count, check.last_hash) == (True, total, rows[-1].hash)
    assert (tenant.ok, tenant.count) == (True, total // 5)
