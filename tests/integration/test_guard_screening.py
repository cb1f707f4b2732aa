"""The guard step over a real database: batches, every way the guard can fail (each one holds,
says why, and is audited), flagged outputs, and verdicts a later policy never rewrites."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.exc import DBAPIError

from docanalysis.cli_analyze import as_json
from docanalysis.config import load_settings
from docanalysis.core.types import GuardVerdict
from docanalysis.db.audit import read_events, verify_chain
from docanalysis.db.engine import reading, transaction
from docanalysis.db.tables import guard_verdicts
from docanalysis.guard_policies import BUNDLED_POLICY, load_policy
from docanalysis.llm.factory import build_guard
from docanalysis.services.queries import document_analysis, document_status
from docanalysis.services.runtime import Runtime, build_runtime
from docanalysis.services.screening import screen
from docanalysis.services.steps import run_to_end
from tests.conftest import THREE_PAGE_CONTRACT
from tests.integration.test_pipeline import ALICE, RecordingQueue, submit
from tests.support.fakes import FixedGuard, KeywordModel

FINDINGS = 8  # the summary and the seven clauses the keyword model finds in the contract


def runtime(db_url: str, tmp_path: Path, guard: object | None, **env: str) -> Runtime:
    settings = load_settings(
        {
            "DATABASE_URL": db_url,
            "DOCANALYSIS_DATA_DIR": str(tmp_path),
            "DOCANALYSIS_OUTPUT_TOKENS": "64",
            "DOCANALYSIS_SCORER": "off",
            **env,
        }
    )
    rt = build_runtime(settings, queue=RecordingQueue())
    rt.model = KeywordModel(4096)  # type: ignore[misc]
    if guard is not None:
        rt.guard = guard  # type: ignore[misc]
    return rt


def analyzed(rt: Runtime) -> tuple[int, int, str]:
    document_id, run_id = submit(rt, THREE_PAGE_CONTRACT)
    return document_id, run_id, run_to_end(rt, run_id)


def verdict_events(rt: Runtime) -> list[dict]:
    with reading(rt.engine) as conn:
        assert verify_chain(conn).ok
        return [e.details for e in read_events(conn) if e.action == "guard.verdict"]


def test_outputs_are_screened_in_batches(db_url: str, tmp_path: Path) -> None:
    guard = FixedGuard("safe")
    rt = runtime(db_url, tmp_path, guard, DOCANALYSIS_GUARD_BATCH_SIZE="3")
    assert analyzed(rt)[2] == "done"
    assert guard.batches == [3, 3, 2]


def test_a_guard_model_that_cannot_load_holds_and_says_why(db_url: str, tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-guard")
    rt = runtime(db_url, tmp_path, None, DOCANALYSIS_GUARD_MODEL=missing)
    document_id, _, state = analyzed(rt)
    assert state == "held"
    analysis = document_analysis(rt, ALICE.user_id, document_id)
    report = as_json(analysis)
    assert report["run"]["state"] == "held"
    assert (
        report["run"]["reason"]
        == f"{FINDINGS} of {FINDINGS} results were held by the safety screen for review"
    )
    assert report["clauses"] == [] and len(report["held"]) == FINDINGS - 1
    reasons = {h["guard"]["reason"].split(":")[0] for h in report["held"]}
    assert reasons == {"the guard model could not be loaded"}
    events = verdict_events(rt)
    assert len(events) == FINDINGS
    assert all(e["verdict"] == "held" and e["outcome"] == "block" for e in events)
    assert {e["policy_sha256"] for e in events} == {load_policy().sha256}


class SlowGuard:
    """A guard that hangs: it answers, but long after the deadline."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.calls = 0

    def classify_batch(self, pairs: Sequence[tuple[str, str]]) -> list[GuardVerdict]:
        self.calls += 1
        time.sleep(self.seconds)
        return FixedGuard("safe").classify_batch(pairs)


def test_a_guard_that_times_out_holds_and_is_not_asked_again(db_url: str, tmp_path: Path) -> None:
    guard = SlowGuard(3.0)
    env = {"DOCANALYSIS_GUARD_TIMEOUT_S": "1", "DOCANALYSIS_GUARD_BATCH_SIZE": "4"}
    rt = runtime(db_url, tmp_path, guard, **env)
    started = time.monotonic()
    assert analyzed(rt)[2] == "held"
    assert time.monotonic() - started < 3.0 + 2.0  # waited out one deadline, not two batches
    assert guard.calls == 1
    reasons = [e["reason"] for e in verdict_events(rt)]
    assert (
        reasons
        == ["the guard did not answer within 1 s"] * 4
        + ["not screened: the guard timed out earlier in this run"] * 4
    )


def test_an_unreadable_policy_holds_everything(db_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "policy.json"
    bad.write_text('{"version": "x", "threshold": 2, "categories": []}')
    rt = runtime(db_url, tmp_path, None, DOCANALYSIS_GUARD_POLICY=str(bad))
    assert analyzed(rt)[2] == "held"
    reasons = {e["reason"] for e in verdict_events(rt)}
    assert reasons == {
        "the guard could not start: guard policy: 'threshold' must be a number between 0 and 1"
    }


def test_flagged_outputs_are_shown_with_the_flag(db_url: str, tmp_path: Path) -> None:
    rt = runtime(db_url, tmp_path, FixedGuard("unsafe", outcome="flag"))
    document_id, _, state = analyzed(rt)
    assert state == "done"
    status = document_status(rt, ALICE.user_id, document_id)
    assert status.reason == f"{FINDINGS} of {FINDINGS} results are flagged for review"
    report = as_json(document_analysis(rt, ALICE.user_id, document_id))
    assert report["held"] == [] and len(report["clauses"]) == FINDINGS - 1
    assert all(c["text"] and c["guard"]["status"] == "flagged" for c in report["clauses"])
    assert report["clauses"][0]["guard"]["categories"] == ["S1"]


def test_verdicts_name_their_policy_and_a_new_policy_never_rewrites_them(
    db_url: str, tmp_path: Path
) -> None:
    rt = runtime(db_url, tmp_path, FixedGuard("safe"))
    document_id, run_id, _ = analyzed(rt)
    before = as_json(document_analysis(rt, ALICE.user_id, document_id))["clauses"]
    # A stricter policy arrives; the finished run is screened again (a redelivered task).
    stricter = json.loads(BUNDLED_POLICY.read_text()) | {"version": "2027-01", "threshold": 0.1}
    path = tmp_path / "stricter.json"
    path.write_text(json.dumps(stricter))
    later = runtime(db_url, tmp_path, None, DOCANALYSIS_GUARD_POLICY=str(path))
    assert screen(later, run_id) is False  # the run is final: nothing is judged again
    after = as_json(document_analysis(later, ALICE.user_id, document_id))["clauses"]
    assert after == before
    assert {c["guard"]["policy_version"] for c in after} == {"test-policy"}
    # And the database itself refuses to rewrite a verdict.
    with pytest.raises(DBAPIError, match="written once"), transaction(rt.engine) as conn:
        conn.execute(update(guard_verdicts).values(policy_version="2027-01"))


def test_the_configured_guard_carries_the_policy_file(tmp_path: Path) -> None:
    policy = json.loads(BUNDLED_POLICY.read_text()) | {"version": "firm-7"}
    path = tmp_path / "firm.json"
    path.write_text(json.dumps(policy))
    guard = build_guard(load_settings({"DOCANALYSIS_GUARD_POLICY": str(path)}))
    assert guard.policy.version == "firm-7"  # type: ignore[attr-defined]
    assert guard.policy.sha256 != load_policy().sha256  # type: ignore[attr-defined]
