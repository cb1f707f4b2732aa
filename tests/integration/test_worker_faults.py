"""Queue faults with real Celery worker processes (prefork, two pool processes) on a Redis of
the test's own and a PostgreSQL database of the test's own: a pool process killed
mid-document, the whole worker killed and restarted, a document that kills its worker every
time, Redis restarted without persistence with 200 documents queued, and PostgreSQL restarted
(immediate mode) mid-batch on a PostgreSQL server of the test's own. The workers run the
product's app and tasks with a stand-in model (tests/support/fault_worker.py).
"""

from __future__ import annotations

import re
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select

from docanalysis.db import repositories as repo
from docanalysis.db.audit import read_events, verify_chain
from docanalysis.db.engine import make_engine, reading
from docanalysis.db.tables import FINAL_STATES, analysis_runs, analysis_windows, findings
from docanalysis.services import apikeys
from docanalysis.services.matters import create_matter
from docanalysis.services.runtime import Runtime, build_runtime
from docanalysis.services.submit import submit_document
from docanalysis.services.views import Actor
from tests.support.fault_worker import CRASH_EVERY_TIME, CRASH_ONCE, SLOW, contract
from tests.support.fleet import (
    Fleet,
    PrivatePostgres,
    PrivateRedis,
    Worker,
    client_runtime,
    python_run,
    wait_until,
    web_server,
    workers_of,
)

ALICE = Actor(user_id=1, identity="alice <alice@firm.example>")
ADMIN = Actor(user_id=None, identity="cli:admin")


def run_row(rt: Runtime, run_id: int) -> Any:
    with reading(rt.engine) as conn:
        return repo.run(conn, run_id)


# --- real workers: helpers -------------------------------------------------------------------


def submit_many(rt: Runtime, markers: Sequence[str]) -> list[int]:
    matter_id = create_matter(rt, ALICE, f"Batch {uuid.uuid4().hex[:6]}")
    return [
        submit_document(rt, ALICE, matter_id, f"c{n}.txt", contract(n, marker)).run_id
        for n, marker in enumerate(markers)
    ]


def states(engine: Engine, run_ids: Sequence[int]) -> dict[int, str]:
    with reading(engine) as conn:
        rows = conn.execute(
            select(analysis_runs.c.id, analysis_runs.c.state).where(analysis_runs.c.id.in_(run_ids))
        )
        return {int(r.id): str(r.state) for r in rows}


def wait_final(engine: Engine, run_ids: Sequence[int], timeout: float, worker: Worker) -> Any:
    def final() -> dict[int, str] | None:
        now = states(engine, run_ids)
        return now if all(s in FINAL_STATES for s in now.values()) else None

    try:
        return wait_until(final, timeout, f"{len(run_ids)} runs to finish", every=0.5)
    except AssertionError as exc:
        still = Counter(states(engine, run_ids).values())
        raise AssertionError(f"{exc}: {still}\n{worker.text()[-4000:]}") from None


def assert_each_finished_once(engine: Engine, done: Sequence[int]) -> None:
    """One set of findings and one 'run.done' per run, the audit chain whole."""
    with reading(engine) as conn:
        events = read_events(conn)
        check = verify_chain(conn)
        summaries = Counter(
            conn.execute(select(findings.c.run_id).where(findings.c.kind == "summary")).scalars()
        )
        repeated = conn.execute(
            select(findings.c.run_id, findings.c.ordinal)
            .group_by(findings.c.run_id, findings.c.ordinal)
            .having(func.count() > 1)
        ).all()
        unanalyzed = conn.execute(
            select(func.count()).where(
                analysis_windows.c.run_id.in_(done), analysis_windows.c.output_raw.is_(None)
            )
        ).scalar_one()
    assert (
        check.ok
        and check.count == len(events)
        and [e.seq for e in events] == list(range(1, len(events) + 1))
    )
    per_run = Counter((e.subject, e.action) for e in events)
    for run_id in done:
        subject = f"run:{run_id}"
        assert (per_run[subject, "run.done"], per_run[subject, "run.analyzed"]) == (1, 1)
        assert (per_run[subject, "run.extracted"], summaries[run_id]) == (1, 1)
    assert repeated == [] and unanalyzed == 0


KILLED = "exited with 'signal 9 (SIGKILL)'"  # Celery's log line for a pool process killed


# --- real workers: the faults ---------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.redis
def test_a_pool_process_killed_mid_document_is_redelivered_and_finishes_once(
    fresh_pg_url: str, app_pg_url: str, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    """Only acks_late with reject_on_worker_lost bring the message back (the reconciler is
    off here): with either turned off this test times out."""
    fleet = Fleet(fresh_pg_url, private_redis.url, tmp_path, app_db_url=app_pg_url)
    with client_runtime(fleet) as rt, workers_of() as workers:
        worker = workers.start(fleet.env(), tmp_path / "worker.log")
        run_ids = submit_many(rt, [CRASH_ONCE, "", ""])
        outcome = wait_final(rt.engine, run_ids, 30, worker)
        assert set(outcome.values()) == {"done"}
        assert len(list((tmp_path / "faults").glob("crashed-*"))) == 1  # it did die once
        assert worker.text().count(KILLED) == 1
        assert_each_finished_once(rt.engine, run_ids)
        assert [run_row(rt, r).attempts for r in run_ids] == [0, 0, 0]
        wait_until(lambda: private_redis.waiting() == 0, 10, "the queues to empty")


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.redis
def test_a_document_that_kills_its_worker_every_time_fails_as_poison(
    fresh_pg_url: str, app_pg_url: str, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    fleet = Fleet(fresh_pg_url, private_redis.url, tmp_path, app_db_url=app_pg_url)
    with client_runtime(fleet) as rt, workers_of() as workers:
        worker = workers.start(fleet.env(), tmp_path / "worker.log")
        poison, fine = submit_many(rt, [CRASH_EVERY_TIME, ""])
        outcome = wait_final(rt.engine, [poison, fine], 60, worker)
        assert outcome == {poison: "failed", fine: "done"}
        run = run_row(rt, poison)
        reason = "the analysis crashed its worker 3 times; it was stopped"
        assert (run.reason_code, run.reason, run.attempts) == ("poison", reason, 3)
        assert worker.text().count(KILLED) == 3
        # Not delivered again: the queues are empty and stay so.
        wait_until(lambda: private_redis.waiting() == 0, 10, "the queues to empty")
        time.sleep(1)
        assert private_redis.waiting() == 0 and worker.text().count(KILLED) == 3
        assert_each_finished_once(rt.engine, [fine])
        assert ("run.failed", "poison") in [
            (e.action, e.details.get("code")) for e in audit_events_of(rt, poison)
        ]


def audit_events_of(rt: Runtime, run_id: int) -> list[Any]:
    with reading(rt.engine) as conn:
        return [e for e in read_events(conn) if e.subject == f"run:{run_id}"]


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.redis
def test_a_worker_killed_whole_and_restarted_finishes_every_document(
    fresh_pg_url: str, app_pg_url: str, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    """Killed whole, the worker cannot hand its messages back: Redis keeps them aside for the
    visibility timeout (12 hours). The reconciler in the new worker's scheduler re-sends the
    runs that stopped moving."""
    fleet = Fleet(fresh_pg_url, private_redis.url, tmp_path, app_db_url=app_pg_url)
    env = fleet.env(DOCANALYSIS_RECONCILE_AFTER_S="4")
    with client_runtime(fleet) as rt, workers_of() as workers:
        first = workers.start(env, tmp_path / "first.log", beat=True)
        run_ids = submit_many(rt, [SLOW] * 6)
        wait_until(
            lambda: list(states(rt.engine, run_ids).values()).count("analyzing") >= 2,
            30,
            "two documents in analysis",
        )
        first.kill()
        in_flight = [r for r, s in states(rt.engine, run_ids).items() if s not in FINAL_STATES]
        assert len(in_flight) >= 2
        second = workers.start(env, tmp_path / "second.log", beat=True)
        outcome = wait_final(rt.engine, run_ids, 90, second)
        assert set(outcome.values()) == {"done"}
        assert "re-sent" in second.text()
        assert_each_finished_once(rt.engine, run_ids)


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.redis
def test_redis_restarted_without_persistence_loses_no_queued_document(
    fresh_pg_url: str, app_pg_url: str, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    fleet = Fleet(fresh_pg_url, private_redis.url, tmp_path, app_db_url=app_pg_url)
    env = fleet.env(DOCANALYSIS_RECONCILE_AFTER_S="5")
    with client_runtime(fleet) as rt, workers_of() as workers:
        run_ids = submit_many(rt, [""] * 200)
        assert private_redis.waiting() == 200
        private_redis.kill()  # no persistence: the 200 messages are gone
        private_redis.start()
        assert private_redis.waiting() == 0
        worker = workers.start(env, tmp_path / "worker.log", beat=True)
        outcome = wait_final(rt.engine, run_ids, 150, worker)
        assert set(outcome.values()) == {"done"}
        assert_each_finished_once(rt.engine, run_ids)


# --- PostgreSQL restarted mid-batch (a server of the test's own) ----------------------------


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    try:
        server.start()
        server.create_database()
        yield server
    finally:
        server.remove()


def _sign_in(client: httpx.Client, password: str) -> str:
    """Signs in as admin; the path of the first matter."""
    client.get("/login/")
    token = client.cookies["csrftoken"]
    form = {"username": "admin", "password": password, "csrfmiddlewaretoken": token}
    assert client.post("/login/", data=form).status_code == 302
    found = re.search(r'href="(/matters/\d+/)"', client.get("/").text)
    assert found
    return found.group(1)


def _api_upload(api: httpx.Client, number: int, marker: str = "") -> httpx.Response:
    files = {"file": (f"c{number}.txt", contract(number, marker), "text/plain")}
    return api.post("/api/v1/documents", data={"matter": "M-1"}, files=files)


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.redis
def test_postgresql_restarted_mid_batch(
    private_postgres: PrivatePostgres, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    fleet = Fleet(private_postgres.url, private_redis.url, tmp_path)
    env = fleet.env()  # the reconciler off: the retries alone must carry every document
    python_run(env, "-m", "docanalysis", "migrate")
    shown = python_run(
        env,
        "-c",
        "from docanalysis.config import load_settings; from docanalysis.serving import "
        "ensure_first_user; ensure_first_user(load_settings(), '127.0.0.1', 0)",
    )
    password = re.search(r"one-time password\n\s+(\S+)", shown)
    assert password, shown
    engine = make_engine(private_postgres.url)
    key_rt = build_runtime(fleet.settings())
    key = apikeys.create_key(key_rt, ADMIN, "default").secret
    key_rt.engine.dispose()
    log = tmp_path / "worker.log"
    with workers_of() as workers, web_server(env, tmp_path / "web.log") as base:
        worker = workers.start(env, log)
        auth = {"Authorization": f"Bearer {key}"}
        with (
            httpx.Client(base_url=base, timeout=30) as browser,
            httpx.Client(base_url=base, timeout=30, headers=auth) as api,
        ):
            matter_path = _sign_in(browser, password.group(1))
            accepted = [_api_upload(api, n, SLOW) for n in range(6)]
            assert [r.status_code for r in accepted] == [202] * 6
            run_ids = [int(r.json()["run_id"]) for r in accepted]
            wait_until(lambda: "analyzing" in states(engine, run_ids).values(), 30, "an analysis")
            engine.dispose()

            private_postgres.stop("immediate")
            refused = _api_upload(api, 100)
            assert (refused.status_code, refused.headers["Retry-After"]) == (503, "5")
            assert refused.json()["error"]["code"] == "unavailable"
            form = {"csrfmiddlewaretoken": browser.cookies["csrftoken"]}
            files = {"files": ("c101.txt", contract(101), "text/plain")}
            page = browser.post(f"{matter_path}documents/", data=form, files=files)
            assert (page.status_code, page.headers["Retry-After"]) == (503, "5")
            assert "The database is unavailable for a moment" in page.text
            one = browser.post(
                f"{matter_path}documents/",
                data=form,
                files=files,
                headers={"Accept": "application/json"},
            )
            assert (one.status_code, one.json()["error"]) == (503, "unavailable")
            time.sleep(3)  # long enough for the workers to meet the outage
            private_postgres.start()

            after = _api_upload(api, 102)
            assert after.status_code == 202, after.text
            run_ids.append(int(after.json()["run_id"]))
            outcome = wait_final(engine, run_ids, 120, worker)
        assert set(outcome.values()) == {"done"}, outcome
        assert_each_finished_once(engine, run_ids)
        assert re.search(r"retry: Retry in [0-9.]+s: OperationalError", worker.text())
    engine.dispose()
