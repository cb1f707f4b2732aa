"""The guard step: every output is screened before anyone sees it, and the guard fails closed."""

from __future__ import annotations

import time
from typing import Any

from docanalysis.core.types import GuardVerdict
from docanalysis.db import repositories as repo
from docanalysis.db.engine import reading, transaction
from docanalysis.services.pipeline import Progress, claim, no_progress, run_event, sha256_text
from docanalysis.services.runtime import Runtime

SUMMARY_INSTRUCTION = "Summarize this contract for a lawyer."
CLAUSE_INSTRUCTION = "Find the {name} clause in this contract and state its value."


def guard_input(finding: Any, names: dict[str, str]) -> tuple[str, str]:
    """The (instruction, response) pair the guard judges: what was asked, what is shown."""
    if finding.kind == "summary":
        return SUMMARY_INSTRUCTION, finding.text
    name = names.get(finding.category, finding.category)
    shown = finding.text if not finding.value else f"{finding.text}\nValue: {finding.value}"
    return CLAUSE_INSTRUCTION.format(name=name), shown


def screen(rt: Runtime, run_id: int, progress: Progress = no_progress) -> bool:
    """guarding -> done (all released) or held (anything unsafe or not judged)."""
    run = claim(rt, run_id, ("guarding",), "guarding")
    if run is None:
        return False
    started = time.monotonic()
    with reading(rt.engine) as conn:
        rows = list(repo.findings_of(conn, run_id))
    for done, finding in enumerate(rows):
        progress("guarding", done, len(rows))
        if finding.status == "pending":
            _judge(rt, run, finding, rt.guard.classify(*guard_input(finding, rt.category_names)))
        with transaction(rt.engine) as conn:
            repo.update_run(conn, run_id, stage_done=done + 1)
    progress("guarding", len(rows), len(rows))
    with transaction(rt.engine) as conn:
        repo.merge_usage(conn, run_id, seconds={"guarding": round(time.monotonic() - started, 3)})
    _finish(rt, run)
    return True


def _judge(rt: Runtime, run: Any, finding: Any, verdict: GuardVerdict) -> None:
    """Store the verdict and its audit event (the same fields) in one transaction."""
    status = "released" if verdict.released else "held"
    fields = {
        "verdict": verdict.verdict,
        "categories": list(verdict.categories),
        "model": verdict.model,
        "policy_version": verdict.policy_version,
        "score": verdict.score,
        "reason": verdict.reason,
    }
    with transaction(rt.engine) as conn:
        repo.record_verdict(conn, int(finding.id), status, **fields)
        run_event(
            conn,
            run,
            "guard.verdict",
            finding=int(finding.ordinal),
            kind=finding.kind,
            output_sha256=sha256_text(finding.text + "\n" + finding.value),
            **fields,
        )


def _finish(rt: Runtime, run: Any) -> None:
    with transaction(rt.engine) as conn:
        rows = list(repo.findings_of(conn, int(run.id)))
        held = sum(1 for r in rows if r.status != "released")
        if held:
            state = "held"
            reason = f"{held} of {len(rows)} results were held by the safety screen for review"
        else:
            state, reason = "done", ""
        repo.update_run(
            conn,
            int(run.id),
            state=state,
            reason=reason,
            reason_code="guard_held" if held else "",
            finished_at=repo.now(),
        )
        run_event(conn, run, f"run.{state}", findings=len(rows), held=held)
