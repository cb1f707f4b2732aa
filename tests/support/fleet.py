"""Real processes for the fault and isolation tests: a Redis and a PostgreSQL server of the
test's own (which it may kill), Celery workers running the product's tasks with the stand-in
model (tests/support/fault_worker.py), and a gunicorn web server; each started in a process
group of its own and always stopped."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis

from docanalysis.config import Settings, load_settings
from docanalysis.services.runtime import Runtime, build_runtime
from tests.conftest import REPO


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
    """What the workers of one test share: the database, the broker, the files. The servers
    and workers log in as `app_db_url` where given (the application's unprivileged role, under
    row-level security); the test itself, through settings(), as `db_url`."""

    db_url: str
    broker: str
    folder: Path
    app_db_url: str | None = None

    def env(self, **extra: str) -> dict[str, str]:
        (self.folder / "faults").mkdir(exist_ok=True)
        return {
            **os.environ,
            "DATABASE_URL": self.app_db_url or self.db_url,
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
        return load_settings({**self.env(**extra), "DATABASE_URL": self.db_url})


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
            with quietly():
                worker.kill()


def quietly() -> suppress:
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
        with quietly():
            self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


def python_run(env: Mapping[str, str], *args: str) -> str:
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
        wait_until(lambda: answers(base) or proc.poll() is not None, 60, "the web server")
        assert proc.poll() is None, log.read_text()[-3000:]
        yield base
    finally:
        with quietly():
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(20)


def answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/login/", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
