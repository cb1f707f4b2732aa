"""Which step (and which queue) moves a run on from the state it is in."""

from __future__ import annotations

from datetime import timedelta
from typing import NamedTuple

from docanalysis.services.pipeline import Progress, extract, no_progress, plan
from docanalysis.services.runtime import Runtime

# Queues by resource: cpu (PDF and text work), gpu (the model), guard (the safety screen).
QUEUE_FOR_STATE = {
    "queued": "cpu",
    "extracting": "cpu",
    "windowing": "cpu",
    "analyzing": "gpu",
    "guarding": "guard",
}


def advance(rt: Runtime, run_id: int, state: str, progress: Progress = no_progress) -> bool:
    """Run the step for `state`. True when the run moved to a new state."""
    if state in ("queued", "extracting"):
        return extract(rt, run_id)
    if state == "windowing":
        return plan(rt, run_id)
    if state == "analyzing":
        from docanalysis.services.analysis import analyze

        return analyze(rt, run_id, progress)
    if state == "guarding":
        from docanalysis.services.screening import screen

        return screen(rt, run_id, progress)
    return False


def current_state(rt: Runtime, run_id: int) -> str | None:
    from docanalysis.db import repositories as repo
    from docanalysis.db.engine import reading

    with reading(rt.engine) as conn:
        run = repo.run(conn, run_id)
    return None if run is None else str(run.state)


class StepStatus(NamedTuple):
    state: str
    attempts: int  # deliveries of the current step that started and did not end


def run_status(rt: Runtime, run_id: int) -> StepStatus | None:
    from docanalysis.db import repositories as repo
    from docanalysis.db.engine import reading

    with reading(rt.engine) as conn:
        run = repo.run(conn, run_id)
    return None if run is None else StepStatus(str(run.state), int(run.attempts))


def stalled_runs(rt: Runtime, older_than_s: float, limit: int = 500) -> list[tuple[int, str]]:
    """(run id, state) of the runs that are not final and have not moved for `older_than_s`,
    the longest waiting first. Each is stamped as moved now, so that the next sweep re-sends it
    only if it is still stuck `older_than_s` later (a long queue is not flooded with copies)."""
    from sqlalchemy import select, update

    from docanalysis.db import repositories as repo
    from docanalysis.db.engine import transaction
    from docanalysis.db.tables import analysis_runs as runs

    now = repo.now()
    query = (
        select(runs.c.id, runs.c.state)
        .where(
            runs.c.state.in_(tuple(QUEUE_FOR_STATE)),
            runs.c.updated_at < now - timedelta(seconds=older_than_s),
        )
        .order_by(runs.c.updated_at, runs.c.id)
        .limit(limit)
    )
    with transaction(rt.engine) as conn:
        stalled = [(int(r.id), str(r.state)) for r in conn.execute(query)]
        if stalled:
            ids = [run_id for run_id, _ in stalled]
            moving = runs.c.id.in_(ids) & runs.c.state.in_(tuple(QUEUE_FOR_STATE))
            conn.execute(update(runs).where(moving).values(updated_at=now))
    return stalled


def run_to_end(rt: Runtime, run_id: int, progress: Progress = no_progress) -> str:
    """Drive a run through every step in this process (the CLI, tests). Returns the final state."""
    state = current_state(rt, run_id)
    while state in QUEUE_FOR_STATE:
        progress(state, 0, 0)
        if not advance(rt, run_id, state, progress):
            new_state = current_state(rt, run_id)
            if new_state == state:
                raise RuntimeError(f"run {run_id} is stuck in state {state!r}")
        state = current_state(rt, run_id)
    return state or "missing"
