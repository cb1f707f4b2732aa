"""API keys in the browser, for tenant admins (and superusers; anyone else gets 404): the
tenant's keys, a form that creates one (shown once, on the page that answers the form, never
again), and revocation. The service audits both."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from docanalysis.services import apikeys, compliance
from docanalysis.services.errors import NotFound, Rejected
from docanalysis.services.matters import DEFAULT_TENANT
from docanalysis.web.views.common import actor_for, runtime
from docanalysis.web.views.compliance import may_administer, only_for


@only_for(may_administer, "GET")
def keys(request: HttpRequest) -> HttpResponse:
    return _render(request)


@only_for(may_administer, "POST")
def create(request: HttpRequest) -> HttpResponse:
    form = request.POST
    try:
        matter_ids = tuple(int(m) for m in form.getlist("matters") if m)
        expires = int(form["expires_days"]) if form.get("expires_days") else None
    except ValueError:
        return _render(request, error="Matters and days are whole numbers.", status=400)
    try:
        new = apikeys.create_key(
            runtime(),
            actor_for(request),
            DEFAULT_TENANT,
            matter_ids=matter_ids,
            expires_days=expires,
            name=form.get("name", ""),
        )
    except Rejected as e:
        return _render(request, error=e.reason, status=400)
    response = _render(request, new_key=new)
    response["Cache-Control"] = "no-store"  # the key is on this page: never keep a copy
    return response


@only_for(may_administer, "POST")
def revoke(request: HttpRequest, prefix: str) -> HttpResponse:
    rt = runtime()
    tenant = compliance.tenant_id(rt, DEFAULT_TENANT)
    try:
        apikeys.revoke_key(rt, actor_for(request), prefix, tenant_id=tenant or -1)
    except NotFound:
        raise Http404("No such key.") from None
    except Rejected as e:
        return _render(request, error=e.reason, status=400)
    messages.success(request, f"API key {prefix} was revoked: it stops working at once.")
    return redirect("api-keys")


def _render(
    request: HttpRequest,
    *,
    new_key: apikeys.NewKey | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    rt = runtime()
    tenant = compliance.tenant_id(rt, DEFAULT_TENANT)
    context = {
        "keys": apikeys.keys_of_tenant(rt, tenant) if tenant is not None else [],
        "matters": compliance.matters_of_tenant(rt, tenant),
        "new_key": new_key,
        "error": error,
    }
    return render(request, "web/api_keys.html", context, status=status)
