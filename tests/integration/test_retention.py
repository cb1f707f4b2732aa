"""Deleting documents, retention periods and legal hold, over a real database (SQLite and
PostgreSQL): what is purged, what stays, what is refused, and that every step is audited."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from docanalysis.db.audit import AuditEvent, read_events, verify_chain
from docanalysis.db.engine import reading, transaction
from docanalysis.db.tables import (
    analysis_runs,
    analysis_windows,
    document_texts,
    documents,
    findings,
    guard_verdicts,
)
from docanalysis.services import retention
from docanalysis.services.errors import NotFound, Rejected
from docanalysis.services.matters import create_matter
from docanalysis.services.queries import document_analysis
from docanalysis.services.runtime import Runtime
from docanalysis.services.steps import advance, current_state, run_to_end
from docanalysis.services.submit import submit_document
from docanalysis.services.views import Actor
from tests.conftest import THREE_PAGE_CONTRACT
from tests.integration.test_pipeline import ALICE, runtime
from tests.support.fakes import FixedGuard

OFFICER = Actor(user_id=9, identity="olga <olga@firm.example>", request_id="req-9")
BOB = Actor(user_id=2, identity="bob <bob@firm.example>")


@pytest.fixture
def rt(db_url: str, tmp_path: Path) -> Runtime:
    return runtime(db_url, tmp_path, FixedGuard())


def _upload(rt: Runtime, matter_id: int, data: bytes | None = None) -> tuple[int, int]:
    data = data or THREE_PAGE_CONTRACT.read_bytes()
    submitted = submit_document(rt, ALICE, matter_id, "contract.pdf", data)
    return submitted.document_id, submitted.run_id


def _analyzed(rt: Runtime, matter_name: str = "Acquisition of Beta") -> tuple[int, int, int]:
    matter_id = create_matter(rt, ALICE, matter_name)
    document_id, run_id = _upload(rt, matter_id)
    assert run_to_end(rt, run_id) == "done"
    return matter_id, document_id, run_id


def _events(rt: Runtime, after: int = 0) -> list[AuditEvent]:
    with reading(rt.engine) as conn:
        return read_events(conn, after_seq=after)


def _head(rt: Runtime) -> int:
    events = _events(rt)
    return events[-1].seq if events else 0


def _content_left(rt: Runtime, document_id: int, run_id: int) -> dict[str, object]:
    with reading(rt.engine) as conn:
        texts = conn.execute(
            select(document_texts).where(document_texts.c.document_id == document_id)
        ).all()
        windows = conn.execute(
            select(analysis_windows.c.output_raw, analysis_windows.c.summary).where(
                analysis_windows.c.run_id == run_id
            )
        ).all()
        found = conn.execute(
            select(findings.c.text, findings.c.value).where(findings.c.run_id == run_id)
        ).all()
        verdicts = conn.execute(
            select(guard_verdicts.c.id)
            .join(findings, findings.c.id == guard_verdicts.c.finding_id)
            .where(findings.c.run_id == run_id)
        ).all()
    return {
        "texts": len(texts),
        "window_outputs": sum(1 for w in windows if w.output_raw or w.summary),
        "finding_texts": sum(1 for f in found if f.text or f.value),
        "findings": len(found),
        "verdicts": len(verdicts),
    }


def test_deleting_a_document_purges_its_content_and_keeps_the_evidence(rt: Runtime) -> None:
    matter_id, document_id, run_id = _analyzed(rt)
    before = _content_left(rt, document_id, run_id)
    assert before["texts"] == 1 and before["finding_texts"] == before["findings"] > 0
    with reading(rt.engine) as conn:
        sha256 = conn.execute(select(documents.c.sha256)).scalar_one()
    start = _head(rt)

    retention.delete_document(rt, ALICE, document_id)

    after = _content_left(rt, document_id, run_id)
    # Text, model outputs and finding text gone; the rows the guard's verdicts and the audit
    # trail refer to stay, holding no document text.
    assert after == {
        "texts": 0,
        "window_outputs": 0,
        "finding_texts": 0,
        "findings": before["findings"],
        "verdicts": before["verdicts"],
    }
    assert not rt.blobs.path(sha256).exists()
    with pytest.raises(NotFound):
        document_analysis(rt, ALICE.user_id, document_id)
    (deleted,) = _events(rt, start)
    assert (deleted.action, deleted.subject, deleted.outcome, deleted.matter_id) == (
        "document.deleted",
        f"document:{document_id}",
        "ok",
        matter_id,
    )
    assert deleted.details == {"reason": "deleted", "sha256": sha256, "stopped_runs": []}
    with reading(rt.engine) as conn:
        assert verify_chain(conn).ok
    with pytest.raises(NotFound):  # a second delete finds nothing to delete
        retention.delete_document(rt, ALICE, document_id)


def test_only_members_may_delete(rt: Runtime) -> None:
    _, document_id, _ = _analyzed(rt)
    start = _head(rt)
    with pytest.raises(NotFound):
        retention.delete_document(rt, BOB, document_id)
    assert _events(rt, start) == []
    assert document_analysis(rt, ALICE.user_id, document_id).document.id == document_id


def test_a_file_shared_by_two_documents_stays_until_both_are_deleted(rt: Runtime) -> None:
    first_matter = create_matter(rt, ALICE, "First")
    second_matter = create_matter(rt, ALICE, "Second")
    first, _ = _upload(rt, first_matter)
    second, _ = _upload(rt, second_matter)
    with reading(rt.engine) as conn:
        sha256 = conn.execute(select(documents.c.sha256).limit(1)).scalar_one()
    path = rt.blobs.path(sha256)
    retention.delete_document(rt, ALICE, first)
    assert path.exists()
    retention.delete_document(rt, ALICE, second)
    assert not path.exists()


def test_deleting_during_an_analysis_stops_it_and_drops_its_late_results(rt: Runtime) -> None:
    matter_id = create_matter(rt, ALICE, "Mid-flight")
    document_id, run_id = _upload(rt, matter_id)
    assert advance(rt, run_id, "queued") and advance(rt, run_id, "windowing")
    assert current_state(rt, run_id) == "analyzing"

    retention.delete_document(rt, ALICE, document_id)

    with reading(rt.engine) as conn:
        run = conn.execute(select(analysis_runs).where(analysis_runs.c.id == run_id)).one()
    assert (run.state, run.reason_code) == ("failed", "deleted")
    # A worker that picks the run up now finds it final and writes nothing.
    assert advance(rt, run_id, "analyzing") is False
    assert _content_left(rt, document_id, run_id)["window_outputs"] == 0
    deleted = [e for e in _events(rt) if e.action == "document.deleted"]
    assert deleted[0].details["stopped_runs"] == [run_id]


def test_legal_hold_refuses_deletion_and_the_refusal_is_audited(rt: Runtime) -> None:
    matter_id, document_id, run_id = _analyzed(rt)
    start = _head(rt)
    retention.set_legal_hold(rt, OFFICER, matter_id, "  Litigation   hold: Beta v. Gamma ")
    with pytest.raises(retention.OnLegalHold, match="legal hold"):
        retention.delete_document(rt, ALICE, document_id)
    assert _content_left(rt, document_id, run_id)["texts"] == 1
    held, refused = _events(rt, start)
    assert (held.action, held.actor, held.outcome, held.request_id) == (
        "matter.legal_hold_set",
        OFFICER.identity,
        "ok",
        "req-9",
    )
    assert held.details == {"reason": "Litigation hold: Beta v. Gamma"}
    assert (refused.action, refused.outcome, refused.details) == (
        "document.delete_refused",
        "refused",
        {"reason": "legal_hold"},
    )
    with pytest.raises(Rejected, match="already under legal hold"):
        retention.set_legal_hold(rt, OFFICER, matter_id, "again")

    retention.lift_legal_hold(rt, OFFICER, matter_id, "settled")
    retention.delete_document(rt, ALICE, document_id)
    lifted, deleted = _events(rt, start)[2:]
    assert (lifted.action, lifted.details["reason"]) == ("matter.legal_hold_lifted", "settled")
    assert lifted.details["held_since"].endswith("Z")
    assert deleted.action == "document.deleted"
    with pytest.raises(Rejected, match="not under legal hold"):
        retention.lift_legal_hold(rt, OFFICER, matter_id)


def test_a_legal_hold_needs_a_reason_and_an_existing_matter(rt: Runtime) -> None:
    matter_id = create_matter(rt, ALICE, "Reasons")
    start = _head(rt)
    with pytest.raises(Rejected, match="needs a reason"):
        retention.set_legal_hold(rt, OFFICER, matter_id, "   ")
    with pytest.raises(NotFound):
        retention.set_legal_hold(rt, OFFICER, matter_id + 100, "reason")
    assert _events(rt, start) == []


def test_retention_purges_expired_documents_unless_their_matter_is_on_hold(rt: Runtime) -> None:
    kept_matter, kept_doc, _ = _analyzed(rt, "Kept")
    held_matter, held_doc, held_run = _analyzed(rt, "Held")
    own_matter, own_doc, own_run = _analyzed(rt, "Own period")
    retention.set_retention(rt, OFFICER, 30, tenant="default")
    retention.set_retention(rt, OFFICER, 400, matter_id=kept_matter)  # overrides the tenant's
    retention.set_legal_hold(rt, OFFICER, held_matter, "regulator inquiry")
    start = _head(rt)

    # Not yet due: nothing happens.
    assert retention.purge_expired(rt, datetime.now(UTC) + timedelta(days=29)).purged == []
    report = retention.purge_expired(rt, datetime.now(UTC) + timedelta(days=31))

    assert report.purged == [own_doc]
    assert report.held == {held_matter: [held_doc]}
    assert _content_left(rt, own_doc, own_run)["texts"] == 0
    assert _content_left(rt, held_doc, held_run)["texts"] == 1
    assert document_analysis(rt, ALICE.user_id, kept_doc).document.id == kept_doc
    purged, refused = _events(rt, start)
    assert (purged.action, purged.actor, purged.actor_id, purged.matter_id) == (
        "document.purged",
        "system:retention",
        None,
        own_matter,
    )
    assert purged.details["reason"] == "retention"
    assert (refused.action, refused.outcome, refused.subject, refused.details) == (
        "retention.purge_refused",
        "refused",
        f"matter:{held_matter}",
        {"reason": "legal_hold", "documents": [held_doc]},
    )
    # A second pass has nothing new to purge (the held matter is reported again).
    again = retention.purge_expired(rt, datetime.now(UTC) + timedelta(days=31))
    assert (again.purged, again.held) == ([], {held_matter: [held_doc]})
    with reading(rt.engine) as conn:
        assert verify_chain(conn).ok


def test_setting_a_retention_period_is_validated_and_audited(rt: Runtime) -> None:
    matter_id = create_matter(rt, ALICE, "Periods")
    start = _head(rt)
    for bad in (0, -1, retention.MAX_RETENTION_DAYS + 1):
        with pytest.raises(Rejected, match="retention period"):
            retention.set_retention(rt, OFFICER, bad, matter_id=matter_id)
    retention.set_retention(rt, OFFICER, 90, matter_id=matter_id)
    retention.set_retention(rt, OFFICER, None, matter_id=matter_id)
    retention.set_retention(rt, OFFICER, 365, tenant="default")
    first, second, tenant_wide = _events(rt, start)
    assert (first.action, first.details) == ("retention.set", {"days": 90, "before": None})
    assert second.details == {"days": None, "before": 90}
    assert (tenant_wide.subject.startswith("tenant:"), tenant_wide.matter_id) == (True, None)
    assert tenant_wide.details == {"days": 365, "before": None}


def test_purged_rows_hold_no_document_text(rt: Runtime) -> None:
    _, document_id, run_id = _analyzed(rt)
    with reading(rt.engine) as conn:
        text = conn.execute(select(document_texts.c.text)).scalar_one()
    retention.delete_document(rt, ALICE, document_id)
    pieces = {text[i : i + 24] for i in range(0, len(text) - 24, 24) if text[i : i + 24].strip()}
    with reading(rt.engine) as conn:
        dumped = json.dumps(
            [
                [list(map(str, row)) for row in conn.execute(select(table)).all()]
                for table in (documents, analysis_runs, analysis_windows, findings, guard_verdicts)
            ]
        )
    assert pieces and not [p for p in pieces if p in dumped]


def test_a_purge_in_its_own_transaction_is_atomic_with_its_event(rt: Runtime) -> None:
    # The event and the purge commit together: a failure inside the transaction leaves both out.
    _, document_id, run_id = _analyzed(rt)
    start = _head(rt)
    with pytest.raises(RuntimeError), transaction(rt.engine) as conn:
        from docanalysis.db import purge

        purge.purge_content(conn, document_id, "deleted")
        raise RuntimeError("the process died here")
    assert _content_left(rt, document_id, run_id)["texts"] == 1
    assert _events(rt, start) == []


def test_an_upload_racing_the_delete_of_the_same_file_keeps_its_file(rt: Runtime) -> None:
    # The delete removes the stored file only if no document has it; an upload of the same
    # bytes at that moment must never end with a document whose file is gone.
    from concurrent.futures import ThreadPoolExecutor

    data = THREE_PAGE_CONTRACT.read_bytes()
    first_matter, second_matter = create_matter(rt, ALICE, "A"), create_matter(rt, ALICE, "B")
    with ThreadPoolExecutor(2) as pool:
        for _ in range(8):
            doomed, _ = _upload(rt, first_matter, data)
            deleting = pool.submit(retention.delete_document, rt, ALICE, doomed)
            uploading = pool.submit(_upload, rt, second_matter, data)
            deleting.result()
            kept, _ = uploading.result()
            with reading(rt.engine) as conn:
                sha256 = conn.execute(
                    select(documents.c.sha256).where(documents.c.id == kept)
                ).scalar_one()
            assert rt.blobs.path(sha256).exists()
            retention.delete_document(rt, ALICE, kept)


def test_the_periodic_tasks_sign_a_checkpoint_and_purge(
    rt: Runtime, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from docanalysis.audit_signing import checkpoints_path, read_checkpoints
    from docanalysis.services.runtime import reset_runtime
    from workers.tasks import audit_checkpoint_task, retention_purge_task

    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("DOCANALYSIS_DATA_DIR", str(tmp_path))
    reset_runtime()
    try:
        _, document_id, _ = _analyzed(rt)
        retention.set_retention(rt, OFFICER, 1, tenant="default")
        with transaction(rt.engine) as conn:  # uploaded two days ago
            conn.execute(
                documents.update()
                .where(documents.c.id == document_id)
                .values(created_at=datetime.now(UTC) - timedelta(days=2))
            )
        assert retention_purge_task() == 1
        head = _head(rt)
        assert audit_checkpoint_task().startswith(f"{head} ")
        (signed,) = read_checkpoints(checkpoints_path(rt.settings.audit_key))
        assert signed["seq"] == head
    finally:
        reset_runtime()
