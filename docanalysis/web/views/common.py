"""Helpers shared by the views: the runtime, the acting user, a run's status as JSON."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.utils.http import content_disposition_header

from docanalysis.services.runtime import Runtime, get_runtime
from docanalysis.services.views import Actor, RunStatus


def runtime() -> Runtime:
    return get_runtime()


def actor_for(request: HttpRequest, user: AbstractBaseUser | AnonymousUser | None = None) -> Actor:
    """The acting user (the request's, unless given) with the request's id and address."""
    user = request.user if user is None else user
    username = user.get_username()
    email = getattr(user, "email", "")
    identity = f"{username} <{email}>" if email else username
    return Actor(
        user_id=user.pk,
        identity=identity,
        request_id=getattr(request, "request_id", ""),
        client_address=request.META.get("REMOTE_ADDR", ""),
    )


def status_payload(status: RunStatus) -> dict[str, Any]:
    return {
        "state": status.state,
        "label": status.label,
        "reason": status.reason,
        "stage_done": status.stage_done,
        "stage_total": status.stage_total,
        "final": status.final,
    }


def attachment(data: bytes, media_type: str, filename: str) -> HttpResponse:
    """A download: never rendered inline nor sniffed as another type, never cached shared."""
    response = HttpResponse(data, content_type=media_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
