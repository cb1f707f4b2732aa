"""The Celery app of the queue-fault tests: the product's app and tasks (workers.app,
workers.tasks) as they are, except that the runtime gets a fast, deterministic stand-in for
the model and the guard, and the stand-in model misbehaves on cue.

Start it as the product's worker is started, with this module instead of workers.app:

    celery -A tests.support.fault_worker worker --pool prefork -Q cpu,gpu,guard

A document whose text contains
- CRASH_EVERY_TIME kills the worker process that analyzes it (SIGKILL), every time;
- CRASH_ONCE kills it the first time only (a marker file in $FAULT_DIR remembers);
- SLOW takes $FAULT_SLOW_S seconds (default 1) per model call, so a test can act mid-batch.
"""

from __future__ import annotations

import hashlib
import os
import signal
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from celery.signals import worker_process_init

import docanalysis.services.runtime as runtime_module
import workers.tasks  # noqa: F401  (registers the tasks)
from docanalysis.config import Settings
from docanalysis.core.types import Completion, Message
from tests.support.fakes import FixedGuard, KeywordModel
from workers.app import app

CRASH_EVERY_TIME = "CRASH-EVERY-TIME"
CRASH_ONCE = "CRASH-ONCE"
SLOW = "SLOW-ANALYSIS"

# A killed pool process is reported lost after this long (Celery's default is 10 s: the time a
# dead process's result may still be on its way). Only the wait is shorter; what happens to the
# message then (rejected and delivered again) is the product's configuration.
app.conf.worker_lost_wait = 1.0


class FaultModel(KeywordModel):
    """The keyword model, dying or dawdling on cue."""

    def complete_json(
        self, messages: Sequence[Message], schema: Mapping[str, Any], max_tokens: int
    ) -> Completion:
        prompt = messages[-1].content
        if CRASH_EVERY_TIME in prompt or (CRASH_ONCE in prompt and _first_time(prompt)):
            os.kill(os.getpid(), signal.SIGKILL)
        if SLOW in prompt:
            time.sleep(float(os.environ.get("FAULT_SLOW_S") or 1))
        self.calls.clear()  # a long-lived worker keeps no history
        return super().complete_json(messages, schema, max_tokens)


def _first_time(prompt: str) -> bool:
    folder = Path(os.environ["FAULT_DIR"])
    marker = folder / f"crashed-{hashlib.sha256(prompt.encode()).hexdigest()[:16]}"
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


_build_runtime = runtime_module.build_runtime


def _build_with_stand_ins(
    settings: Settings, queue: runtime_module.RunQueue | None = None
) -> runtime_module.Runtime:
    rt = _build_runtime(settings, queue)
    rt.model = FaultModel()  # type: ignore[misc]
    rt.guard = FixedGuard("safe")  # type: ignore[misc]
    return rt


@worker_process_init.connect
def _use_stand_ins(**_: Any) -> None:
    """In each pool process of a worker (never in a test process that imports the cues):
    get_runtime() builds the process's runtime through this module attribute."""
    runtime_module.build_runtime = _build_with_stand_ins
    runtime_module.reset_runtime()


__all__ = ["CRASH_EVERY_TIME", "CRASH_ONCE", "SLOW", "app"]


CONTRACT = (
    "SUPPLY AGREEMENT\n\n"
    "1. Dated: 1 March 2024.\n\n"
    "2. This agreement is made between Alpha LLC and Beta Corp.\n\n"
    "3. This agreement is governed by the laws of New York.\n\n"
)


def contract(number: int, marker: str = "") -> bytes:
    """A small contract of its own (a distinct file), with a cue for the stand-in model."""
    extra = f"4. Schedule {number}. {marker}\n" if marker else f"4. Schedule {number}.\n"
    return (CONTRACT + extra).encode()
