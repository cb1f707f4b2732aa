"""The matter's review grid (a page), and the downloads: the grid as CSV or XLSX, and the
document's or the matter's report as DOCX or PDF. Every download is an attachment, never
rendered in the browser nor kept in a shared cache; each is audited by the service."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from docanalysis.services import reports
from docanalysis.services.errors import NotFound
from docanalysis.web.views.common import actor_for, attachment, runtime

MAX_CATEGORIES = 100  # more than the taxonomy has; a longer query string is not a choice


def _asked(request: HttpRequest) -> list[str]:
    return request.GET.getlist("category")[:MAX_CATEGORIES]


@require_GET
def grid(request: HttpRequest, matter_id: int) -> HttpResponse:
    try:
        found = reports.grid_page(runtime(), actor_for(request), matter_id, _asked(request))
    except NotFound:
        raise Http404("No such matter.") from None
    others = [c for c in found.choices if not c.documents]
    context = {
        "matter": found.matter,
        "grid": found.grid,
        "found": [c for c in found.choices if c.documents],
        "others": others,
        "others_open": any(c.chosen for c in others),  # a chosen one is not hidden away
        # The downloads get the columns shown (the defaults, when none were asked for).
        "query": urlencode([("category", key) for key in found.grid.categories]),
    }
    return render(request, "web/grid.html", context)


@require_GET
def grid_download(request: HttpRequest, matter_id: int, fmt: str) -> HttpResponse:
    base_url = request.build_absolute_uri("/")
    try:
        export = reports.grid_export(
            runtime(), actor_for(request), matter_id, _asked(request), fmt, base_url
        )
    except NotFound:
        raise Http404("No such matter.") from None
    return _attachment(export)


@require_GET
def matter_report(request: HttpRequest, matter_id: int, fmt: str) -> HttpResponse:
    try:
        export = reports.matter_report(runtime(), actor_for(request), matter_id, fmt)
    except NotFound:
        raise Http404("No such matter.") from None
    return _attachment(export)


@require_GET
def document_report(request: HttpRequest, document_id: int, fmt: str) -> HttpResponse:
    try:
        export = reports.document_report(runtime(), actor_for(request), document_id, fmt)
    except NotFound:
        raise Http404("No such document.") from None
    return _attachment(export)


def _attachment(export: reports.Export) -> HttpResponse:
    return attachment(export.data, export.media_type, export.filename)
