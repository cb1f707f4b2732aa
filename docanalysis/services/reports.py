"""Reports and the review grid: gather the analyses the actor may see, hand them to the pure
writers (docanalysis.reports), and audit each export: one `report.exported` event with the
file's hash and size, never its text. The grid page is audited like a document page, once per
showing (`matter.grid_viewed`)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from docanalysis.db import repositories as repo
from docanalysis.db.engine import reading
from docanalysis.reports import docx_report, pdf_reports
from docanalysis.reports.content import ReportMeta
from docanalysis.reports.grid import Grid, build_grid, category_counts, default_categories
from docanalysis.reports.grid_export import grid_csv, grid_xlsx
from docanalysis.services import queries
from docanalysis.services.apikeys import ApiPrincipal
from docanalysis.services.audit import record_alone
from docanalysis.services.errors import NotFound
from docanalysis.services.members import require
from docanalysis.services.runtime import Runtime
from docanalysis.services.views import Actor, DocumentAnalysis

EXPORT_ACTION = "report.exported"
GRID_VIEW_ACTION = "matter.grid_viewed"
MEDIA_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
REPORT_FORMATS = ("docx", "pdf")
GRID_FORMATS = ("csv", "xlsx")
_UNSAFE_NAME = re.compile(r"[^\w .,()&+-]+")


@dataclass(frozen=True)
class Export:
    filename: str
    media_type: str
    data: bytes


@dataclass(frozen=True)
class MatterAnalyses:
    matter_id: int
    tenant_id: int
    name: str
    analyses: tuple[DocumentAnalysis, ...]  # by document name


@dataclass(frozen=True)
class CategoryChoice:
    key: str
    name: str
    documents: int  # how many of the matter's documents have such a clause
    chosen: bool


@dataclass(frozen=True)
class GridPage:
    matter: MatterAnalyses
    grid: Grid
    choices: tuple[CategoryChoice, ...]  # every category, found ones first


def matter_analyses(rt: Runtime, actor: Actor, matter_id: int) -> MatterAnalyses:
    """The analyses of the matter's documents (NotFound unless the actor is a member)."""
    with reading(rt.engine) as conn:
        found = repo.matter(conn, matter_id)
        if found is None:
            raise NotFound("no such matter")
        require(conn, actor, matter_id, "viewer")
        ids = [int(d.id) for d in repo.documents_of_matter(conn, matter_id)]
    analyses = []
    for document_id in ids:
        try:
            analyses.append(queries.document_analysis(rt, actor.user_id, document_id))
        except NotFound:  # deleted since
            continue
    analyses.sort(key=lambda a: (a.document.name.casefold(), a.document.id))
    return MatterAnalyses(matter_id, int(found.tenant_id), found.name, tuple(analyses))


def chosen_categories(
    rt: Runtime, analyses: Sequence[DocumentAnalysis], asked: Sequence[str]
) -> list[str]:
    """The grid's columns: the asked categories the taxonomy knows, in its order; without
    any, the categories found in the most documents."""
    names, wanted = rt.category_names, set(asked)
    known = [key for key in names if key in wanted]
    return known or default_categories(analyses, names)


def grid_page(rt: Runtime, actor: Actor, matter_id: int, asked: Sequence[str]) -> GridPage:
    found = matter_analyses(rt, actor, matter_id)
    names = rt.category_names
    columns = chosen_categories(rt, found.analyses, asked)
    counts = category_counts(found.analyses)
    choices = sorted(
        (CategoryChoice(k, n, counts.get(k, 0), k in columns) for k, n in names.items()),
        key=lambda c: c.documents == 0,  # stable: taxonomy order within each part
    )
    grid = build_grid(found.analyses, columns, names)
    record_alone(
        rt,
        actor,
        GRID_VIEW_ACTION,
        f"matter:{matter_id}",
        found.tenant_id,
        matter_id,
        categories=columns,
        documents=[a.document.id for a in found.analyses],
    )
    return GridPage(found, grid, tuple(choices))


def document_report(
    rt: Runtime, actor: Actor, document_id: int, fmt: str, now: datetime | None = None
) -> Export:
    """A document's report as DOCX or PDF (NotFound unless the actor may see it)."""
    _check(fmt, REPORT_FORMATS)
    analysis = queries.document_analysis(rt, actor.user_id, document_id)
    with reading(rt.engine) as conn:
        matter = repo.matter(conn, analysis.document.matter_id)
    if matter is None:
        raise NotFound("no such document")
    meta = ReportMeta(now or datetime.now(UTC), actor.identity, matter.name)
    writer = docx_report.document_docx if fmt == "docx" else pdf_reports.document_pdf
    export = _export(analysis.document.name, "analysis", fmt, writer(analysis, meta))
    _audit(
        rt,
        actor,
        export,
        fmt,
        int(matter.tenant_id),
        analysis.document.matter_id,
        scope="document",
        report="analysis",
        document_id=document_id,
    )
    return export


def matter_report(
    rt: Runtime, actor: Actor, matter_id: int, fmt: str, now: datetime | None = None
) -> Export:
    """The matter's report, one section per document, as DOCX or PDF."""
    _check(fmt, REPORT_FORMATS)
    found = matter_analyses(rt, actor, matter_id)
    meta = ReportMeta(now or datetime.now(UTC), actor.identity, found.name)
    writer: Callable[[str, Sequence[DocumentAnalysis], ReportMeta], bytes] = (
        docx_report.matter_docx if fmt == "docx" else pdf_reports.matter_pdf
    )
    export = _export(found.name, "matter report", fmt, writer(found.name, found.analyses, meta))
    documents = [a.document.id for a in found.analyses]
    _audit(
        rt,
        actor,
        export,
        fmt,
        found.tenant_id,
        matter_id,
        scope="matter",
        report="analysis",
        documents=documents,
    )
    return export


def grid_export(
    rt: Runtime,
    actor: Actor,
    matter_id: int,
    asked: Sequence[str],
    fmt: str,
    base_url: str = "",
    now: datetime | None = None,
) -> Export:
    """The review grid as CSV or XLSX; cells link to the app at `base_url` when given."""
    _check(fmt, GRID_FORMATS)
    found = matter_analyses(rt, actor, matter_id)
    columns = chosen_categories(rt, found.analyses, asked)
    grid = build_grid(found.analyses, columns, rt.category_names)
    if fmt == "csv":
        data = grid_csv(grid, base_url)
    else:
        data = grid_xlsx(grid, now or datetime.now(UTC), base_url, f"Review grid: {found.name}")
    export = _export(found.name, "review grid", fmt, data)
    documents = [a.document.id for a in found.analyses]
    _audit(
        rt,
        actor,
        export,
        fmt,
        found.tenant_id,
        matter_id,
        scope="matter",
        report="grid",
        categories=columns,
        documents=documents,
    )
    return export


def _check(fmt: str, allowed: tuple[str, ...]) -> None:
    if fmt not in allowed:
        raise NotFound(f"no {fmt} export of this")


def _export(name: str, what: str, fmt: str, data: bytes) -> Export:
    stem = re.sub(r"\.pdf$", "", name, flags=re.IGNORECASE)
    stem = _UNSAFE_NAME.sub("_", stem).strip(" ._")[:80] or "document"
    return Export(f"{stem} - {what}.{fmt}", MEDIA_TYPES[fmt], data)


def _audit(
    rt: Runtime,
    actor: Actor,
    export: Export,
    fmt: str,
    tenant_id: int,
    matter_id: int,
    *,
    scope: str,
    document_id: int | None = None,
    **details: object,
) -> None:
    """One event per export: what left (format, scope, hash, size), never its words. The
    matter's id is the event's own column; a document's export also names the document."""
    subject = f"document:{document_id}" if document_id is not None else f"matter:{matter_id}"
    ids = {"document_id": document_id} if document_id is not None else {}
    facts: dict[str, Any] = {"format": fmt, "scope": scope, **ids, **details}
    facts.update(sha256=hashlib.sha256(export.data).hexdigest(), bytes=len(export.data))
    record_alone(rt, actor, EXPORT_ACTION, subject, tenant_id, matter_id, **facts)


def require_api_matter(rt: Runtime, principal: ApiPrincipal, matter_id: int) -> None:
    """NotFound unless the matter is in the API key's tenant and scope."""
    with reading(rt.engine) as conn:
        found = repo.matter(conn, matter_id)
    if found is None or int(found.tenant_id) != principal.tenant_id:
        raise NotFound("no such matter")
    if not principal.may_use(matter_id):
        raise NotFound("no such matter")
