"""When the database cannot be reached (PostgreSQL restarting, a failover), every request
that needs it answers 503 with Retry-After and a sentence a person can act on, instead of a
500 "something went wrong": nothing was saved, and the same request will work in a moment.

The browser's pages get a small page (or JSON, for the uploads' script), the API its error
envelope (docanalysis.api.errors maps the same errors). Two places can meet the outage: the
session and user behind a page that needs a signed-in user (loaded by Django before the view),
and the view itself (the domain's tables, through SQLAlchemy).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import psycopg
from django.db import utils as django_db
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from sqlalchemy import exc as sqlalchemy_exc

log = logging.getLogger(__name__)

RETRY_AFTER_S = 5
MESSAGE = (
    "The database is unavailable for a moment, so nothing was saved. "
    f"Please try again in {RETRY_AFTER_S} seconds."
)
# A server that is down, restarting or refusing connections. (Not IntegrityError and the
# like: those are bugs or conflicts, not an outage.)
UNAVAILABLE: tuple[type[BaseException], ...] = (
    sqlalchemy_exc.OperationalError,
    sqlalchemy_exc.InterfaceError,
    django_db.OperationalError,
    django_db.InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)


def is_unavailable(exc: BaseException) -> bool:
    return isinstance(exc, UNAVAILABLE)


class DatabaseUnavailableMiddleware:
    """Placed after AuthenticationMiddleware and before LoginRequiredMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Any, args: Any, kwargs: Any
    ) -> HttpResponse | None:
        """Load the signed-in user here, for the pages that need one: an outage met while
        LoginRequiredMiddleware loads it would reach no process_exception."""
        if not getattr(view, "login_required", True):
            return None  # sign-in, static files, /healthz and the API: they need no session
        try:
            _ = request.user.is_authenticated
        except UNAVAILABLE as exc:
            return unavailable(request, exc)
        return None

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        return unavailable(request, exc) if is_unavailable(exc) else None


def unavailable(request: HttpRequest, exc: BaseException) -> HttpResponse:
    log.warning("database unavailable for %s %s: %s", request.method, request.path, exc)
    response: HttpResponse
    if request.path.startswith("/api/"):
        from docanalysis.api.errors import envelope

        response = JsonResponse(envelope(request, "unavailable", MESSAGE), status=503)
    elif "application/json" in request.headers.get("Accept", ""):
        response = JsonResponse({"error": "unavailable", "message": MESSAGE}, status=503)
    else:
        response = HttpResponse(_page(), status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_S)
    return response


def _page() -> str:
    return render_to_string("503.html", {"message": MESSAGE})
