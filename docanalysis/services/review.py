"""Held results and their release after review.

The guard holds what it judged unsafe under a blocking category, and what it could not judge.
A compliance officer or tenant admin may read a held result and release it, giving a reason.
The guard's verdict stays as it was written (verdicts are written once); the finding records
who released it, when and why, and the release is audited in the same transaction. When a
held run has nothing held left, it is done.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, func, select, update

from docanalysis.db import repositories as repo
from docanalysis.db.engine import reading, transaction
from docanalysis.db.tables import analysis_runs, documents, findings, guard_verdicts, matters
from docanalysis.services.audit import record
from docanalysis.services.errors import NotFound, Rejected
from docanalysis.services.pipeline import sha256_text
from docanalysis.services.runtime import Runtime
from docanalysis.services.views import Actor
from docanalysis.services.webhooks import announce_run


@dataclass(frozen=True)
class HeldFinding:
    """A held result as a reviewer reads it: its text, and why the guard held it."""

    id: int
    document_id: int
    document_name: str
    matter_name: str
    kind: str
    category: str
    text: str
    value: str
    page: int | None
    verdict: str
    guard_categories: tuple[str, ...]
    guard_reason: str


def held_findings(rt: Runtime, tenant_id: int | None) -> list[HeldFinding]:
    """The tenant's held results, oldest document first (documents purged since: left out)."""
    if tenant_id is None:
        return []
    query = (
        select(
            findings,
            documents.c.id.label("document_id"),
            documents.c.original_name,
            matters.c.name.label("matter_name"),
            guard_verdicts.c.verdict,
            guard_verdicts.c.categories.label("guard_categories"),
            guard_verdicts.c.reason.label("guard_reason"),
        )
        .join(analysis_runs, analysis_runs.c.id == findings.c.run_id)
        .join(documents, documents.c.id == analysis_runs.c.document_id)
        .join(matters, matters.c.id == documents.c.matter_id)
        .outerjoin(guard_verdicts, guard_verdicts.c.finding_id == findings.c.id)
        .where(
            findings.c.status == "held",
            documents.c.tenant_id == tenant_id,
            documents.c.purged_at.is_(None),
        )
        .order_by(documents.c.id, findings.c.ordinal)
    )
    with reading(rt.engine) as conn:
        return [_held(row) for row in conn.execute(query)]


def _held(row: repo.Record) -> HeldFinding:
    return HeldFinding(
        id=int(row.id),
        document_id=int(row.document_id),
        document_name=row.original_name,
        matter_name=row.matter_name,
        kind=row.kind,
        category=row.category,
        text=row.text,
        value=row.value,
        page=row.page,
        verdict=row.verdict or "",
        guard_categories=tuple(row.guard_categories or ()),
        guard_reason=row.guard_reason or "",
    )


def release_finding(
    rt: Runtime, actor: Actor, tenant_id: int | None, finding_id: int, reason: str
) -> None:
    """Release a held result of the tenant after review (NotFound if it is not one)."""
    reason = " ".join(reason.split())
    if not reason or len(reason) > 1000:
        raise Rejected("a release needs a reason of 1 to 1000 characters")
    with transaction(rt.engine) as conn:
        found = _held_row(conn, tenant_id, finding_id)
        run = repo.run(conn, int(found.run_id), lock=True)
        assert run is not None  # a finding's run is never removed
        conn.execute(
            update(findings)
            .where(findings.c.id == finding_id)
            .values(
                status="released",
                released_by=actor.identity,
                released_at=repo.now(),
                release_reason=reason,
            )
        )
        record(
            conn,
            actor,
            "finding.released",
            f"finding:{finding_id}",
            tenant_id=int(found.tenant_id),
            matter_id=int(found.matter_id),
            run_id=int(run.id),
            document_id=int(found.document_id),
            finding=int(found.ordinal),
            kind=found.kind,
            verdict=found.verdict or "",
            guard_categories=list(found.guard_categories or ()),
            output_sha256=sha256_text(found.text + "\n" + found.value),
            reason=reason,
        )
        _finish_if_nothing_held(conn, actor, run, found)


def _held_row(conn: Connection, tenant_id: int | None, finding_id: int) -> repo.Record:
    query = (
        select(
            findings,
            documents.c.id.label("document_id"),
            documents.c.tenant_id,
            documents.c.matter_id,
            guard_verdicts.c.verdict,
            guard_verdicts.c.categories.label("guard_categories"),
        )
        .join(analysis_runs, analysis_runs.c.id == findings.c.run_id)
        .join(documents, documents.c.id == analysis_runs.c.document_id)
        .outerjoin(guard_verdicts, guard_verdicts.c.finding_id == findings.c.id)
        .where(findings.c.id == finding_id, documents.c.purged_at.is_(None))
    )
    found = conn.execute(query).first()
    if found is None or tenant_id is None or int(found.tenant_id) != tenant_id:
        raise NotFound("no such result")
    if found.status != "held":
        raise Rejected("this result is not held: there is nothing to release")
    return found


def _finish_if_nothing_held(
    conn: Connection, actor: Actor, run: repo.Record, found: repo.Record
) -> None:
    left = conn.execute(
        select(func.count())
        .select_from(findings)
        .where(findings.c.run_id == run.id, findings.c.status.in_(("held", "pending")))
    ).scalar_one()
    if run.state != "held" or left:
        return
    repo.update_run(
        conn,
        int(run.id),
        state="done",
        reason="held results were released after review",
        reason_code="review_released",
    )
    record(
        conn,
        actor,
        "run.released",
        f"run:{run.id}",
        tenant_id=int(found.tenant_id),
        matter_id=int(found.matter_id),
        document_id=int(found.document_id),
    )
    announce_run(conn, int(run.id))  # analysis.completed, with the commit
