"""Load test of the production profile on loopback, bounded, with the stub model and guard.

    .venv/bin/python loadtest/run.py                      # 20 users for 5 minutes (the target)
    .venv/bin/python loadtest/run.py --duration 60s       # a smoke run

It starts, all on 127.0.0.1 and all its own: a redis-server on a free port (the broker and the
rate limiter's cache), a fresh PostgreSQL database (migrated), one API key per simulated user,
gunicorn (`--web-workers`, sync workers as in docker-compose.yml), a Celery worker (prefork,
`--worker-concurrency`, queues cpu, gpu and guard) and Celery beat, with
DJANGO_SETTINGS_MODULE=docanalysis.settings.production, DOCANALYSIS_MODEL_BACKEND=stub and
DOCANALYSIS_GUARD_MODEL=stub. Then it runs loadtest/locustfile.py headless, waits (at most
`--drain-s`) until every document in the database has a final run, prints the figures, writes
them to OUT/summary.json, and stops everything and drops the database whatever happened.

Exit status 0 only if no request was answered 5xx (by the clients' count and gunicorn's access
log), every request got an answer, and every accepted document ended (done, failed or held).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import redis

REPO = Path(__file__).resolve().parents[1]
LOCUSTFILE = REPO / "loadtest" / "locustfile.py"
PYTHON = sys.executable
UPLOAD = "POST /api/v1/documents"  # as the locustfile reports it
POLL = "/api/v1/runs/[id]"
ACCESS_FORMAT = "%(s)s %(m)s %(U)s %(M)s"  # status, method, path, milliseconds (access_log)
FINAL_STATES = ("done", "failed", "held")  # docanalysis.db.tables.FINAL_STATES
ADMIN_URL = os.environ.get(
    "DOCANALYSIS_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
# One API key per simulated user, created through the service (audited like the CLI's).
KEYS_SCRIPT = """
import sys
from docanalysis.config import load_settings
from docanalysis.services.apikeys import create_key
from docanalysis.services.runtime import build_runtime
from docanalysis.services.views import Actor
from workers.queue import InProcessQueue

rt = build_runtime(load_settings(), queue=InProcessQueue())
actor = Actor(user_id=None, identity="cli:loadtest")
for i in range(int(sys.argv[1])):
    print(create_key(rt, actor, "loadtest", name=f"locust user {i}").secret)
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--spawn-rate", type=float, default=5.0, help="users started per second")
    parser.add_argument("--duration", default="5m", help="locust's --run-time: 60s, 5m")
    parser.add_argument("--drain-s", type=float, default=300.0, help="wait for runs to end")
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="default var/loadtest/<time>")
    parser.add_argument("--admin-url", default=ADMIN_URL, help="PostgreSQL, to create the DB")
    parser.add_argument(
        "--redis-url", default="", help="use this Redis (a db of your own) instead of starting one"
    )
    return parser.parse_args()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")


@contextmanager
def process(argv: list[str], log: Path, env: dict[str, str] | None = None) -> Iterator[Any]:
    """A child in its own process group; on exit SIGTERM to the group, SIGKILL after 30 s."""
    with log.open("ab") as out:
        child = subprocess.Popen(
            argv, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield child
    finally:
        _stop_group(child)


def _stop_group(child: subprocess.Popen[bytes]) -> None:
    for sig, grace in ((signal.SIGTERM, 30.0), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(child.pid, sig)
        except ProcessLookupError:
            return
        try:
            child.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            continue
        # The leader is gone; its group (gunicorn's or celery's children) may linger briefly.
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            try:
                os.killpg(child.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)


def start_redis(stack: ExitStack, out: Path) -> str:
    port = free_port()
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="loadtest-redis-")))
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    stack.enter_context(
        process([*argv, "--appendonly", "no", "--dir", str(folder)], out / "redis.log")
    )
    url = f"redis://127.0.0.1:{port}/0"

    def answers() -> bool:
        try:
            return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    wait_for(answers, 30, "redis-server")
    return url


def create_database(stack: ExitStack, admin_url: str) -> str:
    name = f"docanalysis_load_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f"CREATE DATABASE {name}")

    def drop() -> None:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    stack.callback(drop)
    return admin_url.rsplit("/", 1)[0] + "/" + name


def profile_env(database_url: str, broker_url: str, data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url,
        "DOCANALYSIS_DATA_DIR": str(data_dir),
        "DJANGO_SETTINGS_MODULE": "docanalysis.settings.production",
        "DOCANALYSIS_SSL_REDIRECT": "0",  # plain HTTP on loopback: no TLS proxy in front
        "DOCANALYSIS_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DOCANALYSIS_SECRET_KEY": secrets.token_urlsafe(48),
        "DOCANALYSIS_MODEL_BACKEND": "stub",
        "DOCANALYSIS_GUARD_MODEL": "stub",
    }


def prepare(env: dict[str, str], users: int, out: Path) -> Path:
    """Migrate the database and write one API key per user to OUT/keys (mode 0600)."""
    subprocess.run([PYTHON, "-m", "docanalysis", "migrate"], env=env, cwd=REPO, check=True)
    made = subprocess.run(
        [PYTHON, "-c", KEYS_SCRIPT, str(users)],
        env=env,
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    )
    keys = out / "keys"
    keys.touch(mode=0o600)
    keys.write_text(made.stdout)
    return keys


def start_profile(
    stack: ExitStack, env: dict[str, str], args: argparse.Namespace, out: Path
) -> str:
    port = free_port()
    web = [
        PYTHON, "-m", "gunicorn", "docanalysis.wsgi:application",
        "--bind", f"127.0.0.1:{port}", "--workers", str(args.web_workers), "--timeout", "120",
        "--access-logfile", str(out / "access.log"), "--access-logformat", ACCESS_FORMAT,
    ]  # fmt: skip
    worker = [
        PYTHON, "-m", "celery", "-A", "workers.app", "worker", "-Q", "cpu,gpu,guard",
        "--pool", "prefork", "--concurrency", str(args.worker_concurrency),
        "--loglevel", "INFO", "--hostname", f"loadtest-{port}@%h",
    ]  # fmt: skip
    beat = [PYTHON, "-m", "celery", "-A", "workers.app", "beat", "--loglevel", "INFO"]
    stack.enter_context(process(worker, out / "worker.log", env))
    stack.enter_context(process(beat, out / "beat.log", env))
    stack.enter_context(process(web, out / "web.log", env))
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: _healthy(base), 120, "gunicorn")
    wait_for(lambda: b" ready." in (out / "worker.log").read_bytes(), 120, "the Celery worker")
    return base


def _healthy(base: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def run_locust(args: argparse.Namespace, base: str, keys: Path, out: Path) -> int:
    env = {
        **os.environ,
        "LOADTEST_KEYS_FILE": str(keys),
        "LOADTEST_REPORT": str(out / "report.json"),
    }
    argv = [
        PYTHON, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
        "-u", str(args.users), "-r", str(args.spawn_rate), "-t", args.duration,
        "--host", base, "--csv", str(out / "locust"), "--only-summary",
    ]  # fmt: skip
    with (out / "locust.log").open("wb") as log:
        done = subprocess.run(argv, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    return done.returncode


def run_states(database_url: str) -> tuple[Counter[str], int]:
    """Each document's latest run by state, and the number of documents."""
    query = """
        SELECT r.state, count(*) FROM analysis_runs r
        WHERE r.id = (SELECT max(id) FROM analysis_runs WHERE document_id = r.document_id)
        GROUP BY r.state
    """
    with psycopg.connect(database_url, connect_timeout=5) as conn:
        states = Counter({str(s): int(n) for s, n in conn.execute(query)})
        documents = conn.execute("SELECT count(*) FROM documents").fetchone()
    return states, int(documents[0]) if documents else 0


def drain(database_url: str, limit_s: float) -> tuple[float, Counter[str], int]:
    """Wait until every document's run is final (or the limit passes): seconds, states, docs."""
    started = time.monotonic()
    while True:
        states, documents = run_states(database_url)
        pending = sum(n for s, n in states.items() if s not in FINAL_STATES)
        if pending == 0 or time.monotonic() - started > limit_s:
            return time.monotonic() - started, states, documents
        time.sleep(1)


def percentile(values: list[float], share: float) -> float:
    """Nearest rank: the smallest value with at least `share` of the values at or below it."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))
    return ordered[int(rank) - 1]


def access_log(path: Path) -> tuple[Counter[int], list[float], list[float]]:
    """gunicorn's view: status counts, and the server time of accepted uploads and of polls."""
    codes: Counter[int] = Counter()
    uploads: list[float] = []
    polls: list[float] = []
    for line in path.read_text(errors="replace").splitlines():
        parts = line.split()
        if len(parts) != 4 or not parts[0].isdigit():
            continue
        status, method, url, ms = int(parts[0]), parts[1], parts[2], float(parts[3])
        codes[status] += 1
        if method == "POST" and url == "/api/v1/documents" and status == 202:
            uploads.append(ms)
        elif method == "GET" and url.startswith("/api/v1/runs/"):
            polls.append(ms)
    return codes, uploads, polls


def locust_stats(path: Path) -> dict[str, dict[str, str]]:
    import csv

    with path.open(newline="") as f:
        return {f"{row['Type']} {row['Name']}".strip(): row for row in csv.DictReader(f)}


def summarize(
    args: argparse.Namespace, out: Path, drained: tuple[float, Counter[str], int], locust_rc: int
) -> dict[str, Any]:
    report = json.loads((out / "report.json").read_text())
    status = Counter({k: int(v) for k, v in report["status"].items()})
    times: dict[str, list[float]] = report["times_ms"]
    codes, server_uploads, server_polls = access_log(out / "access.log")
    drain_s, states, documents = drained
    uploads = times.get(UPLOAD, [])
    polls = times.get(f"GET {POLL}", [])

    def spread(values: list[float]) -> dict[str, float]:
        return {f"p{int(q * 100)}": round(percentile(values, q), 1) for q in (0.5, 0.95, 0.99)}

    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()}: {os.cpu_count()} cores, {platform.platform()}",
        "users": args.users,
        "duration": args.duration,
        "web_workers": args.web_workers,
        "worker_concurrency": args.worker_concurrency,
        "requests": sum(status.values()),
        "requests_by_status": dict(sorted(status.items())),
        "client_5xx": sum(n for k, n in status.items() if k.rsplit(" ", 1)[1].startswith("5")),
        "server_5xx": sum(n for code, n in codes.items() if code >= 500),
        "no_answer": sum(report["errors"].values()),
        "failures": sum(n for k, n in status.items() if not k.rsplit(" ", 1)[1].startswith("2")),
        "upload_ack_ms": {"count": len(uploads), **spread(uploads)},
        "upload_ack_ms_server": {"count": len(server_uploads), **spread(server_uploads)},
        "poll_ms": {"count": len(polls), **spread(polls)},
        "poll_ms_server": {"count": len(server_polls), **spread(server_polls)},
        "documents_accepted": len(report["accepted"]),
        "documents_in_database": documents,
        "documents_final_seen_by_clients": len(report["final"]),
        "documents_terminal": sum(n for s, n in states.items() if s in FINAL_STATES),
        "runs_by_state": dict(sorted(states.items())),
        "drain_s": round(drain_s, 1),
        "locust_exit_code": locust_rc,
    }


def verdict(summary: dict[str, Any]) -> list[str]:
    """What makes the run fail; empty when it passed."""
    problems = []
    if summary["client_5xx"] or summary["server_5xx"]:
        problems.append(
            f"5xx answers: {summary['client_5xx']} seen, {summary['server_5xx']} logged"
        )
    if summary["no_answer"]:
        problems.append(f"{summary['no_answer']} requests got no answer")
    if summary["documents_terminal"] != summary["documents_in_database"]:
        problems.append(
            f"{summary['documents_in_database'] - summary['documents_terminal']} documents "
            f"not final after {summary['drain_s']} s: {summary['runs_by_state']}"
        )
    if summary["documents_accepted"] > summary["documents_in_database"]:
        problems.append("documents the server accepted are missing from the database")
    if not summary["documents_accepted"]:
        problems.append("no document was accepted")
    return problems


def show(summary: dict[str, Any], problems: list[str]) -> None:
    up, ups, poll = summary["upload_ack_ms"], summary["upload_ack_ms_server"], summary["poll_ms"]
    lines = [
        f"load test {summary['date']} on {summary['machine']}",
        f"  {summary['users']} users for {summary['duration']}; gunicorn {summary['web_workers']}"
        f" workers, Celery prefork concurrency {summary['worker_concurrency']}",
        f"  requests {summary['requests']}, failures {summary['failures']}, "
        f"5xx {summary['client_5xx']} (gunicorn's log: {summary['server_5xx']}), "
        f"no answer {summary['no_answer']}",
        f"  upload acknowledgement ms (client, {up['count']} accepted): p50 {up['p50']}, "
        f"p95 {up['p95']}, p99 {up['p99']}; server: p50 {ups['p50']}, p95 {ups['p95']}, "
        f"p99 {ups['p99']}",
        f"  polling ms (client, {poll['count']}): p50 {poll['p50']}, p95 {poll['p95']}, "
        f"p99 {poll['p99']}",
        f"  documents accepted {summary['documents_accepted']}, in the database "
        f"{summary['documents_in_database']}, terminal {summary['documents_terminal']} "
        f"{summary['runs_by_state']}; drained {summary['drain_s']} s after the load stopped",
        f"  by status: {summary['requests_by_status']}",
        "PASSED" if not problems else "FAILED: " + "; ".join(problems),
    ]
    print("\n".join(lines), flush=True)


def main() -> int:
    args = parse_args()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = (args.out or REPO / "var" / "loadtest" / stamp).resolve()
    out.mkdir(parents=True, exist_ok=True)
    print(f"logs and figures: {out}", flush=True)
    with ExitStack() as stack:
        broker = args.redis_url or start_redis(stack, out)
        database_url = create_database(stack, args.admin_url)
        data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="loadtest-")))
        env = profile_env(database_url, broker, data_dir)
        keys = prepare(env, args.users, out)
        stack.callback(keys.unlink, missing_ok=True)
        base = start_profile(stack, env, args, out)
        print(f"production profile up at {base}; locust: {args.users} users, {args.duration}")
        locust_rc = run_locust(args, base, keys, out)
        drained = drain(database_url, args.drain_s)
        summary = summarize(args, out, drained, locust_rc)
        problems = verdict(summary)
        (out / "summary.json").write_text(json.dumps({**summary, "problems": problems}, indent=2))
    show(summary, problems)  # after the teardown: its logs do not bury the figures
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
