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
    return _in_scope(principal, repo.document(conn, document_id))


def _in_scope(principal: ApiPrincipal, doc: repo.Record | None) -> repo.Record:
    if (
        doc is None
        or doc.purged_at is not None
        or int(doc.tenant_id) != principal.tenant_id
        or not principal.may_use(int(doc.matter_id))
    ):
        raise NotFound("no such document")
    return doc


def _scoped_with_run(
    conn: Connection, principal: ApiPrincipal, document_id: int
) -> tuple[repo.Record, Any]:
    """The document in scope and its latest run, read together (one round trip)."""
    doc, run = queries.document_with_run(conn, document_id)
    return _in_scope(principal, doc), run


def _api_document(doc: repo.Record, view: DocumentView) -> ApiDocument:
    return ApiDocument(view, doc.external_system, doc.external_id, doc.external_version)


def document(rt: Runtime, principal: ApiPrincipal, document_id: int) -> ApiDocument:
    with reading(rt.engine) as conn:
        doc, run = _scoped_with_run(conn, principal, document_id)
    return _api_document(doc, queries.view_of(doc, run))


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
    with reading(rt.engine) as conn:  # one connection: the scope check and the reads
        doc, run = _scoped_with_run(conn, principal, document_id)
        if run is None:
            raise NotFound("no analysis for this document")
        return queries.analysis_of(conn, doc, rt.category_names, run)


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
        shown = rows[:limit]
        views = queries.document_views(conn, shown)
        page = [_api_document(row, view) for row, view in zip(shown, views, strict=True)]
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
