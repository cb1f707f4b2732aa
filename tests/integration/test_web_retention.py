"""Downloading, deleting and legal holds through the browser UI (Django's test client), against
the real services on each dialect: the domain tables in a migrated database of each test's own
(SQLite, then PostgreSQL), Django's own tables (users, sessions) in one SQLite file. The
queue is the only stand-in: it records the runs an upload started."""

from __future__ import annotations

from collections.abc import Iterator
from html import escape
from pathlib import Path
from typing import Any

import pytest

from docanalysis.config import load_settings
from docanalysis.services import compliance, matters, queries, retention
from docanalysis.services.pipeline import extract
from docanalysis.services.runtime import Runtime, build_runtime
from docanalysis.services.views import Actor, DocumentView, MatterView
from tests.conftest import ONE_PAGE_CONTRACT
from tests.support.web import _events_since, _head

HOLD_REASON = "Litigation: Acme v. Beta, preserve everything"
REFUSAL = "this matter is under legal hold: its documents cannot be deleted"


class RecordingQueue:
    def __init__(self) -> None:
        self.run_ids: list[int] = []

    def enqueue_run(self, run_id: int) -> None:
        self.run_ids.append(run_id)


@pytest.fixture
def rt(
    django_ready: None, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Runtime]:
    """The views' runtime: this test's database (each dialect in turn) and file store."""
    env = {"DATABASE_URL": db_url, "DOCANALYSIS_DATA_DIR": str(tmp_path / "data")}
    runtime = build_runtime(load_settings(env), queue=RecordingQueue())
    monkeypatch.setattr("docanalysis.web.views.common.get_runtime", lambda: runtime)
    yield runtime
    runtime.engine.dispose()


_counter = iter(range(1, 100_000))


def _user(name: str, role: str = "") -> Any:
    """A user; with `role`, holding that tenant role in the runtime the views see."""
    from django.contrib.auth.models import User

    from docanalysis.services.roles import grant_role
    from docanalysis.web.views.common import runtime

    username = f"{name}-ret{next(_counter)}"  # the Django tables outlive each test's database
    user = User.objects.create_user(username, f"{username}@firm.example", "pw-Long-enough-1")
    if role:
        grant_role(runtime(), Actor(None, "test"), user.pk, username, role)
    return user


def _client(user: Any, csrf: bool = False) -> Any:
    from django.test import Client

    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def _matter(client: Any, name: str) -> int:
    response = client.post("/matters/new/", {"name": name})
    assert response.status_code == 302
    return int(response["Location"].strip("/").split("/")[-1])


def _upload(
    rt: Runtime, client: Any, user: Any, matter_id: int, name: str, data: bytes
) -> DocumentView:
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile(name, data, content_type="application/octet-stream")
    response = client.post(f"/matters/{matter_id}/documents/", {"files": [upload]})
    assert response.status_code == 302
    return queries.documents_in_matter(rt, user.pk, matter_id)[0]  # newest first


def _tenant_matter(rt: Runtime, matter_id: int) -> MatterView:
    tenant = compliance.tenant_id(rt, matters.DEFAULT_TENANT)
    (found,) = [m for m in compliance.matters_of_tenant(rt, tenant) if m.id == matter_id]
    return found


def _when(matter: MatterView) -> str:
    """The hold's time as the pages write it ("5 Mar 2026, 14:03")."""
    since = matter.legal_hold_since
    assert since is not None
    return f"{since.day} {since:%b %Y, %H:%M}"


def _row(page: Any, matter_id: int) -> str:
    """The holds page's table row of one matter."""
    return str(page.text.split(f'<tr id="matter-{matter_id}">')[1].split("</tr>")[0])


def _set_hold(rt: Runtime, officer: Any, matter_id: int) -> MatterView:
    response = _client(officer).post(
        f"/compliance/holds/{matter_id}/set", {"reason": HOLD_REASON}, follow=True
    )
    assert response.redirect_chain == [("/compliance/holds/", 302)]
    matter = _tenant_matter(rt, matter_id)
    assert f"{escape(matter.name)} is now under legal hold." in response.text
    return matter


# -- download --------------------------------------------------------------------------------


def test_download_returns_the_original_bytes_and_is_audited(rt: Runtime) -> None:
    alice, bob = _user("alice"), _user("bob")
    client = _client(alice)
    matter_id = _matter(client, "Supply")
    data = ONE_PAGE_CONTRACT.read_bytes()
    doc = _upload(rt, client, alice, matter_id, "Supply agreement.pdf", data)
    page = client.get(f"/documents/{doc.id}/")
    assert f'<a href="/documents/{doc.id}/original">Download original</a>' in page.text
    start = _head(rt)

    response = client.get(f"/documents/{doc.id}/original", HTTP_X_REQUEST_ID="dl-1")

    assert response.status_code == 200
    assert response.content == data
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="Supply agreement.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    (downloaded,) = _events_since(rt, start)
    assert (downloaded.action, downloaded.subject, downloaded.actor_id) == (
        "document.downloaded",
        f"document:{doc.id}",
        alice.pk,
    )
    tenant = compliance.tenant_id(rt, matters.DEFAULT_TENANT)
    assert (downloaded.tenant_id, downloaded.matter_id) == (tenant, matter_id)
    assert downloaded.details == {"what": "original", "sha256": doc.sha256}
    assert (downloaded.outcome, downloaded.request_id, downloaded.client_address) == (
        "ok",
        "dl-1",
        "127.0.0.1",
    )
    assert _client(bob).get(f"/documents/{doc.id}/original").status_code == 404
    assert client.get("/documents/999999/original").status_code == 404
    assert _events_since(rt, downloaded.seq) == []


def test_download_keeps_the_stored_media_type_and_a_non_ascii_name(rt: Runtime) -> None:
    alice = _user("alice")
    client = _client(alice)
    matter_id = _matter(client, "Notes")
    data = "Der Käufer zahlt binnen 30 Tagen.\n".encode()
    doc = _upload(rt, client, alice, matter_id, "Notizen München.txt", data)
    response = client.get(f"/documents/{doc.id}/original")
    assert (response.status_code, response.content) == (200, data)
    assert response["Content-Type"] == "text/plain"
    assert (
        response["Content-Disposition"] == "attachment; filename*=utf-8''Notizen%20M%C3%BCnchen.txt"
    )


# -- delete ----------------------------------------------------------------------------------


def test_delete_removes_the_document_everywhere_and_its_file(rt: Runtime) -> None:
    alice = _user("alice")
    client = _client(alice)
    matter_id = _matter(client, "Disposal")
    doc = _upload(rt, client, alice, matter_id, "contract.pdf", ONE_PAGE_CONTRACT.read_bytes())
    extract(rt, doc.status.run_id)
    assert client.get(f"/documents/{doc.id}/provisions/2/").status_code == 200
    page = client.get(f"/documents/{doc.id}/")
    assert f'<form method="post" action="/documents/{doc.id}/delete">' in page.text
    assert "Delete contract.pdf permanently</button>" in page.text
    blob = rt.blobs.path(doc.sha256)
    assert blob.exists()
    start = _head(rt)

    response = client.post(f"/documents/{doc.id}/delete", HTTP_X_REQUEST_ID="del-1")

    assert (response.status_code, response["Location"]) == (302, f"/matters/{matter_id}/")
    (deleted,) = _events_since(rt, start)
    assert (deleted.action, deleted.subject, deleted.outcome, deleted.matter_id) == (
        "document.deleted",
        f"document:{doc.id}",
        "ok",
        matter_id,
    )
    assert deleted.details == {
        "reason": "deleted",
        "sha256": doc.sha256,
        "stopped_runs": [doc.status.run_id],  # the run was still going: it is stopped
    }
    assert (deleted.actor_id, deleted.request_id, deleted.client_address) == (
        alice.pk,
        "del-1",
        "127.0.0.1",
    )
    matter_page = client.get(f"/matters/{matter_id}/")
    assert "contract.pdf was deleted." in matter_page.text
    assert f"/documents/{doc.id}/" not in matter_page.text
    assert "No documents yet." in matter_page.text
    for path in ("", "original", "provisions/2/"):
        assert client.get(f"/documents/{doc.id}/{path}").status_code == 404
    status = client.get(f"/documents/{doc.id}/status.json")
    assert (status.status_code, status.json()) == (404, {"error": "No such document."})
    assert not blob.exists()
    assert client.post(f"/documents/{doc.id}/delete").status_code == 404  # already deleted


def test_a_file_another_matter_still_has_is_kept(rt: Runtime) -> None:
    alice = _user("alice")
    client = _client(alice)
    data = ONE_PAGE_CONTRACT.read_bytes()
    first = _upload(rt, client, alice, _matter(client, "First"), "contract.pdf", data)
    second = _upload(rt, client, alice, _matter(client, "Second"), "copy.pdf", data)
    assert first.sha256 == second.sha256
    blob = rt.blobs.path(first.sha256)

    assert client.post(f"/documents/{first.id}/delete").status_code == 302

    assert blob.exists()
    kept = client.get(f"/documents/{second.id}/original")
    assert (kept.status_code, kept.content) == (200, data)
    assert client.post(f"/documents/{second.id}/delete").status_code == 302
    assert not blob.exists()


def test_delete_is_a_csrf_protected_post_for_members_only(rt: Runtime) -> None:
    alice, bob = _user("alice"), _user("bob")
    client = _client(alice)
    matter_id = _matter(client, "Guarded")
    doc = _upload(rt, client, alice, matter_id, "contract.pdf", ONE_PAGE_CONTRACT.read_bytes())
    start = _head(rt)
    assert client.get(f"/documents/{doc.id}/delete").status_code == 405
    assert _client(bob).post(f"/documents/{doc.id}/delete").status_code == 404
    assert _client(alice, csrf=True).post(f"/documents/{doc.id}/delete").status_code == 403
    assert _events_since(rt, start) == []
    assert [d.id for d in queries.documents_in_matter(rt, alice.pk, matter_id)] == [doc.id]
    assert rt.blobs.path(doc.sha256).exists()


# -- legal hold ------------------------------------------------------------------------------


def test_legal_hold_refuses_the_delete_until_it_is_lifted(rt: Runtime) -> None:
    alice, officer = _user("alice"), _user("olga", "compliance")
    client = _client(alice)
    matter_id = _matter(client, "Held")
    data = ONE_PAGE_CONTRACT.read_bytes()
    doc = _upload(rt, client, alice, matter_id, "contract.pdf", data)
    start = _head(rt)
    held = _set_hold(rt, officer, matter_id)
    (hold_set,) = _events_since(rt, start)
    assert (hold_set.action, hold_set.subject, hold_set.outcome, hold_set.actor_id) == (
        "matter.legal_hold_set",
        f"matter:{matter_id}",
        "ok",
        officer.pk,
    )
    assert held.legal_hold_by == f"{officer.username} <{officer.email}>"
    banner = client.get(f"/matters/{matter_id}/").text
    assert '<p class="card held" role="status" id="legal-hold">Legal hold since <time' in banner
    assert (
        f"{_when(held)} UTC</time> by {escape(held.legal_hold_by)}: {HOLD_REASON}. "
        "Documents in this matter cannot be deleted.</p>"
    ) in banner
    page = client.get(f"/documents/{doc.id}/").text
    assert f"{_when(held)} UTC</time>: deletion is disabled.</p>" in page
    assert f"/documents/{doc.id}/delete" not in page
    start = _head(rt)

    refused = client.post(f"/documents/{doc.id}/delete", HTTP_X_REQUEST_ID="del-held")

    assert refused.status_code == 409
    assert f'<div class="errors" role="alert" id="document-errors"><ul><li>{REFUSAL}</li>' in (
        refused.text
    )
    refusal, viewed = _events_since(rt, start)
    assert (refusal.action, refusal.subject, refusal.outcome, refusal.matter_id) == (
        "document.delete_refused",
        f"document:{doc.id}",
        "refused",
        matter_id,
    )
    assert (refusal.details, refusal.request_id) == ({"reason": "legal_hold"}, "del-held")
    assert (viewed.action, viewed.details) == ("document.viewed", {"view": "analysis"})
    assert client.get(f"/documents/{doc.id}/original").content == data
    assert rt.blobs.path(doc.sha256).exists()

    start = _head(rt)
    lifted = _client(officer).post(f"/compliance/holds/{matter_id}/lift", {"reason": "Settled"})
    assert (lifted.status_code, lifted["Location"]) == (302, "/compliance/holds/")
    assert "legal-hold" not in client.get(f"/matters/{matter_id}/").text
    assert client.post(f"/documents/{doc.id}/delete").status_code == 302
    after = _events_since(rt, start)
    assert [(e.action, e.outcome) for e in after] == [
        ("matter.legal_hold_lifted", "ok"),
        ("document.deleted", "ok"),
    ]
    assert after[0].details["reason"] == "Settled"
    assert not rt.blobs.path(doc.sha256).exists()


def test_holds_page_lists_the_tenants_matters_for_officers(rt: Runtime) -> None:
    alice, admin = _user("alice"), _user("tina", "tenant-admin")
    client = _client(alice)
    beta, acme = _matter(client, "Beta & Co"), _matter(client, "Acme")
    _set_hold(rt, admin, beta)
    retention.set_retention(rt, Actor(admin.pk, admin.username), 30, matter_id=acme)
    officer_client = _client(admin)
    assert '<a href="/compliance/holds/">Legal holds</a>' in officer_client.get("/compliance/").text

    page = officer_client.get("/compliance/holds/")

    assert page.status_code == 200
    assert "<h1>Legal holds</h1>" in page.text
    assert page.text.index(f'id="matter-{acme}"') < page.text.index(f'id="matter-{beta}"')
    assert '<td>Beta &amp; Co <span class="muted">(matter' in page.text
    assert f'<form method="post" action="/compliance/holds/{beta}/lift"' in page.text
    assert f'<form method="post" action="/compliance/holds/{acme}/set"' in page.text
    assert f'<label for="set-reason-{acme}">Why hold Acme</label>' in page.text
    assert "<td>30 days</td>" in _row(page, acme)
    assert '<td><span class="muted">Tenant default</span></td>' in _row(page, beta)
    assert "<strong>On hold</strong> since <time datetime=" in page.text
    assert f"{escape(_tenant_matter(rt, beta).legal_hold_by)}: {HOLD_REASON}</td>" in page.text
    assert officer_client.get(f"/compliance/holds/{acme}/set").status_code == 405
    assert officer_client.post("/compliance/holds/999999/set", {"reason": "x"}).status_code == 404


def test_a_hold_needs_a_reason_and_lifting_needs_a_hold(rt: Runtime) -> None:
    alice, officer = _user("alice"), _user("olga", "compliance")
    matter_id = _matter(_client(alice), "Reasons")
    client = _client(officer)
    start = _head(rt)

    blank = client.post(f"/compliance/holds/{matter_id}/set", {"reason": "   "})

    assert blank.status_code == 400
    assert (
        f'<p class="errors" role="alert" id="hold-error-{matter_id}">'
        "a legal hold needs a reason of 1 to 1000 characters</p>"
    ) in blank.text
    assert f'aria-invalid="true" aria-describedby="hold-error-{matter_id}"' in blank.text
    not_held = client.post(f"/compliance/holds/{matter_id}/lift", {"reason": ""})
    assert not_held.status_code == 400
    assert "this matter is not under legal hold</p>" in not_held.text
    assert _events_since(rt, start) == []
    assert not _tenant_matter(rt, matter_id).on_hold


def test_holds_are_not_found_for_a_plain_user_and_nothing_changes(rt: Runtime) -> None:
    alice, officer = _user("alice"), _user("olga", "compliance")
    member = _client(alice)
    open_matter, held_matter = _matter(member, "Open"), _matter(member, "Closed")
    client = _client(alice, csrf=True)  # a 404, not a 403 for the missing CSRF token
    _set_hold(rt, officer, held_matter)
    start = _head(rt)
    assert client.get("/compliance/holds/").status_code == 404
    reason = {"reason": "mine now"}
    assert client.post(f"/compliance/holds/{open_matter}/set", reason).status_code == 404
    assert client.post(f"/compliance/holds/{held_matter}/lift", reason).status_code == 404
    assert client.get(f"/compliance/holds/{open_matter}/set").status_code == 404
    assert _events_since(rt, start) == []
    assert not _tenant_matter(rt, open_matter).on_hold
    assert _tenant_matter(rt, held_matter).legal_hold_reason == HOLD_REASON
