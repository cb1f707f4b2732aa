"""Reviewing a clause from the document page: an editor confirms, rejects or corrects it and
the page says so beside the model's words; a viewer sees no form and is refused; a stranger
gets 404; a refused correction says why and stores nothing. Both dialects."""

from __future__ import annotations

from html import unescape
from typing import Any

import pytest

from docanalysis.db.engine import reading
from docanalysis.services.pipeline import load_document
from docanalysis.services.queries import document_analysis
from docanalysis.services.runtime import Runtime
from docanalysis.services.steps import run_to_end
from docanalysis.services.views import FindingView
from tests.conftest import THREE_PAGE_CONTRACT
from tests.support.web import _client, _matter, _single_document, _upload, _user


@pytest.fixture
def analyzed(views_rt: Runtime) -> dict[str, Any]:
    """An editor's matter with the three-page contract analyzed by the fake model."""
    editor = _user("editor")
    client = _client(editor)
    matter_id = _matter(client, f"Review {editor.username}")
    _upload(client, matter_id, "contract.pdf", THREE_PAGE_CONTRACT.read_bytes())
    doc = _single_document(views_rt, editor, matter_id)
    assert run_to_end(views_rt, doc.status.run_id) == "done"
    clauses = document_analysis(views_rt, editor.pk, doc.id).clauses
    return {
        "client": client,
        "user": editor,
        "matter": matter_id,
        "doc": doc.id,
        "clauses": clauses,
    }


def _review(client: Any, clause: FindingView, doc_id: int, **fields: Any) -> Any:
    return client.post(f"/findings/{clause.id}/review", {"document": doc_id, **fields})


def _page(client: Any, doc_id: int) -> str:
    return unescape(client.get(f"/documents/{doc_id}/").text)


def test_an_editor_confirms_and_the_page_counts_it(analyzed: dict[str, Any]) -> None:
    client, doc_id, clauses = analyzed["client"], analyzed["doc"], analyzed["clauses"]
    before = _page(client, doc_id)
    assert f"0 of {len(clauses)} findings reviewed" in " ".join(before.split())
    assert before.count('<details class="review-form"') == len(clauses)

    done = _review(client, clauses[0], doc_id, decision="confirmed", note="signature checked")
    assert (done.status_code, done["Location"]) == (
        302,
        f"/documents/{doc_id}/#finding-{clauses[0].id}",
    )
    after = " ".join(_page(client, doc_id).split())
    assert f"1 of {len(clauses)} findings reviewed" in after
    assert "Confirmed</span> by " in after and ": signature checked" in after


def test_a_correction_shows_the_new_words_beside_the_model_s(
    views_rt: Runtime, analyzed: dict[str, Any]
) -> None:
    client, doc_id, clauses = analyzed["client"], analyzed["doc"], analyzed["clauses"]
    with reading(views_rt.engine) as conn:
        text = load_document(conn, doc_id).text
    start = text.index("Joint Filing Agreement") if "Joint Filing Agreement" in text else 0
    end = start + 22
    target = clauses[0]
    done = _review(
        client,
        target,
        doc_id,
        decision="corrected",
        category="governing_law",
        value="New York",
        start=str(start),
        end=str(end),
    )
    assert done.status_code == 302
    page = " ".join(_page(client, doc_id).split())
    assert "Corrected</span> by " in page
    assert f'<dd>New York <span class="muted">(model: {target.value})</span></dd>' in page
    assert '<dd>Governing Law <span class="muted">(model: Parties)</span></dd>' in page
    assert f'<blockquote class="source corrected-source">{text[start:end]}</blockquote>' in page
    assert f'<blockquote class="source">{" ".join(target.text.split())}</blockquote>' in page


def test_a_refused_correction_says_why_and_stores_nothing(
    views_rt: Runtime, analyzed: dict[str, Any]
) -> None:
    client, doc_id, clauses = analyzed["client"], analyzed["doc"], analyzed["clauses"]
    refused = _review(client, clauses[0], doc_id, decision="corrected", start="9", end="x")
    assert refused.status_code == 302
    page = _page(client, doc_id)
    assert "Not saved: the span's first and end characters are whole numbers." in page
    refused = _review(client, clauses[0], doc_id, decision="corrected", start="50", end="10")
    assert "Not saved: a span lies within the document's" in _page(client, doc_id)
    clause = document_analysis(views_rt, analyzed["user"].pk, doc_id).clauses[0]
    assert clause.review is None


def test_viewers_see_no_form_and_strangers_get_404(
    views_rt: Runtime, analyzed: dict[str, Any]
) -> None:
    client, doc_id, clauses = analyzed["client"], analyzed["doc"], analyzed["clauses"]
    viewer = _user("viewer")
    added = client.post(
        f"/matters/{analyzed['matter']}/members/", {"username": viewer.username, "role": "viewer"}
    )
    assert added.status_code == 302
    viewing = _client(viewer)
    assert '<details class="review-form"' not in _page(viewing, doc_id)
    _review(viewing, clauses[0], doc_id, decision="confirmed")
    assert "Not saved: as a viewer of this matter you cannot upload, review" in _page(
        viewing, doc_id
    )
    stranger = _client(_user("stranger"))
    assert _review(stranger, clauses[0], doc_id, decision="confirmed").status_code == 404
    assert stranger.get(f"/documents/{doc_id}/pages/1/text.json").status_code == 404
    assert document_analysis(views_rt, analyzed["user"].pk, doc_id).clauses[0].review is None


def test_the_page_text_a_reviewer_chooses_from_has_its_offset(
    views_rt: Runtime, analyzed: dict[str, Any]
) -> None:
    client, doc_id = analyzed["client"], analyzed["doc"]
    with reading(views_rt.engine) as conn:
        extracted = load_document(conn, doc_id)
    page = client.get(f"/documents/{doc_id}/pages/2/text.json").json()
    second = extracted.pages[1]
    assert (page["page"], page["pages"], page["start"]) == (2, 3, second.start)
    assert page["text"] == extracted.text[second.start : second.end]
    assert client.get(f"/documents/{doc_id}/pages/4/text.json").status_code == 404
