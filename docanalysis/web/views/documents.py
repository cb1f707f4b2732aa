"""A document's analysis page, its live status (JSON), the
download of its original file, and its deletion."""

from __future__ import annotations

from itertools import groupby

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_POST

from docanalysis.services import matters, queries, retention
from docanalysis.services.audit import record_download, record_view
from docanalysis.services.errors import NotFound
from docanalysis.services.runtime import Runtime
from docanalysis.services.views import DocumentAnalysis, FindingView, MatterView
from docanalysis.web.views.common import actor_for, runtime, status_payload


@require_GET
def detail(request: HttpRequest, document_id: int) -> HttpResponse:
    try:
        analysis = queries.document_analysis(runtime(), request.user.pk, document_id)
    except NotFound:
        raise Http404("No such document.") from None
    return _render_document(request, analysis)


def _render_document(
    request: HttpRequest,
    analysis: DocumentAnalysis,
    errors: tuple[str, ...] = (),
    status: int = 200,
) -> HttpResponse:
    """The analysis page; every rendering of it shows the analysis, so each one is audited."""
    rt = runtime()
    record_view(rt, actor_for(request), analysis.document, "analysis")
    context = {
        "analysis": analysis,
        "doc": analysis.document,
        "groups": _groups(analysis),
        "matter": _matter(rt, request.user.pk, analysis.document.matter_id),
        "errors": errors,
    }
    return render(request, "web/document.html", context, status=status)


def _matter(rt: Runtime, user_id: int, matter_id: int) -> MatterView | None:
    """The document's matter with its legal hold (None if membership ended meanwhile)."""
    return next((m for m in matters.matters_for_user(rt, user_id) if m.id == matter_id), None)


@require_GET
def provision(request: HttpRequest, document_id: int, number: int) -> HttpResponse:
    """A provision the summary cites, in the source's own words, with its page."""
    try:
        found = queries.provision(runtime(), request.user.pk, document_id, number)
    except NotFound:
        raise Http404("No such provision.") from None
    return render(request, "web/provision.html", {"p": found})


def _groups(analysis: DocumentAnalysis) -> list[tuple[str, list[FindingView]]]:
    """Clauses grouped by category name, groups in the order their first clause appears."""
    order: dict[str, int] = {}
    for clause in analysis.clauses:
        order.setdefault(clause.category_name or clause.category, len(order))
    ranked = sorted(analysis.clauses, key=lambda c: order[c.category_name or c.category])
    return [
        (name, list(items))
        for name, items in groupby(ranked, key=lambda c: c.category_name or c.category)
    ]


@require_GET
def status(request: HttpRequest, document_id: int) -> JsonResponse:
    try:
        run = queries.document_status(runtime(), request.user.pk, document_id)
    except NotFound:
        return JsonResponse({"error": "No such document."}, status=404)
    response = JsonResponse(status_payload(run))
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def original(request: HttpRequest, document_id: int) -> HttpResponse:
    """The file as uploaded, as an attachment: never rendered inline, whatever it holds."""
    rt = runtime()
    try:
        found = queries.original_file(rt, request.user.pk, document_id)
    except NotFound:
        raise Http404("No such document.") from None
    record_download(rt, actor_for(request), found.document_id, found.matter_id, found.sha256)
    response = HttpResponse(found.data, content_type=found.media_type)
    response["Content-Disposition"] = content_disposition_header(True, found.name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
def delete(request: HttpRequest, document_id: int) -> HttpResponse:
    rt = runtime()
    try:
        analysis = queries.document_analysis(rt, request.user.pk, document_id)
    except NotFound:
        raise Http404("No such document.") from None
    try:
        retention.delete_document(rt, actor_for(request), document_id)
    except NotFound:  # deleted by someone else since
        raise Http404("No such document.") from None
    except retention.OnLegalHold as e:
        return _render_document(request, analysis, (e.reason,), status=409)
    doc = analysis.document
    messages.success(request, f"{doc.name} was deleted.")
    return redirect("matter", matter_id=doc.matter_id)
