"""REST upload throughput: requests per second for a 1 MB PDF on loopback, against a bare DRF
upload view (reads the file, answers 202) served by the same server in the same run.

    .venv/bin/python bench/api_upload.py [--requests 200] [--threads 4] [--database-url URL]

The API path does everything a real upload does: key check, rate limit, validation, the file
stored (once: content-addressed) under its lock, the document, run and audit event in one
transaction, and the run sent to the broker (kombu's filesystem transport here; no worker
consumes it). Each request carries different bytes and no external ids, so each creates a
document. Default database: a SQLite file in a temporary folder; pass a PostgreSQL URL (an
empty database) to measure the production profile.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

REPO = Path(__file__).resolve().parents[1]
PDF = REPO.parent / "shared" / "data" / "cuad" / "pdfs"


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


def one_megabyte_pdf() -> bytes:
    """A real contract PDF, padded after its end to 1 MiB (readers ignore what follows)."""
    source = sorted(PDF.glob("*.pdf"))[0].read_bytes()
    return source + b"\n%" + b"0" * max(0, 1024 * 1024 - len(source) - 2)


def setup(data_dir: Path, database_url: str) -> None:
    os.environ.update(
        DOCANALYSIS_DATA_DIR=str(data_dir),
        DATABASE_URL=database_url,
        DOCANALYSIS_API_RATE="1000000/min",
        DJANGO_SETTINGS_MODULE="docanalysis.settings",
    )
    import django
    from django.conf import settings

    from docanalysis.db.migrate import upgrade_database

    upgrade_database(database_url)
    django.setup()
    settings.ROOT_URLCONF = __name__  # the app's URLs plus the baseline's


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


def route() -> None:
    from django.contrib.auth.decorators import login_not_required
    from django.urls import include, path

    urlpatterns[:] = [
        path("bench/bare", login_not_required(bare_view())),
        path("", include("docanalysis.web.urls")),
    ]


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    with tempfile.TemporaryDirectory(prefix="bench-api-") as folder:
        data_dir = Path(folder)
        setup(data_dir, args.database_url or f"sqlite:///{data_dir / 'bench.sqlite3'}")
        route()
        from django.core.wsgi import get_wsgi_application

        from docanalysis.services import apikeys
        from docanalysis.services.runtime import get_runtime
        from docanalysis.services.views import Actor

        key = apikeys.create_key(get_runtime(), Actor(None, "bench"), "bench").secret
        server = make_server(
            "127.0.0.1", 0, get_wsgi_application(), server_class=_Server, handler_class=_Quiet
        )
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base, pdf = f"http://127.0.0.1:{server.server_port}", one_megabyte_pdf()
        print(f"1 MiB PDF, {args.requests} requests, {args.threads} client threads, loopback")
        bare = measure(f"{base}/bench/bare", {}, pdf, args.requests, args.threads)
        print(f"bare DRF upload view      {bare:8.1f} requests/s")
        api = measure(
            f"{base}/api/v1/documents",
            {"Authorization": f"Bearer {key}"},
            pdf,
            args.requests,
            args.threads,
        )
        ratio = api / bare
        print(f"POST /api/v1/documents    {api:8.1f} requests/s  ({ratio:.2f} x the bare view)")
        server.shutdown()


if __name__ == "__main__":
    main()
