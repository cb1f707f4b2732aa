"""Tenant isolation under load, by canaries (issue 9, item 4).

Eight tenants, each with an API key, a matter and five documents (two PDFs, three text files)
whose text carries the tenant's canary and each document's own, are uploaded at once over HTTP
(a thread per tenant) to a real gunicorn (two processes of four threads) on PostgreSQL, and
analysed by a real Celery worker (prefork, two pool processes, the product's tasks with the
keyword model: tests/support/fault_worker.py) on a Redis of the test's own. Both log in to
PostgreSQL as the application does in a deployment: an ordinary role under row-level security
(migration 0015), so every request and every step must set its tenant or see nothing.

Then each tenant reads, with its own key, everything the API gives it (documents, results,
text, the list, the reports and grids, the audit export): its own canaries are there, no other
tenant's canary or name is. Its key on every other tenant's document, run and matter answers
404. Nothing that is not an output holds a canary at all: the web server's, the worker's and
Redis's logs, the audit trail, Redis's keys and values, the Celery messages seen in flight
(each carries a run id and nothing else), the names under the data folder. In the database,
each document's text, windows and findings hold only its own tenant's canaries.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy import Engine, select

from docanalysis.db.engine import make_engine, reading
from docanalysis.db.tables import (
    FINAL_STATES,
    analysis_runs,
    analysis_windows,
    audit_events,
    document_texts,
    documents,
    findings,
    tenants,
)
from docanalysis.services import apikeys, pages
from docanalysis.services.runtime import build_runtime
from docanalysis.services.views import Actor
from tests.conftest import REPO
from tests.support.canary import (
    Tenant,
    celery_message_args,
    found_in,
    make_tenants,
    names_under,
    readable,
)
from tests.support.fleet import (
    Fleet,
    PrivateRedis,
    Worker,
    free_port,
    wait_until,
    workers_of,
)
from workers.queue import InProcessQueue

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

TENANTS, DOCS_EACH, PDFS_EACH = 8, 5, 2
ADMIN = Actor(user_id=None, identity="cli:admin")
QUEUES = ("cpu", "gpu", "guard")


@pytest.fixture
def engine(fresh_pg_url: str) -> Iterator[Engine]:
    engine = make_engine(fresh_pg_url)
    yield engine
    engine.dispose()


@contextmanager
def web_server(env: Mapping[str, str], log: Path) -> Iterator[str]:
    """gunicorn as deployed (docker-compose.yml), threaded so that the tenants' requests
    share processes, with its access log: every request and error in `log`."""
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "docanalysis.wsgi:application"]
    command += ["--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4"]
    command += ["--timeout", "60", "--access-logfile", "-", "--log-level", "info"]
    web_env = {**env, "DJANGO_SETTINGS_MODULE": "docanalysis.settings"}
    with log.open("ab") as out:
        proc = subprocess.Popen(
            command, env=web_env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _answers(base) or proc.poll() is not None, 60, "the web server")
        assert proc.poll() is None, log.read_text()[-3000:]
        yield base
    finally:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(20)


def _answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/api/v1/schema/?format=json", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def issue_keys(fleet: Fleet, everyone: Sequence[Tenant]) -> None:
    rt = build_runtime(fleet.settings(), queue=InProcessQueue())
    try:
        for tenant in everyone:
            tenant.key = apikeys.create_key(rt, ADMIN, tenant.name).secret
    finally:
        rt.engine.dispose()


def api(base: str, tenant: Tenant) -> httpx.Client:
    return httpx.Client(
        base_url=base, timeout=60, headers={"Authorization": f"Bearer {tenant.key}"}
    )


def in_parallel(work: Callable[[Tenant], Any], everyone: Sequence[Tenant]) -> list[Any]:
    """`work` for each tenant, a thread each, all at once."""
    with ThreadPoolExecutor(len(everyone)) as pool:
        return list(pool.map(work, everyone))


# --- uploads, and the messages in flight ----------------------------------------------------


def upload_all(base: str, tenant: Tenant) -> None:
    """The tenant's documents, one after another; the first names its matter anew."""
    with api(base, tenant) as client:
        for doc in tenant.docs:
            files = {"file": (doc.name, doc.data, doc.media_type)}
            sent = client.post("/api/v1/documents", data={"matter": tenant.matter_ref}, files=files)
            assert sent.status_code == 202, sent.text
            tenant.document_ids.append(int(sent.json()["id"]))
            tenant.run_ids.append(int(sent.json()["run_id"]))
        first = client.get(f"/api/v1/documents/{tenant.document_ids[0]}").json()
        tenant.matter_id = int(first["matter_id"])


def run_states(engine: Engine, run_ids: Sequence[int]) -> dict[int, str]:
    with reading(engine) as conn:
        rows = conn.execute(
            select(analysis_runs.c.id, analysis_runs.c.state).where(analysis_runs.c.id.in_(run_ids))
        )
        return {int(r.id): str(r.state) for r in rows}


def peek_messages(client: redis.Redis, seen: set[bytes]) -> None:
    """The messages waiting in the queues and those taken but not yet acknowledged."""
    for queue in QUEUES:
        seen.update(map(as_bytes, client.lrange(queue, 0, -1)))
    seen.update(map(as_bytes, client.hvals("unacked")))


def as_bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


def wait_done_watching_messages(
    engine: Engine, run_ids: Sequence[int], broker: PrivateRedis, worker: Worker
) -> set[bytes]:
    seen: set[bytes] = set()
    client = broker.client()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        peek_messages(client, seen)
        now = run_states(engine, run_ids)
        if all(state in FINAL_STATES for state in now.values()):
            assert set(now.values()) == {"done"}, now
            return seen
        time.sleep(0.1)
    raise AssertionError(f"not all done: {run_states(engine, run_ids)}\n{worker.text()[-3000:]}")


# --- what each tenant reads with its own key ------------------------------------------------

DOCUMENT_READS = (
    ("", "json"),
    ("/results", "json"),
    ("/text", "json"),
    ("/report.docx", "docx"),
    ("/report.pdf", "pdf"),
)


def read_everything(base: str, tenant: Tenant) -> dict[str, str]:
    """Every output of the API for the tenant, as text, by what was asked."""
    outputs: dict[str, str] = {}
    with api(base, tenant) as client:

        def get(path: str, kind: str) -> None:
            answer = client.get(path)
            assert answer.status_code == 200, (path, answer.status_code, answer.text[:500])
            outputs[path] = readable(answer.content, kind)

        for document_id, run_id in zip(tenant.document_ids, tenant.run_ids, strict=True):
            for suffix, kind in DOCUMENT_READS:
                get(f"/api/v1/documents/{document_id}{suffix}", kind)
            get(f"/api/v1/runs/{run_id}", "json")
        get("/api/v1/documents?limit=100", "json")
        get(f"/api/v1/matters/{tenant.matter_id}/grid.csv", "csv")
        get(f"/api/v1/matters/{tenant.matter_id}/grid.xlsx", "xlsx")
        get("/api/v1/audit/export", "zip")
    return outputs


def assert_own_canaries_are_where_expected(tenant: Tenant, outputs: Mapping[str, str]) -> None:
    """The check can fail: what each output must hold of the tenant's own is there."""
    matter = f"/api/v1/matters/{tenant.matter_id}"
    for doc, document_id in zip(tenant.docs, tenant.document_ids, strict=True):
        both = {tenant.canary, doc.canary}
        for suffix in ("/results", "/text", "/report.docx", "/report.pdf"):
            path = f"/api/v1/documents/{document_id}{suffix}"
            assert found_in(outputs[path], both) == both, (path, outputs[path][:2000])
    names = {d.name for d in tenant.docs}
    for path in ("/api/v1/documents?limit=100", f"{matter}/grid.csv", f"{matter}/grid.xlsx"):
        assert found_in(outputs[path], names) == names, (path, outputs[path][:2000])
    for path in (f"{matter}/grid.csv", f"{matter}/grid.xlsx"):  # the clause values' cells
        assert found_in(outputs[path], tenant.canaries) == tenant.canaries, outputs[path]
    listed = json.loads(outputs["/api/v1/documents?limit=100"])["results"]
    assert sorted(d["id"] for d in listed) == sorted(tenant.document_ids)
    export = outputs["/api/v1/audit/export"]  # the tenant's trail: names, never words
    assert found_in(export, names) == names and found_in(export, tenant.canaries) == set()


def foreign_strings(tenant: Tenant, everyone: Sequence[Tenant]) -> set[str]:
    return {s for t in everyone if t is not tenant for s in t.canaries | t.labels}


# --- every other tenant's objects: 404 ------------------------------------------------------


NOTHING_LISTED: dict[str, Any] = {"results": [], "next_cursor": None}
MISSING_ID = 10**9


def cross_requests(theirs: Tenant, number: int) -> list[tuple[str, str]]:
    document_id, run_id = theirs.document_ids[number], theirs.run_ids[number]
    matter = theirs.matter_id
    doc = f"/api/v1/documents/{document_id}"
    gets = [doc, *(f"{doc}{suffix}" for suffix, _ in DOCUMENT_READS[1:])]
    gets += [f"/api/v1/runs/{run_id}", f"/api/v1/matters/{matter}/grid.csv"]
    gets += [f"/api/v1/matters/{matter}/grid.xlsx"]
    gets += [
        f"/api/v1/audit/export?matter={matter}",
        f"/api/v1/audit/export?document={document_id}",
    ]
    return [("GET", path) for path in gets] + [("POST", str(matter)), ("DELETE", doc)]


def try_everyone_else(base: str, everyone: Sequence[Tenant], tenant: Tenant) -> list[str]:
    """The tenant's key on a document, its run and its matter of each other tenant: what did
    not answer 404 not_found (nothing, if isolation holds)."""
    wrong: list[str] = []
    with api(base, tenant) as client:
        nowhere = client.get(f"/api/v1/documents?matter={MISSING_ID}")
        assert (nowhere.status_code, nowhere.json()) == (200, NOTHING_LISTED)
        for theirs in everyone:
            if theirs is tenant:
                continue
            number = (tenant.index + theirs.index) % DOCS_EACH
            for method, target in cross_requests(theirs, number):
                if method == "POST":
                    doc = tenant.docs[0]
                    files = {"file": ("intruder.txt", doc.data + b"\n", doc.media_type)}
                    answer = client.post("/api/v1/documents", data={"matter": target}, files=files)
                    target = f"POST /api/v1/documents matter={target}"
                else:
                    answer = client.request(method, target)
                if (answer.status_code, error_code(answer)) != (404, "not_found"):
                    wrong.append(f"{tenant.name} {method} {target}: {answer.status_code}")
            # A filter, not an object: their matter lists nothing, as a matter that is not.
            listed = client.get(f"/api/v1/documents?matter={theirs.matter_id}")
            if (listed.status_code, listed.json()) != (200, NOTHING_LISTED):
                wrong.append(f"{tenant.name} lists matter {theirs.matter_id}: {listed.text}")
    return wrong


def error_code(answer: httpx.Response) -> str | None:
    if not answer.headers.get("content-type", "").startswith("application/json"):
        return None
    return answer.json().get("error", {}).get("code")


# --- page images: the cache under the data folder -------------------------------------------


def render_pages(fleet: Fleet, base: str, everyone: Sequence[Tenant]) -> None:
    """Each tenant's first PDF's page and its first clause's place on it, cached by the
    product's renderer (the browser's document view asks for them: the API does not)."""
    rt = build_runtime(fleet.settings(), queue=InProcessQueue())
    try:
        for tenant in everyone:
            document_id = tenant.document_ids[0]
            with api(base, tenant) as client:
                clause = client.get(f"/api/v1/documents/{document_id}/results").json()["clauses"][0]
            assert pages.page_image(rt, None, document_id, 1, 1.0).startswith(b"\x89PNG")
            found = pages.highlight_boxes(rt, None, document_id, clause["start"], clause["end"])
            assert found.page == 1 and found.boxes
    finally:
        rt.engine.dispose()


# --- what is not an output: none of it holds a canary ---------------------------------------


def database_texts(engine: Engine) -> Iterator[tuple[str, str, str]]:
    """(tenant name, what, text) for each document's text, windows and findings."""
    owner = documents.join(tenants, tenants.c.id == documents.c.tenant_id)
    with_runs = owner.join(analysis_runs, analysis_runs.c.document_id == documents.c.id)
    queries = {
        "document text": select(tenants.c.name, documents.c.id, document_texts.c.text).select_from(
            owner.join(document_texts, document_texts.c.document_id == documents.c.id)
        ),
        "window": select(
            tenants.c.name, analysis_windows.c.id, analysis_windows.c.output_raw
        ).select_from(with_runs.join(analysis_windows)),
        "finding": select(
            tenants.c.name, findings.c.id, findings.c.text + " " + findings.c.value
        ).select_from(with_runs.join(findings)),
    }
    with reading(engine) as conn:
        for what, query in queries.items():
            for name, row_id, text in conn.execute(query):
                yield str(name), f"{what} {row_id}", str(text)


def audit_rows(engine: Engine) -> list[str]:
    with reading(engine) as conn:
        rows = conn.execute(select(audit_events)).mappings().all()
    return [json.dumps(dict(row), default=str) for row in rows]


REDIS_READERS: dict[str, Callable[[redis.Redis, bytes], Any]] = {
    "string": lambda client, key: client.get(key),
    "list": lambda client, key: client.lrange(key, 0, -1),
    "hash": lambda client, key: client.hgetall(key),
    "set": lambda client, key: client.smembers(key),
    "zset": lambda client, key: client.zrange(key, 0, -1),
}


def redis_contents(client: redis.Redis) -> list[str]:
    """Every key in the broker's Redis, and every value, as text."""
    found: list[str] = []
    for key in client.scan_iter(count=1000):
        value = REDIS_READERS[as_bytes(client.type(key)).decode()](client, key)
        found += [as_bytes(key).decode(errors="replace"), repr(value)]
    return found


# --- the test -------------------------------------------------------------------------------


def test_no_tenant_sees_another_tenant_s_canary_and_no_log_holds_one(
    fresh_pg_url: str,
    app_pg_url: str,
    engine: Engine,
    private_redis: PrivateRedis,
    tmp_path: Path,
) -> None:
    everyone = make_tenants(TENANTS, DOCS_EACH, PDFS_EACH)
    fleet = Fleet(fresh_pg_url, private_redis.url, tmp_path, app_db_url=app_pg_url)
    env = fleet.env()
    issue_keys(fleet, everyone)
    web_log, worker_log = tmp_path / "web.log", tmp_path / "worker.log"
    with workers_of() as workers:
        worker = Worker(env, worker_log)  # boots while the web server does
        workers.started.append(worker)
        with web_server(env, web_log) as base:
            worker.wait_ready()
            in_parallel(lambda t: upload_all(base, t), everyone)
            run_ids = [r for t in everyone for r in t.run_ids]
            assert len(set(run_ids)) == TENANTS * DOCS_EACH
            messages = wait_done_watching_messages(engine, run_ids, private_redis, worker)
            outputs = in_parallel(lambda t: read_everything(base, t), everyone)
            render_pages(fleet, base, everyone)
            wrong = in_parallel(lambda t: try_everyone_else(base, everyone, t), everyone)

    assert_outputs_are_the_tenant_s_own(everyone, outputs)
    assert [w for refused in wrong for w in refused] == []
    assert_database_rows_are_the_tenant_s_own(engine, everyone)
    assert_messages_carry_run_ids_only(messages, run_ids, everyone)
    assert_no_canary_outside_the_outputs(engine, private_redis, tmp_path, everyone)


def assert_outputs_are_the_tenant_s_own(
    everyone: Sequence[Tenant], outputs: Sequence[Mapping[str, str]]
) -> None:
    """Each tenant's outputs: its own canaries where expected, nothing of any other tenant's;
    and the same search finds them in the next tenant's outputs (it can fail)."""
    for tenant, read in zip(everyone, outputs, strict=True):
        assert_own_canaries_are_where_expected(tenant, read)
        foreign = foreign_strings(tenant, everyone)
        for path, text in read.items():
            assert found_in(text, foreign) == set(), (tenant.name, path)
    for tenant, neighbour in zip(everyone, [*outputs[1:], outputs[0]], strict=True):
        assert found_in("\n".join(neighbour.values()), foreign_strings(tenant, everyone))


def assert_database_rows_are_the_tenant_s_own(engine: Engine, everyone: Sequence[Tenant]) -> None:
    """Every document still there (the refused deletes and uploads changed nothing), and each
    document's text, windows and findings hold its own tenant's canaries only."""
    with reading(engine) as conn:
        rows = conn.execute(select(documents.c.id, documents.c.purged_at)).all()
    kept = sorted(r.id for r in rows if r.purged_at is None)
    assert kept == sorted(d for t in everyone for d in t.document_ids)
    by_name = {t.name: t for t in everyone}
    for name, what, text in database_texts(engine):
        assert found_in(text, foreign_strings(by_name[name], everyone)) == set(), (name, what)
        if what.startswith("document text"):
            assert by_name[name].canary in text, (name, what)


def assert_messages_carry_run_ids_only(
    messages: set[bytes], run_ids: Sequence[int], everyone: Sequence[Tenant]
) -> None:
    every_canary = {c for t in everyone for c in t.canaries}
    assert len(messages) >= len(run_ids), len(messages)
    for raw in messages:
        args, kwargs, whole = celery_message_args(raw)
        assert kwargs == {} and isinstance(args, list) and len(args) == 1, whole
        assert args[0] in run_ids and found_in(whole, every_canary) == set(), whole


def assert_no_canary_outside_the_outputs(
    engine: Engine, broker: PrivateRedis, folder: Path, everyone: Sequence[Tenant]
) -> None:
    """Not in the logs (nor an API key), the audit trail, Redis, or a name under the data
    folder (nor a file name there: blobs and page images go by sha256)."""
    every_canary = {c for t in everyone for c in t.canaries}
    web_log, worker_log = folder / "web.log", folder / "worker.log"
    for log in (web_log, worker_log, folder / "redis.log"):
        text = log.read_text(errors="replace")
        assert found_in(text, every_canary | {t.key for t in everyone}) == set(), log.name
    assert " 202 " in web_log.read_text() and "succeeded in" in worker_log.read_text()
    trail = audit_rows(engine)
    names = {d.name for t in everyone for d in t.docs}
    assert found_in("\n".join(trail), names) == names  # the details were read
    for row in trail:
        assert found_in(row, every_canary) == set(), row
    for text in redis_contents(broker.client()):
        assert found_in(text, every_canary) == set(), text
    data_names = list(names_under(folder / "data"))
    assert any(n.startswith("page-cache/") and n.endswith(".png") for n in data_names)
    labels = {s for t in everyone for s in t.labels}
    for name in data_names:
        assert found_in(name, every_canary | labels) == set(), name
