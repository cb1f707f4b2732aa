"""The Celery application, configured from docanalysis.config (never from Django).

Start a worker with: celery -A workers.app worker -Q cpu,gpu,guard
and the scheduler of the periodic jobs (audit checkpoint, retention purge, webhooks, stalled
runs) with:
celery -A workers.app beat
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from celery import Celery

from docanalysis.config import Settings, load_settings

QUEUES = ("cpu", "gpu", "guard")
WEBHOOK_SWEEP_INTERVAL_S = 30.0


def filesystem_broker_options(data_dir: Path) -> dict[str, Any]:
    """kombu's filesystem transport: a broker that needs no server (the embedded profile)."""
    queue_dir = data_dir / "broker" / "queue"
    processed_dir = data_dir / "broker" / "processed"
    control_dir = data_dir / "broker" / "control"  # kombu's default is ./control in the cwd
    for folder in (queue_dir, processed_dir, control_dir):
        folder.mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(queue_dir),
        "data_folder_out": str(queue_dir),
        "processed_folder": str(processed_dir),
        "control_folder": str(control_dir),
        "store_processed": False,
    }


def reconcile_interval_s(settings: Settings) -> float:
    """How often the scheduler looks for stalled runs: every fifth of the time a run may stand
    still, but at least once a minute and at most once a second."""
    return max(1.0, min(60.0, settings.reconcile_after_s / 5))


def configure(app: Celery, settings: Settings) -> Celery:
    options: dict[str, Any] = {}
    if settings.broker_url.startswith("filesystem"):
        options = filesystem_broker_options(settings.data_dir)
    elif settings.broker_url.startswith(("redis", "rediss")):
        # A long analysis must not be redelivered to a second worker while the first still runs.
        options = {"visibility_timeout": 12 * 3600}
    app.conf.update(
        broker_url=settings.broker_url,
        broker_transport_options=options,
        broker_connection_retry_on_startup=True,
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        task_ignore_result=True,
        # With both settings a task whose worker dies is redelivered, not lost; the task
        # bodies are idempotent for that reason.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue="cpu",
        task_create_missing_queues=True,
        worker_hijack_root_logger=False,
        # Run by `celery beat` (compose) or the worker's embedded scheduler (`docanalysis serve`).
        beat_schedule={
            "sign-audit-checkpoint": {
                "task": "docanalysis.audit_checkpoint",
                "schedule": float(settings.checkpoint_interval_s),
            },
            "purge-expired-documents": {
                "task": "docanalysis.retention_purge",
                "schedule": float(settings.retention_interval_s),
            },
            "send-due-webhooks": {
                "task": "docanalysis.webhook_sweep",
                "schedule": WEBHOOK_SWEEP_INTERVAL_S,
            },
            "resend-stalled-runs": {
                "task": "docanalysis.reconcile",
                "schedule": reconcile_interval_s(settings),
            },
        },
        beat_schedule_filename=str(settings.data_dir / "celerybeat-schedule"),
    )
    return app


app = configure(Celery("docanalysis", include=["workers.tasks"]), load_settings())
