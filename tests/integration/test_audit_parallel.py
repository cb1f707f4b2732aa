"""verify_chain_fast: the chain read in ranges by several processes gives verify_chain's verdict,
and anything wrong is left to the one-process walk, which names it (real PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from docanalysis.db import audit_parallel
from docanalysis.db.audit import append_event, verify_chain_stats
from docanalysis.db.audit_parallel import split, verify_chain_fast
from docanalysis.db.engine import make_engine, reading, transaction

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
EVENTS = 30


@pytest.fixture
def engine(fresh_pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    # Ranges of a few rows, so that a short chain is split as a long one would be.
    monkeypatch.setattr(audit_parallel, "MIN_ROWS_PER_PROCESS", 7)
    engine = make_engine(fresh_pg_url)
    with transaction(engine) as conn:
        for n in range(1, EVENTS + 1):
            append_event(
                conn,
                action="document.upload",
                subject=f"document:{n}",
                actor=f'zoë "{n}"',
                tenant_id=1 + n % 3,
                details={"n": n, "name": f"Vertrag-{n}.pdf"},
                occurred_at=T0 + timedelta(minutes=n),
            )
    yield engine
    engine.dispose()


def _one_process(engine: Engine, tenant: int | None = None) -> audit_parallel.ChainCheck:
    with reading(engine) as conn:
        return verify_chain_stats(conn, tenant).check


def _tamper(engine: Engine, statement: str) -> None:
    with transaction(engine) as conn:
        conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        conn.execute(text(statement))
        conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))


def test_split_cuts_the_chain_into_ranges_that_cover_it_once() -> None:
    assert split(10, 3) == [(1, 10)]  # under MIN_ROWS_PER_PROCESS a range: not split
    assert split(300_000, 3) == [(1, 100_000), (100_001, 200_000), (200_001, 300_000)]
    assert split(250_001, 2) == [(1, 125_001), (125_002, 250_001)]
    assert split(0, 4) == []


def test_an_intact_chain_is_verified_in_ranges_with_the_same_verdict(engine: Engine) -> None:
    stats = verify_chain_fast(engine, processes=4)
    assert stats.segments == 4  # four processes, each a range
    assert stats.check == _one_process(engine)
    assert (stats.check.ok, stats.check.count) == (True, EVENTS)
    tenant = verify_chain_fast(engine, 2, processes=3)
    assert tenant.segments == 3
    assert tenant.check == _one_process(engine, 2)
    assert tenant.check.count == len([n for n in range(1, EVENTS + 1) if 1 + n % 3 == 2])


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET subject = 'document:999' WHERE seq = 16",  # inside a range
        "UPDATE audit_events SET prev_hash = repeat('0', 64) WHERE seq = 9",  # a range's first
        "DELETE FROM audit_events WHERE seq = 8",  # a range's last: the next links to nothing
        "DELETE FROM audit_events WHERE seq = 30",  # the end
    ],
)
def test_a_broken_chain_gets_the_one_process_verdict(engine: Engine, statement: str) -> None:
    _tamper(engine, statement)
    expected = _one_process(engine)
    found = verify_chain_fast(engine, processes=4)
    assert found.check == expected
    if "seq = 30" not in statement:  # a deleted last row leaves a shorter, valid chain
        assert not found.check.ok


def test_a_signed_head_the_chain_no_longer_reaches_is_reported(engine: Engine) -> None:
    with reading(engine) as conn:
        head = conn.execute(text("SELECT seq, hash FROM audit_events WHERE seq = 30")).one()
    _tamper(engine, "DELETE FROM audit_events WHERE seq = 30")
    found = verify_chain_fast(engine, expected_head=(head.seq, head.hash), processes=4)
    assert not found.check.ok and found.check.kind == "truncated"
    moved = verify_chain_fast(engine, expected_head=(12, "f" * 64), processes=4)
    assert not moved.check.ok
    with reading(engine) as conn:
        assert moved.check == verify_chain_stats(conn, expected_head=(12, "f" * 64)).check


def test_one_process_is_one_walk(engine: Engine) -> None:
    assert verify_chain_fast(engine, processes=1).segments == 1
