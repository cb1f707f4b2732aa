"""Helpers shared by the views: the runtime, the acting user, a run's status as JSON."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest

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
