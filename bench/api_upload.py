"""REST upload throughput: requests per second for a 1 MB PDF on loopback, against a bare DRF
upload view (reads the file, answers 202) served by the same server in the same run.

    .venv/bin/python bench/api_upload.py [--requests 200] [--threads 4]
    .venv/bin/python bench/api_upload.py --postgres            # a temporary PostgreSQL database
    .venv/bin/python bench/api_upload.py --json upload.json    # rows for bench/run_all.py

The API path does everything a real upload does: key check, rate limit, validation, the file
stored (once: content-addressed; written and fsynced before the transaction, renamed into
place under its lock inside it), the document, run and audit event in one transaction, and the
run sent to the broker (kombu's filesystem transport here; no worker consumes it). Each request
carries different bytes and no external ids, so each creates a document. Default database: a
SQLite file in a temporary folder; --postgres creates a database on
postgresql://postgres@127.0.0.1:5432 (--admin-url), migrated, dropped at the end;
--database-url names an empty one instead.
"""

from __future__ import annotations

import argparse
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
from scratch_db import ADMIN_URL, scratch_database  # noqa: E402
from table import Row, format_table, write_rows  # noqa: E402
from wsgi_server import serving  # noqa: E402

PDF = REPO.parent / "shared" / "data" / "cuad" / "pdfs"
GOAL = 0.5  # of the bare view's requests per second


def one_megabyte_pdf() -> bytes:
    """A real contract PDF, padded after its end to 1 MiB (readers ignore what follows)."""
    source = sorted(PDF.glob("*.pdf"))[0].read_bytes()
    return source + b"\n%" + b"0" * max(0, 1024 * 1024 - len(source) - 2)


def bare_view() -> Any:
    from rest_framework.parsers import MultiPartParser
    from rest_framework.permissions import AllowAny
    from rest_framework.request import Request
    from rest_framework.response import Response
    from rest_framework.views import APIView

    class BareUpload(APIView):
        authentication_classes: list[Any] = []
        permission_classes = [AllowAny]
        throttle_classes: list[Any] = []
        parser_classes = [MultiPartParser]

        def post(self, request: Request) -> Response:
            data = request.data["file"].read()
            return Response({"size": len(data)}, status=202)

    return BareUpload.as_view()


urlpatterns: list[Any] = []


def measure(url: str, headers: dict[str, str], pdf: bytes, requests: int, threads: int) -> float:
    import httpx

    local = threading.local()

    def send(n: int) -> int:
        client = getattr(local, "client", None) or httpx.Client(timeout=60)
        local.client = client
        body = pdf[:-8] + f"{n:08d}".encode()  # different bytes: a new document each time
        files = {"file": ("contract.pdf", body, "application/pdf")}
        response = client.post(url, headers=headers, files=files, data={"matter": "BENCH"})
        return response.status_code

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        codes = list(pool.map(send, range(requests)))
    seconds = time.perf_counter() - started
    assert set(codes) == {202}, sorted(set(codes))
    return requests / seconds


def run(database_url: str, requests: int, threads: int) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench-api-") as folder:
        data_dir = Path(folder)
        url = database_url or f"sqlite:///{data_dir / 'bench.sqlite3'}"
        configure(data_dir, url, __name__, migrate=True)
        mount(urlpatterns, "bench/bare", bare_view())
        from django.core.wsgi import get_wsgi_application

        from docanalysis.services import apikeys
        from docanalysis.services.runtime import get_runtime
        from docanalysis.services.views import Actor

        key = apikeys.create_key(get_runtime(), Actor(None, "bench"), "bench").secret
        pdf = one_megabyte_pdf()
        with serving(get_wsgi_application()) as base:
            print(f"1 MiB PDF, {requests} requests, {threads} client threads, loopback")
            bare = measure(f"{base}/bench/bare", {}, pdf, requests, threads)
            print(f"bare DRF upload view      {bare:8.1f} requests/s")
            auth = {"Authorization": f"Bearer {key}"}
            api = measure(f"{base}/api/v1/documents", auth, pdf, requests, threads)
            ratio = api / bare
            print(f"POST /api/v1/documents    {api:8.1f} requests/s  ({ratio:.2f} x the bare view)")
        get_runtime().engine.dispose()  # before a temporary database is dropped
    return [
        Row("upload requests/s", "requests/s", api, bare, "bare DRF upload view",
            f">= {GOAL} x", api / bare >= GOAL)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--database-url", default="", help="an empty database to use")
    parser.add_argument("--postgres", action="store_true", help="a temporary PostgreSQL db")
    parser.add_argument("--admin-url", default=ADMIN_URL, help="where that database goes")
    parser.add_argument("--json", help="write the figures' rows to this file (bench/table.py)")
    args = parser.parse_args()
    if args.postgres:
        with scratch_database(args.admin_url, "upload") as url:
            rows = run(url, args.requests, args.threads)
    else:
        rows = run(args.database_url, args.requests, args.threads)
    print(format_table(rows))
    if args.json:
        write_rows(args.json, rows)


if __name__ == "__main__":
    main()
