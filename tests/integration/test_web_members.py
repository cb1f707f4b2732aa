"""Matter members and their roles in the browser, over the real services on each dialect: a
viewer reads, an editor uploads and deletes, an admin manages members; a matter keeps an admin;
each change is audited."""

from __future__ import annotations

from itertools import count
from typing import Any

import pytest

from docanalysis.db.audit import read_events
from docanalysis.db.engine import reading
from docanalysis.services import queries
from docanalysis.services.runtime import Runtime
from tests.conftest import ONE_PAGE_CONTRACT

_names = count(1)


@pytest.fixture
def rt(views_rt: Runtime) -> Runtime:
    return views_rt


def _person(prefix: str) -> tuple[Any, Any]:
    from django.contrib.auth.models import User
    from django.test import Client

    name = f"{prefix}-m{next(_names)}"
    user = User.objects.create_user(name, f"{name}@firm.example", "pw-Long-enough-1")
    client = Client()
    client.force_login(user)
    return user, client


def _upload(client: Any, matter_id: int, data: bytes) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("contract.pdf", data, content_type="application/pdf")
    return client.post(f"/matters/{matter_id}/documents/", {"files": [upload]})


def _matter(client: Any) -> int:
    response = client.post("/matters/new/", {"name": f"Members {next(_names)}"})
    return int(response["Location"].strip("/").split("/")[-1])


def test_roles_decide_who_uploads_and_who_manages(rt: Runtime) -> None:
    admin, admin_client = _person("ada")
    viewer, viewer_client = _person("vic")
    editor, editor_client = _person("eddie")
    matter_id = _matter(admin_client)
    page = admin_client.get(f"/matters/{matter_id}/")
    assert f'<tr id="member-{admin.pk}">' in page.text and "<td>admin</td>" in page.text

    added = admin_client.post(
        f"/matters/{matter_id}/members/", {"username": viewer.username, "role": "viewer"}
    )
    assert added.status_code == 302
    admin_client.post(
        f"/matters/{matter_id}/members/", {"username": editor.username, "role": "editor"}
    )
    # The viewer sees the matter and its members, but may neither upload nor manage.
    seen = viewer_client.get(f"/matters/{matter_id}/")
    assert seen.status_code == 200 and 'id="add-member"' not in seen.text
    refused = _upload(viewer_client, matter_id, ONE_PAGE_CONTRACT.read_bytes())
    assert refused.status_code == 400
    refusal = "as a viewer of this matter you cannot upload, review or delete documents"
    assert refusal in refused.text
    assert queries.documents_in_matter(rt, viewer.pk, matter_id) == []
    manage = viewer_client.post(f"/matters/{matter_id}/members/{editor.pk}/role", {"role": "admin"})
    assert manage.status_code == 403 and "cannot manage the members" in manage.text
    # The editor uploads.
    assert _upload(editor_client, matter_id, ONE_PAGE_CONTRACT.read_bytes()).status_code == 302
    assert len(queries.documents_in_matter(rt, viewer.pk, matter_id)) == 1

    with reading(rt.engine) as conn:
        changes = [e for e in read_events(conn) if e.action.startswith("matter.member_")]
    assert [(e.action, e.details["user_id"], e.details["role"]) for e in changes] == [
        ("matter.member_added", admin.pk, "admin"),  # the creator
        ("matter.member_added", viewer.pk, "viewer"),
        ("matter.member_added", editor.pk, "editor"),
    ]
    assert [e.actor_id for e in changes] == [admin.pk] * 3


def test_an_admin_changes_roles_removes_members_and_keeps_an_admin(rt: Runtime) -> None:
    admin, admin_client = _person("ada")
    other, other_client = _person("otto")
    matter_id = _matter(admin_client)
    admin_client.post(f"/matters/{matter_id}/members/", {"username": other.username})
    last = admin_client.post(f"/matters/{matter_id}/members/{admin.pk}/role", {"role": "editor"})
    assert last.status_code == 400 and "keeps at least one admin" in last.text
    promoted = admin_client.post(f"/matters/{matter_id}/members/{other.pk}/role", {"role": "admin"})
    assert promoted.status_code == 302
    assert admin_client.post(f"/matters/{matter_id}/members/{admin.pk}/remove").status_code == 302
    assert admin_client.get(f"/matters/{matter_id}/").status_code == 404  # no longer a member
    unknown = other_client.post(f"/matters/{matter_id}/members/", {"username": "nobody-here"})
    assert unknown.status_code == 400 and "no user is named &#x27;nobody-here&#x27;" in unknown.text
    twice = other_client.post(f"/matters/{matter_id}/members/", {"username": other.username})
    assert twice.status_code == 400 and "already a member" in twice.text
    with reading(rt.engine) as conn:
        actions = [e.action for e in read_events(conn) if e.action.startswith("matter.member_")]
    assert actions[-2:] == ["matter.member_role_changed", "matter.member_removed"]


def test_strangers_get_404_for_the_member_forms(rt: Runtime) -> None:
    _, admin_client = _person("ada")
    stranger, stranger_client = _person("sam")
    matter_id = _matter(admin_client)
    for path in (
        f"/matters/{matter_id}/members/",
        f"/matters/{matter_id}/members/{stranger.pk}/role",
        f"/matters/{matter_id}/members/{stranger.pk}/remove",
    ):
        assert stranger_client.post(path, {"username": stranger.username}).status_code == 404
