"""API keys in the browser: tenant admins create (shown once) and revoke them; everyone else
gets 404; both are audited with the request."""

from __future__ import annotations

import re
from itertools import count
from typing import Any

import pytest

from docanalysis.db.audit import read_events
from docanalysis.db.engine import reading
from docanalysis.services.matters import create_matter
from docanalysis.services.roles import grant_role
from docanalysis.services.runtime import Runtime
from docanalysis.services.views import Actor
from tests.integration.test_pipeline import ALICE

_names = count(1)


@pytest.fixture
def rt(views_rt: Runtime) -> Runtime:
    return views_rt


def _signed_in(rt: Runtime, role: str = "") -> Any:
    from django.contrib.auth.models import User
    from django.test import Client

    name = f"keys-{role or 'member'}-{next(_names)}"
    user = User.objects.create_user(name, f"{name}@firm.example", "pw-Long-enough-1")
    if role:
        grant_role(rt, Actor(None, "test"), user.pk, name, role)
    client = Client()
    client.force_login(user)
    return client


def _new_key(page: Any) -> str:
    found = re.search(
        r'id="new-key" class="secret" type="text" readonly value="([^"]+)"', page.text
    )
    assert found, page.text
    return found[1]


def test_a_tenant_admin_creates_a_key_shown_once_and_revokes_it(rt: Runtime) -> None:
    from django.test import Client

    admin = _signed_in(rt, "tenant-admin")
    assert 'href="/admin/api-keys/"' in admin.get("/").text  # in the navigation
    created = admin.post(
        "/admin/api-keys/new", {"name": "iManage", "expires_days": "30"}, HTTP_X_REQUEST_ID="k-1"
    )
    assert created.status_code == 200 and created["Cache-Control"] == "no-store"
    key = _new_key(created)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert api.get("/api/v1/documents").status_code == 200
    listing = admin.get("/admin/api-keys/").text
    assert key[:12] in listing and key not in listing  # the prefix only, ever after
    revoked = admin.post(f"/admin/api-keys/{key[:12]}/revoke")
    assert revoked.status_code == 302
    assert api.get("/api/v1/documents").status_code == 401
    with reading(rt.engine) as conn:
        events = [e for e in read_events(conn) if e.action.startswith("api_key.")]
    assert [(e.action, e.subject) for e in events] == [
        ("api_key.created", f"api_key:{key[:12]}"),
        ("api_key.revoked", f"api_key:{key[:12]}"),
    ]
    assert events[0].request_id == "k-1" and events[0].details["name"] == "iManage"
    assert key not in str([e.as_row() for e in events])


def test_a_key_limited_to_a_matter_sees_only_it(rt: Runtime) -> None:
    from django.test import Client

    mine = create_matter(rt, ALICE, "Mine")
    admin = _signed_in(rt, "tenant-admin")
    key = _new_key(admin.post("/admin/api-keys/new", {"matters": [str(mine)]}))
    api = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert api.get("/api/v1/audit/export").status_code == 400  # must name its matter
    assert api.get(f"/api/v1/audit/export?matter={mine}").status_code == 200


def test_bad_input_is_a_400_with_the_reason(rt: Runtime) -> None:
    admin = _signed_in(rt, "tenant-admin")
    for form, message in (
        ({"expires_days": "0"}, "an API key expires after 1 to 3660 days"),
        ({"expires_days": "soon"}, "Matters and days are whole numbers."),
        ({"matters": ["999999"]}, "matter 999999 is not a matter of this tenant"),
    ):
        page = admin.post("/admin/api-keys/new", form)
        assert page.status_code == 400 and message in page.text
        assert 'id="new-key"' not in page.text


def test_only_tenant_admins_see_the_page(rt: Runtime) -> None:
    for client in (_signed_in(rt), _signed_in(rt, "compliance")):
        assert client.get("/admin/api-keys/").status_code == 404
        assert client.post("/admin/api-keys/new", {"name": "x"}).status_code == 404
        assert client.post("/admin/api-keys/dak_aaaaaaaa/revoke").status_code == 404
        assert 'href="/admin/api-keys/"' not in client.get("/").text
    with reading(rt.engine) as conn:
        assert not [e for e in read_events(conn) if e.action.startswith("api_key.")]
