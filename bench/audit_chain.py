"""The audit chain on PostgreSQL: appends per second against a bare insert, and verification
speed against hashing alone.

Appends: every event its own transaction through the application's engine, as the application
writes them (one append is one round trip: the writers' lock and the insert in one query
string), with 1 writer and with 8 (threads, one connection each). The reference, in the same
run: a bare INSERT of a row of the same shape into a table like audit_events (no chain, no
lock), one transaction per row, over psycopg (and, for comparison, through the engine).

Verification: the chain is filled to --verify-events rows (hashed in Python, one COPY: this
part is not timed) and verify_chain times a walk over all of it, reading included, then one
tenant's. The reference: sha256 of each row's payload, built beforehand, in a loop, which is
all a verifier in Python cannot avoid; and the walk over rows already in memory.

    .venv/bin/python bench/audit_chain.py                          # ~1 min
    .venv/bin/python bench/audit_chain.py --seconds 10 --writers 1,4,8 --verify-events 300000
    .venv/bin/python bench/audit_chain.py --json audit.json        # rows for bench/run_all.py

The database is DATABASE_URL when set. The audit trail is append-only: the events written here
stay there for good, so point it only at a scratch database (the bare insert's table,
bench_bare_events, is created there and dropped). Without it, a temporary database
is created on postgresql://postgres@127.0.0.1:5432 (--admin-url), migrated with
docanalysis.db.migrate, and dropped at the end.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scratch_db import scratch_database  # noqa: E402
from table import Row, format_table, write_rows  # noqa: E402

from docanalysis.core.audit_chain import (  # noqa: E402
    GENESIS_HASH,
    canonical_json,
    event_content,
    event_hash,
)
from docanalysis.core.audit_wire import (  # noqa: E402
    walk_wire_rows,
    wire_payload,
)
from docanalysis.db.audit import (  # noqa: E402
    AUDIT_LOCK_KEY,
    append_event,
    iter_wire_batches,
    verify_chain_stats,
)
from docanalysis.db.audit_parallel import verify_chain_fast  # noqa: E402
from docanalysis.db.engine import make_engine, reading, transaction  # noqa: E402

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
TENANTS = 5
# Events per transaction in a pipeline step: a guard step records a batch of verdicts in one
# transaction (DOCANALYSIS_GUARD_BATCH_SIZE: 4 on a CPU by default, 16 in docker-compose).
PER_STEP = 8
APPEND_GOAL, VERIFY_GOAL = 1500.0, 200_000.0
BARE_TABLE = "bench_bare_events"
COLUMNS = (
    "seq, occurred_at, actor_id, actor, tenant_id, matter_id, action, subject, details, "
    "outcome, request_id, client_address, prev_hash, hash"
)


def with_synchronous_commit(url: str, setting: str) -> str:
    """`url` whose sessions run with this synchronous_commit (libpq's options parameter)."""
    if setting == "on":
        return url
    parsed = make_url(url)
    return parsed.update_query_dict(
        {"options": f"-c synchronous_commit={setting}"}
    ).render_as_string(hide_password=False)


def _event(worker: int, n: int) -> dict[str, Any]:
    """The event every writer appends (and the bare insert writes a row like)."""
    return {
        "action": "bench.write",
        "subject": f"document:{worker}-{n}",
        "actor": f"writer {worker} <w{worker}@firm.example>",
        "actor_id": worker,
        "tenant_id": 1 + n % TENANTS,
        "matter_id": 100 + n % 7,
        "details": {"name": f"contract-{n}.pdf", "pages": n % 300, "worker": worker},
    }


def run_for(seconds: float, writers: list[Callable[[int], None]]) -> tuple[int, float]:
    """Each writer called with 0, 1, 2, ... in a thread of its own until `seconds` have passed
    (after one untimed call to warm up); returns (calls in the timed part, seconds it took)."""
    for write in writers:
        write(-1)
    start = threading.Barrier(len(writers) + 1)
    counts = [0] * len(writers)
    errors: list[BaseException] = []
    deadline = [0.0]

    def loop(worker: int) -> None:
        try:
            start.wait()
            while time.perf_counter() < deadline[0]:
                writers[worker](counts[worker])
                counts[worker] += 1
        except BaseException as exc:  # re-raised below: a thread's exception is otherwise lost
            errors.append(exc)

    threads = [threading.Thread(target=loop, args=(w,)) for w in range(len(writers))]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    deadline[0] = began + seconds
    start.wait()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return sum(counts), time.perf_counter() - began


def append_rate(url: str, writers: int, seconds: float, per_transaction: int = 1) -> float:
    """Audit appends per second, `writers` threads, each with its own engine, `per_transaction`
    events in each transaction."""
    engines = [make_engine(url) for _ in range(writers)]

    def writer(worker: int) -> Callable[[int], None]:
        def write(n: int) -> None:
            with transaction(engines[worker]) as conn:
                for k in range(per_transaction):
                    append_event(conn, **_event(worker, n * per_transaction + k))

        return write

    try:
        count, took = run_for(seconds, [writer(w) for w in range(writers)])
    finally:
        for engine in engines:
            engine.dispose()
    return count * per_transaction / took


def _bare_values(n: int) -> dict[str, Any]:
    event = _event(0, n)
    digest = hashlib.sha256(str(n).encode()).hexdigest()
    details = canonical_json(event.pop("details"))
    return {**event, "seq": n, "details": details, "prev_hash": digest, "hash": digest}


_BARE_INSERT = (
    f"INSERT INTO {BARE_TABLE} ({COLUMNS}) VALUES (%(seq)s, now(), %(actor_id)s, %(actor)s, "
    "%(tenant_id)s, %(matter_id)s, %(action)s, %(subject)s, %(details)s, 'ok', '', '', "
    "%(prev_hash)s, %(hash)s)"
)


def bare_rate(url: str, seconds: float, per_transaction: int = 1) -> float:
    """Bare INSERTs per second over psycopg: a row of the audit shape, no chain, no lock,
    `per_transaction` rows per transaction (BEGIN, INSERTs, COMMIT), the statement prepared."""
    with psycopg.connect(url) as conn:
        conn.execute(f"TRUNCATE {BARE_TABLE}")
        conn.commit()

        def write(n: int) -> None:
            for k in range(per_transaction):
                conn.execute(_BARE_INSERT, _bare_values(n * per_transaction + k), prepare=True)
            conn.commit()

        count, took = run_for(seconds, [write])
    return count * per_transaction / took


def bare_engine_rate(url: str, seconds: float) -> float:
    """The same bare INSERT through the application's engine (its per-transaction work)."""
    engine = make_engine(url)
    statement = text(_BARE_INSERT.replace("%(", ":").replace(")s", ""))
    with transaction(engine) as conn:
        conn.execute(text(f"TRUNCATE {BARE_TABLE}"))

    def write(n: int) -> None:
        with transaction(engine) as conn:
            conn.execute(statement, _bare_values(n))

    try:
        count, took = run_for(seconds, [write])
    finally:
        engine.dispose()
    return count / took


def _fill_rows(start: int, prev: str, total: int) -> Iterator[tuple[Any, ...]]:
    at = datetime(2026, 11, 1, tzinfo=UTC)
    for seq in range(start, total + 1):
        row: dict[str, Any] = {
            **_event(seq % 8, seq),
            "seq": seq,
            "occurred_at": at + timedelta(microseconds=seq * 1_234_567),
            "outcome": "ok",
            "request_id": f"req-{seq}" if seq % 2 else "",
            "client_address": "10.0.0.7" if seq % 2 else "",
            "prev_hash": prev,
        }
        prev = row["hash"] = event_hash(prev, event_content(row))
        row["details"] = canonical_json(row["details"])  # stored as append_event stores it
        yield tuple(row[name.strip()] for name in COLUMNS.split(","))


def fill(url: str, total: int) -> int:
    """Correctly chained events after the last one, hashed in Python and copied in one COPY,
    under the writers' lock, until the chain has `total` rows; returns the row count."""
    with psycopg.connect(url) as conn:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (AUDIT_LOCK_KEY,))
        last = conn.execute("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
        seq, prev = last.fetchone() or (0, GENESIS_HASH)
        with conn.cursor().copy(f"COPY audit_events ({COLUMNS}) FROM STDIN") as copy:
            for row in _fill_rows(seq + 1, prev, total):
                copy.write_row(row)
    return max(seq, total)


def verify_rates(url: str) -> dict[str, float]:
    """verify_chain (whole, one tenant), the walk over rows in memory, and sha256 alone."""
    engine = make_engine(url)
    try:
        with reading(engine) as conn:
            verify_chain_stats(conn)  # warm-up: the table into the server's cache
            cpu = time.process_time()  # this process's CPU: steadier than wall on a busy machine
            whole = verify_chain_stats(conn)
            cpu = time.process_time() - cpu
            tenant = verify_chain_stats(conn, 1)
            batches = list(iter_wire_batches(conn))
        processes = len(os.sched_getaffinity(0))
        fast = verify_chain_fast(engine, processes=processes)
    finally:
        engine.dispose()
    assert whole.check.ok and tenant.check.ok and fast.check.ok, (whole, tenant, fast)
    assert fast.check == whole.check, (fast.check, whole.check)
    rows = [row for batch in batches for row in batch]
    began = time.perf_counter()
    walk = walk_wire_rows(batches)
    walked = time.perf_counter() - began
    assert getattr(walk, "ok", False), walk
    payloads = [wire_payload(row).encode("utf-8") for row in rows]
    sha256 = hashlib.sha256
    began = time.perf_counter()
    for payload in payloads:
        sha256(payload).hexdigest()
    hashed = time.perf_counter() - began
    n = len(rows)
    return {
        "events": n,
        "whole": n / whole.seconds,
        "fast": n / fast.seconds,
        "processes": fast.segments,
        "whole_cpu": n / cpu,
        "tenant": tenant.rows_read / tenant.seconds,
        "tenant_events": tenant.check.count,
        "memory": n / walked,
        "sha256": n / hashed,
    }


def measure_appends(url: str, writers: list[int], seconds: float) -> dict[str, float]:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {BARE_TABLE}")
        conn.execute(
            f"CREATE TABLE {BARE_TABLE} (LIKE audit_events INCLUDING DEFAULTS INCLUDING INDEXES)"
        )
    try:
        rates = {"bare": bare_rate(url, seconds), "bare_engine": bare_engine_rate(url, seconds)}
        for count in writers:
            rates[f"ours_{count}"] = append_rate(url, count, seconds)
        rates["bare_batch"] = bare_rate(url, seconds, PER_STEP)
        rates["ours_batch"] = append_rate(url, writers[0], seconds, PER_STEP)
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP TABLE IF EXISTS {BARE_TABLE}")
    return rates


def print_figures(rates: dict[str, float], writers: list[int], v: dict[str, float]) -> None:
    bare, first = rates["bare"], rates[f"ours_{writers[0]}"]
    print(f"bare INSERT, psycopg:           {bare:>9,.0f} rows/s (1 transaction per row)")
    print(f"bare INSERT, application engine:{rates['bare_engine']:>9,.0f} rows/s")
    for count in writers:
        ours = rates[f"ours_{count}"]
        print(
            f"audit append, {count:>2} writer(s):    {ours:>9,.0f} events/s = "
            f"{ours / bare:.2f} x bare, {ours / first:.2f} x {writers[0]} writer(s)"
        )
    batch, bare_batch = rates["ours_batch"], rates["bare_batch"]
    print(f"bare INSERT, {PER_STEP} per transaction: {bare_batch:>9,.0f} rows/s")
    print(
        f"audit append, {PER_STEP} per transaction: {batch:>9,.0f} events/s = "
        f"{batch / bare_batch:.2f} x bare ({writers[0]} writer)"
    )
    print(
        f"verify_chain, whole chain:      {v['whole']:>9,.0f} events/s ({v['events']:.0f}; "
        f"{v['whole_cpu']:,.0f} per second of this process's CPU)"
    )
    print(
        f"verify_chain_fast:              {v['fast']:>9,.0f} events/s "
        f"({v['processes']:.0f} processes, their start included)"
    )
    print(
        f"verify_chain, one tenant:       {v['tenant']:>9,.0f} rows/s "
        f"({v['tenant_events']:.0f} of its events)"
    )
    print(f"walk over rows in memory:       {v['memory']:>9,.0f} events/s (hashing alone)")
    print(f"sha256 of the payloads alone:   {v['sha256']:>9,.0f} events/s (the reference)")


def table_rows(rates: dict[str, float], writers: list[int], v: dict[str, float]) -> list[Row]:
    """The rows bench/run_all.py collects: the two goals, then more writers against one."""
    bare, first = rates["bare"], rates[f"ours_{writers[0]}"]
    batch = rates["ours_batch"]
    rows = [
        Row(
            f"audit appends/s, {writers[0]} writer, {PER_STEP} per transaction",
            "events/s",
            batch,
            rates["bare_batch"],
            f"bare INSERT, {PER_STEP} rows per transaction",
            f">= {APPEND_GOAL:,.0f}/s",
            batch >= APPEND_GOAL,
        ),
        Row(
            f"audit appends/s, {writers[0]} writer, 1 per transaction",
            "events/s",
            first,
            bare,
            "bare INSERT, 1 transaction per row",
        ),
        Row(
            f"audit verification events/s ({v['processes']:.0f} processes)",
            "events/s",
            v["fast"],
            v["sha256"],
            "sha256 of the payloads alone",
            f">= {VERIFY_GOAL:,.0f}/s",
            v["fast"] >= VERIFY_GOAL,
        ),
        Row(
            "audit verification events/s (1 process)",
            "events/s",
            v["whole"],
            v["fast"],
            "all processes",
        ),
    ]
    for count in writers[1:]:
        rows.append(
            Row(
                f"audit appends/s, {count} writers",
                "events/s",
                rates[f"ours_{count}"],
                first,
                f"{writers[0]} writer",
            )
        )
    return rows


def run(url: str, args: argparse.Namespace) -> list[Row]:
    writers = [int(w) for w in args.writers.split(",")]
    sync = args.synchronous_commit
    print(f"database: {url.rsplit('@', 1)[-1]}, writers' synchronous_commit={sync}")
    rates = measure_appends(with_synchronous_commit(url, sync), writers, args.seconds)
    total = fill(url, args.verify_events)
    print(f"chain filled to {total} events")
    verify = verify_rates(url)
    print_figures(rates, writers, verify)
    return table_rows(rates, writers, verify)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per append measurement")
    parser.add_argument("--writers", default="1,8", help="writer counts, the first the base")
    parser.add_argument("--verify-events", type=int, default=400_000)
    parser.add_argument("--admin-url", default=ADMIN_URL, help="where the temporary db goes")
    parser.add_argument(
        "--synchronous-commit",
        default="on",
        choices=("on", "off"),
        help="for the writers' sessions; off shows the rate when commits do not wait for disk",
    )
    parser.add_argument("--json", help="write the figures' rows to this file (bench/table.py)")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL")
    if url:
        print("DATABASE_URL is set: the events written stay in its audit trail for good")
        rows = run(url, args)
    else:
        with scratch_database(args.admin_url, prefix="audit") as scratch:
            rows = run(scratch, args)
    print(format_table(rows))
    if args.json:
        write_rows(args.json, rows)


if __name__ == "__main__":
    main()
