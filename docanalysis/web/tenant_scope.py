"""Each request's database transactions see its caller's tenants only (db.tenancy: PostgreSQL
row-level security's scope).

A browser user: the tenants they hold a role or a matter in, and the tenant the browser works
in (matters.DEFAULT_TENANT); a superuser: every tenant (they administer all of them). An API
request starts with none: the key's authentication sets its tenant (api.auth). The scope ends
with the request, so a thread that serves the next one starts from nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

from docanalysis.db.tenancy import EVERY, Scope, set_scope, tenant_scope, user_tenants
from docanalysis.services.matters import DEFAULT_TENANT
from docanalysis.web.db_unavailable import UNAVAILABLE, unavailable
from docanalysis.web.views.common import runtime


class TenantScopeMiddleware:
    """Placed after DatabaseUnavailableMiddleware, whose process_view loads the user first."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with tenant_scope(frozenset()):
            return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Any, args: Any, kwargs: Any
    ) -> HttpResponse | None:
        if not getattr(view, "login_required", True):
            return None  # sign-in, static files, /healthz; the API's key sets its own scope
        try:
            set_scope(browser_scope(request))
        except UNAVAILABLE as exc:
            return unavailable(request, exc)
        return None


def browser_scope(request: HttpRequest) -> Scope:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return frozenset()
    if user.is_superuser:
        return EVERY
    return user_tenants(runtime().engine, int(user.pk), also=DEFAULT_TENANT)
