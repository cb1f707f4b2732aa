"""Which step (and which queue) moves a run on from the state it is in."""

from __future__ import annotations

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
