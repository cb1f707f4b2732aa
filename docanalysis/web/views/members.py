"""A matter's members in the browser: every member sees who else is in the matter and their
role; a matter admin adds people by user name, changes roles and removes members. The
services check the roles and audit each change."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from docanalysis.services import members
from docanalysis.services.errors import NotFound, Rejected
from docanalysis.web.views.common import actor_for, runtime
from docanalysis.web.views.matters import render_matter


@require_POST
def add(request: HttpRequest, matter_id: int) -> HttpResponse:
    name = request.POST.get("username", "").strip()
    user = get_user_model().objects.filter(username=name).first()
    if user is None:
        return _refused(request, matter_id, f"no user is named {name!r}" if name else "")
    role = request.POST.get("role") or "editor"
    actor = actor_for(request)
    return _change(
        request,
        matter_id,
        lambda: members.add(runtime(), actor, matter_id, int(user.pk), name, role),
        f"{name} was added as {role}.",
    )


@require_POST
def change_role(request: HttpRequest, matter_id: int, user_id: int) -> HttpResponse:
    name, role = _name(user_id), request.POST.get("role", "")
    return _change(
        request,
        matter_id,
        lambda: members.change_role(runtime(), actor_for(request), matter_id, user_id, name, role),
        f"{name} is now {role}.",
    )


@require_POST
def remove(request: HttpRequest, matter_id: int, user_id: int) -> HttpResponse:
    name = _name(user_id)
    return _change(
        request,
        matter_id,
        lambda: members.remove(runtime(), actor_for(request), matter_id, user_id, name),
        f"{name} was removed from this matter.",
    )


def _name(user_id: int) -> str:
    user = get_user_model().objects.filter(pk=user_id).first()
    return user.get_username() if user is not None else f"user {user_id}"


def _change(
    request: HttpRequest, matter_id: int, change: Callable[[], None], done: str
) -> HttpResponse:
    try:
        change()
    except members.Forbidden as e:
        return _refused(request, matter_id, e.reason, status=403)
    except NotFound as e:
        if e.reason == "no such matter":
            raise Http404("No such matter.") from None
        return _refused(request, matter_id, e.reason)
    except Rejected as e:
        return _refused(request, matter_id, e.reason)
    messages.success(request, done)
    return redirect("matter", matter_id=matter_id)


def _refused(request: HttpRequest, matter_id: int, reason: str, status: int = 400) -> HttpResponse:
    message = reason or "Write the user name of the person to add."
    return render_matter(request, matter_id, member_errors=(message,), status=status)
