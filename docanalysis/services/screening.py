"""The guard step: every output is screened before anyone sees it, and the guard fails closed."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from docanalysis.core.types import GuardVerdict
from docanalysis.db import repositories as repo
from docanalysis.db.engine import reading, transaction
from docanalysis.services.pipeline import (
    Progress,
    claim,
    no_progress,
    run_event,
    sha256_text,
    still,
)
from docanalysis.services.runtime import Runtime
from docanalysis.services.webhooks import announce_run

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
    """guarding -> done (all released) or held (anything blocked or not judged).

    Outputs are judged in batches on the guard queue. A batch the guard has not judged within
    DOCANALYSIS_GUARD_TIMEOUT_S is held, and so is everything after it in the run: the worker
    does not wait on a guard that hangs, and never releases what it did not judge.
    """
    run = claim(rt, run_id, ("guarding",), "guarding")
    if run is None:
        return False
    started = time.monotonic()
    with reading(rt.engine) as conn:
        rows = list(repo.findings_of(conn, run_id))
    pending = [row for row in rows if row.status == "pending"]
    judged = len(rows) - len(pending)
    judge = _Screen(rt)
    for start in range(0, len(pending), rt.settings.guard_batch_size):
        progress("guarding", judged, len(rows))
        batch = pending[start : start + rt.settings.guard_batch_size]
        judged += len(batch)
        if not _judge(rt, run, list(zip(batch, judge.batch(batch), strict=True)), judged):
            return False  # the run ended meanwhile (its document was deleted)
    progress("guarding", len(rows), len(rows))
    with transaction(rt.engine) as conn:
        repo.merge_usage(conn, run_id, seconds={"guarding": round(time.monotonic() - started, 3)})
    return _finish(rt, run)


class _Screen:
    """The guard of this process, asked with a deadline; after one timeout it is not asked
    again in this run (its thread may still be busy)."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.timed_out = False

    def batch(self, findings: list[Any]) -> list[GuardVerdict]:
        if self.timed_out:
            return [_held(self.rt, "not screened: the guard timed out earlier in this run")] * len(
                findings
            )
        try:
            guard = self.rt.guard
        except Exception as exc:  # a bad policy file, a guard that cannot be built
            return [_held(self.rt, f"the guard could not start: {exc}")] * len(findings)
        pairs = [guard_input(f, self.rt.category_names) for f in findings]
        verdicts = _within(lambda: guard.classify_batch(pairs), self.rt.settings.guard_timeout_s)
        if verdicts is None:
            self.timed_out = True
            seconds = self.rt.settings.guard_timeout_s
            return [_held(self.rt, f"the guard did not answer within {seconds} s")] * len(findings)
        return verdicts


def _within(call: Callable[[], list[GuardVerdict]], seconds: float) -> list[GuardVerdict] | None:
    """call() on a daemon thread; None if it has not returned in `seconds`. (A daemon, not a
    pool: a hung guard must not keep the worker process from exiting.)"""
    result: list[list[GuardVerdict]] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            result.append(call())
        except BaseException as exc:  # the guard promises not to raise; hold if it does
            errors.append(exc)

    thread = threading.Thread(target=target, name="guard", daemon=True)
    thread.start()
    thread.join(seconds)
    if errors:
        raise errors[0]
    return result[0] if result else None


def _held(rt: Runtime, reason: str) -> GuardVerdict:
    return GuardVerdict.held_for(reason, rt.settings.guard_model, *_policy_identity(rt))


def _policy_identity(rt: Runtime) -> tuple[str, str]:
    from docanalysis.guard_policies import load_policy

    try:
        policy = load_policy(rt.settings.guard_policy)
    except Exception:
        return "unreadable", ""
    return policy.version, policy.sha256


STATUS_FOR_OUTCOME = {"release": "released", "flag": "flagged", "block": "held"}


def _judge(
    rt: Runtime, run: Any, judged: list[tuple[Any, GuardVerdict]], done: int
) -> bool:
    """Store a batch's verdicts, each with its audit event (the same fields), and the run's
    progress in one transaction (one commit a batch, all or none of it); False if the run is
    no longer being screened."""
    with transaction(rt.engine) as conn:
        if not still(conn, int(run.id), "guarding"):
            return False
        for finding, verdict in judged:
            fields = {
                "verdict": verdict.verdict,
                "categories": list(verdict.categories),
                "model": verdict.model,
                "policy_version": verdict.policy_version,
                "policy_sha256": verdict.policy_sha256,
                "outcome": verdict.outcome,
                "score": verdict.score,
                "reason": verdict.reason,
            }
            status = STATUS_FOR_OUTCOME[verdict.outcome]
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
        repo.update_run(conn, int(run.id), stage_done=done)
    return True


def _finish(rt: Runtime, run: Any) -> bool:
    with transaction(rt.engine) as conn:
        if not still(conn, int(run.id), "guarding"):
            return False
        rows = list(repo.findings_of(conn, int(run.id)))
        held = sum(1 for r in rows if r.status not in ("released", "flagged"))
        flagged = sum(1 for r in rows if r.status == "flagged")
        if held:
            state = "held"
            reason = f"{held} of {len(rows)} results were held by the safety screen for review"
        else:
            state = "done"
            reason = f"{flagged} of {len(rows)} results are flagged for review" if flagged else ""
        repo.update_run(
            conn,
            int(run.id),
            state=state,
            reason=reason,
            reason_code="guard_held" if held else ("guard_flagged" if flagged else ""),
            finished_at=repo.now(),
        )
        run_event(conn, run, f"run.{state}", findings=len(rows), held=held, flagged=flagged)
        announce_run(conn, int(run.id))  # analysis.completed or analysis.held, with the commit
    return True
