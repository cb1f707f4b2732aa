"""The compliance view: the audit trail filtered by matter, user, action and time, one event's
details, and a verifiable export of the selection.

Only compliance officers and tenant admins (who hold the tenant role "compliance" or
"tenant-admin", services.roles) and superusers see it; everyone else gets 404, as if the pages
did not exist (the permission check runs before the method and CSRF checks, which would
otherwise tell)."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from functools import wraps
from pathlib import Path
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from docanalysis.audit_signing import checkpoints_path, load_or_create_key
from docanalysis.db.audit import AuditEvent
from docanalysis.db.tables import TENANT_ROLES
from docanalysis.services import compliance, roles
from docanalysis.services.audit_export import export_audit
from docanalysis.services.matters import DEFAULT_TENANT
from docanalysis.web.views.common import actor_for, runtime

View = Callable[..., HttpResponse]


def may_see_compliance(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Superusers, and the users who hold a tenant role (compliance, tenant-admin) in the
    tenant (services.roles; granted with `manage.py role grant`)."""
    if not user.is_authenticated:
        return False
    if getattr(user, "is_superuser", False):
        return True
    return bool(roles.roles_of(runtime(), int(user.pk), DEFAULT_TENANT) & set(TENANT_ROLES))


def may_administer(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Superusers and tenant admins: API keys, and what else administers the tenant."""
    if not user.is_authenticated:
        return False
    if getattr(user, "is_superuser", False):
        return True
    return "tenant-admin" in roles.roles_of(runtime(), int(user.pk), DEFAULT_TENANT)


def only_for(allowed: Callable[[Any], bool], *methods: str) -> Callable[[View], View]:
    """Who may see it first (404 for anyone else), then the method (405), then CSRF (403):
    the CSRF middleware would otherwise answer a stranger's POST with 403 before the check."""

    def decorate(view: View) -> View:
        checked = csrf_protect(view)

        @csrf_exempt
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not allowed(request.user):
                raise Http404("No such page.")
            if request.method not in methods:
                return HttpResponseNotAllowed(methods)
            return checked(request, *args, **kwargs)

        return wrapped

    return decorate


def officers_only(*methods: str) -> Callable[[View], View]:
    """Compliance officers, tenant admins and superusers only (see only_for)."""
    return only_for(may_see_compliance, *methods)


def nav(request: HttpRequest) -> dict[str, Any]:
    """Context processor: `show_compliance` and `show_admin` for the navigation, evaluated only
    when used."""
    return {
        "show_compliance": lambda: may_see_compliance(request.user),
        "show_admin": lambda: may_administer(request.user),
    }


# -- filters --------------------------------------------------------------------------------


def _day(value: str, errors: list[str], label: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors.append(f"{label}: {value!r} is not a date (YYYY-MM-DD)")
        return None


def _filter(data: Any, errors: list[str]) -> compliance.EventFilter:
    """The filter from a form (GET or POST); invalid fields are listed in `errors` and ignored.
    Dates are whole UTC days, both inclusive."""
    matter_text = data.get("matter", "").strip()
    matter_id = None
    if matter_text:
        if matter_text.isdigit():
            matter_id = int(matter_text)
        else:
            errors.append(f"Matter: {matter_text!r} is not a matter id")
    since = _day(data.get("from", "").strip(), errors, "From")
    until = _day(data.get("to", "").strip(), errors, "To")
    return compliance.EventFilter(
        matter_id=matter_id,
        user=data.get("user", "").strip(),
        action=data.get("action", "").strip(),
        since=datetime.combine(since, time(), UTC) if since else None,
        until=datetime.combine(until + timedelta(days=1), time(), UTC) if until else None,
    )


def _outcome(event: AuditEvent) -> str:
    # A guard verdict's own outcome (release, flag, block) says more than "ok".
    value = event.details.get("outcome") or event.details.get("verdict") or event.outcome
    text = str(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _when(event: AuditEvent) -> str:
    return event.occurred_at.strftime("%Y-%m-%d %H:%M:%S")


# -- views ----------------------------------------------------------------------------------


@officers_only("GET")
def events(request: HttpRequest) -> HttpResponse:
    rt, errors = runtime(), list[str]()
    flt = _filter(request.GET, errors)
    page_text = request.GET.get("page", "1")
    page_number = int(page_text) if page_text.isdigit() and int(page_text) > 0 else 1
    tenant = compliance.tenant_id(rt, DEFAULT_TENANT)
    page = compliance.list_events(rt, tenant, flt, page_number)
    compliance.record_viewed(
        rt,
        actor_for(request),
        "audit:events",
        tenant,
        view="list",
        filters=flt.as_json(),
        page=page.page,
        shown=len(page.events),
    )

    def page_query(n: int) -> str:
        query = request.GET.copy()
        query["page"] = str(n)
        return query.urlencode()

    context = {
        "rows": [{"event": e, "when": _when(e), "outcome": _outcome(e)} for e in page.events],
        "actions": compliance.actions(rt, tenant),
        "form": {k: request.GET.get(k, "") for k in ("matter", "user", "action", "from", "to")},
        "errors": errors,
        "page": page.page,
        "next_query": page_query(page.page + 1) if page.has_next else "",
        "previous_query": page_query(page.page - 1) if page.page > 1 else "",
    }
    return render(request, "web/compliance.html", context, status=400 if errors else 200)


@officers_only("GET")
def event(request: HttpRequest, seq: int) -> HttpResponse:
    rt = runtime()
    tenant = compliance.tenant_id(rt, DEFAULT_TENANT)
    found = compliance.event(rt, tenant, seq)
    if found is None:
        raise Http404("No such event.")
    compliance.record_viewed(rt, actor_for(request), f"audit:{seq}", tenant, view="event")
    context = {
        "event": found,
        "when": found.occurred_at.isoformat(),
        "details": json.dumps(found.details, indent=2, sort_keys=True, ensure_ascii=False),
    }
    return render(request, "web/compliance_event.html", context)


@officers_only("POST")
def export(request: HttpRequest) -> HttpResponse:
    rt, errors = runtime(), list[str]()
    flt = _filter(request.POST, errors)
    if errors:
        return HttpResponse("\n".join(errors), status=400, content_type="text/plain")
    actor = actor_for(request)
    key_path = rt.settings.audit_key
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    scope = f"matter-{flt.matter_id}" if flt.matter_id is not None else "all"
    name = f"audit-export-{scope}-{stamp}.zip"
    with tempfile.TemporaryDirectory(prefix="docanalysis-export-") as work:
        summary = export_audit(
            rt.engine,
            Path(work) / name,
            key=load_or_create_key(key_path),
            actor=actor.identity,
            actor_id=actor.user_id,
            tenant_id=compliance.tenant_id(rt, DEFAULT_TENANT),
            matter_id=flt.matter_id,
            since=flt.since,
            until=flt.until,
            checkpoint_file=checkpoints_path(key_path),
        )
        data = summary.path.read_bytes()
    response = HttpResponse(data, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response
