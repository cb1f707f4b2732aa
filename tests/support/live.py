"""The web app served in this process on 127.0.0.1 (a thread), for browser tests of the pages'
behaviour that need no real model: its runtime has the fake keyword model and a guard that
releases everything, and `live.analyze()` runs every queued analysis to its end in a moment.

Use it with the e2e `browser`/`page` fixtures: `from tests.support.live import live` in a test
module under tests/e2e. Users are Django users in the session's test database; the runtime's
domain database is a SQLite file of the module's own.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from docanalysis.config import load_settings
from docanalysis.db.migrate import upgrade_database
from docanalysis.services.runtime import Runtime, build_runtime
from docanalysis.services.steps import run_to_end
from tests.support.fakes import FixedGuard, KeywordModel
from tests.support.web import RecordingQueue

PASSWORD = "live-Correct-horse-9"


@dataclass
class Live:
    url: str
    rt: Runtime
    users: list[str] = field(default_factory=list)

    def user(self, name: str) -> str:
        """A new user with PASSWORD; returns the user name (unique within the session)."""
        from django.contrib.auth.models import User

        username = f"{name}-{len(self.users) + 1}-{os.getpid()}"
        User.objects.create_user(username, f"{username}@firm.example", PASSWORD)
        self.users.append(username)
        return username

    def analyze(self) -> list[str]:
        """Run every analysis queued so far to its end; their final states, in order."""
        queue: RecordingQueue = self.rt.queue  # type: ignore[assignment]
        states = []
        while queue.run_ids:  # pop: the server's threads may append meanwhile
            states.append(run_to_end(self.rt, queue.run_ids.pop(0)))
        return states

    @contextmanager
    def worker(self, every_s: float = 0.5) -> Iterator[None]:
        """A worker thread that runs what is queued, so a page can watch it finish."""
        stop = threading.Event()

        def work() -> None:
            while not stop.wait(every_s):
                self.analyze()

        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=30)

    def sign_in(self, page: Any, username: str) -> None:
        page.goto(f"{self.url}/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{self.url}/")


def _runtime(data_dir: Path) -> Runtime:
    url = f"sqlite:///{data_dir / 'docanalysis.sqlite3'}"
    settings = load_settings(
        {
            "DATABASE_URL": url,
            "DOCANALYSIS_DATA_DIR": str(data_dir),
            "DOCANALYSIS_OUTPUT_TOKENS": "64",
            "DOCANALYSIS_SCORER": "off",
        }
    )
    upgrade_database(url)
    rt = build_runtime(settings, queue=RecordingQueue())
    rt.model = KeywordModel(4096)  # type: ignore[misc]
    rt.guard = FixedGuard("safe")  # type: ignore[misc]
    return rt


@pytest.fixture(scope="module")
def live(django_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    rt = _runtime(tmp_path_factory.mktemp("live-data"))

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler, allow_reuse_address=False)
    server.set_app(get_wsgi_application())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("docanalysis.web.views.common.get_runtime", lambda: rt)
        # Playwright's sync API keeps an event loop running in this thread; Django refuses
        # ORM calls from such a thread unless told that this is intended (users, here).
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        thread.start()
        try:
            yield Live(f"http://127.0.0.1:{server.server_address[1]}", rt)
        finally:
            server.shutdown()
            server.server_close()
            rt.engine.dispose()
