"""Helpers shared by the views: the runtime, the acting user, a run's status as JSON."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from docanalysis.services.runtime import Runtime, get_runtime
from docanalysis.services.views import Actor, RunStatus


def runtime() -> Runtime:
    return get_runtime()


def actor_for(user: AbstractBaseUser | AnonymousUser) -> Actor:
    username = user.get_username()
    email = getattr(user, "email", "")
    identity = f"{username} <{email}>" if email else username
    return Actor(user_id=user.pk, identity=identity)


def status_payload(status: RunStatus) -> dict[str, Any]:
    return {
        "state": status.state,
        "label": status.label,
        "reason": status.reason,
        "stage_done": status.stage_done,
        "stage_total": status.stage_total,
        "final": status.final,
    }
