"""The RunQueue adapter the services use: sends the first step's task by name."""

from __future__ import annotations

from docanalysis.config import Settings


class CeleryRunQueue:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def enqueue_run(self, run_id: int) -> None:
        # Imported here so that building a runtime (web, CLI) never configures Celery early.
        from workers.tasks import send_step

        send_step(run_id, "cpu")


class InProcessQueue:
    """For the CLI and tests that drive the steps themselves: enqueue nothing."""

    def enqueue_run(self, run_id: int) -> None:
        return None
