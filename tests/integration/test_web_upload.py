"""Uploads into a matter through Django's test client: the browser's one-file requests (JSON
back: accepted, duplicate, refused, password-protected) and the form without JavaScript.
The password of a protected PDF opens it once and is found nowhere afterwards."""

from __future__ import annotations

import dataclasses
import io
import logging
from typing import Any

import pypdf
import pytest

from docanalysis.core.decrypt import decrypt_pdf
from docanalysis.services import queries
from docanalysis.services.runtime import Runtime
from tests.conftest import ONE_PAGE_CONTRACT, THREE_PAGE_CONTRACT
from tests.support.web import (
    _client,
    _events_since,
    _head,
    _matter,
    _upload,
    _user,
    assert_nowhere,
)

SECRET = "Sesame-Open-4711"


def locked(source: bytes = b"") -> bytes:
    """The one-page contract (or `source`) protected by SECRET as its user password."""
    reader = pypdf.PdfReader(io.BytesIO(source or ONE_PAGE_CONTRACT.read_bytes()))
    writer = pypdf.PdfWriter(clone_from=reader)
    writer.encrypt(user_password=SECRET, owner_password=SECRET + "-owner", algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def post_one(client: Any, matter_id: int, name: str, data: bytes, **form: str) -> Any:
    """What upload.js sends: one file, the CSRF header, and Accept: application/json."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile(name, data, content_type="application/octet-stream")
    return client.post(
        f"/matters/{matter_id}/documents/",
        {"files": [upload], **form},
        HTTP_ACCEPT="application/json",
    )


def signed_in_matter(label: str) -> tuple[Any, Any, int]:
    user = _user("lawyer")
    client = _client(user)
    return user, client, _matter(client, f"{label} {user.username}")


def test_an_accepted_pdf_answers_201_with_its_document(web: Runtime) -> None:
    user, client, matter_id = signed_in_matter("Accepted")

    response = post_one(client, matter_id, "contract.pdf", ONE_PAGE_CONTRACT.read_bytes())

    assert response.status_code == 201
    (doc,) = queries.documents_in_matter(web, user.pk, matter_id)
    assert response.json() == {
        "document_id": doc.id,
        "name": "contract.pdf",
        "url": f"/documents/{doc.id}/",
    }
    assert web.queue.run_ids[-1] == doc.status.run_id  # type: ignore[attr-defined]
    # The row says it; no "uploaded" message is left waiting for the next page.
    assert "uploaded; the analysis has started" not in client.get(f"/matters/{matter_id}/").text


def test_the_same_content_again_is_a_duplicate_with_a_link(web: Runtime) -> None:
    user, client, matter_id = signed_in_matter("Duplicate")
    data = ONE_PAGE_CONTRACT.read_bytes()
    first = post_one(client, matter_id, "contract.pdf", data).json()["document_id"]
    runs_before = list(web.queue.run_ids)  # type: ignore[attr-defined]

    response = post_one(client, matter_id, "renamed.pdf", data)

    assert response.status_code == 200
    assert response.json() == {
        "duplicate": True,
        "document_id": first,
        "url": f"/documents/{first}/",
        "message": "renamed.pdf is already in this matter: open it",
    }
    assert web.queue.run_ids == runs_before  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("name", "data", "status", "error", "message"),
    [
        (
            "memo.docx",
            b"PK\x03\x04 not a pdf",
            415,
            "unsupported_media_type",
            "memo.docx is not a Word document: it is damaged; save it again from Word as .docx",
        ),
        (
            "notes.txt",
            b"\xff\xfe\x00latin",
            415,
            "unsupported_media_type",
            "notes.txt is not UTF-8 text",
        ),
        ("empty.pdf", b"", 400, "empty", "empty.pdf is empty"),
    ],
)
def test_refusals_answer_with_their_code_and_reason(
    web: Runtime, name: str, data: bytes, status: int, error: str, message: str
) -> None:
    user, client, matter_id = signed_in_matter("Refused")

    response = post_one(client, matter_id, name, data)

    assert (response.status_code, response.json()) == (status, {"error": error, "message": message})
    assert queries.documents_in_matter(web, user.pk, matter_id) == []


def test_a_file_over_the_limit_answers_413(web: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    from django.conf import settings

    mib = 1024 * 1024
    monkeypatch.setattr(settings, "MAX_UPLOAD_BYTES", mib)
    monkeypatch.setattr(web, "settings", dataclasses.replace(web.settings, max_upload_bytes=mib))
    _, client, matter_id = signed_in_matter("Large")

    response = post_one(client, matter_id, "big.pdf", b"%PDF-1.4\n" + b"0" * mib)

    assert response.status_code == 413
    assert response.json() == {
        "error": "too_large",
        "message": "big.pdf is larger than the 1 MB limit",
    }


def test_one_file_per_request_and_only_into_ones_own_matters(web: Runtime) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    _, client, matter_id = signed_in_matter("Rules")
    two = [SimpleUploadedFile(n, ONE_PAGE_CONTRACT.read_bytes()) for n in ("a.pdf", "b.pdf")]
    response = client.post(
        f"/matters/{matter_id}/documents/", {"files": two}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"] == "one_file"
    stranger = _client(_user("stranger"))
    foreign = post_one(stranger, matter_id, "c.pdf", ONE_PAGE_CONTRACT.read_bytes())
    assert (foreign.status_code, foreign.json()["error"]) == (404, "not_found")


def test_a_password_protected_pdf_asks_for_its_password_then_stores_it_decrypted(
    web: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    user, client, matter_id = signed_in_matter("Protected")
    data, head = locked(), _head(web)

    asked = post_one(client, matter_id, "locked.pdf", data)
    wrong = post_one(client, matter_id, "locked.pdf", data, password="open-sesame")
    right = post_one(client, matter_id, "locked.pdf", data, password=SECRET)

    assert (asked.status_code, asked.json()) == (
        422,
        {
            "error": "password_required",
            "message": "locked.pdf is password-protected: enter its password",
        },
    )
    assert (wrong.status_code, wrong.json()) == (
        422,
        {"error": "password_wrong", "message": "locked.pdf: the password is not correct"},
    )
    assert right.status_code == 201
    (doc,) = queries.documents_in_matter(web, user.pk, matter_id)
    stored = web.blobs.get(doc.sha256)
    assert stored == decrypt_pdf(data, SECRET) != data
    assert not pypdf.PdfReader(io.BytesIO(stored)).is_encrypted
    (event,) = [e for e in _events_since(web, head) if e.action == "document.uploaded"]
    assert event.details["decrypted"] is True
    assert event.details["sha256"] == doc.sha256
    assert_nowhere(web, SECRET, caplog.text)
    assert_nowhere(web, "open-sesame", caplog.text)


def test_the_form_without_javascript_has_a_password_field(web: Runtime) -> None:
    _, client, matter_id = signed_in_matter("Form")

    page = client.get(f"/matters/{matter_id}/").text

    assert '<input type="password" id="upload-password" name="password" autocomplete="off">' in page
    assert '<ol class="upload-list" id="upload-list" aria-label="Uploads" hidden></ol>' in page
    assert '<section id="matter-documents">' in page


def test_the_form_refuses_a_protected_pdf_without_its_password_and_says_where_to_type_it(
    web: Runtime,
) -> None:
    user, client, matter_id = signed_in_matter("Form protected")

    response = _upload(client, matter_id, "locked.pdf", locked())

    assert response.status_code == 400
    assert (
        "<li>locked.pdf is password-protected: enter its password in the PDF password field "
        "and upload it again</li>"
    ) in response.text
    assert queries.documents_in_matter(web, user.pk, matter_id) == []


def test_the_form_posts_several_files_with_one_password(web: Runtime) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    user, client, matter_id = signed_in_matter("Form several")
    files = [
        SimpleUploadedFile("plain.pdf", THREE_PAGE_CONTRACT.read_bytes()),
        SimpleUploadedFile("locked.pdf", locked()),
    ]

    response = client.post(f"/matters/{matter_id}/documents/", {"files": files, "password": SECRET})

    assert response.status_code == 302
    docs = queries.documents_in_matter(web, user.pk, matter_id)
    assert sorted(d.name for d in docs) == ["locked.pdf", "plain.pdf"]
    page = client.get(f"/matters/{matter_id}/").text
    assert "locked.pdf uploaded; the analysis has started." in page
    assert "plain.pdf uploaded; the analysis has started." in page
