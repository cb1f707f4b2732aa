"""Upload validation at the door, for the browser and the REST API: what may come before the PDF
header (docs/uploads.md), the size limit held while the body streams in (a 2 GB upload is
stopped after ~the limit, no temporary file left, no row), file names that are never paths,
and password-protected PDFs through the API (the password used once, found nowhere after)."""

from __future__ import annotations

import io
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pypdf
import pytest
from sqlalchemy import func, select

from docanalysis.db.engine import reading
from docanalysis.db.tables import documents
from docanalysis.services import apikeys, queries
from docanalysis.services.errors import Rejected
from docanalysis.services.runtime import Runtime
from docanalysis.services.submit import validate_upload
from docanalysis.services.views import Actor
from tests.conftest import ONE_PAGE_CONTRACT
from tests.support.web import _client, _matter, _user, assert_nowhere, blob_files

MIB = 1024 * 1024
GIB = 1024 * MIB
BOUNDARY = "docanalysis-test-boundary"
ADMIN = Actor(user_id=None, identity="cli:admin")
SECRET = "Api-Sesame-8213"

# --- what may come before %PDF- ------------------------------------------------------------


@pytest.mark.parametrize(
    "lead",
    [b"", b"\xef\xbb\xbf", b"\r\n", b"  \t\n", b"\x00\x00", b"\xef\xbb\xbf\n", b" " * 1000],
    ids=["none", "bom", "crlf", "blanks", "nul", "bom-newline", "1000-blanks"],
)
def test_a_pdf_may_be_led_by_whitespace_or_a_bom_within_the_first_kilobyte(lead: bytes) -> None:
    assert validate_upload("c.pdf", lead + b"%PDF-1.7\n...", MIB) == ("c.pdf", "application/pdf")


@pytest.mark.parametrize(
    "lead",
    [
        b"From: scanner@firm.example\r\nSubject: contract\r\n\r\n",  # a saved mail
        b"<html><body>",  # a polyglot: HTML first
        b"\x14",  # qpdf's issue-100 fuzz file starts so
        b"PK\x03\x04",
        b"\xef\xbb\xbfjunk ",
    ],
    ids=["mail-headers", "html", "fuzz-byte", "zip", "bom-then-junk"],
)
def test_other_leading_data_is_refused_with_a_reason(lead: bytes) -> None:
    with pytest.raises(Rejected) as caught:
        validate_upload("c.pdf", lead + b"%PDF-1.7\n...", MIB)

    assert (caught.value.code, caught.value.reason) == (
        "unsupported_media_type",
        "c.pdf is not a PDF: other data comes before its PDF header; save it again as a PDF "
        "from the program that made it",
    )


def test_a_header_past_the_first_kilobyte_is_no_header() -> None:
    with pytest.raises(Rejected) as caught:
        validate_upload("c.pdf", b" " * 1020 + b"%PDF-1.7\n", MIB)

    assert (caught.value.code, caught.value.reason) == (
        "unsupported_media_type",
        "c.pdf is not a PDF",
    )


def test_the_browser_refuses_leading_junk_as_415(web: Runtime) -> None:
    user = _user("junk")
    client = _client(user)
    matter_id = _matter(client, f"Junk {user.username}")

    response = post_raw(client, matter_id, [("mail.pdf", b"From: x\r\n\r\n%PDF-1.4\n")])

    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type"
    assert queries.documents_in_matter(web, user.pk, matter_id) == []


# --- the size limit, held while the body streams in ------------------------------------------


class StreamedBody:
    """A multipart body whose one file has `size` bytes, made as it is read (2 GB never exist):
    counts what the server read, and lists `watched` while the file's bytes flow."""

    def __init__(self, head: bytes, size: int, tail: bytes, watched: Path) -> None:
        self.head, self.size, self.tail, self.watched = head, size, tail, watched
        self.length = len(head) + size + len(tail)
        self.position = 0
        self.seen_while_streaming: list[str] = []

    def read(self, size: int = -1) -> bytes:
        assert 0 <= size <= 8 * MIB, f"the server asked for {size} bytes at once"
        end = min(self.position + size, self.length)
        chunk = b"".join(self._slice(self.position, end))
        self.position = end
        if len(self.head) + MIB // 2 <= end and not self.seen_while_streaming:
            self.seen_while_streaming = sorted(os.listdir(self.watched))
        return chunk

    def readline(self, size: int = -1) -> bytes:
        raise AssertionError("a multipart body is read in chunks, never by line")

    def _slice(self, start: int, end: int) -> Iterator[bytes]:
        body_start, tail_start = len(self.head), len(self.head) + self.size
        if start < body_start:
            yield self.head[start : min(end, body_start)]
        if end > body_start and start < tail_start:
            yield b"0" * (min(end, tail_start) - max(start, body_start))
        if end > tail_start:
            yield self.tail[max(start, tail_start) - tail_start : end - tail_start]


def form_part(name: str, value: str) -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
    ).encode()


def file_head(field: str, filename: str) -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{field}"; '
        f'filename="{filename}"\r\nContent-Type: application/pdf\r\n\r\n'
    ).encode()


CLOSING = f"\r\n--{BOUNDARY}--\r\n".encode()


def streamed(client: Any, path: str, body: StreamedBody | bytes, **extra: str) -> Any:
    """POST a multipart body as it is, from a stream, with its true Content-Length."""
    stream, length = (
        (io.BytesIO(body), len(body)) if isinstance(body, bytes) else (body, body.length)
    )
    environ = {
        "CONTENT_TYPE": f"multipart/form-data; boundary={BOUNDARY}",
        "CONTENT_LENGTH": str(length),
        "wsgi.input": stream,
    }
    return client.generic("POST", path, b"", **environ, **extra)


@pytest.fixture
def small_limit(tmp_path: Path) -> Iterator[Path]:
    """A 1 MB upload limit, and Django's temporary upload files in a folder of this test's."""
    from django.test import override_settings

    temp = tmp_path / "upload-tmp"
    temp.mkdir()
    with override_settings(MAX_UPLOAD_BYTES=MIB, FILE_UPLOAD_TEMP_DIR=str(temp)):
        yield temp


def document_count(rt: Runtime) -> int:
    with reading(rt.engine) as conn:
        return int(conn.execute(select(func.count()).select_from(documents)).scalar_one())


def test_a_2_gb_browser_upload_is_stopped_at_the_limit_as_413_json(
    web: Runtime, small_limit: Path
) -> None:
    user = _user("huge")
    client = _client(user)
    matter_id = _matter(client, f"Huge {user.username}")
    before = document_count(web)
    body = StreamedBody(
        file_head("files", "big.pdf") + b"%PDF-1.7\n", 2 * GIB, CLOSING, small_limit
    )

    response = streamed(
        client, f"/matters/{matter_id}/documents/", body, HTTP_ACCEPT="application/json"
    )

    assert (response.status_code, response.json()) == (
        413,
        {"error": "too_large", "message": "big.pdf is larger than the 1 MB limit"},
    )
    assert MIB < body.position < MIB + 256 * 1024  # read to the limit and one chunk, no further
    assert len(body.seen_while_streaming) == 1  # Django spooled it to a temporary file ...
    assert os.listdir(small_limit) == []  # ... deleted when the upload stopped
    assert document_count(web) == before


def test_the_form_without_javascript_gets_a_413_page_with_the_reason(
    web: Runtime, small_limit: Path
) -> None:
    from django.test import Client

    user = _user("hugeform")
    client = Client(enforce_csrf_checks=True)  # CSRF parses the body first, as in production
    client.force_login(user)
    matter_id = _matter(_client(user), f"Huge form {user.username}")
    before = document_count(web)
    client.get(f"/matters/{matter_id}/")
    token = client.cookies["csrftoken"].value
    head = form_part("csrfmiddlewaretoken", token) + file_head("files", "big.pdf")
    body = StreamedBody(head, 2 * GIB, CLOSING, small_limit)

    response = streamed(client, f"/matters/{matter_id}/documents/", body)

    assert response.status_code == 413
    assert "<li>big.pdf is larger than the 1 MB limit</li>" in response.text
    assert body.position < MIB + 256 * 1024
    assert os.listdir(small_limit) == []
    assert document_count(web) == before


def api_client(rt: Runtime) -> Any:
    from django.test import Client

    key = apikeys.create_key(rt, ADMIN, "acme-uploads").secret
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def test_the_api_refuses_a_declared_2_gb_body_before_reading_it(
    web: Runtime, small_limit: Path
) -> None:
    client, before = api_client(web), document_count(web)
    head = form_part("matter", "REF-HUGE") + file_head("file", "big.pdf")
    body = StreamedBody(head, 2 * GIB, CLOSING, small_limit)

    response = streamed(client, "/api/v1/documents", body)

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert body.position == 0
    assert document_count(web) == before


def test_the_api_stops_a_file_over_the_limit_while_it_streams(
    web: Runtime, small_limit: Path
) -> None:
    from django.test import override_settings

    client, before = api_client(web), document_count(web)
    head = form_part("matter", "REF-BIG") + file_head("file", "big.pdf")
    # 1.5 MB: within the declared-length allowance (limit + 1 MB of form), over the file limit.
    body = StreamedBody(head, MIB + MIB // 2, CLOSING, small_limit)

    with override_settings(FILE_UPLOAD_MAX_MEMORY_SIZE=256 * 1024):  # spooled to disk
        response = streamed(client, "/api/v1/documents", body)

    error = response.json()["error"]
    assert (response.status_code, error["code"], error["message"]) == (
        413,
        "too_large",
        "big.pdf is larger than the 1 MB limit",
    )
    assert body.position < MIB + 256 * 1024
    assert len(body.seen_while_streaming) == 1
    assert os.listdir(small_limit) == []
    assert document_count(web) == before


# --- names are metadata, never paths ---------------------------------------------------------

HOSTILE_NAMES = [
    ("../../etc/passwd.pdf", "passwd.pdf"),
    ("a/b\\c.pdf", "c.pdf"),
    ("<script>x</script>.pdf", "script>.pdf"),
    ("<img src=x onerror=alert(1)>.pdf", "<img src=x onerror=alert(1)>.pdf"),
    ("n" * 296 + ".pdf", "n" * 251 + ".pdf"),  # Django keeps 255 characters, the extension too
    ("nul\x00bell\x07esc\x1b.pdf", "nulbellesc.pdf"),
    ("invoice\u202efdp.pdf", "invoicefdp.pdf"),  # no right-to-left override
]


def multipart(files: list[tuple[str, bytes]], field: str = "files", **fields: str) -> bytes:
    parts = [form_part(name, value) for name, value in fields.items()]
    for filename, data in files:
        parts.append(file_head(field, filename) + data + b"\r\n")
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def post_raw(client: Any, matter_id: int, files: list[tuple[str, bytes]]) -> Any:
    """A browser upload whose file names are sent as given (the test client would cut them)."""
    return streamed(
        client,
        f"/matters/{matter_id}/documents/",
        multipart(files),
        HTTP_ACCEPT="application/json",
    )


def test_file_names_are_kept_as_escaped_metadata_and_files_by_hash(web: Runtime) -> None:
    user = _user("names")
    client = _client(user)
    matter_id = _matter(client, f"Names {user.username}")

    for number, (sent, _) in enumerate(HOSTILE_NAMES):
        response = post_raw(client, matter_id, [(sent, b"%%PDF-1.4\n%% %d\n" % number)])
        assert response.status_code == 201, (sent, response.content)

    stored = sorted(d.name for d in queries.documents_in_matter(web, user.pk, matter_id))
    assert stored == sorted(kept for _, kept in HOSTILE_NAMES)
    blobs = [p.relative_to(web.settings.blob_dir).as_posix() for p in blob_files(web)]
    assert blobs and all(re.fullmatch(r"[0-9a-f]{2}/[0-9a-f]{64}", b) for b in blobs), blobs
    page = client.get(f"/matters/{matter_id}/").text
    assert "&lt;img src=x onerror=alert(1)&gt;.pdf" in page
    assert "<img src=x" not in page and "<script>x" not in page
    # A name that is only a folder reference is no file at all.
    nameless = post_raw(client, matter_id, [("..", b"%PDF-1.4\n%dots\n")])
    assert (nameless.status_code, nameless.json()["error"]) == (400, "one_file")


def test_a_1000_character_name_is_a_bad_request_and_nothing_is_kept(web: Runtime) -> None:
    from django.test import Client

    user = _user("longname")
    client = Client(raise_request_exception=False)
    client.force_login(user)
    matter_id = _matter(client, f"Long {user.username}")
    files_before = blob_files(web)

    # Django reads at most 1,024 bytes of a part's headers: the form itself is refused.
    response = post_raw(client, matter_id, [("n" * 996 + ".pdf", b"%PDF-1.4\n%long\n")])

    assert response.status_code == 400
    assert queries.documents_in_matter(web, user.pk, matter_id) == []
    assert blob_files(web) == files_before


def test_names_are_cleaned_whoever_sends_them() -> None:
    # The CLI and documents fetched by URL reach validate_upload without Django's parser.
    cleaned = {
        sent: validate_upload(sent, b"%PDF-1.4\n", MIB)[0]
        for sent in (
            "../../etc/passwd.pdf",
            "a\\b\\c.pdf",
            "..",
            "x\x00y\u202e.pdf",
            "m" * 996 + ".txt",
        )
    }

    assert cleaned == {
        "../../etc/passwd.pdf": "passwd.pdf",
        "a\\b\\c.pdf": "c.pdf",
        "..": "document.pdf",
        "x\x00y\u202e.pdf": "xy.pdf",
        "m" * 996 + ".txt": "m" * 496 + ".txt",  # the column's 500, the extension kept
    }


def test_the_api_keeps_names_the_same_way(web: Runtime) -> None:
    client = api_client(web)
    body = multipart([("../../x/<b>deal</b>\x07.pdf", b"%PDF-1.4\n%api\n")], "file", matter="N")

    response = streamed(client, "/api/v1/documents", body)

    assert response.status_code == 202, response.content
    document = client.get(f"/api/v1/documents/{response.json()['id']}").json()
    assert document["name"] == "b>.pdf"  # "</b>" ends with a folder separator


# --- password-protected PDFs through the API --------------------------------------------------


def locked() -> bytes:
    reader = pypdf.PdfReader(io.BytesIO(ONE_PAGE_CONTRACT.read_bytes()))
    writer = pypdf.PdfWriter(clone_from=reader)
    writer.encrypt(user_password=SECRET, owner_password=SECRET + "-owner", algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def api_upload(client: Any, data: bytes, **fields: str) -> Any:
    return streamed(
        client, "/api/v1/documents", multipart([("locked.pdf", data)], "file", **fields)
    )


def test_the_api_asks_for_a_password_uses_it_once_and_keeps_it_nowhere(
    web: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client, data, before = api_client(web), locked(), document_count(web)

    asked = api_upload(client, data, matter="LOCKED")
    wrong = api_upload(client, data, matter="LOCKED", password="open-sesame")
    right = api_upload(client, data, matter="LOCKED", password=SECRET)

    assert (asked.status_code, asked.json()["error"]["code"]) == (422, "password_required")
    assert asked.json()["error"]["message"] == (
        "locked.pdf is password-protected: enter its password"
    )
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (422, "password_wrong")
    assert wrong.json()["error"]["message"] == "locked.pdf: the password is not correct"
    assert right.status_code == 202, right.content
    assert document_count(web) == before + 1
    sha256 = client.get(f"/api/v1/documents/{right.json()['id']}").json()["sha256"]
    stored = web.blobs.get(sha256)
    assert stored != data and not pypdf.PdfReader(io.BytesIO(stored)).is_encrypted
    for secret in (SECRET, "open-sesame"):
        assert_nowhere(web, secret, caplog.text)


def test_a_password_for_a_pdf_without_one_changes_nothing(web: Runtime) -> None:
    client = api_client(web)
    data = ONE_PAGE_CONTRACT.read_bytes()

    response = api_upload(client, data, matter="PLAIN", password="not-needed")

    assert response.status_code == 202
    sha256 = client.get(f"/api/v1/documents/{response.json()['id']}").json()["sha256"]
    assert web.blobs.get(sha256) == data
