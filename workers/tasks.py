"""Celery tasks. Each takes a run id, re-reads the run's state, runs the step for it, and sends
the next step's task. The state lives in the database; a redelivered task finds the work done
and moves on, so the bodies are idempotent."""

from __future__ import annotations

import logging

from sqlalchemy.exc import OperationalError

from docanalysis.core.errors import ModelUnavailableError
from docanalysis.services.pipeline import fail
from docanalysis.services.runtime import get_runtime
from docanalysis.services.steps import QUEUE_FOR_STATE, advance, current_state
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
RETRYABLE = (ModelUnavailableError, OperationalError)
MAX_RETRIES = 5


def send_step(run_id: int, queue: str) -> None:
    app.send_task(TASK_FOR_QUEUE[queue], args=[run_id], queue=queue)


def run_step(task: object, run_id: int, queue: str) -> None:
    rt = get_runtime()
    state = current_state(rt, run_id)
    if state not in QUEUE_FOR_STATE:
        return  # gone or already final: nothing to do
    if QUEUE_FOR_STATE[state] != queue:
        send_step(run_id, QUEUE_FOR_STATE[state])  # a stale message: route it where it belongs
        return
    try:
        advance(rt, run_id, state)
    except RETRYABLE as exc:
        retries = task.request.retries  # type: ignore[attr-defined]
        if retries >= MAX_RETRIES:
            fail(
                rt,
                run_id,
                "the analysis service was unavailable; please try again later",
                "unavailable",
            )
            return
        raise task.retry(exc=exc, countdown=min(300, 5 * 2**retries)) from exc  # type: ignore[attr-defined]
    except Exception:
        log.exception("run %s failed in state %s", run_id, state)
        fail(
            rt,
            run_id,
            "an internal error stopped the analysis; it has been logged",
            "internal_error",
        )
        return
    new_state = current_state(rt, run_id)
    if new_state in QUEUE_FOR_STATE:
        send_step(run_id, QUEUE_FOR_STATE[new_state])


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
    signed = record_checkpoint(rt.engine, load_or_create_key(key_path), checkpoints_path(key_path))
    return "empty" if signed is None else f"{signed['seq']} {signed['hash']}"


@app.task(name=PURGE)
def retention_purge_task() -> int:
    """Purge the documents whose retention period ended (periodic); the number purged."""
    from docanalysis.services.retention import purge_expired

    return len(purge_expired(get_runtime()).purged)


@app.task(name=WEBHOOK_DELIVER)
def webhook_deliver_task(delivery_id: int) -> str:
    """One attempt at a webhook delivery, if it is still pending and due (a redelivered or
    duplicate message finds it delivered, or leased to another worker, and does nothing)."""
    from docanalysis.services.webhooks import deliver

    return deliver(get_runtime(), delivery_id) or "not due"


@app.task(name=WEBHOOK_SWEEP)
def webhook_sweep_task() -> int:
    """Send a task for every due webhook delivery (periodic): the outbox in the database, not
    the queue, says what remains to be sent. Each delivery is its own task, so one slow
    receiver does not hold up the others."""
    from docanalysis.services.webhooks import due_deliveries

    due = due_deliveries(get_runtime())
    for delivery_id in due:
        app.send_task(WEBHOOK_DELIVER, args=[delivery_id], queue="cpu")
    return len(due)


def reconcile() -> int:
    """Re-send every unfinished run (the queue may have lost messages: a Redis restart)."""
    from docanalysis.db import repositories as repo
    from docanalysis.db.engine import reading

    rt = get_runtime()
    with reading(rt.engine) as conn:
        run_ids = repo.unfinished_runs(conn)
    for run_id in run_ids:
        state = current_state(rt, run_id)
        if state in QUEUE_FOR_STATE:
            send_step(run_id, QUEUE_FOR_STATE[state])
    return len(run_ids)
