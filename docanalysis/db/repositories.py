"""Reads and writes of the domain tables, one small function each. Callers own the transaction."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeAlias

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    Select,
    and_,
    delete,
    func,
    insert,
    select,
    update,
)

from docanalysis.db import tenancy
from docanalysis.db.tables import (
    analysis_runs,
    analysis_windows,
    document_texts,
    documents,
    findings,
    guard_verdicts,
    matter_members,
    matters,
    tenants,
)

# A row of any shape (SQLAlchemy 2.1 types rows by their column tuple).
Record: TypeAlias = Row[*tuple[Any, ...]]


def now() -> datetime:
    return datetime.now(UTC)


def _insert_id(conn: Connection, table: Any, values: Mapping[str, Any]) -> int:
    return int(conn.execute(insert(table).values(**values).returning(table.c.id)).scalar_one())


# --- tenants and matters ---------------------------------------------------------------------


def get_or_create_tenant(conn: Connection, name: str) -> int:
    """The tenant's id, created if new; the transaction's tenant scope then includes it (the
    callers act in the tenant they name: db.tenancy)."""
    found = conn.execute(select(tenants.c.id).where(tenants.c.name == name)).scalar()
    if found is None:
        found = _insert_id(conn, tenants, {"name": name, "created_at": now()})
    tenancy.widen(conn, int(found))
    return int(found)


def create_matter(
    conn: Connection, tenant_id: int, name: str, external_ref: str | None = None
) -> int:
    values = {"tenant_id": tenant_id, "name": name, "external_ref": external_ref}
    return _insert_id(conn, matters, {**values, "created_at": now()})


def find_matter(conn: Connection, tenant_id: int, name: str) -> int | None:
    found = conn.execute(
        select(matters.c.id).where(and_(matters.c.tenant_id == tenant_id, matters.c.name == name))
    ).scalar()
    return None if found is None else int(found)


def _membership(matter_id: int, user_id: int) -> ColumnElement[bool]:
    return and_(matter_members.c.matter_id == matter_id, matter_members.c.user_id == user_id)


def add_member(conn: Connection, matter_id: int, user_id: int, role: str = "editor") -> bool:
    if member_role(conn, matter_id, user_id) is not None:
        return False
    conn.execute(
        insert(matter_members).values(
            matter_id=matter_id, user_id=user_id, role=role, created_at=now()
        )
    )
    return True


def matter(conn: Connection, matter_id: int) -> Record | None:
    query = (
        select(matters.c.id, matters.c.name, matters.c.tenant_id, tenants.c.name.label("tenant"))
        .join(tenants, tenants.c.id == matters.c.tenant_id)
        .where(matters.c.id == matter_id)
    )
    return conn.execute(query).first()


def is_member(conn: Connection, matter_id: int, user_id: int) -> bool:
    return member_role(conn, matter_id, user_id) is not None


def member_role(conn: Connection, matter_id: int, user_id: int) -> str | None:
    query = select(matter_members.c.role).where(_membership(matter_id, user_id))
    found = conn.execute(query).scalar()
    return None if found is None else str(found)


def set_member_role(conn: Connection, matter_id: int, user_id: int, role: str) -> None:
    conn.execute(update(matter_members).where(_membership(matter_id, user_id)).values(role=role))


def remove_member(conn: Connection, matter_id: int, user_id: int) -> None:
    conn.execute(delete(matter_members).where(_membership(matter_id, user_id)))


def members_of(conn: Connection, matter_id: int) -> Sequence[Record]:
    """(user_id, role, created_at) of the matter's members, earliest first."""
    query = (
        select(matter_members.c.user_id, matter_members.c.role, matter_members.c.created_at)
        .where(matter_members.c.matter_id == matter_id)
        .order_by(matter_members.c.created_at, matter_members.c.user_id)
    )
    return conn.execute(query).all()


def matters_of(conn: Connection, user_id: int) -> Sequence[Record]:
    query = (
        select(
            matters.c.id,
            matters.c.name,
            tenants.c.name.label("tenant"),
            matters.c.legal_hold_since,
            matters.c.legal_hold_by,
            matters.c.legal_hold_reason,
            matters.c.retention_days,
        )
        .join(matter_members, matter_members.c.matter_id == matters.c.id)
        .join(tenants, tenants.c.id == matters.c.tenant_id)
        .where(matter_members.c.user_id == user_id)
        .order_by(matters.c.name, matters.c.id)
    )
    return conn.execute(query).all()


# --- documents and runs ----------------------------------------------------------------------


def lock_name(conn: Connection, name: str) -> None:
    """Serialize the writers that name the same thing until the transaction ends: PostgreSQL
    takes an advisory lock on the first 60 bits of the name's sha256; SQLite's write
    transaction already excludes every other writer."""
    if conn.dialect.name == "postgresql":
        key = int(hashlib.sha256(name.encode("utf-8")).hexdigest()[:15], 16)
        conn.execute(select(func.pg_advisory_xact_lock(key)))


def lock_blob(conn: Connection, sha256: str) -> None:
    """Serialize the uploads and removals of one stored file."""
    lock_name(conn, f"blob:{sha256}")


def create_document(conn: Connection, **values: Any) -> int:
    return _insert_id(conn, documents, {**values, "created_at": now()})


def create_run(conn: Connection, document_id: int) -> int:
    stamp = now()
    return _insert_id(
        conn,
        analysis_runs,
        {
            "document_id": document_id,
            "state": "queued",
            "reason": "",
            "reason_code": "",
            "stage_done": 0,
            "stage_total": 0,
            "model_id": "",
            "model_revision": "",
            "dropped_refs": 0,
            "warnings": [],
            "created_at": stamp,
            "updated_at": stamp,
        },
    )


def document_with_file(conn: Connection, matter_id: int, sha256: str) -> int | None:
    """The matter's (not purged) document with exactly these bytes, if any."""
    query = select(documents.c.id).where(
        documents.c.matter_id == matter_id,
        documents.c.sha256 == sha256,
        documents.c.purged_at.is_(None),
    )
    found = conn.execute(query.order_by(documents.c.id).limit(1)).scalar()
    return None if found is None else int(found)


def document(conn: Connection, document_id: int) -> Record | None:
    return conn.execute(select(documents).where(documents.c.id == document_id)).first()


def documents_of_matter(conn: Connection, matter_id: int) -> Sequence[Record]:
    query = (
        select(documents)
        .where(documents.c.matter_id == matter_id, documents.c.purged_at.is_(None))
        .order_by(documents.c.created_at.desc(), documents.c.id.desc())
    )
    return conn.execute(query).all()


def run(conn: Connection, run_id: int, *, lock: bool = False) -> Record | None:
    query = select(analysis_runs).where(analysis_runs.c.id == run_id)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return conn.execute(query).first()


def latest_run(conn: Connection, document_id: int) -> Record | None:
    query = (
        select(analysis_runs)
        .where(analysis_runs.c.document_id == document_id)
        .order_by(analysis_runs.c.id.desc())
        .limit(1)
    )
    return conn.execute(query).first()


def update_run(conn: Connection, run_id: int, **values: Any) -> None:
    conn.execute(
        update(analysis_runs).where(analysis_runs.c.id == run_id).values(**values, updated_at=now())
    )


def merge_usage(
    conn: Connection,
    run_id: int,
    *,
    add: Mapping[str, int] | None = None,
    seconds: Mapping[str, float] | None = None,
    **fixed: Any,
) -> None:
    """Update the run's usage record: `add` sums counters, `seconds` records stage times,
    other keywords set values (e.g. document_tokens)."""
    found = run(conn, run_id)
    usage: dict[str, Any] = dict((found.usage if found is not None else None) or {})
    usage.update(fixed)
    for key, value in (add or {}).items():
        usage[key] = usage.get(key, 0) + value
    if seconds:
        usage["seconds"] = {**usage.get("seconds", {}), **seconds}
    update_run(conn, run_id, usage=usage)


def update_document(conn: Connection, document_id: int, **values: Any) -> None:
    conn.execute(update(documents).where(documents.c.id == document_id).values(**values))


def unfinished_runs(conn: Connection) -> Sequence[int]:
    query = select(analysis_runs.c.id).where(
        analysis_runs.c.state.not_in(("done", "failed", "held"))
    )
    return [int(r) for r in conn.execute(query).scalars()]


# --- extracted text, windows, findings, verdicts ---------------------------------------------


def document_text(conn: Connection, document_id: int) -> Record | None:
    query = select(document_texts).where(document_texts.c.document_id == document_id)
    return conn.execute(query).first()


def save_document_text(
    conn: Connection, document_id: int, text: str, pages: list[dict[str, int]], warnings: list[str]
) -> None:
    if document_text(conn, document_id) is None:
        conn.execute(
            insert(document_texts).values(
                document_id=document_id,
                text=text,
                pages=pages,
                warnings=warnings,
                created_at=now(),
            )
        )


def windows_of(conn: Connection, run_id: int) -> Sequence[Record]:
    query = (
        select(analysis_windows)
        .where(analysis_windows.c.run_id == run_id)
        .order_by(analysis_windows.c.index)
    )
    return conn.execute(query).all()


def add_windows(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        conn.execute(insert(analysis_windows), list(rows))


def save_window_output(conn: Connection, window_id: int, **values: Any) -> None:
    conn.execute(
        update(analysis_windows).where(analysis_windows.c.id == window_id).values(**values)
    )


def findings_of(conn: Connection, run_id: int) -> Sequence[Record]:
    return conn.execute(findings_query(run_id)).all()


def findings_query(run_id: int) -> Select[Any]:
    """The run's findings in order, each with its guard verdict's columns."""
    return (
        select(
            findings,
            guard_verdicts.c.verdict,
            guard_verdicts.c.categories.label("guard_categories"),
            guard_verdicts.c.model.label("guard_model"),
            guard_verdicts.c.policy_version.label("guard_policy_version"),
            guard_verdicts.c.policy_sha256.label("guard_policy_sha256"),
            guard_verdicts.c.reason.label("guard_reason"),
        )
        .outerjoin(guard_verdicts, guard_verdicts.c.finding_id == findings.c.id)
        .where(findings.c.run_id == run_id)
        .order_by(findings.c.ordinal)
    )


def add_findings(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        conn.execute(insert(findings), list(rows))


def count_findings(conn: Connection, run_id: int) -> int:
    query = select(func.count()).select_from(findings).where(findings.c.run_id == run_id)
    return int(conn.execute(query).scalar_one())


def record_verdict(conn: Connection, finding_id: int, status: str, **verdict: Any) -> None:
    conn.execute(insert(guard_verdicts).values(finding_id=finding_id, created_at=now(), **verdict))
    conn.execute(update(findings).where(findings.c.id == finding_id).values(status=status))
