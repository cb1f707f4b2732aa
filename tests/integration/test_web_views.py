"""The browser UI through Django's test client, against the real services and a migrated SQLite
file (Django's contrib tables by `migrate`, the domain tables by Alembic) in a temporary data
directory. The queue is the only stand-in: it records the runs the upload started."""

from __future__ import annotations

import os
from html import escape
from pathlib import Path

import pytest

from docanalysis.db import repositories as repo
from docanalysis.db.engine import transaction
from docanalysis.services import pipeline, queries
from docanalysis.services.runtime import Runtime
from tests.conftest import ONE_PAGE_CONTRACT
from tests.support.web import (
    _client,
    _events_since,
    _head,
    _matter,
    _single_document,
    _upload,
    _user,
)

STATUS_KEYS = {"state", "label", "reason", "stage_done", "stage_total", "final"}


@pytest.mark.parametrize("path", ["/", "/matters/1/", "/documents/1/", "/documents/1/status.json"])
def test_pages_require_login(web: Runtime, path: str) -> None:
    from django.test import Client

    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={path}"


def test_sign_in_then_sign_out(web: Runtime) -> None:
    from django.test import Client

    user = _user("alice")
    client = Client()
    page = client.get("/login/")
    assert page.status_code == 200
    assert b"<title>Sign in \xc2\xb7 docanalysis</title>" in page.content
    assert b"<h1>Sign in</h1>" in page.content
    signed_in = client.post("/login/", {"username": user.username, "password": "pw-Long-enough-1"})
    assert signed_in["Location"] == "/"
    assert client.get("/").status_code == 200
    assert client.get("/logout/").status_code == 405  # sign-out is a POST (CSRF-protected)
    signed_out = client.post("/logout/")
    assert signed_out["Location"] == "/login/"
    assert client.get("/").status_code == 302


def test_wrong_password_is_refused(web: Runtime) -> None:
    from django.test import Client

    user = _user("alice")
    response = Client().post("/login/", {"username": user.username, "password": "wrong"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


def test_create_matter_lists_it_and_refuses_a_duplicate(web: Runtime) -> None:
    user = _user("alice")
    client = _client(user)
    matter_id = _matter(client, f"Acme supply {user.username}")
    home = client.get("/")
    assert f'<a href="/matters/{matter_id}/">Acme supply {user.username}</a>' in home.text
    page = client.get(f"/matters/{matter_id}/")
    assert page.status_code == 200
    assert f"<h1>Acme supply {user.username}</h1>" in page.text
    again = client.post("/matters/new/", {"name": f"Acme supply {user.username}"})
    assert again.status_code == 400
    assert escape(f"a matter named 'Acme supply {user.username}' already exists") in again.text


def test_upload_pdf_lists_it_with_live_status_and_starts_a_run(web: Runtime) -> None:
    user = _user("alice")
    client = _client(user)
    matter_id = _matter(client, f"Upload {user.username}")
    response = _upload(client, matter_id, "contract.pdf", ONE_PAGE_CONTRACT.read_bytes())
    assert response.status_code == 302
    doc = _single_document(web, user, matter_id)
    assert doc.name == "contract.pdf"
    assert web.queue.run_ids[-1] == doc.status.run_id  # type: ignore[attr-defined]
    page = client.get(f"/matters/{matter_id}/")
    assert f'<a href="/documents/{doc.id}/">contract.pdf</a>' in page.text
    assert f'data-status-url="/documents/{doc.id}/status.json" data-final="false"' in page.text
    assert "Waiting to start" in page.text
    assert "contract.pdf uploaded; the analysis has started." in page.text


def test_the_same_file_again_is_recognized_by_content_and_not_analyzed_twice(
    web: Runtime,
) -> None:
    user = _user("alice")
    client = _client(user)
    matter_id = _matter(client, f"Duplicates {user.username}")
    data = ONE_PAGE_CONTRACT.read_bytes()
    assert _upload(client, matter_id, "contract.pdf", data).status_code == 302
    (first,) = queries.documents_in_matter(web, user.pk, matter_id)
    runs_before = list(web.queue.run_ids)  # type: ignore[attr-defined]
    again = _upload(client, matter_id, "renamed copy.pdf", data)
    assert again.status_code == 200
    assert (
        f'<li>renamed copy.pdf is already in this matter: <a href="/documents/{first.id}/">'
        "open it</a>.</li>"
    ) in again.text
    assert [d.id for d in queries.documents_in_matter(web, user.pk, matter_id)] == [first.id]
    assert web.queue.run_ids == runs_before  # type: ignore[attr-defined]
    # Another matter may hold the same file: it is analyzed there.
    other = _matter(client, f"Elsewhere {user.username}")
    assert _upload(client, other, "contract.pdf", data).status_code == 302
    assert len(queries.documents_in_matter(web, user.pk, other)) == 1


def test_upload_non_pdf_shows_the_reason_and_stores_nothing(web: Runtime) -> None:
    user = _user("alice")
    client = _client(user)
    matter_id = _matter(client, f"Rejects {user.username}")
    runs_before = list(web.queue.run_ids)  # type: ignore[attr-defined]
    response = _upload(client, matter_id, "notes.pdf", b"just some text, not a PDF")
    assert response.status_code == 400
    assert '<div class="errors" role="alert" id="upload-errors">' in response.text
    assert "<li>notes.pdf is not a PDF</li>" in response.text
    empty = _upload(client, matter_id, "empty.pdf", b"")
    assert "<li>empty.pdf is empty</li>" in empty.text
    assert queries.documents_in_matter(web, user.pk, matter_id) == []
    assert web.queue.run_ids == runs_before  # type: ignore[attr-defined]


def test_another_users_matter_and_documents_are_not_found(web: Runtime) -> None:
    alice, bob = _user("alice"), _user("bob")
    alice_client, bob_client = _client(alice), _client(bob)
    matter_id = _matter(alice_client, f"Private {alice.username}")
    _upload(alice_client, matter_id, "secret.pdf", ONE_PAGE_CONTRACT.read_bytes())
    doc = _single_document(web, alice, matter_id)
    for path in (f"/matters/{matter_id}/", f"/documents/{doc.id}/"):
        response = bob_client.get(path)
        assert response.status_code == 404
        assert "secret.pdf" not in response.text
    status = bob_client.get(f"/documents/{doc.id}/status.json")
    assert (status.status_code, status.json()) == (404, {"error": "No such document."})
    upload = _upload(bob_client, matter_id, "intrusion.pdf", ONE_PAGE_CONTRACT.read_bytes())
    assert upload.status_code == 404
    assert f"Private {alice.username}" not in bob_client.get("/").text
    assert [d.name for d in queries.documents_in_matter(web, alice.pk, matter_id)] == ["secret.pdf"]


def test_status_json_shape_while_queued_and_when_failed(web: Runtime) -> None:
    user = _user("alice")
    client = _client(user)
    matter_id = _matter(client, f"Status {user.username}")
    _upload(client, matter_id, "scan.pdf", ONE_PAGE_CONTRACT.read_bytes())
    doc = _single_document(web, user, matter_id)
    response = client.get(f"/documents/{doc.id}/status.json")
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    assert response.json() == {
        "state": "queued",
        "label": "Waiting to start",
        "reason": "",
        "stage_done": 0,
        "stage_total": 0,
        "final": False,
    }
    reason = "this PDF has no text layer: it is a scan"
    pipeline.fail(web, doc.status.run_id, reason, "no_text")
    failed = client.get(f"/documents/{doc.id}/status.json").json()
    assert set(failed) == STATUS_KEYS
    assert (failed["state"], failed["label"], failed["reason"], failed["final"]) == (
        "failed",
        "Failed",
        reason,
        True,
    )
    page = client.get(f"/matters/{matter_id}/")
    assert f'<p class="reason" data-role="reason">{reason}</p>' in page.text


def _finish_with_findings(rt: Runtime, run_id: int) -> None:
    """Arrange a finished run: a released summary, a released clause on page 1, a held one."""
    rows = [
        dict(
            kind="summary",
            category="",
            text="A manufacturing agreement.",
            page=None,
            citations=[
                {
                    "text": "A manufacturing agreement.",
                    "provisions": [{"n": 1, "page": 1, "start": 0, "end": 40}],
                }
            ],
        ),
        dict(
            kind="clause", category="governing_law", text="laws of Delaware", page=1, citations=None
        ),
        dict(kind="clause", category="governing_law", text="HIDDEN WORDS", page=2, citations=None),
    ]
    with transaction(rt.engine) as conn:
        repo.add_findings(
            conn,
            [
                dict(run_id=run_id, ordinal=i, value="Delaware" if i == 1 else "", **row)
                for i, row in enumerate(rows)
            ],
        )
        for i, finding in enumerate(repo.findings_of(conn, run_id)):
            verdict = "unsafe" if i == 2 else "safe"
            repo.record_verdict(
                conn,
                int(finding.id),
                "held" if i == 2 else "released",
                verdict=verdict,
                categories=["S1"] if i == 2 else [],
                model="test-guard",
                policy_version="test",
            )
        repo.update_run(conn, run_id, state="done", finished_at=repo.now())


def test_document_page_shows_summary_and_clauses_with_pages(web: Runtime) -> None:
    user = _user("alice")
    client = _client(user)
    matter_id = _matter(client, f"Findings {user.username}")
    _upload(client, matter_id, "supply.pdf", ONE_PAGE_CONTRACT.read_bytes())
    doc = _single_document(web, user, matter_id)
    running = client.get(f"/documents/{doc.id}/")
    assert "<title>supply.pdf · docanalysis</title>" in running.text
    assert "The analysis is running." in running.text
    _finish_with_findings(web, doc.status.run_id)
    page = client.get(f"/documents/{doc.id}/")
    assert page.status_code == 200
    assert "<h1>supply.pdf</h1>" in page.text
    assert (
        f'<p class="summary">A manufacturing agreement. <a class="cite" '
        f'href="/documents/{doc.id}/provisions/1/" '
        'title="provision 1, characters 0–40" aria-label="provision 1, page 1">§1 · p. 1</a> </p>'
    ) in page.text
    name = web.category_names["governing_law"]
    assert f"<h3>{escape(name)}</h3>" in page.text
    assert '<span class="page">p. 1</span>' in page.text
    assert '<blockquote class="source">laws of Delaware</blockquote>' in page.text
    assert '<span class="value-label">Governing law</span> Delaware' in page.text
    assert '<span class="page">p. 2</span>' in page.text
    assert "Held for review: the text is hidden" in page.text
    assert "HIDDEN WORDS" not in page.text
    assert "The analysis is running." not in page.text


def test_secret_key_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    from docanalysis.settings import secret_key

    first = secret_key("", tmp_path)
    assert secret_key("", tmp_path) == first
    assert os.stat(tmp_path / "secret_key").st_mode & 0o777 == 0o600
    assert secret_key("configured", tmp_path) == "configured"


def test_database_url_translation() -> None:
    from docanalysis.settings import django_database

    assert django_database("sqlite:////srv/data/db.sqlite3")["NAME"] == "/srv/data/db.sqlite3"
    pg = django_database("postgresql+psycopg://app:p%40ss@db.internal:5433/docs?sslmode=require")
    assert {k: pg[k] for k in ("ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT")} == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "docs",
        "USER": "app",
        "PASSWORD": "p@ss",
        "HOST": "db.internal",
        "PORT": "5433",
    }
    assert pg["OPTIONS"] == {"sslmode": "require"}


def test_healthz_answers_without_sign_in(web: Runtime) -> None:
    from django.test import Client

    response = Client().get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_a_cited_provision_shows_the_source_words_and_page(web: Runtime) -> None:
    from docanalysis.services.pipeline import extract

    user = _user("carol")
    client = _client(user)
    matter_id = _matter(client, f"Provisions {user.username}")
    _upload(client, matter_id, "supply.pdf", ONE_PAGE_CONTRACT.read_bytes())
    doc = _single_document(web, user, matter_id)
    assert client.get(f"/documents/{doc.id}/provisions/1/").status_code == 404  # no text yet
    extract(web, doc.status.run_id)
    page = client.get(f"/documents/{doc.id}/provisions/2/")
    assert page.status_code == 200
    assert "<h1>Provision 2</h1>" in page.text
    assert '<span class="page">p. 1</span>' in page.text
    assert (
        '<blockquote class="source">WHEREAS, Heritage and Premier entered into the Agreement;'
        "</blockquote>"
    ) in page.text
    assert client.get(f"/documents/{doc.id}/provisions/999/").status_code == 404
    other = _client(_user("mallory"))
    assert other.get(f"/documents/{doc.id}/provisions/2/").status_code == 404


def test_sign_in_failure_and_sign_out_are_audited_with_request_and_address(web: Runtime) -> None:
    from django.test import Client

    user = _user("carol")
    client = Client(REMOTE_ADDR="203.0.113.7")
    start = _head(web)
    refused = client.post(
        "/login/", {"username": user.username, "password": "wrong"}, HTTP_X_REQUEST_ID="req-fail-1"
    )
    assert refused["X-Request-ID"] == "req-fail-1"
    client.post("/login/", {"username": user.username, "password": "pw-Long-enough-1"})
    signed_out = client.post("/logout/", HTTP_X_REQUEST_ID="bad id; drop table")
    assert len(signed_out["X-Request-ID"]) == 32  # a made-up id replaces an unsafe one
    failed, signed_in, out = _events_since(web, start)
    assert (failed.action, failed.actor, failed.actor_id) == (
        "user.sign_in_failed",
        user.username,
        None,
    )
    assert failed.details == {"username": user.username}
    assert (failed.outcome, failed.request_id, failed.client_address) == (
        "refused",
        "req-fail-1",
        "203.0.113.7",
    )
    assert (signed_in.action, signed_in.actor_id, signed_in.subject) == (
        "user.signed_in",
        user.pk,
        f"user:{user.pk}",
    )
    assert signed_in.outcome == "ok"
    assert out.action == "user.signed_out"
    assert out.request_id == signed_out["X-Request-ID"]
    assert "pw-Long-enough-1" not in str([e.details for e in (failed, signed_in, out)])


def test_reading_a_document_is_audited(web: Runtime) -> None:
    user = _user("dave")
    client = _client(user)
    matter_id = _matter(client, "Reading audit")
    _upload(client, matter_id, "contract.pdf", ONE_PAGE_CONTRACT.read_bytes())
    doc = _single_document(web, user, matter_id)
    start = _head(web)
    assert client.get(f"/documents/{doc.id}/", HTTP_X_REQUEST_ID="read-1").status_code == 200
    (viewed,) = _events_since(web, start)
    assert (viewed.action, viewed.subject, viewed.matter_id) == (
        "document.viewed",
        f"document:{doc.id}",
        matter_id,
    )
    assert viewed.details == {"view": "analysis"}
    assert (viewed.outcome, viewed.request_id, viewed.client_address) == (
        "ok",
        "read-1",
        "127.0.0.1",
    )
