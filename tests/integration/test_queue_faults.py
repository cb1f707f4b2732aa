"""Queue faults: nothing is lost when a process dies (DESIGN.md, principle 4).

First the mechanisms, in process, on each dialect: one worker at a time holds a run (a
duplicate message cannot make two results), crashes are counted until the run fails as
"poison", stalled runs are re-sent, an unreachable database is retried with a bounded delay and
answered with 503 and Retry-After.

Then the faults themselves, with real Celery worker processes (prefork, two pool processes) on
a Redis of the test's own and a PostgreSQL database of the test's own: a pool process killed
mid-document, the whole worker killed and restarted, a document that kills its worker every
time, Redis restarted without persistence with 200 documents queued, and PostgreSQL restarted
(immediate mode) mid-batch on a PostgreSQL server of the test's own. The workers run the
product's app and tasks with a stand-in model (tests/support/fault_worker.py).
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import psycopg
import pytest
import redis
from sqlalchemy import Engine, func, select, update

from docanalysis.config import Settings, load_settings
from docanalysis.core.types import Completion, Message
from docanalysis.db import repositories as repo
from docanalysis.db.audit import read_events, verify_chain
from docanalysis.db.engine import make_engine, reading, transaction
from docanalysis.db.tables import FINAL_STATES, analysis_runs, analysis_windows, findings
from docanalysis.services import apikeys
from docanalysis.services.matters import create_matter
from docanalysis.services.pipeline import POISON_REASON, begin_attempt
from docanalysis.services.runtime import Runtime, build_runtime
from docanalysis.services.steps import advance, current_state, run_to_end
from docanalysis.services.submit import submit_document
from docanalysis.services.views import Actor
from tests.conftest import REPO
from tests.integration.test_pipeline import runtime
from tests.support.fakes import FixedGuard, KeywordModel
from tests.support.fault_worker import CRASH_EVERY_TIME, CRASH_ONCE, SLOW

ALICE = Actor(user_id=1, identity="alice <alice@firm.example>")
ADMIN = Actor(user_id=None, identity="cli:admin")
CONTRACT = (
    "SUPPLY AGREEMENT\n\n"
    "1. Dated: 1 March 2024.\n\n"
    "2. This agreement is made between Alpha LLC and Beta Corp.\n\n"
    "3. This agreement is governed by the laws of New York.\n\n"
)


def contract(number: int, marker: str = "") -> bytes:
    """A small contract of its own (a distinct file), with a cue for the stand-in model."""
    extra = f"4. Schedule {number}. {marker}\n" if marker else f"4. Schedule {number}.\n"
    return (CONTRACT + extra).encode()


# --- the mechanisms, in process ------------------------------------------------------------


class Retried(Exception):
    def __init__(self, countdown: float) -> None:
        super().__init__(countdown)
        self.countdown = countdown


class FakeTask:
    """What run_step uses of a bound Celery task: the retry count, and retry()."""

    def __init__(self, retries: int = 0) -> None:
        self.request = SimpleNamespace(retries=retries)

    def retry(self, exc: BaseException, countdown: float) -> Retried:
        return Retried(countdown)


class SlowModel(KeywordModel):
    def complete_json(
        self, messages: Sequence[Message], schema: Mapping[str, Any], max_tokens: int
    ) -> Completion:
        time.sleep(0.5)
        return super().complete_json(messages, schema, max_tokens)


@pytest.fixture
def worker_rt(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Runtime, list[tuple[int, str]]]]:
    """A runtime (this test's database, the keyword model, a guard that releases everything)
    that workers.tasks uses as its own, and the steps it sends, recorded instead of queued."""
    import workers.tasks

    rt = runtime(db_url, tmp_path, FixedGuard())
    sent: list[tuple[int, str]] = []
    monkeypatch.setattr(workers.tasks, "get_runtime", lambda: rt)
    monkeypatch.setattr(workers.tasks, "send_step", lambda run, queue: sent.append((run, queue)))
    yield rt, sent
    rt.engine.dispose()


def submitted(rt: Runtime, number: int = 1, marker: str = "") -> int:
    matter_id = create_matter(rt, ALICE, f"Matter {number}")
    done = submit_document(rt, ALICE, matter_id, f"contract-{number}.txt", contract(number, marker))
    return done.run_id


def to_state(rt: Runtime, run_id: int, state: str) -> None:
    """Drive the run in this process until it is in `state`."""
    while (now := current_state(rt, run_id)) != state:
        assert now is not None and now not in FINAL_STATES, now
        advance(rt, run_id, now)


def audit_actions(rt: Runtime, run_id: int) -> list[str]:
    with reading(rt.engine) as conn:
        return [e.action for e in read_events(conn) if e.subject == f"run:{run_id}"]


def run_row(rt: Runtime, run_id: int) -> Any:
    with reading(rt.engine) as conn:
        return repo.run(conn, run_id)


def test_a_duplicate_message_for_a_held_run_makes_no_second_result(
    worker_rt: tuple[Runtime, list[tuple[int, str]]],
) -> None:
    from workers.tasks import run_step

    rt, sent = worker_rt
    rt.model = SlowModel()  # type: ignore[misc]
    run_id = submitted(rt)
    to_state(rt, run_id, "analyzing")
    # Two deliveries of the same step at once (the reconciler's copy and the original).
    threads = [
        threading.Thread(target=run_step, args=(FakeTask(), run_id, "gpu")) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    with reading(rt.engine) as conn:
        windows = len(repo.windows_of(conn, run_id))
        summaries = conn.execute(
            select(func.count()).where(findings.c.run_id == run_id, findings.c.kind == "summary")
        ).scalar_one()
    actions = Counter(audit_actions(rt, run_id))
    assert (summaries, actions["run.analyzed"], actions["window.analyzed"]) == (1, 1, windows)
    assert len(rt.model.calls) == windows  # type: ignore[attr-defined]
    assert sent == [(run_id, "guard")]
    assert (run_row(rt, run_id).state, run_row(rt, run_id).attempts) == ("guarding", 0)

    # A late copy of a step already done finds the run moved on, and sends nothing more.
    run_step(FakeTask(), run_id, "gpu")
    run_step(FakeTask(), run_id, "cpu")
    assert sent == [(run_id, "guard")]


def test_crashes_in_a_row_fail_the_run_as_poison_with_an_audit_event(
    worker_rt: tuple[Runtime, list[tuple[int, str]]],
) -> None:
    from workers.tasks import run_step

    rt, sent = worker_rt
    run_id = submitted(rt, marker=CRASH_EVERY_TIME)
    to_state(rt, run_id, "analyzing")
    for _ in range(rt.settings.max_attempts):  # deliveries whose worker died mid-step
        assert begin_attempt(rt, run_id, "analyzing", rt.settings.max_attempts)
    run_step(FakeTask(), run_id, "gpu")  # the next delivery does not run the step again

    run = run_row(rt, run_id)
    reason = "the analysis crashed its worker 3 times; it was stopped"
    assert (run.state, run.reason_code, run.reason) == ("failed", "poison", reason)
    assert reason == POISON_REASON.format(n=3)
    with reading(rt.engine) as conn:
        failed = [e for e in read_events(conn) if e.action == "run.failed"]
        assert verify_chain(conn).ok
    assert [e.details for e in failed] == [
        {
            "document_id": run.document_id,
            "reason": reason,
            "code": "poison",
            "stage": "analyzing",
            "attempts": 3,
        }
    ]
    assert sent == []
    assert rt.model.calls == []  # type: ignore[attr-defined]


def test_a_step_that_ends_resets_the_count_so_only_crashes_in_a_row_count(
    worker_rt: tuple[Runtime, list[tuple[int, str]]],
) -> None:
    from workers.tasks import run_step

    rt, sent = worker_rt
    run_id = submitted(rt)
    for queue in ("cpu", "cpu"):  # queued -> windowing -> analyzing, after a crash each
        assert begin_attempt(rt, run_id, current_state(rt, run_id) or "", 3)
        run_step(FakeTask(), run_id, queue)
    assert (run_row(rt, run_id).state, run_row(rt, run_id).attempts) == ("analyzing", 0)
    assert sent == [(run_id, "cpu"), (run_id, "gpu")]


def test_a_stale_message_is_passed_on_only_when_a_worker_died_before_sending(
    worker_rt: tuple[Runtime, list[tuple[int, str]]],
) -> None:
    from workers.tasks import run_step

    rt, sent = worker_rt
    run_id = submitted(rt)
    to_state(rt, run_id, "guarding")
    run_step(FakeTask(), run_id, "gpu")  # a copy: whoever moved the run on sent the next step
    assert sent == []
    with transaction(rt.engine) as conn:  # the worker died between its commit and its send
        repo.update_run(conn, run_id, attempts=1)
    run_step(FakeTask(), run_id, "gpu")
    assert sent == [(run_id, "guard")]


def test_the_reconciler_resends_stalled_runs_once_per_period(
    worker_rt: tuple[Runtime, list[tuple[int, str]]],
) -> None:
    from workers.tasks import reconcile_task

    rt, sent = worker_rt
    stalled, moving, finished = (submitted(rt, n) for n in (1, 2, 3))
    to_state(rt, stalled, "analyzing")
    assert run_to_end(rt, finished) == "done"
    long_ago = repo.now() - timedelta(seconds=rt.settings.reconcile_after_s + 1)
    with transaction(rt.engine) as conn:
        old = analysis_runs.c.id.in_([stalled, finished])
        conn.execute(update(analysis_runs).where(old).values(updated_at=long_ago))

    assert reconcile_task() == 1
    assert sent == [(stalled, "gpu")]
    assert reconcile_task() == 0  # stamped: not sent again before another period
    assert sent == [(stalled, "gpu")]
    assert current_state(rt, moving) == "queued"


def test_an_unreachable_database_is_retried_with_a_growing_bounded_delay(
    worker_rt: tuple[Runtime, list[tuple[int, str]]],
) -> None:
    from workers.tasks import MAX_RETRIES, RETRY_CAP_S, retry_countdown, run_step

    rt, sent = worker_rt
    rt.engine = make_engine(f"postgresql://postgres@127.0.0.1:{free_port()}/gone")
    delays = []
    for retries in range(MAX_RETRIES):
        with pytest.raises(Retried) as retried:
            run_step(FakeTask(retries), 1, "cpu")
        delays.append(retried.value.countdown)
    assert all(5 * 2**n <= d <= 5 * 2**n * 1.25 for n, d in enumerate(delays)), delays
    assert all(retry_countdown(n) <= RETRY_CAP_S for n in range(100))
    assert sent == []


# --- 503 while the database is unreachable (Django's test client) -------------------------


@pytest.fixture
def down_rt(
    django_ready: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Runtime]:
    """The views' runtime, on a PostgreSQL server that is not there."""
    rt = runtime(f"postgresql://postgres@127.0.0.1:{free_port()}/gone", tmp_path, FixedGuard())
    monkeypatch.setattr("docanalysis.web.views.common.get_runtime", lambda: rt)
    yield rt
    rt.engine.dispose()


def _signed_in() -> Any:
    from django.contrib.auth.models import User
    from django.test import Client

    user, _ = User.objects.get_or_create(username=f"u{uuid.uuid4().hex[:8]}")
    client = Client()
    client.force_login(user)
    return client


def _text_file() -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("contract.txt", contract(1), content_type="text/plain")


def test_uploads_answer_503_with_retry_after_while_the_database_is_down(
    down_rt: Runtime,
) -> None:
    from django.test import Client

    api = Client(HTTP_AUTHORIZATION="Bearer dak_aaaaaaaa_" + "A" * 43)
    response = api.post("/api/v1/documents", {"file": _text_file(), "matter": "M-1"})
    assert (response.status_code, response["Retry-After"]) == (503, "5")
    error = response.json()["error"]
    assert (error["code"], error["request_id"]) == ("unavailable", response["X-Request-ID"])
    assert error["message"].startswith("The database is unavailable for a moment")

    browser = _signed_in()
    form = browser.post("/matters/1/documents/", {"files": _text_file()})
    assert (form.status_code, form["Retry-After"]) == (503, "5")
    assert "The database is unavailable for a moment, so nothing was saved." in form.text
    json = {"HTTP_ACCEPT": "application/json"}
    one = browser.post("/matters/1/documents/", {"files": _text_file()}, **json)
    assert (one.status_code, one["Retry-After"], one.json()["error"]) == (503, "5", "unavailable")


def test_a_page_whose_session_cannot_be_loaded_answers_503(
    django_ready: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.contrib.sessions.backends.db import SessionStore
    from django.db.utils import OperationalError
    from django.test import Client

    browser = _signed_in()

    def down(self: Any) -> dict[str, Any]:
        raise OperationalError("connection refused")

    monkeypatch.setattr(SessionStore, "load", down)
    page = browser.get("/")
    assert (page.status_code, page["Retry-After"]) == (503, "5")
    assert page["Content-Type"].startswith("text/html")
    assert Client().get("/login/").status_code == 200  # signing in again needs no session


# --- real workers: helpers -------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Callable[[], Any], timeout: float, what: str, every: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


class PrivateRedis:
    """A redis-server of the test's own, without persistence, that the test may kill."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        server = shutil.which("redis-server") or "/usr/bin/redis-server"
        command = [server, "--port", str(self.port)]
        command += ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        command += ["--dir", str(self.folder), "--logfile", str(self.folder / "redis.log")]
        self.proc = subprocess.Popen(command, start_new_session=True)
        wait_until(self._answers, 20, "redis-server")

    def _answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.ConnectionError:
            return False

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=5)

    def waiting(self) -> int:
        """Messages in the queues, and taken but not acknowledged."""
        client = self.client()
        return sum(int(client.llen(q)) for q in ("cpu", "gpu", "guard")) + int(
            client.hlen("unacked")
        )


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.kill()


@dataclass
class Fleet:
    """What the workers of one test share: the database, the broker, the files."""

    db_url: str
    broker: str
    folder: Path

    def env(self, **extra: str) -> dict[str, str]:
        (self.folder / "faults").mkdir(exist_ok=True)
        return {
            **os.environ,
            "DATABASE_URL": self.db_url,
            "CELERY_BROKER_URL": self.broker,
            "DOCANALYSIS_DATA_DIR": str(self.folder / "data"),
            "DOCANALYSIS_SCORER": "off",
            "DOCANALYSIS_OUTPUT_TOKENS": "64",
            "DOCANALYSIS_MAX_ATTEMPTS": "3",
            "DOCANALYSIS_RECONCILE_AFTER_S": "3600",  # off, unless a test is about it
            "DOCANALYSIS_SECRET_KEY": "test-secret-key-for-the-queue-fault-tests",
            "FAULT_DIR": str(self.folder / "faults"),
            "FAULT_SLOW_S": "1",
            "PYTHONPATH": str(REPO),
            **extra,
        }

    def settings(self, **extra: str) -> Settings:
        return load_settings(self.env(**extra))


class Worker:
    """`celery -A tests.support.fault_worker worker`: prefork, two pool processes, the three
    queues; in a process group of its own, so that it dies whole."""

    def __init__(self, env: Mapping[str, str], log: Path, beat: bool = False) -> None:
        self.log = log
        command = [sys.executable, "-m", "celery", "-A", "tests.support.fault_worker", "worker"]
        command += ["--pool", "prefork", "--concurrency", "2", "-Q", "cpu,gpu,guard"]
        command += ["--loglevel", "INFO", "--hostname", f"fault-{uuid.uuid4().hex[:8]}@%h"]
        command += ["--without-mingle", "--without-gossip"]
        if beat:
            command += ["--beat", "--schedule", str(log.with_suffix(".schedule"))]
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                command,
                env=dict(env),
                cwd=REPO,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self) -> None:
        wait_until(self._ready, 90, f"the worker ({self.log})")

    def _ready(self) -> bool:
        assert self.proc.poll() is None, self.text()[-3000:]
        return " ready." in self.text()

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL to the whole group: the main process, its pool, its scheduler."""
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(20)


class Workers:
    """The workers a test started, all killed when it ends, however it ends."""

    def __init__(self) -> None:
        self.started: list[Worker] = []

    def start(self, env: Mapping[str, str], log: Path, beat: bool = False) -> Worker:
        worker = Worker(env, log, beat)
        self.started.append(worker)
        worker.wait_ready()
        return worker


@contextmanager
def workers_of() -> Iterator[Workers]:
    workers = Workers()
    try:
        yield workers
    finally:
        for worker in workers.started:
            with _quietly():
                worker.kill()


def _quietly() -> suppress:
    return suppress(ProcessLookupError, subprocess.TimeoutExpired, AssertionError)


class BrokerQueue:
    """The web tier's enqueue (the first step, after the commit), onto the test's broker."""

    def __init__(self, settings: Settings) -> None:
        from celery import Celery

        from workers.app import configure

        self.app = configure(Celery("docanalysis-test-client"), settings)

    def enqueue_run(self, run_id: int) -> None:
        from workers.tasks import EXTRACT

        self.app.send_task(EXTRACT, args=[run_id], queue="cpu")


@contextmanager
def client_runtime(fleet: Fleet) -> Iterator[Runtime]:
    settings = fleet.settings()
    rt = build_runtime(settings, queue=BrokerQueue(settings))
    try:
        yield rt
    finally:
        rt.queue.app.close()  # type: ignore[attr-defined]
        rt.engine.dispose()


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
    fresh_pg_url: str, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    """Only acks_late with reject_on_worker_lost bring the message back (the reconciler is
    off here): with either turned off this test times out."""
    fleet = Fleet(fresh_pg_url, private_redis.url, tmp_path)
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
    fresh_pg_url: str, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    fleet = Fleet(fresh_pg_url, private_redis.url, tmp_path)
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
    fresh_pg_url: str, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    """Killed whole, the worker cannot hand its messages back: Redis keeps them aside for the
    visibility timeout (12 hours). The reconciler in the new worker's scheduler re-sends the
    runs that stopped moving."""
    fleet = Fleet(fresh_pg_url, private_redis.url, tmp_path)
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
    fresh_pg_url: str, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    fleet = Fleet(fresh_pg_url, private_redis.url, tmp_path)
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


class PrivatePostgres:
    """initdb into a temporary folder and pg_ctl, as the postgres user when run as root
    (PostgreSQL refuses to run as root)."""

    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            pytest.fail("PostgreSQL's server binaries are missing (/usr/lib/postgresql/*/bin)")
        self.bin = Path(found[-1]).parent
        self.folder = Path(tempfile.mkdtemp(prefix="docanalysis-pg-"))
        self.folder.chmod(0o755)
        self.as_owner: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
            self.as_owner = ["runuser", "-u", "postgres", "--"]
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/docanalysis"
        data = str(self.folder / "data")
        self._run("initdb", "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "-D", data)

    def _run(self, program: str, *args: str) -> None:
        command = [*self.as_owner, str(self.bin / program), *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        data, log = str(self.folder / "data"), str(self.folder / "server.log")
        self._run("pg_ctl", "-D", data, "-o", options, "-l", log, "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", mode, "-w", "stop")

    def create_database(self) -> None:
        admin = self.url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute("CREATE DATABASE docanalysis")

    def remove(self) -> None:
        with _quietly():
            self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    try:
        server.start()
        server.create_database()
        yield server
    finally:
        server.remove()


def _python(env: Mapping[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, *args],
        env=dict(env),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@contextmanager
def web_server(env: Mapping[str, str], log: Path) -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "docanalysis.wsgi:application", "--bind"]
    command += [f"127.0.0.1:{port}", "--workers", "1", "--timeout", "60"]
    web_env = {**env, "DJANGO_SETTINGS_MODULE": "docanalysis.settings"}
    with log.open("ab") as out:
        proc = subprocess.Popen(
            command,
            env=web_env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _answers(base) or proc.poll() is not None, 60, "the web server")
        assert proc.poll() is None, log.read_text()[-3000:]
        yield base
    finally:
        with _quietly():
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(20)


def _answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/login/", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


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
    _python(env, "-m", "docanalysis", "migrate")
    shown = _python(
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
