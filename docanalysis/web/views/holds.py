"""Legal holds: every matter of the tenant with its hold and retention, and the forms that set
and lift a hold. Only compliance officers and tenant admins see it (404 for anyone else, as
for the compliance view); the retention service audits each change."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from docanalysis.services import compliance, retention
from docanalysis.services.errors import NotFound, Rejected
from docanalysis.services.matters import DEFAULT_TENANT
from docanalysis.services.runtime import Runtime
from docanalysis.services.views import Actor, MatterView
from docanalysis.web.views.common import actor_for, runtime
from docanalysis.web.views.compliance import officers_only

Change = Callable[[Runtime, Actor, int, str], None]


@dataclass(frozen=True)
class Refused:
    """A form that was refused: which matter's, which form ("set" or "lift"), what was typed."""

    matter_id: int
    form: str
    reason: str
    error: str


@officers_only("GET")
def holds(request: HttpRequest) -> HttpResponse:
    return _render(request, runtime())


@officers_only("POST")
def set_hold(request: HttpRequest, matter_id: int) -> HttpResponse:
    return _change(request, matter_id, "set", retention.set_legal_hold)


@officers_only("POST")
def lift_hold(request: HttpRequest, matter_id: int) -> HttpResponse:
    return _change(request, matter_id, "lift", retention.lift_legal_hold)


def _change(request: HttpRequest, matter_id: int, form: str, change: Change) -> HttpResponse:
    rt = runtime()
    matter = _tenant_matter(rt, matter_id)
    reason = request.POST.get("reason", "")
    try:
        change(rt, actor_for(request), matter_id, reason)
    except NotFound:
        raise Http404("No such matter.") from None
    except Rejected as e:
        return _render(request, rt, Refused(matter_id, form, reason, e.reason), status=400)
    if form == "set":
        messages.success(request, f"{matter.name} is now under legal hold.")
    else:
        messages.success(request, f"The legal hold on {matter.name} was lifted.")
    return redirect("compliance-holds")


def _tenant_matter(rt: Runtime, matter_id: int) -> MatterView:
    """The matter, if it is one of this tenant's: the page offers no other, nor may a form."""
    tenant = compliance.tenant_id(rt, DEFAULT_TENANT)
    found = next((m for m in compliance.matters_of_tenant(rt, tenant) if m.id == matter_id), None)
    if found is None:
        raise Http404("No such matter.")
    return found


def _render(
    request: HttpRequest, rt: Runtime, refused: Refused | None = None, status: int = 200
) -> HttpResponse:
    tenant = compliance.tenant_id(rt, DEFAULT_TENANT)
    rows = [
        {"matter": m, "refused": refused if refused and refused.matter_id == m.id else None}
        for m in compliance.matters_of_tenant(rt, tenant)
    ]
    return render(request, "web/compliance_holds.html", {"rows": rows}, status=status)
