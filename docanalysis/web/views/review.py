"""Held results: what the guard held, grouped by document, each with the form that releases it
after review. Only compliance officers and tenant admins see it (404 for anyone else, as for
the compliance view); the review service checks the tenant and audits each release."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from docanalysis.services import compliance, review
from docanalysis.services.errors import NotFound, Rejected
from docanalysis.services.matters import DEFAULT_TENANT
from docanalysis.services.review import HeldFinding
from docanalysis.services.runtime import Runtime
from docanalysis.web.views.common import actor_for, runtime
from docanalysis.web.views.compliance import officers_only


@dataclass(frozen=True)
class Refused:
    """A release that was refused: which result's, what was typed, and why."""

    finding_id: int
    reason: str
    error: str


@dataclass(frozen=True)
class HeldRow:
    finding: HeldFinding
    category_name: str  # "" for a summary
    refused: Refused | None


@dataclass(frozen=True)
class HeldDocument:
    id: int
    name: str
    matter_name: str
    rows: tuple[HeldRow, ...]


@officers_only("GET")
def held(request: HttpRequest) -> HttpResponse:
    return _render(request, runtime())


@officers_only("POST")
def release(request: HttpRequest, finding_id: int) -> HttpResponse:
    rt = runtime()
    reason = request.POST.get("reason", "")
    tenant = compliance.tenant_id(rt, DEFAULT_TENANT)
    try:
        review.release_finding(rt, actor_for(request), tenant, finding_id, reason)
    except NotFound:
        raise Http404("No such result.") from None
    except Rejected as e:
        return _render(request, rt, Refused(finding_id, reason, e.reason), status=400)
    messages.success(request, "Released after review.")
    return redirect("compliance-review")


def _render(
    request: HttpRequest, rt: Runtime, refused: Refused | None = None, status: int = 200
) -> HttpResponse:
    held = review.held_findings(rt, compliance.tenant_id(rt, DEFAULT_TENANT))
    names = rt.category_names
    docs = [
        _document(list(items), names, refused)
        for _, items in groupby(held, key=lambda f: f.document_id)
    ]
    # A refusal for a result no longer listed (released meanwhile) has no form to sit by.
    stray = refused if refused and all(f.id != refused.finding_id for f in held) else None
    context = {"documents": docs, "stray": stray}
    return render(request, "web/compliance_review.html", context, status=status)


def _document(
    items: list[HeldFinding], names: dict[str, str], refused: Refused | None
) -> HeldDocument:
    first = items[0]
    rows = tuple(
        HeldRow(
            finding=f,
            category_name=names.get(f.category, f.category),
            refused=refused if refused and refused.finding_id == f.id else None,
        )
        for f in items
    )
    return HeldDocument(first.document_id, first.document_name, first.matter_name, rows)
