"""Reviewing held results through the browser UI (Django's test client), against the real
services on each dialect (SQLite, then PostgreSQL). The guard is down, so everything the run
produced is held; the queue records the run and the test drives it to its end."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import pytest

from docanalysis.services import compliance, matters, review
from docanalysis.services.review import HeldFinding
from docanalysis.services.runtime import Runtime
from docanalysis.services.steps import run_to_end
from docanalysis.services.views import Actor, DocumentView
from tests.conftest import THREE_PAGE_CONTRACT
from tests.integration.test_pipeline import runtime
from tests.integration.test_web_retention import _client, _events_since, _head, _matter, _upload
from tests.support.fakes import FixedGuard

REASON = "Read it: signature blocks only, nothing unsafe"
NEEDS_A_REASON = "a release needs a reason of 1 to 1000 characters"


@pytest.fixture
def rt(
    django_ready: None, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Runtime]:
    """The views' runtime: this test's database and file store, the fake model, and a guard
    that is down (every result is held)."""
    held_runtime = runtime(db_url, tmp_path, FixedGuard(fail=True))
    monkeypatch.setattr("docanalysis.web.views.common.get_runtime", lambda: held_runtime)
    yield held_runtime
    held_runtime.engine.dispose()


_counter = iter(range(1, 100_000))


def _user(rt: Runtime, name: str, role: str = "") -> Any:
    """A user; with `role`, holding that tenant role in `rt`. Not the
    retention tests' helper: pytest loads that module apart from this import, with its own
    counter, and the Django tables outlive each test's database."""
    from django.contrib.auth.models import User

    from docanalysis.services.roles import grant_role

    username = f"{name}-rev{next(_counter)}"
    user = User.objects.create_user(username, f"{username}@firm.example", "pw-Long-enough-1")
    if role:
        grant_role(rt, Actor(None, "test"), user.pk, username, role)
    return user


@dataclass(frozen=True)
class Held:
    member: Any
    officer: Any
    doc: DocumentView
    findings: list[HeldFinding]

    @property
    def clause(self) -> HeldFinding:
        return next(f for f in self.findings if f.kind == "clause")

    @property
    def identity(self) -> str:
        return f"{self.officer.username} <{self.officer.email}>"


def _held_document(rt: Runtime) -> Held:
    """A member's document whose run the guard held, and a compliance officer."""
    member, officer = _user(rt, "alice"), _user(rt, "olga", "compliance")
    client = _client(member)
    matter_id = _matter(client, "Beta & Co")
    data = THREE_PAGE_CONTRACT.read_bytes()
    doc = _upload(rt, client, member, matter_id, "Joint filing.pdf", data)
    assert run_to_end(rt, doc.status.run_id) == "held"
    return Held(member, officer, doc, _held(rt))


def _held(rt: Runtime) -> list[HeldFinding]:
    return review.held_findings(rt, compliance.tenant_id(rt, matters.DEFAULT_TENANT))


def _state(client: Any, doc: DocumentView) -> str:
    return str(client.get(f"/documents/{doc.id}/status.json").json()["state"])


def _article(page: Any, finding_id: int) -> str:
    """The review page's block of one held result."""
    return str(page.text.split(f'<article class="clause clause-held" id="finding-{finding_id}"')[1])


def test_the_officer_reads_what_the_members_page_hides(rt: Runtime) -> None:
    held = _held_document(rt)
    clause = held.clause
    assert clause.category == "parties" and clause.page == 1
    officer = _client(held.officer)
    assert '<a href="/compliance/review/">Held results</a>' in officer.get("/compliance/").text

    page = officer.get("/compliance/review/")

    assert page.status_code == 200
    assert "<h1>Held results</h1>" in page.text
    assert '<a href="/">Matters</a> / <a href="/compliance/">Compliance</a> / Held results' in (
        page.text
    )
    assert f'<h2 id="document-{held.doc.id}-heading">Joint filing.pdf</h2>' in page.text
    assert (
        f'<p class="muted">Matter: Beta &amp; Co · document {held.doc.id} · '
        f"{len(held.findings)} held results</p>"
    ) in page.text
    assert [f.kind for f in held.findings].count("summary") == 1
    summary = held.findings[0]
    assert f'<h3 id="finding-{summary.id}-heading">Summary</h3>' in page.text
    assert f'<p class="summary">{escape(summary.text)}</p>' in page.text
    block = _article(page, clause.id)
    assert f'<h3 id="finding-{clause.id}-heading">Clause: Parties</h3>' in block
    assert '<span class="page">p. 1</span>' in block
    assert '<p class="held">The guard could not judge it: guard is down.</p>' in block
    assert f'<blockquote class="source">{escape(clause.text)}</blockquote>' in block
    assert f'<span class="value-label">Value</span> {escape(clause.value)}</p>' in block
    assert f'<form method="post" action="/compliance/review/{clause.id}/release"' in block
    assert f'<label for="release-reason-{clause.id}">Reason for release</label>' in block
    assert '<button type="submit" class="primary">Release</button>' in block
    agreement_date = next(f for f in held.findings if f.category == "agreement_date")
    assert f'<h3 id="finding-{agreement_date.id}-heading">Clause: Agreement Date</h3>' in page.text

    member_page = _client(held.member).get(f"/documents/{held.doc.id}/").text
    assert escape(clause.text) not in member_page
    assert escape(summary.text) not in member_page
    assert "Held for review: the text is hidden until a reviewer releases it." in member_page


def test_a_release_shows_the_text_to_the_member_and_is_audited(rt: Runtime) -> None:
    held = _held_document(rt)
    clause = held.clause
    start = _head(rt)

    response = _client(held.officer).post(
        f"/compliance/review/{clause.id}/release",
        {"reason": REASON},
        HTTP_X_REQUEST_ID="rel-1",
        follow=True,
    )

    assert response.redirect_chain == [("/compliance/review/", 302)]
    assert "Released after review." in response.text
    assert f'id="finding-{clause.id}"' not in response.text
    assert [f.id for f in _held(rt)] == [f.id for f in held.findings if f.id != clause.id]
    (released,) = _events_since(rt, start)
    assert (released.action, released.subject, released.outcome) == (
        "finding.released",
        f"finding:{clause.id}",
        "ok",
    )
    assert (released.actor_id, released.actor, released.request_id) == (
        held.officer.pk,
        held.identity,
        "rel-1",
    )
    assert (released.matter_id, released.details["document_id"], released.details["reason"]) == (
        held.doc.matter_id,
        held.doc.id,
        REASON,
    )
    member = _client(held.member)
    page = member.get(f"/documents/{held.doc.id}/").text
    assert f'<blockquote class="source">{escape(clause.text)}</blockquote>' in page
    assert f"Released after review by {escape(held.identity)}: {REASON}</span>" in page
    assert "Released by guard" not in page
    assert _state(member, held.doc) == "held"  # the other results are still held


def test_releasing_everything_makes_the_run_done(rt: Runtime) -> None:
    held = _held_document(rt)
    officer, member = _client(held.officer), _client(held.member)
    start = _head(rt)

    for finding in held.findings:
        response = officer.post(f"/compliance/review/{finding.id}/release", {"reason": REASON})
        assert (response.status_code, response["Location"]) == (302, "/compliance/review/")

    actions = [e.action for e in _events_since(rt, start)]
    assert actions == ["finding.released"] * len(held.findings) + ["run.released"]
    assert _state(member, held.doc) == "done"
    page = member.get(f"/documents/{held.doc.id}/").text
    summary = held.findings[0]
    # The released summary reads as the guard-released one does: its sentences, with citations.
    assert f'<p class="summary">{escape(summary.text)} <a class="cite"' in page
    assert (
        f'<p class="guard guard-released">Released after review by {escape(held.identity)}: '
        f"{REASON}</p>"
    ) in page
    assert 'class="held"' not in page and "guard-held" not in page  # nothing shown as held
    empty = officer.get("/compliance/review/")
    assert '<p class="muted">Nothing is held for review.</p>' in empty.text
    assert '<form method="post" action="/compliance/review/' not in empty.text


def test_a_release_without_a_reason_is_refused_by_its_form(rt: Runtime) -> None:
    held = _held_document(rt)
    clause = held.clause
    officer = _client(held.officer)
    start = _head(rt)

    blank = officer.post(f"/compliance/review/{clause.id}/release", {"reason": "  \n "})

    assert blank.status_code == 400
    error = f'<p class="errors" role="alert" id="release-error-{clause.id}">{NEEDS_A_REASON}</p>'
    assert error in _article(blank, clause.id).split("</article>")[0]
    assert blank.text.count('role="alert"') == 1
    assert f'aria-describedby="release-error-{clause.id} finding-{clause.id}-heading"' in (
        blank.text
    )
    too_long = "x" * 1001
    long = officer.post(f"/compliance/review/{clause.id}/release", {"reason": too_long})
    assert long.status_code == 400
    assert f'aria-invalid="true">{too_long}</textarea>' in long.text  # what was typed is kept
    assert _events_since(rt, start) == []
    assert _held(rt) == held.findings
    page = _client(held.member).get(f"/documents/{held.doc.id}/").text
    assert escape(clause.text) not in page
    assert _state(_client(held.member), held.doc) == "held"


def test_a_result_no_longer_held_or_unknown_is_refused(rt: Runtime) -> None:
    held = _held_document(rt)
    clause = held.clause
    officer = _client(held.officer)
    first = officer.post(f"/compliance/review/{clause.id}/release", {"reason": REASON})
    assert first.status_code == 302
    start = _head(rt)

    twice = officer.post(f"/compliance/review/{clause.id}/release", {"reason": "again"})

    assert twice.status_code == 400
    assert (
        '<p class="errors" role="alert" id="release-error">'
        "this result is not held: there is nothing to release</p>"
    ) in twice.text
    unknown = officer.post("/compliance/review/999999/release", {"reason": REASON})
    assert unknown.status_code == 404
    assert officer.get(f"/compliance/review/{held.findings[-1].id}/release").status_code == 405
    assert _events_since(rt, start) == []


def test_review_is_not_found_for_anyone_but_officers_and_nothing_changes(rt: Runtime) -> None:
    held = _held_document(rt)
    clause = held.clause
    start = _head(rt)
    for user in (held.member, _user(rt, "bob")):
        client = _client(user, csrf=True)  # a 404, not a 403 for the missing CSRF token
        assert client.get("/compliance/review/").status_code == 404
        url = f"/compliance/review/{clause.id}/release"
        assert client.post(url, {"reason": REASON}).status_code == 404
        assert client.get(url).status_code == 404
    assert _events_since(rt, start) == []
    assert _held(rt) == held.findings
    assert _state(_client(held.member), held.doc) == "held"
