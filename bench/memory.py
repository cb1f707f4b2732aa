"""Peak memory of a worker of the embedded profile with its model loaded, and of the web
process, against a bare process that loads only the model.

    .venv/bin/python bench/memory.py [--pdf FILE] [--timeout 420] [--json memory.json]

Peak resident memory is VmHWM in /proc/PID/status (the kernel's high-water mark of RSS), in
MiB, read while the process is still alive. Three things run side by side, each in its own
temporary data folder (SQLite, kombu's filesystem broker):

* worker: `celery -A workers.app worker` started as `docanalysis serve` starts it (queues cpu,
  gpu and guard, embedded beat, concurrency 1), analysing one short CUAD contract (--pdf) end
  to end: extraction in its sandbox, the bundled model, the guard, the clause scorer. Its
  main process and the children alive at the end are read once the run is final; the figure is
  the largest single process (the pool child that holds the model), the sum is printed too.
  The extraction's sandbox processes have ended by then; they run under their own memory limit
  (DOCANALYSIS_EXTRACT_MEMORY_MB).
* reference: a bare Python process that loads the bundled model with the product's own loader
  (docanalysis.llm.bundled.load_bundled: transformers, GGUF dequantized) and nothing else.
* web: gunicorn started as `docanalysis serve` starts it but with one worker (serve starts two,
  alike), so that one process serves everything: a sign-in, the matter, API-key and compliance
  pages, an upload through the API, reads of the document, its run and the list, the OpenAPI
  schema and its docs page. The figure is its largest process (the worker; the master is small).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from table import Row, format_table, write_rows  # noqa: E402

PDFS = REPO.parent / "shared" / "data" / "cuad" / "pdfs"
SHORT_CONTRACT = "PharmagenInc_20120803_8-KA_EX-10.1_7693204_EX-10.1_Endorsement Agreement.pdf"
WORKER_GOAL_MB, WEB_GOAL_MB = 1500.0, 300.0
USER, PASSWORD = "admin", "bench-memory-password"


def vm_hwm_mb(pid: int) -> float:
    """The process's peak resident memory (VmHWM), in MiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    assert match is not None, f"no VmHWM for {pid}"
    return int(match[1]) / 1024


def tree_peaks(pid: int) -> dict[int, float]:
    """VmHWM of the process and of each descendant still alive."""
    import psutil

    root = psutil.Process(pid)
    peaks = {}
    for process in [root, *root.children(recursive=True)]:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):  # ended meanwhile
            peaks[process.pid] = vm_hwm_mb(process.pid)
    return peaks


def profile_env(data_dir: Path) -> dict[str, str]:
    """The embedded profile in `data_dir`, whatever this shell's environment says."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    return {
        **env,
        "DOCANALYSIS_DATA_DIR": str(data_dir),
        "DJANGO_SETTINGS_MODULE": "docanalysis.settings",
        "PYTHONPATH": str(REPO),
    }


def stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate a process we started and every descendant it left."""
    import psutil

    try:
        leftovers = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        leftovers = []
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    for child in leftovers:
        if child.is_running():
            child.kill()


# --- the worker ------------------------------------------------------------------------------


def submit(data_dir: Path, pdf: Path) -> tuple[Any, int]:
    """The contract queued for analysis in `data_dir` (before the worker starts: it finds the
    message waiting); (the runtime, the document's id)."""
    os.environ.update(profile_env(data_dir))  # workers.app reads its broker from here
    from docanalysis.config import load_settings
    from docanalysis.db.migrate import upgrade_database
    from docanalysis.services.matters import ensure_matter
    from docanalysis.services.runtime import build_runtime
    from docanalysis.services.submit import submit_document
    from docanalysis.services.views import Actor

    settings = load_settings()
    upgrade_database(settings.database_url)
    rt = build_runtime(settings)
    actor = Actor(None, "bench")
    matter_id = ensure_matter(rt, actor, "Memory")
    submitted = submit_document(rt, actor, matter_id, pdf.name, pdf.read_bytes())
    return rt, submitted.document_id


def start_worker(data_dir: Path) -> subprocess.Popen[bytes]:
    # The command line of docanalysis.serving._children's worker.
    command = [sys.executable, "-m", "celery", "-A", "workers.app", "worker", "-Q",
               "cpu,gpu,guard", "--beat", "--concurrency", "1", "--loglevel", "WARNING",
               "--hostname", "docanalysis-bench@%h"]
    log = (data_dir / "worker.log").open("wb")
    return subprocess.Popen(command, env=profile_env(data_dir), stdout=log, stderr=log)


def wait_final(rt: Any, document_id: int, timeout: float) -> str:
    """The run's outcome and the seconds of its stages, once it is final (or the time is up)."""
    from docanalysis.services.queries import document_analysis

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        analysis = document_analysis(rt, None, document_id)
        status = analysis.document.status
        if status.final:
            seconds = analysis.usage.get("seconds", {})
            stages = ", ".join(f"{stage} {s:.0f} s" for stage, s in seconds.items())
            return f"{status.state} {status.reason}".strip() + f" ({stages})"
        time.sleep(1)
    return f"unfinished after {timeout:.0f} s ({status.state})"


# --- the reference ---------------------------------------------------------------------------


def reference_main() -> None:
    """In a bare process: load the bundled model, print its peak memory."""
    from docanalysis.llm.bundled import load_bundled

    load_bundled()
    print(json.dumps({"vm_hwm_mb": vm_hwm_mb(os.getpid())}), flush=True)


# --- the web ---------------------------------------------------------------------------------


def prepare_web_main() -> None:
    """In a process of its own (Django reads its settings once): both schemas, a user, a matter,
    an API key; prints the matter's id and the key."""
    from docanalysis.config import load_settings
    from docanalysis.serving import migrate_all

    settings = load_settings()
    migrate_all(settings)
    from django.contrib.auth import get_user_model

    from docanalysis.services.apikeys import create_key
    from docanalysis.services.matters import DEFAULT_TENANT, ensure_matter
    from docanalysis.services.runtime import get_runtime
    from docanalysis.services.views import Actor

    user = get_user_model().objects.create_superuser(USER, "", PASSWORD)
    actor = Actor(user.pk, USER)
    matter_id = ensure_matter(get_runtime(), actor, "Memory")
    key = create_key(get_runtime(), actor, DEFAULT_TENANT).secret
    print(json.dumps({"matter_id": matter_id, "key": key}), flush=True)


def start_web(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    # The command line of docanalysis.serving._children's web server, with one worker (serve
    # starts two): every request then lands in the process that is measured.
    command = [sys.executable, "-m", "gunicorn", "docanalysis.wsgi:application", "--bind",
               f"127.0.0.1:{port}", "--workers", "1", "--timeout", "120"]
    log = (data_dir / "web.log").open("wb")
    return subprocess.Popen(command, env=profile_env(data_dir), stdout=log, stderr=log)


def exercise_web(base: str, matter_id: int, key: str, pdf: Path) -> int:
    """Pages a user opens and calls a client makes; the number of requests."""
    import httpx

    with httpx.Client(base_url=base, timeout=60, follow_redirects=True) as browser:
        page = browser.get("/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert token is not None, page.text[:500]
        form = {"username": USER, "password": PASSWORD, "csrfmiddlewaretoken": token[1]}
        browser.post("/login/", data=form).raise_for_status()
        for url in ("/", f"/matters/{matter_id}/", "/admin/api-keys/", "/compliance/"):
            browser.get(url).raise_for_status()
    api = httpx.Client(base_url=base, timeout=60, headers={"Authorization": f"Bearer {key}"})
    with api:
        files = {"file": (pdf.name, pdf.read_bytes(), "application/pdf")}
        made = api.post("/api/v1/documents", files=files, data={"matter": str(matter_id)})
        made.raise_for_status()
        document_id, run_id = made.json()["id"], made.json()["run_id"]
        for url in (f"/api/v1/documents/{document_id}", f"/api/v1/runs/{run_id}",
                    "/api/v1/documents", "/api/v1/schema/", "/api/v1/docs/"):
            api.get(url).raise_for_status()
    return 4 + 4 + 6


def measure_web(data_dir: Path, pdf: Path) -> dict[int, float]:
    """VmHWM of the gunicorn processes after they served a user and a client."""
    import httpx

    env = profile_env(data_dir)
    prepared = subprocess.run(
        [sys.executable, __file__, "--prepare-web"], env=env, capture_output=True, check=True
    )
    setup = json.loads(prepared.stdout.decode().strip().splitlines()[-1])
    port = free_port()
    web = start_web(data_dir, port)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.5)
        requests = exercise_web(base, setup["matter_id"], setup["key"], pdf)
        peaks = tree_peaks(web.pid)
        print(f"web: {requests} requests served")
        return peaks
    finally:
        stop(web)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- all of it -------------------------------------------------------------------------------


def run(pdf: Path, timeout: float) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as folder:
        worker_dir, web_dir = Path(folder) / "worker", Path(folder) / "web"
        rt, document_id = submit(worker_dir, pdf)
        reference = subprocess.Popen(
            [sys.executable, __file__, "--reference"],
            env=profile_env(Path(folder) / "reference"),
            stdout=subprocess.PIPE,
        )
        started = time.monotonic()
        worker = start_worker(worker_dir)
        try:
            web = measure_web(web_dir, pdf)
            outcome = wait_final(rt, document_id, timeout)
            worker_peaks = tree_peaks(worker.pid)
        finally:
            stop(worker)
        print(f"worker: {pdf.name}: {outcome} in {time.monotonic() - started:.0f} s")
        out, _ = reference.communicate(timeout=timeout)
        bare = json.loads(out.decode().strip().splitlines()[-1])["vm_hwm_mb"]
    return report(worker_peaks, web, bare)


def report(worker: dict[int, float], web: dict[int, float], bare: float) -> list[Row]:
    print(
        f"worker processes (MiB): {', '.join(f'{v:.0f}' for v in sorted(worker.values()))}; "
        f"largest {max(worker.values()):.0f}, sum {sum(worker.values()):.0f}"
    )
    print(
        f"web processes (MiB): {', '.join(f'{v:.0f}' for v in sorted(web.values()))}; "
        f"largest {max(web.values()):.0f}, sum {sum(web.values()):.0f}"
    )
    print(f"bare process, the bundled model loaded: {bare:.0f} MiB")
    worker_peak, web_peak = max(worker.values()), max(web.values())
    return [
        Row("worker peak RSS MB (embedded model)", "MB", worker_peak, bare,
            "bare process, model loaded", f"< {WORKER_GOAL_MB:.0f}",
            worker_peak < WORKER_GOAL_MB),
        Row("web peak RSS MB", "MB", web_peak, None, "", f"< {WEB_GOAL_MB:.0f}",
            web_peak < WEB_GOAL_MB),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdf", type=Path, default=PDFS / SHORT_CONTRACT)
    parser.add_argument("--timeout", type=float, default=420, help="for the analysis, seconds")
    parser.add_argument("--json", help="write the figures' rows to this file (bench/table.py)")
    parser.add_argument("--reference", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--prepare-web", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reference:
        return reference_main()
    if args.prepare_web:
        return prepare_web_main()
    rows = run(args.pdf, args.timeout)
    print(format_table(rows))
    if args.json:
        write_rows(args.json, rows)


if __name__ == "__main__":
    main()
