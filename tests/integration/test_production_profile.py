"""The production profile end to end: real PostgreSQL, real Redis, a real Celery worker
process and the real web server (`docanalysis serve`), driven over HTTP like a browser.

A malformed PDF ends its run as failed with a clear reason, the server keeps serving, a real
contract uploaded next reaches `done`, and the audit chain in PostgreSQL verifies.
"""

from __future__ import annotations

import html
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy import select

from docanalysis.db.audit import read_events, verify_chain
from docanalysis.db.engine import make_engine, reading
from docanalysis.db.tables import document_texts, findings
from tests.conftest import ONE_PAGE_CONTRACT, PDFS, REPO

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

REDIS_DB = 11  # a database of its own on the shared server, flushed before and after
BROKER = f"redis://127.0.0.1:6379/{REDIS_DB}"
ENCRYPTED = PDFS / "malformed" / "pypdf" / "r6-both-passwords.pdf"
DAMAGED = PDFS / "malformed" / "ocrmypdf" / "invalid.pdf"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture
def server(fresh_pg_url: str, tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    broker = redis.Redis.from_url(BROKER)
    broker.flushdb()
    port = free_port()
    log = tmp_path / "serve.log"
    env = {
        **os.environ,
        "DATABASE_URL": fresh_pg_url,
        "CELERY_BROKER_URL": BROKER,
        "DOCANALYSIS_DATA_DIR": str(tmp_path / "data"),
        "DOCANALYSIS_OUTPUT_TOKENS": "128",
        "DOCANALYSIS_SECRET_KEY": "test-secret-key-for-the-production-profile-test",
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "docanalysis", "serve", "--port", str(port), "--workers", "1"],
            env=env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(base) or proc.poll() is not None, 120, "the web server")
        assert proc.poll() is None, log.read_text()[-3000:]
        password = re.search(r"one-time password\n\s+(\S+)", log.read_text())
        assert password, log.read_text()[-3000:]
        yield base, password.group(1), log
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
            broker.flushdb()


def _answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/login/", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def sign_in(client: httpx.Client, password: str) -> None:
    client.get("/login/")
    response = client.post(
        "/login/",
        data={
            "username": "admin",
            "password": password,
            "csrfmiddlewaretoken": client.cookies["csrftoken"],
        },
    )
    assert response.status_code == 302 and response.headers["location"] == "/"


def upload(client: httpx.Client, matter_path: str, pdf: Path) -> int:
    client.post(
        f"{matter_path}documents/",
        data={"csrfmiddlewaretoken": client.cookies["csrftoken"]},
        files={"files": (pdf.name, pdf.read_bytes(), "application/pdf")},
    )
    page = client.get(matter_path).text
    links = re.findall(r'href="/documents/(\d+)/"[^>]*>([^<]+)<', page)
    return max(int(i) for i, name in links if html.unescape(name).strip() == pdf.name)


def final_status(client: httpx.Client, document_id: int, timeout: float) -> dict:  # type: ignore[type-arg]
    def check() -> dict | None:  # type: ignore[type-arg]
        status = client.get(f"/documents/{document_id}/status.json").json()
        return status if status["final"] else None

    return wait_for(check, timeout, f"document {document_id} to finish")  # type: ignore[no-any-return]


def test_upload_over_http_reaches_done_and_the_audit_chain_verifies(
    server: tuple[str, str, Path], fresh_pg_url: str
) -> None:
    base, password, log = server
    with httpx.Client(base_url=base, timeout=30) as client:
        sign_in(client, password)
        matter_path = re.search(r'href="(/matters/\d+/)"', client.get("/").text).group(1)  # type: ignore[union-attr]

        # A PDF that needs its password is refused at once (the browser asks for it).
        refused = client.post(
            f"{matter_path}documents/",
            data={"csrfmiddlewaretoken": client.cookies["csrftoken"]},
            files={"files": (ENCRYPTED.name, ENCRYPTED.read_bytes(), "application/pdf")},
        )
        assert refused.status_code == 400
        assert f"{ENCRYPTED.name} is password-protected" in html.unescape(refused.text)
        assert 'href="/documents/' not in refused.text.split('id="matter-documents"')[1]

        broken = upload(client, matter_path, DAMAGED)
        status = final_status(client, broken, 120)
        assert status["state"] == "failed", log.read_text()[-3000:]
        assert status["reason"], status

        contract = upload(client, matter_path, ONE_PAGE_CONTRACT)
        status = final_status(client, contract, 600)
        assert (status["state"], status["reason"]) == ("done", ""), log.read_text()[-3000:]
        page = client.get(f"/documents/{contract}/").text
        assert '<p class="summary' in page  # the summary, or a plain "no summary"

    engine = make_engine(fresh_pg_url)
    with reading(engine) as conn:
        stored = conn.execute(
            select(document_texts.c.text).where(document_texts.c.document_id == contract)
        ).scalar_one()
        clauses = conn.execute(select(findings).where(findings.c.kind == "clause")).all()
    for clause in clauses:  # whatever the model cited is quoted from the source, on page 1
        assert (clause.page, stored[clause.start : clause.end]) == (1, clause.text)

    with reading(engine) as conn:
        check = verify_chain(conn)
        actions = [e.action for e in read_events(conn)]
    assert check.ok and check.count == len(actions)
    for action in (
        "document.uploaded",
        "run.failed",
        "run.extracted",
        "run.windowed",
        "window.analyzed",
        "run.analyzed",
        "guard.verdict",
        "run.done",
    ):
        assert action in actions
