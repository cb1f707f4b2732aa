"""REST read latency with 10,000 analysed documents: p50 and p95 of the status and results
endpoints on loopback, against a bare DRF view that does one primary-key SELECT.

    .venv/bin/python bench/api_reads.py [--documents 10000] [--requests 300] [--threads 1]
    .venv/bin/python bench/api_reads.py --json reads.json      # rows for bench/run_all.py

A temporary PostgreSQL database is created on postgresql://postgres@127.0.0.1:5432
(--admin-url), migrated with docanalysis.db.migrate, filled with --documents analysed documents
(bench/read_fixture.py: documents, runs, windows, findings, verdicts, reviews and audit events,
by COPY, then ANALYZE) and dropped at the end. The rate limit counts in files under a temporary
data folder (the embedded profile's cache), or in Redis with --redis-url (production's).

One threaded WSGI server serves the application and the reference. The client asks for random
documents, each endpoint in turn for the same one (so a shared machine's load falls on all
alike), --requests rounds from --threads threads (one by default: the latency of a request, not
of a queue), and times each request from send to last byte:

    GET /api/v1/documents/{id}          the document and its run's state (status)
    GET /api/v1/documents/{id}/results  the summary and clauses with their verdicts
    GET /bench/documents/{id}           bare DRF view: one SELECT by primary key, no key check

The application's requests carry an API key (checked, rate-limited, scoped, as in production).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from django_bench import configure, mount  # noqa: E402
from read_fixture import fill  # noqa: E402
from scratch_db import ADMIN_URL, scratch_database  # noqa: E402
from table import Row, format_table, write_rows  # noqa: E402
from wsgi_server import serving  # noqa: E402

GOAL_MS = 50.0
# A Redis database of its own: the rate limit's counters are named by API key id, which every
# scratch database numbers from 1.
REDIS_URL = "redis://127.0.0.1:6379/14"
MATTERS = 20


def bare_view() -> Any:
    from rest_framework.permissions import AllowAny
    from rest_framework.request import Request
    from rest_framework.response import Response
    from rest_framework.views import APIView
    from sqlalchemy import select

    from docanalysis.db.engine import reading
    from docanalysis.db.tables import documents
    from docanalysis.services.runtime import get_runtime

    class BareDocument(APIView):
        authentication_classes: list[Any] = []
        permission_classes = [AllowAny]
        throttle_classes: list[Any] = []

        def get(self, request: Request, document_id: int) -> Response:
            query = select(documents.c.id, documents.c.original_name, documents.c.sha256)
            with reading(get_runtime().engine) as conn:
                row = conn.execute(query.where(documents.c.id == document_id)).one()
            return Response({"id": row.id, "name": row.original_name, "sha256": row.sha256})

    return BareDocument.as_view()


urlpatterns: list[Any] = []


def prepare(url: str, documents: int) -> tuple[str, list[int]]:
    """An API key of a new tenant with MATTERS matters, `documents` analysed documents in them;
    (the key, the documents' ids)."""
    from docanalysis.db import repositories as repo
    from docanalysis.db.engine import transaction
    from docanalysis.services import apikeys
    from docanalysis.services.runtime import get_runtime
    from docanalysis.services.views import Actor

    rt = get_runtime()
    key = apikeys.create_key(rt, Actor(None, "bench"), "bench")
    with transaction(rt.engine) as conn:
        tenant_id = repo.get_or_create_tenant(conn, "bench")
        matters = [repo.create_matter(conn, tenant_id, f"Matter {m}") for m in range(MATTERS)]
    first = fill(url, documents, tenant_id, matters, f"api-key:{key.prefix}")
    return key.secret, list(range(first, first + documents))


ENDPOINTS = {
    "bare": "/bench/documents/{}",
    "status": "/api/v1/documents/{}",
    "results": "/api/v1/documents/{}/results",
}


def latencies(
    base: str, key: str, ids: list[int], count: int, threads: int
) -> dict[str, list[float]]:
    """Milliseconds from send to last byte of `count` GETs per endpoint, of random documents,
    each checked to answer 200. Each round asks every endpoint in turn for the same document,
    so the load of a shared machine falls on all of them alike."""
    import httpx

    local = threading.local()
    auth = {"Authorization": f"Bearer {key}"}

    def one_round(document_id: int) -> dict[str, float]:
        client = getattr(local, "client", None) or httpx.Client(timeout=60)
        local.client = client
        times = {}
        for name, path in ENDPOINTS.items():
            started = time.perf_counter()
            response = client.get(base + path.format(document_id), headers=auth)
            times[name] = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, (response.status_code, response.text[:300])
        return times

    with ThreadPoolExecutor(threads) as pool:
        rounds = list(pool.map(one_round, random.Random(count).choices(ids, k=count)))
    return {name: [r[name] for r in rounds] for name in ENDPOINTS}


def database_work(base: str, key: str, ids: list[int]) -> dict[str, tuple[float, float]]:
    """(SQL statements, connections checked out) per request of each endpoint, counted on the
    application's engine over 20 requests one at a time. Each checkout adds two round trips
    the statements do not count: the pool's liveness ping and the rollback at its return."""
    import httpx
    from sqlalchemy import event

    from docanalysis.services.runtime import get_runtime

    engine, counts = get_runtime().engine, {"statements": 0, "checkouts": 0}

    def statement(*_: Any) -> None:
        counts["statements"] += 1

    def checkout(*_: Any) -> None:
        counts["checkouts"] += 1

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine.pool, "checkout", checkout)
    found = {}
    with httpx.Client(headers={"Authorization": f"Bearer {key}"}) as client:
        for name, path in ENDPOINTS.items():
            counts.update(statements=0, checkouts=0)
            for document_id in ids[:20]:
                client.get(base + path.format(document_id)).raise_for_status()
            found[name] = (counts["statements"] / 20, counts["checkouts"] / 20)
    event.remove(engine, "before_cursor_execute", statement)
    event.remove(engine.pool, "checkout", checkout)
    return found


def percentiles(values: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[94]


def check_results(base: str, key: str, document_id: int) -> None:
    """The results endpoint answers with the filled document's summary and clauses."""
    import httpx

    auth = {"Authorization": f"Bearer {key}"}
    body = httpx.get(f"{base}/api/v1/documents/{document_id}/results", headers=auth).json()
    assert body["run"]["state"] == "done", body
    assert body["summary"]["text"] and len(body["clauses"]) >= 5, body


def measure(base: str, key: str, ids: list[int], args: argparse.Namespace) -> list[Row]:
    check_results(base, key, ids[0])
    work = database_work(base, key, ids)
    latencies(base, key, ids, 30, args.threads)  # warm: connections, caches, compiled queries
    figures = {
        name: percentiles(values)
        for name, values in latencies(base, key, ids, args.requests, args.threads).items()
    }
    for name, (p50, p95) in figures.items():
        statements, checkouts = work[name]
        print(
            f"{name:8} p50 {p50:6.1f} ms   p95 {p95:6.1f} ms   "
            f"{statements:4.1f} SQL statements, {checkouts:3.1f} connections per request"
        )
    bare_p95 = figures["bare"][1]
    reference = "bare DRF view, one primary-key SELECT"
    return [
        Row(f"{name} p95 ms ({len(ids):,} docs)", "ms", figures[name][1], bare_p95, reference,
            f"< {GOAL_MS:.0f} ms", figures[name][1] < GOAL_MS)
        for name in ("status", "results")
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=300, help="per endpoint")
    parser.add_argument("--threads", type=int, default=1, help="client threads")
    parser.add_argument("--admin-url", default=ADMIN_URL, help="where the temporary db goes")
    parser.add_argument(
        "--redis-url",
        default="",
        help=f"a broker for the rate limit's counts (e.g. {REDIS_URL}); default: files",
    )
    parser.add_argument("--json", help="write the figures' rows to this file (bench/table.py)")
    args = parser.parse_args()
    with scratch_database(args.admin_url, "reads") as url, tempfile.TemporaryDirectory() as tmp:
        configure(Path(tmp), url, __name__, redis_url=args.redis_url)
        mount(urlpatterns, "bench/documents/<int:document_id>", bare_view())
        started = time.perf_counter()
        key, ids = prepare(url, args.documents)
        seconds = time.perf_counter() - started
        print(f"{args.documents:,} analysed documents filled in {seconds:.1f} s")
        from django.core.wsgi import get_wsgi_application

        with serving(get_wsgi_application()) as base:
            print(f"{args.requests} requests per endpoint, {args.threads} client thread(s)")
            rows = measure(base, key, ids, args)
        from docanalysis.services.runtime import get_runtime

        get_runtime().engine.dispose()  # before the database is dropped
    print(format_table(rows))
    if args.json:
        write_rows(args.json, rows)


if __name__ == "__main__":
    main()
