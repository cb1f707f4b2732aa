"""Queue faults, the mechanisms, in process, on each dialect: one worker at a time holds a run
(a duplicate message cannot make two results), crashes are counted until the run fails as
"poison", stalled runs are re-sent, an unreachable database is retried with a bounded delay and
answered with 503 and Retry-After. The faults themselves, with real processes, are in
test_worker_faults.py (DESIGN.md, principle 4: nothing is lost when a process dies).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import func, select, update

from docanalysis.core.types import Completion, Message
from docanalysis.db import repositories as repo
from docanalysis.db.audit import read_events, verify_chain
from docanalysis.db.engine import make_engine, reading, transaction
from docanalysis.db.tables import FINAL_STATES, analysis_runs, findings
from docanalysis.services.matters import create_matter
from docanalysis.services.pipeline import POISON_REASON, begin_attempt
from docanalysis.services.runtime import Runtime
from docanalysis.services.steps import advance, current_state, run_to_end
from docanalysis.services.submit import submit_document
from docanalysis.services.views import Actor
from tests.integration.test_pipeline import runtime
from tests.support.fakes import FixedGuard, KeywordModel
from tests.support.fault_worker import CRASH_EVERY_TIME, contract
from tests.support.fleet import (
    free_port,
)

ALICE = Actor(user_id=1, identity="alice <alice@firm.example>")
ADMIN = Actor(user_id=None, identity="cli:admin")
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
