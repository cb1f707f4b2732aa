"""The browser's uploads of Word files, text files and ZIP archives (one-file JSON requests and
the form without JavaScript), and a Word document's result page: clauses cited by section and
paragraph, the original downloadable, the archive path shown."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from docanalysis.core.docx_text import DOCX
from docanalysis.services import queries
from docanalysis.services.runtime import Runtime
from docanalysis.services.steps import run_to_end
from tests.conftest import ONE_PAGE_CONTRACT
from tests.integration.test_web_upload import post_one, signed_in_matter
from tests.support import fakes
from tests.support.docgen import GOVERNING_LAW, contract_docx, make_zip
from tests.support.fakes import FixedGuard, KeywordModel
from tests.support.web import _upload


def _documents(web: Runtime, user: Any, matter_id: int) -> list[tuple[str, str | None]]:
    return sorted(
        (d.name, d.source_path) for d in queries.documents_in_matter(web, user.pk, matter_id)
    )


def test_a_zip_answers_201_with_every_document_and_its_path(web: Runtime) -> None:
    user, client, matter_id = signed_in_matter("Bulk")
    archive = make_zip(
        {
            "Room/Leases/lease.txt": b"The rent is due monthly.",
            "Room/Contracts/msa.docx": contract_docx(),
            "Room/Contracts/supply.pdf": ONE_PAGE_CONTRACT.read_bytes(),
        }
    )

    response = post_one(client, matter_id, "room.zip", archive)

    assert response.status_code == 201
    body = response.json()
    assert sorted((d["name"], d["path"]) for d in body["documents"]) == [
        ("lease.txt", "Room/Leases/lease.txt"),
        ("msa.docx", "Room/Contracts/msa.docx"),
        ("supply.pdf", "Room/Contracts/supply.pdf"),
    ]
    assert body["message"] == "room.zip: 3 documents uploaded; the analysis has started."
    assert body["url"] == f"/matters/{matter_id}/"
    assert _documents(web, user, matter_id) == [
        ("lease.txt", "Room/Leases/lease.txt"),
        ("msa.docx", "Room/Contracts/msa.docx"),
        ("supply.pdf", "Room/Contracts/supply.pdf"),
    ]


def test_a_bad_zip_is_refused_with_its_reason_and_stores_nothing(web: Runtime) -> None:
    user, client, matter_id = signed_in_matter("Bad bulk")
    archive = make_zip({"ok.txt": b"fine", "../up.txt": b"escape"})

    response = post_one(client, matter_id, "bad.zip", archive)

    assert (response.status_code, response.json()) == (
        400,
        {
            "error": "bad_archive",
            "message": "bad.zip was not imported: the member '../up.txt' has an unsafe path "
            "(absolute, '..' or backslashes)",
        },
    )
    assert _documents(web, user, matter_id) == []


@pytest.mark.parametrize(
    ("name", "data"), [("notes.txt", b"Plain notes."), ("msa.docx", contract_docx())]
)
def test_text_and_word_files_are_accepted_like_pdfs(web: Runtime, name: str, data: bytes) -> None:
    user, client, matter_id = signed_in_matter("Kinds")

    response = post_one(client, matter_id, name, data)

    assert response.status_code == 201
    assert _documents(web, user, matter_id) == [(name, None)]


def test_the_form_without_javascript_takes_a_zip_and_says_how_many(web: Runtime) -> None:
    user, client, matter_id = signed_in_matter("Form bulk")
    archive = make_zip({"a/one.txt": b"One.", "b/two.txt": b"Two."})

    response = _upload(client, matter_id, "two.zip", archive)

    assert response.status_code == 302
    page = client.get(f"/matters/{matter_id}/")
    assert "two.zip: 2 documents uploaded; the analysis has started." in page.text
    assert _documents(web, user, matter_id) == [("one.txt", "a/one.txt"), ("two.txt", "b/two.txt")]


def test_the_upload_form_accepts_every_kind_of_file(web: Runtime) -> None:
    _, client, matter_id = signed_in_matter("Accept")

    page = client.get(f"/matters/{matter_id}/")

    assert 'accept="application/pdf,.pdf,.docx,' in page.text
    assert ".txt,text/plain,.zip,application/zip" in page.text


def test_a_word_documents_page_cites_section_and_paragraph(
    web: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    user, client, matter_id = signed_in_matter("Word page")
    monkeypatch.setattr(web, "model", KeywordModel(4096))
    monkeypatch.setattr(web, "guard", FixedGuard("safe"))
    monkeypatch.setitem(fakes.KEYWORDS, "governed by", "governing_law")
    archive = make_zip({"Contracts/msa.docx": contract_docx()})
    post_one(client, matter_id, "one.zip", archive)
    (doc,) = queries.documents_in_matter(web, user.pk, matter_id)

    assert run_to_end(web, doc.status.run_id) == "done"
    page = client.get(f"/documents/{doc.id}/")

    assert '<span class="page">§ 3. Governing Law, ¶ 1</span>' in page.text
    assert f'<blockquote class="source">{GOVERNING_LAW}</blockquote>' in page.text
    assert "from the archive's Contracts/msa.docx" in page.text
    assert " page" not in page.text.split('<p class="meta muted">')[1].split("</p>")[0]
    cited = client.get(f"/documents/{doc.id}/provisions/9/")
    assert '<span class="page">§ 3. Governing Law, ¶ 1</span>' in cited.text
    assert "Show on page" not in cited.text  # no pages in a Word file
    original = client.get(f"/documents/{doc.id}/original")
    assert original.status_code == 200
    assert original["Content-Type"] == DOCX
    assert hashlib.sha256(original.content).hexdigest() == doc.sha256
