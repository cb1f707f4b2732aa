"""What a REST client reads: only its key's tenant and matters. An object outside that scope,
or purged, is NotFound, exactly like one that does not exist."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, select

from docanalysis.db import repositories as repo
from docanalysis.db.engine import reading
from docanalysis.db.tables import analysis_runs, documents
from docanalysis.services import queries
from docanalysis.services.apikeys import ApiPrincipal
from docanalysis.services.errors import NotFound
from docanalysis.services.runtime import Runtime
from docanalysis.services.views import DocumentAnalysis, DocumentView, PageText, RunStatus

MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class ApiDocument:
    view: DocumentView
    external_system: str | None
    external_id: str | None
    external_version: str | None


@dataclass(frozen=True)
class DocumentFilter:
    matter_id: int | None = None
    state: str | None = None
    external_system: str | None = None
    external_id: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None


def scoped_document(conn: Connection, principal: ApiPrincipal, document_id: int) -> repo.Record:
    doc = repo.document(conn, document_id)
    if (
        doc is None
        or doc.purged_at is not None
        or int(doc.tenant_id) != principal.tenant_id
        or not principal.may_use(int(doc.matter_id))
    ):
        raise NotFound("no such document")
    return doc


def _api_document(conn: Connection, doc: repo.Record) -> ApiDocument:
    return ApiDocument(
        queries.document_view(conn, doc),
        doc.external_system,
        doc.external_id,
        doc.external_version,
    )


def document(rt: Runtime, principal: ApiPrincipal, document_id: int) -> ApiDocument:
    with reading(rt.engine) as conn:
        return _api_document(conn, scoped_document(conn, principal, document_id))


def run(rt: Runtime, principal: ApiPrincipal, run_id: int) -> tuple[int, RunStatus]:
    """(document id, status) of a run of a document in scope."""
    with reading(rt.engine) as conn:
        found = repo.run(conn, run_id)
        if found is None:
            raise NotFound("no such run")
        try:
            scoped_document(conn, principal, int(found.document_id))
        except NotFound:
            raise NotFound("no such run") from None
        return int(found.document_id), queries.run_status(found)


def results(rt: Runtime, principal: ApiPrincipal, document_id: int) -> DocumentAnalysis:
    with reading(rt.engine) as conn:
        scoped_document(conn, principal, document_id)
    return queries.document_analysis(rt, None, document_id)


def list_documents(
    rt: Runtime, principal: ApiPrincipal, flt: DocumentFilter, cursor: int | None, limit: int
) -> tuple[list[ApiDocument], int | None]:
    """Newest first, `limit` at a time; the cursor of the next page (None at the end): the
    last id shown, so the pages stay stable while documents arrive."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    query = _filtered(principal, flt).order_by(documents.c.id.desc()).limit(limit + 1)
    if cursor is not None:
        query = query.where(documents.c.id < cursor)
    with reading(rt.engine) as conn:
        rows = list(conn.execute(query))
        page = [_api_document(conn, row) for row in rows[:limit]]
    following = page[-1].view.id if len(rows) > limit else None
    return page, following


def _filtered(principal: ApiPrincipal, flt: DocumentFilter) -> Select[Any]:
    query = select(documents).where(
        documents.c.tenant_id == principal.tenant_id, documents.c.purged_at.is_(None)
    )
    if principal.matter_ids is not None:
        query = query.where(documents.c.matter_id.in_(sorted(principal.matter_ids)))
    if flt.matter_id is not None:
        query = query.where(documents.c.matter_id == flt.matter_id)
    if flt.external_system is not None:
        query = query.where(documents.c.external_system == flt.external_system)
    if flt.external_id is not None:
        query = query.where(documents.c.external_id == flt.external_id)
    if flt.created_after is not None:
        query = query.where(documents.c.created_at >= flt.created_after)
    if flt.created_before is not None:
        query = query.where(documents.c.created_at < flt.created_before)
    if flt.state is not None:
        latest = (
            select(analysis_runs.c.state)
            .where(analysis_runs.c.document_id == documents.c.id)
            .order_by(analysis_runs.c.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        query = query.where(latest == flt.state)
    return query


def text(
    rt: Runtime, principal: ApiPrincipal, document_id: int, first: int, last: int | None
) -> tuple[int, list[PageText]]:
    """(page count, the pages first..last) of a document in the key's scope."""
    with reading(rt.engine) as conn:
        scoped_document(conn, principal, document_id)
        return queries.text_pages(conn, document_id, first, last)
