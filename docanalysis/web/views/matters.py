"""The user's matters (home), creating a matter, and a matter's page with its documents."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from docanalysis.db.tables import MATTER_ROLES
from docanalysis.services import matters, members, queries
from docanalysis.services.errors import NotFound, Rejected
from docanalysis.web.views.common import actor_for, runtime


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return _home(request)


@require_POST
def create(request: HttpRequest) -> HttpResponse:
    name = request.POST.get("name", "")
    try:
        matter_id = matters.create_matter(runtime(), actor_for(request), name)
    except Rejected as e:
        return _home(request, name, e.reason, status=400)
    return redirect("matter", matter_id=matter_id)


def _home(request: HttpRequest, name: str = "", error: str = "", status: int = 200) -> HttpResponse:
    context = {
        "matters": matters.matters_for_user(runtime(), request.user.pk),
        "name": name,
        "error": error,
    }
    return render(request, "web/home.html", context, status=status)


@require_GET
def detail(request: HttpRequest, matter_id: int) -> HttpResponse:
    return render_matter(request, matter_id)


def render_matter(
    request: HttpRequest,
    matter_id: int,
    errors: tuple[str, ...] = (),
    status: int = 200,
    duplicates: list[tuple[str, int]] | None = None,
    member_errors: tuple[str, ...] = (),
) -> HttpResponse:
    """The matter page; `duplicates`: (file name, document id) of uploads the matter already
    had, each shown with a link to its document; `member_errors`: a refused member change."""
    rt = runtime()
    try:
        documents = queries.documents_in_matter(rt, request.user.pk, matter_id)
    except NotFound:
        raise Http404("No such matter.") from None
    matter = next(
        (m for m in matters.matters_for_user(rt, request.user.pk) if m.id == matter_id), None
    )
    if matter is None:
        raise Http404("No such matter.")
    people = _member_rows(request, matter_id)
    mine = next((p["role"] for p in people if p["user_id"] == request.user.pk), "viewer")
    context = {
        "matter": matter,
        "documents": documents,
        "errors": errors,
        "duplicates": duplicates or [],
        "members": people,
        "my_role": mine,
        "roles": MATTER_ROLES,
        "member_errors": member_errors,
        "max_upload_bytes": settings.MAX_UPLOAD_BYTES,
    }
    return render(request, "web/matter.html", context, status=status)


def _member_rows(request: HttpRequest, matter_id: int) -> list[dict[str, Any]]:
    """The matter's members with their user names, earliest first."""
    found = members.members(runtime(), actor_for(request), matter_id)
    ids = [m.user_id for m in found]
    names = dict(get_user_model().objects.filter(pk__in=ids).values_list("pk", "username"))
    return [
        {"user_id": m.user_id, "name": names.get(m.user_id, f"user {m.user_id}"), "role": m.role}
        for m in found
    ]
