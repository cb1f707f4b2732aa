"""Celery tasks. Each takes a run id, re-reads the run's state, runs the step for it, and sends
the next step's task. The state lives in the database; a redelivered task finds the work done
and moves on, so the bodies are idempotent.

Faults (DESIGN.md, "nothing is lost"):
- a worker process killed mid-step: the message was not acknowledged (acks_late with
  reject_on_worker_lost), so it is delivered again and the step resumes from the database;
- the same step crashing its worker every time: each delivery is counted in the database before
  the step runs, and after DOCANALYSIS_MAX_ATTEMPTS crashes in a row the run fails as "poison";
- a message the broker lost (Redis restarted without persistence, a worker killed whole with
  its messages still reserved): the periodic reconciler re-sends every run that has not moved
  for DOCANALYSIS_RECONCILE_AFTER_S;
- the database unreachable: the step is retried with a growing, bounded delay;
- two messages for the same run (a duplicate from the reconciler): one worker at a time holds a
  run (run_lock); the other message finds it held and is dropped, or finds it moved on.
"""

from __future__ import annotations

import logging
import random

from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError

from docanalysis.core.errors import ModelUnavailableError
from docanalysis.db.run_lock import run_lock
from docanalysis.db.tenancy import EVERY, scope_of, tenant_scope
from docanalysis.services.pipeline import begin_attempt, end_attempt, fail
from docanalysis.services.runtime import Runtime, get_runtime
from docanalysis.services.steps import (
    QUEUE_FOR_STATE,
    advance,
    current_state,
    run_status,
    stalled_runs,
)
from workers.app import app

log = logging.getLogger(__name__)

EXTRACT = "docanalysis.extract"  # queue cpu: extraction and windowing
ANALYZE = "docanalysis.analyze"  # queue gpu: the model
GUARD = "docanalysis.guard"  # queue guard: the safety screen
TASK_FOR_QUEUE = {"cpu": EXTRACT, "gpu": ANALYZE, "guard": GUARD}
CHECKPOINT = "docanalysis.audit_checkpoint"  # periodic, queue cpu
PURGE = "docanalysis.retention_purge"  # periodic, queue cpu
WEBHOOK_DELIVER = "docanalysis.webhook_deliver"  # queue cpu: one webhook delivery
WEBHOOK_SWEEP = "docanalysis.webhook_sweep"  # periodic, queue cpu: sends what is due
RECONCILE = "docanalysis.reconcile"  # periodic, queue cpu: re-sends stalled runs
# The model server or the database unreachable (down, restarting, a connection cut).
RETRYABLE = (ModelUnavailableError, OperationalError, InterfaceError)
MAX_RETRIES = 5
RETRY_BASE_S = 5.0
RETRY_CAP_S = 300.0


def send_step(run_id: int, queue: str) -> None:
    app.send_task(TASK_FOR_QUEUE[queue], args=[run_id], queue=queue)


def retry_countdown(retries: int) -> float:
    """Seconds before retry number `retries` + 1: 5 s doubling, with up to a quarter more at
    random (the tasks an outage stopped do not all return in the same second), never more
    than RETRY_CAP_S."""
    base = RETRY_BASE_S * 2 ** min(retries, 16)
    return round(min(RETRY_CAP_S, base * (1 + random.uniform(0, 0.25))), 1)


def run_step(task: object, run_id: int, queue: str) -> None:
    rt = get_runtime()
    try:
        with (
            scope_of(rt.engine, "run", run_id),
            run_lock(rt.engine, rt.settings.data_dir, run_id) as held,
        ):
            if held:
                step_once(rt, run_id, queue)
    except RETRYABLE as exc:
        retries = task.request.retries  # type: ignore[attr-defined]
        if retries >= MAX_RETRIES:
            with scope_of(rt.engine, "run", run_id):
                fail(
                    rt,
                    run_id,
                    "the analysis service was unavailable; please try again later",
                    "unavailable",
                )
            return
        raise task.retry(exc=exc, countdown=retry_countdown(retries)) from exc  # type: ignore[attr-defined]


def step_once(rt: Runtime, run_id: int, queue: str) -> None:
    """The step for the run's state, if this queue runs it, with this process holding the run."""
    status = run_status(rt, run_id)
    if status is None or status.state not in QUEUE_FOR_STATE:
        return  # gone or already final: nothing to do
    state = status.state
    if QUEUE_FOR_STATE[state] != queue:
        # A stale message. Whoever moved the run on sent the next step, unless its worker died
        # between that commit and the send (its delivery is still counted): then send it here.
        if status.attempts:
            send_step(run_id, QUEUE_FOR_STATE[state])
        return
    if not begin_attempt(rt, run_id, state, rt.settings.max_attempts):
        return  # failed as poison, or moved on meanwhile
    try:
        advance(rt, run_id, state)
    except RETRYABLE:
        _end_attempt_if_possible(rt, run_id)
        raise
    except Exception:
        log.exception("run %s failed in state %s", run_id, state)
        fail(
            rt,
            run_id,
            "an internal error stopped the analysis; it has been logged",
            "internal_error",
        )
        return
    end_attempt(rt, run_id)
    new_state = current_state(rt, run_id)
    if new_state in QUEUE_FOR_STATE:
        send_step(run_id, QUEUE_FOR_STATE[new_state])


def _end_attempt_if_possible(rt: Runtime, run_id: int) -> None:
    # The database may be what failed; then the delivery stays counted (one crash too many at
    # worst), and the retry goes ahead.
    try:
        end_attempt(rt, run_id)
    except SQLAlchemyError:
        log.warning("run %s: could not record the end of its attempt", run_id)


@app.task(name=EXTRACT, bind=True, max_retries=MAX_RETRIES)
def extract_task(self: object, run_id: int) -> None:
    run_step(self, run_id, "cpu")


@app.task(name=ANALYZE, bind=True, max_retries=MAX_RETRIES)
def analyze_task(self: object, run_id: int) -> None:
    run_step(self, run_id, "gpu")


@app.task(name=GUARD, bind=True, max_retries=MAX_RETRIES)
def guard_task(self: object, run_id: int) -> None:
    run_step(self, run_id, "guard")


@app.task(name=CHECKPOINT)
def audit_checkpoint_task() -> str:
    """Sign the audit chain's head (periodic): a later rewrite of the whole chain then shows."""
    from docanalysis.audit_signing import checkpoints_path, load_or_create_key
    from docanalysis.services.audit_export import record_checkpoint

    rt = get_runtime()
    key_path = rt.settings.audit_key
    with tenant_scope(EVERY):
        signed = record_checkpoint(
            rt.engine, load_or_create_key(key_path), checkpoints_path(key_path)
        )
    return "empty" if signed is None else f"{signed['seq']} {signed['hash']}"


@app.task(name=PURGE)
def retention_purge_task() -> int:
    """Purge the documents whose retention period ended (periodic); the number purged."""
    from docanalysis.services.retention import purge_expired

    with tenant_scope(EVERY):
        return len(purge_expired(get_runtime()).purged)


@app.task(name=WEBHOOK_DELIVER)
def webhook_deliver_task(delivery_id: int) -> str:
    """One attempt at a webhook delivery, if it is still pending and due (a redelivered or
    duplicate message finds it delivered, or leased to another worker, and does nothing)."""
    from docanalysis.services.webhooks import deliver

    rt = get_runtime()
    with scope_of(rt.engine, "delivery", delivery_id):
        return deliver(rt, delivery_id) or "not due"


@app.task(name=WEBHOOK_SWEEP)
def webhook_sweep_task() -> int:
    """Send a task for every due webhook delivery (periodic): the outbox in the database, not
    the queue, says what remains to be sent. Each delivery is its own task, so one slow
    receiver does not hold up the others."""
    from docanalysis.services.webhooks import due_deliveries

    with tenant_scope(EVERY):
        due = due_deliveries(get_runtime())
    for delivery_id in due:
        app.send_task(WEBHOOK_DELIVER, args=[delivery_id], queue="cpu")
    return len(due)


@app.task(name=RECONCILE)
def reconcile_task() -> int:
    """Re-send every run that is not final and has not moved for DOCANALYSIS_RECONCILE_AFTER_S
    (periodic): the database, not the queue, says what remains to be done. A copy of a message
    that was not lost is harmless: it finds the run held or moved on."""
    rt = get_runtime()
    with tenant_scope(EVERY):
        stalled = stalled_runs(rt, rt.settings.reconcile_after_s)
    for run_id, state in stalled:
        send_step(run_id, QUEUE_FOR_STATE[state])
    if stalled:
        log.info("re-sent %d stalled runs", len(stalled))
    return len(stalled)


def reconcile() -> int:
    """Re-send every unfinished run (the queue may have lost messages: a Redis restart)."""
    from docanalysis.db import repositories as repo
    from docanalysis.db.engine import reading

    rt = get_runtime()
    with tenant_scope(EVERY):
        with reading(rt.engine) as conn:
            run_ids = repo.unfinished_runs(conn)
        for run_id in run_ids:
            state = current_state(rt, run_id)
            if state in QUEUE_FOR_STATE:
                send_step(run_id, QUEUE_FOR_STATE[state])
    return len(run_ids)
