"""The REST API with Word files, text files and ZIP archives: a .zip answers 202 with every
document and its path (all or none), a refused archive is a 400 naming the file and stores
nothing, and a Word document's results cite section and paragraph (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from docanalysis.core.docx_text import DOCX
from docanalysis.services import apikeys
from docanalysis.services.matters import create_matter
from docanalysis.services.runtime import Runtime
from docanalysis.services.steps import run_to_end
from tests.conftest import ONE_PAGE_CONTRACT
from tests.integration.test_api import ADMIN, _client, _count_documents, _error
from tests.integration.test_pipeline import ALICE
from tests.support import fakes
from tests.support.docgen import GOVERNING_LAW, contract_docx, make_zip
from tests.support.http_server import Answer, local_server


@pytest.fixture
def rt(views_rt: Runtime) -> Runtime:
    return views_rt


def _send(key: str, name: str, data: bytes, matter: str) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    body = {"file": SimpleUploadedFile(name, data), "matter": matter}
    return _client(key).post("/api/v1/documents", body)


def test_a_zip_answers_202_with_its_documents_paths_and_matters(rt: Runtime) -> None:
    key = apikeys.create_key(rt, ADMIN, "acme").secret
    archive = make_zip(
        {
            "Room/Leases/lease.txt": b"The rent is due monthly.",
            "Room/Contracts/msa.docx": contract_docx(),
            "Room/Contracts/supply.pdf": ONE_PAGE_CONTRACT.read_bytes(),
            "metadata.csv": b"path,external_system,external_id\n"
            b"Room/Contracts/msa.docx,imanage,D-7\n",
        }
    )

    response = _send(key, "room.zip", archive, "M-BULK")

    assert response.status_code == 202, response.content
    documents = response.json()["documents"]
    assert sorted((d["name"], d["path"], d["created"]) for d in documents) == [
        ("lease.txt", "Room/Leases/lease.txt", True),
        ("msa.docx", "Room/Contracts/msa.docx", True),
        ("supply.pdf", "Room/Contracts/supply.pdf", True),
    ]
    assert len({d["matter_id"] for d in documents}) == 1
    msa = next(d for d in documents if d["name"] == "msa.docx")
    read = _client(key).get(f"/api/v1/documents/{msa['id']}").json()
    assert (read["source_path"], read["media_type"], read["external_id"]) == (
        "Room/Contracts/msa.docx",
        DOCX,
        "D-7",
    )
    assert rt.queue.sent == [d["run_id"] for d in documents]  # type: ignore[attr-defined]


def test_a_refused_zip_is_a_400_naming_the_file_and_stores_nothing(rt: Runtime) -> None:
    key = apikeys.create_key(rt, ADMIN, "acme").secret
    archive = make_zip({"ok.txt": b"fine", "deeper/inner.zip": make_zip({"x.txt": b"x"})})

    response = _send(key, "batch.zip", archive, "M-BULK")

    assert _error(response) == (400, "bad_archive")
    assert response.json()["error"]["message"] == (
        "batch.zip was not imported: deeper/inner.zip: an archive inside the archive; add its "
        "files to the outer archive instead"
    )
    assert _count_documents(rt) == 0


def test_a_key_scoped_to_one_matter_cannot_place_files_in_another(rt: Runtime) -> None:
    mine = create_matter(rt, ALICE, "Mine")
    other = create_matter(rt, ALICE, "Other")
    key = apikeys.create_key(rt, ADMIN, "default", matter_ids=(mine,)).secret
    archive = make_zip({"a.txt": b"one", "metadata.csv": f"path,matter\na.txt,{other}\n".encode()})

    response = _send(key, "a.zip", archive, str(mine))

    assert _error(response) == (400, "bad_archive")
    assert response.json()["error"]["message"] == (
        f"a.zip was not imported: metadata.csv: you cannot add documents to matter {other}"
    )
    assert _count_documents(rt) == 0


def test_a_text_file_is_accepted_and_a_word_files_results_cite_section_and_paragraph(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(fakes.KEYWORDS, "governed by", "governing_law")
    key = apikeys.create_key(rt, ADMIN, "acme").secret
    text = _send(key, "notes.txt", b"Plain notes.", "M-KINDS")
    word = _send(key, "msa.docx", contract_docx(), "M-KINDS")
    assert (text.status_code, word.status_code) == (202, 202)

    assert run_to_end(rt, word.json()["run_id"]) == "done"
    results = _client(key).get(f"/api/v1/documents/{word.json()['id']}/results").json()

    clauses = [c for c in results["clauses"] if c["category"] == "governing_law"]
    assert [(c["text"], c["location"], c["page"]) for c in clauses] == [
        (GOVERNING_LAW, "§ 3. Governing Law, ¶ 1", 9)
    ]


def test_a_text_file_and_an_archive_by_url_are_fetched_and_submitted(rt: Runtime) -> None:
    rt.settings = dataclasses.replace(rt.settings, allow_private_urls=True)
    key = apikeys.create_key(rt, ADMIN, "acme").secret
    archive = make_zip({"a/one.txt": b"One.", "b/two.docx": contract_docx()})
    with local_server() as server:
        server.answers["/dms/notes.txt"] = Answer(200, b"Plain notes.")
        server.answers["/dms/room.zip"] = Answer(200, archive)
        client = _client(key)
        text, room = (
            client.post(
                "/api/v1/documents",
                json.dumps({"url": server.url(path), "matter": "M-URL"}),
                content_type="application/json",
            )
            for path in ("/dms/notes.txt", "/dms/room.zip")
        )

    assert text.status_code == 202, text.content
    assert room.status_code == 202, room.content
    assert sorted((d["name"], d["path"]) for d in room.json()["documents"]) == [
        ("one.txt", "a/one.txt"),
        ("two.docx", "b/two.docx"),
    ]
    assert _count_documents(rt) == 3
