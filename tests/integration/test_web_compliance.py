"""The compliance view through Django's test client: who may see it, its filters and pages, an
event's details, the verifiable export, and the roles that open it."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest

from docanalysis.db.engine import transaction
from docanalysis.services.runtime import Runtime
from tests.conftest import ONE_PAGE_CONTRACT
from tests.support.web import (
    _client,
    _events_since,
    _head,
    _matter,
    _upload,
    _user,
)

# -- the compliance view ---------------------------------------------------------------------


def _officer(name: str, role: str = "compliance") -> Any:
    from docanalysis.services.roles import grant_role
    from docanalysis.services.views import Actor
    from docanalysis.web.views.common import runtime

    user = _user(name)
    grant_role(runtime(), Actor(None, "test"), user.pk, user.username, role)  # the views' runtime
    return user


def _listed(page: Any) -> list[int]:
    """The seqs of the event rows on a compliance list page, in order."""
    import re

    return [int(seq) for seq in re.findall(r'<tr id="event-(\d+)">', page.text)]


def test_compliance_pages_are_not_found_for_a_plain_user(web: Runtime) -> None:
    from django.test import Client

    user = _user("erin")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert "/compliance/" not in client.get("/").text
    for path in ("/compliance/", "/compliance/events/1/", "/compliance/export"):
        assert client.get(path).status_code == 404
        assert client.post(path, {"matter": "1"}).status_code == 404  # not 405, not 403 (CSRF)
    for allowed in (_officer("olga"), _officer("tina", "tenant-admin")):
        home = _client(allowed).get("/")
        assert '<a href="/compliance/">Compliance</a>' in home.text
        assert _client(allowed).get("/compliance/").status_code == 200
    root = _user("root")
    root.is_superuser = True
    root.save()
    assert _client(root).get("/compliance/").status_code == 200
    officer = Client(enforce_csrf_checks=True)
    officer.force_login(_officer("olga"))
    assert officer.post("/compliance/export", {"matter": "1"}).status_code == 403  # no token


def test_compliance_list_filters_by_matter_action_user_and_time(web: Runtime) -> None:
    from datetime import UTC, datetime, timedelta

    alice = _user("alice")
    alice_client = _client(alice)
    start = _head(web)
    first = _matter(alice_client, f"Compliance A {alice.username}")
    second = _matter(alice_client, f"Compliance B {alice.username}")
    _upload(alice_client, first, "contract.pdf", ONE_PAGE_CONTRACT.read_bytes())
    made = _events_since(web, start)
    in_first = [e for e in made if e.matter_id == first]
    assert [e.action for e in in_first] == [
        "matter.created",
        "matter.member_added",
        "document.uploaded",
    ]
    created = [e for e in made if e.action == "matter.created"]
    assert [e.matter_id for e in created] == [first, second]

    client = _client(_officer("olga"))
    by_matter = client.get("/compliance/", {"matter": first})
    assert by_matter.status_code == 200
    assert _listed(by_matter) == [e.seq for e in reversed(in_first)]
    upload = in_first[-1]
    assert (
        f'<td class="num"><a href="/compliance/events/{upload.seq}/">{upload.seq}</a></td>'
        in by_matter.text
    )
    assert '<option value="matter.created">matter.created</option>' in by_matter.text
    newest_two_created = [created[1].seq, created[0].seq]
    for user in (alice.username, str(alice.pk)):
        by_user = client.get("/compliance/", {"user": user, "action": "matter.created"})
        assert _listed(by_user) == newest_two_created
    assert _listed(client.get("/compliance/", {"user": "nobody-such", "matter": first})) == []
    today = datetime.now(UTC).date()
    day = {"matter": first, "from": today.isoformat(), "to": today.isoformat()}
    assert _listed(client.get("/compliance/", day)) == [e.seq for e in reversed(in_first)]
    tomorrow = (today + timedelta(days=1)).isoformat()
    yesterday = (today - timedelta(days=1)).isoformat()
    assert _listed(client.get("/compliance/", {"matter": first, "from": tomorrow})) == []
    assert _listed(client.get("/compliance/", {"matter": first, "to": yesterday})) == []
    bad = client.get("/compliance/", {"matter": "x", "from": "soon"})
    assert bad.status_code == 400
    assert "From: &#x27;soon&#x27; is not a date (YYYY-MM-DD)" in bad.text


def test_compliance_list_pages_by_100_and_is_audited(web: Runtime) -> None:
    officer = _officer("olga")
    client = _client(officer)
    start = _head(web)
    response = client.get("/compliance/", {"user": "olga"}, HTTP_X_REQUEST_ID="compliance-1")
    (viewed,) = _events_since(web, start)
    assert (viewed.action, viewed.subject, viewed.actor_id) == (
        "audit.viewed",
        "audit:events",
        officer.pk,
    )
    assert viewed.details == {
        "view": "list",
        "filters": {"user": "olga"},
        "page": 1,
        "shown": len(_listed(response)),
    }
    assert (viewed.request_id, viewed.client_address) == ("compliance-1", "127.0.0.1")
    from docanalysis.db.audit import append_event

    with transaction(web.engine) as conn:
        for i in range(101):
            append_event(conn, action="test.paged", subject=f"test:{i}", actor="test")
    bulk = [e.seq for e in _events_since(web, start) if e.action == "test.paged"]
    newest = client.get("/compliance/", {"action": "test.paged"})
    assert _listed(newest) == bulk[:0:-1]  # the newest 100
    assert 'rel="next" href="?action=test.paged&amp;page=2"' in newest.text
    assert 'rel="prev"' not in newest.text
    oldest = client.get("/compliance/", {"action": "test.paged", "page": "2"})
    assert _listed(oldest) == bulk[:1]
    assert 'rel="prev" href="?action=test.paged&amp;page=1"' in oldest.text
    assert 'rel="next"' not in oldest.text


def test_compliance_event_details_show_the_hashes(web: Runtime) -> None:
    user = _user("alice")
    matter_id = _matter(_client(user), f"Details {user.username}")
    (created,) = [e for e in _events_since(web, 0) if e.subject == f"matter:{matter_id}"][:1]
    client = _client(_officer("olga"))
    page = client.get(f"/compliance/events/{created.seq}/")
    assert page.status_code == 200
    assert f"<h1>Audit event {created.seq}</h1>" in page.text
    assert f'<code class="hash">{created.hash}</code>' in page.text
    assert f'<code class="hash">{created.prev_hash}</code>' in page.text
    assert f"&quot;name&quot;: &quot;Details {user.username}&quot;" in page.text
    viewed = _events_since(web, created.seq)[-1]
    assert (viewed.action, viewed.subject) == ("audit.viewed", f"audit:{created.seq}")
    assert client.get(f"/compliance/events/{_head(web) + 100}/").status_code == 404


def test_compliance_export_downloads_a_verifiable_zip_and_is_audited(
    web: Runtime, tmp_path: Path
) -> None:
    from docanalysis.services.audit_export import verify_export

    user = _user("alice")
    alice_client = _client(user)
    matter_id = _matter(alice_client, f"Export {user.username}")
    _upload(alice_client, matter_id, "contract.pdf", ONE_PAGE_CONTRACT.read_bytes())
    officer = _officer("olga")
    start = _head(web)
    response = _client(officer).post("/compliance/export", {"matter": str(matter_id)})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    disposition = response["Content-Disposition"]
    assert disposition.startswith(f'attachment; filename="audit-export-matter-{matter_id}-')
    assert disposition.endswith('.zip"')
    path = tmp_path / "export.zip"
    path.write_bytes(response.content)
    check = verify_export(path)
    assert check.ok, check.problem
    assert check.events == 3  # matter created, member added, document uploaded
    (exported,) = _events_since(web, start)
    assert (exported.action, exported.matter_id, exported.actor_id) == (
        "audit.exported",
        matter_id,
        officer.pk,
    )
    assert exported.actor == f"{officer.username} <{officer.email}>"


def test_manage_py_role_grants_and_revokes_the_compliance_view(web: Runtime) -> None:
    from django.core.management import CommandError, call_command

    user = _user("rita")
    client = _client(user)
    assert client.get("/compliance/").status_code == 404
    start = _head(web)
    out = StringIO()
    call_command("role", "grant", "--user", user.username, "--role", "compliance", stdout=out)
    assert out.getvalue() == f"{user.username} now holds the role compliance in tenant 'default'\n"
    assert client.get("/compliance/").status_code == 200
    call_command("role", "revoke", "--user", user.username, "--role", "compliance", stdout=out)
    assert client.get("/compliance/").status_code == 404
    changes = [e for e in _events_since(web, start) if e.action.startswith("user.role_")]
    assert [(e.action, e.subject, e.details) for e in changes] == [
        (action, f"user:{user.pk}", {"role": "compliance", "username": user.username})
        for action in ("user.role_granted", "user.role_revoked")
    ]
    with pytest.raises(CommandError, match="no user named 'nobody'"):
        call_command("role", "grant", "--user", "nobody", "--role", "compliance")
