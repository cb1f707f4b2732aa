"""The audit chain on PostgreSQL: how fast events are appended, alone and concurrently, and how
fast the chain verifies.

Every append takes the audit writers' advisory lock, reads the last row and inserts the next
one, in the caller's transaction; the lock is held until commit, so appends are serialized.
This measures what that costs: events per second with 1 writer and with 8 (threads, each with
its own connection, every event its own transaction, as the application writes them), and the
ratio. Then it fills the chain to --verify-events rows and times verify_chain over all of it
(reading from the database and hashing), a tenant's verification, and the pure hashing walk
(verify_events over rows already in memory), to tell database time from hashing time.

    .venv/bin/python bench/audit_chain.py                          # ~1 min
    .venv/bin/python bench/audit_chain.py --events 2000 --writers 1,4,8,16 --verify-events 50000

The database is DATABASE_URL when set. The audit trail is append-only: the events written here
stay there for good, so point it only at a scratch database. Without it, a temporary database
is created on postgresql://postgres@127.0.0.1:5432 (--admin-url), migrated with
docanalysis.db.migrate, and dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from docanalysis.core.audit_chain import verify_events
from docanalysis.db.audit import append_event, iter_events, verify_chain_stats
from docanalysis.db.engine import make_engine, reading, transaction
from docanalysis.db.migrate import upgrade_database
from docanalysis.db.tables import audit_events

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
TENANTS = 5


@contextmanager
def scratch_database(admin_url: str) -> Iterator[str]:
    """A new migrated database, dropped afterwards (connections still open are ended)."""
    name = f"docaudit_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    try:
        upgrade_database(url)
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _append(engine: object, worker: int, n: int) -> None:
    with transaction(engine) as conn:  # type: ignore[arg-type]
        append_event(
            conn,
            action="bench.write",
            subject=f"document:{worker}-{n}",
            actor=f"writer {worker} <w{worker}@firm.example>",
            actor_id=worker,
            tenant_id=1 + n % TENANTS,
            matter_id=100 + n % 7,
            details={"name": f"contract-{n}.pdf", "pages": n % 300, "worker": worker},
        )


def with_synchronous_commit(url: str, setting: str) -> str:
    """`url` whose sessions run with this synchronous_commit (libpq's options parameter)."""
    if setting == "on":
        return url
    parsed = make_url(url)
    return parsed.update_query_dict(
        {"options": f"-c synchronous_commit={setting}"}
    ).render_as_string(hide_password=False)


def insert_rate(url: str, writers: int, events: int) -> tuple[int, float]:
    """`events` appends split over `writers` threads, each event its own transaction; returns
    (events written, seconds from the common start to the last commit)."""
    each = events // writers
    engines = [make_engine(url) for _ in range(writers)]
    for w, engine in enumerate(engines):  # connect and warm up outside the timed part
        _append(engine, w, -1)
    start = threading.Barrier(writers + 1)
    errors: list[BaseException] = []

    def run(worker: int) -> None:
        try:
            start.wait()
            for n in range(each):
                _append(engines[worker], worker, n)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    for engine in engines:
        engine.dispose()
    if errors:
        raise errors[0]
    return each * writers, seconds


def fill(url: str, total: int, per_transaction: int = 500) -> int:
    """Append events (many per transaction: this part is not timed) until the chain has
    `total` rows; returns the row count."""
    engine = make_engine(url)
    try:
        with reading(engine) as conn:
            have = int(conn.execute(select(func.count()).select_from(audit_events)).scalar_one())
        n = have
        while n < total:
            with transaction(engine) as conn:
                for _ in range(min(per_transaction, total - n)):
                    append_event(
                        conn,
                        action="bench.fill",
                        subject=f"document:{n}",
                        actor="filler",
                        tenant_id=1 + n % TENANTS,
                        details={"name": f"contract-{n}.pdf", "pages": n % 300},
                    )
                    n += 1
        return max(n, have)
    finally:
        engine.dispose()


def verify_speed(url: str) -> None:
    engine = make_engine(url)
    try:
        with reading(engine) as conn:
            verify_chain_stats(conn)  # warm-up: the table into the server's cache
            whole = verify_chain_stats(conn)
            tenant = verify_chain_stats(conn, 1)
            rows = [event.as_row() for event in iter_events(conn)]
    finally:
        engine.dispose()
    assert whole.check.ok and tenant.check.ok, (whole.check, tenant.check)
    began = time.perf_counter()
    pure = verify_events(rows)
    hashing = time.perf_counter() - began
    assert pure.ok
    n = whole.check.count
    print(
        f"verify_chain, whole chain:      {n:>7} events in {whole.seconds:6.2f} s = "
        f"{n / whole.seconds:>8.0f} events/s"
    )
    print(
        f"verify_chain, one tenant:       {tenant.rows_read:>7} rows read in "
        f"{tenant.seconds:6.2f} s = {tenant.rows_read / tenant.seconds:>8.0f} rows/s "
        f"({tenant.check.count} of its events)"
    )
    print(
        f"verify_events, rows in memory:  {n:>7} events in {hashing:6.2f} s = "
        f"{n / hashing:>8.0f} events/s (hashing alone)"
    )
    print(
        f"  share of verify_chain spent reading from the database: "
        f"{max(0.0, 1 - hashing / whole.seconds):.0%}"
    )


def run(url: str, writers: list[int], events: int, verify_events_n: int, sync: str) -> None:
    print(f"database: {url.rsplit('@', 1)[-1]}, writers' synchronous_commit={sync}")
    rates: list[float] = []
    for count in writers:
        written, seconds = insert_rate(with_synchronous_commit(url, sync), count, events)
        rates.append(written / seconds)
        print(
            f"insert, {count:>2} writer(s): {written:>6} events in {seconds:6.2f} s = "
            f"{rates[-1]:>7.0f} events/s"
        )
    for count, rate in list(zip(writers, rates, strict=True))[1:]:
        print(f"  {count} writer(s) / {writers[0]}: {rate / rates[0]:.2f} x")
    total = fill(url, verify_events_n)
    print(f"chain filled to {total} events")
    verify_speed(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=3000, help="appends per configuration")
    parser.add_argument("--writers", default="1,8", help="writer counts, the first the base")
    parser.add_argument("--verify-events", type=int, default=20000)
    parser.add_argument("--admin-url", default=ADMIN_URL, help="where the temporary db goes")
    parser.add_argument(
        "--synchronous-commit",
        default="on",
        choices=("on", "off"),
        help="for the writers' sessions; off shows the rate when commits do not wait for disk",
    )
    args = parser.parse_args()
    writers = [int(w) for w in args.writers.split(",")]
    url = os.environ.get("DATABASE_URL")
    if url:
        print("DATABASE_URL is set: the events written stay in its audit trail for good")
        run(url, writers, args.events, args.verify_events, args.synchronous_commit)
        return
    with scratch_database(args.admin_url) as scratch:
        run(scratch, writers, args.events, args.verify_events, args.synchronous_commit)


if __name__ == "__main__":
    main()
