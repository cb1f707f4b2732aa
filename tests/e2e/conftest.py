"""The real product as a subprocess (`docanalysis serve` on the embedded profile, in a temporary
data directory) and headless Debian Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
RESULTS = REPO / "test-results"
USERNAME, PASSWORD = "lawyer", "e2e-Correct-horse-9"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _product_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env.update(
        DOCANALYSIS_DATA_DIR=str(data_dir),
        DOCANALYSIS_OUTPUT_TOKENS="256",
        DJANGO_SETTINGS_MODULE="docanalysis.settings",
        PYTHONUNBUFFERED="1",
    )
    return env


def _wait_until_up(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"docanalysis serve exited ({proc.returncode}):\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(
        f"docanalysis serve did not answer {url} in {timeout:.0f} s:\n{log.read_text()}"
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's own process group (web server and worker), SIGKILL if it lingers."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def product(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A migrated data dir with one user, and `docanalysis serve` answering on a free port."""
    data_dir = tmp_path_factory.mktemp("e2e-data")
    env = _product_env(data_dir)
    subprocess.run([BIN / "docanalysis", "migrate"], env=env, check=True, cwd=REPO, timeout=300)
    user_env = dict(
        env,
        DJANGO_SUPERUSER_USERNAME=USERNAME,
        DJANGO_SUPERUSER_EMAIL="lawyer@firm.example",
        DJANGO_SUPERUSER_PASSWORD=PASSWORD,
    )
    subprocess.run(
        [sys.executable, "manage.py", "createsuperuser", "--noinput"],
        env=user_env,
        check=True,
        cwd=REPO,
        timeout=120,
    )
    port = _free_port()
    log = data_dir / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [BIN / "docanalysis", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so _stop ends the worker too
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(f"{base_url}/login/", proc, log, timeout=180)
        yield {"url": base_url, "env": env, "log": log}
    finally:
        _stop(proc)


# Module scope: Playwright's sync API runs an event loop in this thread while it is open, and
# Django refuses database calls from a thread with a running loop (the web tests that follow).
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium is missing: run `make browser` (Debian's chromium package)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session")
def results_dir() -> Path:
    RESULTS.mkdir(exist_ok=True)
    return RESULTS


# The app served in this process with the fake model (tests/support/live.py), for the tests of
# the pages' behaviour.
from tests.support.live import live  # noqa: E402, F401
