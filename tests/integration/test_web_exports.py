"""The review grid and the exports through Django's test client: a matter with two real
contracts the fake model has analyzed (SQLite, module-scoped: the analyses run once). Each
download is checked by opening it, each export by its one audit event (hash and size, never
the document's words), and every URL answers 404 to someone outside the matter."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from html import escape, unescape
from typing import Any

import pytest

from docanalysis.db.migrate import upgrade_database
from docanalysis.services import queries
from docanalysis.services.runtime import Runtime
from docanalysis.services.steps import run_to_end
from docanalysis.services.views import DocumentAnalysis
from tests.conftest import ONE_PAGE_CONTRACT, THREE_PAGE_CONTRACT
from tests.integration.test_pipeline import runtime
from tests.support.fakes import FixedGuard
from tests.support.web import _client, _events_since, _head, _matter, _upload, _user

JOINT, SUPPLY = "joint-filing.pdf", "manufacturing.pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class World:
    rt: Runtime
    user: Any
    client: Any
    matter_id: int
    matter_name: str
    analyses: dict[str, DocumentAnalysis]


@pytest.fixture(scope="module")
def world(django_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    data = tmp_path_factory.mktemp("exports")
    url = f"sqlite:///{data / 'docanalysis.sqlite3'}"
    upgrade_database(url)
    rt = runtime(url, data, FixedGuard())
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("docanalysis.web.views.common.get_runtime", lambda: rt)
        user = _user("exporter")
        client = _client(user)
        name = f"Exports {user.username}"
        matter_id = _matter(client, name)
        _upload(client, matter_id, JOINT, THREE_PAGE_CONTRACT.read_bytes())
        _upload(client, matter_id, SUPPLY, ONE_PAGE_CONTRACT.read_bytes())
        assert [run_to_end(rt, run_id) for run_id in rt.queue.sent] == ["done", "done"]  # type: ignore[attr-defined]
        documents = sorted(
            queries.documents_in_matter(rt, user.pk, matter_id), key=lambda d: d.name
        )
        analyses = {d.name: queries.document_analysis(rt, user.pk, d.id) for d in documents}
        yield World(rt, user, client, matter_id, name, analyses)
    rt.engine.dispose()


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return _one_line(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages))


def _docx_text(data: bytes) -> str:
    from docx import Document

    doc = Document(io.BytesIO(data))
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    return _one_line(" ".join([p.text for p in doc.paragraphs] + cells))


def _attachment(response: Any, media_type: str, filename: str) -> bytes:
    assert response.status_code == 200
    assert response["Content-Type"] == media_type
    assert response["Content-Disposition"] == f'attachment; filename="{filename}"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    return bytes(response.content)


def test_document_reports_hold_each_clause_with_its_page_and_the_model(world: World) -> None:
    analysis = world.analyses[JOINT]
    doc_id = analysis.document.id
    first = analysis.clauses[0]
    quote = _one_line(first.text)
    docx = _attachment(
        world.client.get(f"/documents/{doc_id}/report.docx"), DOCX, "joint-filing - analysis.docx"
    )
    text = _docx_text(docx)
    assert f"“{quote}”" in text
    assert f"Parties Dated: July 6, 2020 HPS INVESTMENT PARTN “{quote}” {first.page}" in text
    assert "Model: test/keyword-model" in text and "Guard model: test/guard" in text
    pdf = _attachment(
        world.client.get(f"/documents/{doc_id}/report.pdf"),
        "application/pdf",
        "joint-filing - analysis.pdf",
    )
    text = _pdf_text(pdf)
    assert f"1. Parties, p. {first.page} “{quote}”" in text
    assert len([c for c in analysis.clauses if _one_line(c.text) in text]) == 7
    assert "Model: test/keyword-model Model revision: 1" in text


def test_matter_reports_have_both_documents(world: World) -> None:
    base = f"/matters/{world.matter_id}/report"
    name = f"{world.matter_name} - matter report"
    docx = _attachment(world.client.get(f"{base}.docx"), DOCX, f"{name}.docx")
    pdf = _attachment(world.client.get(f"{base}.pdf"), "application/pdf", f"{name}.pdf")
    for text in (_docx_text(docx), _pdf_text(pdf)):
        for analysis in world.analyses.values():
            assert analysis.document.name in text
            assert _one_line(analysis.clauses[-1].text) in text


def _cells(page: str) -> dict[str, list[str]]:
    """The grid's rows: the document's name, then each cell's text without markup."""

    def text(cell: str, gap: str) -> str:
        return _one_line(unescape(re.sub(r"<[^>]+>", gap, cell)))

    rows = re.findall(r'<tr id="grid-document-\d+">(.*?)</tr>', page, re.S)
    return {
        text(cells[0], ""): [text(c, " ") for c in cells[1:]]
        for cells in (re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S) for row in rows)
    }


def test_the_grid_has_a_row_per_document_and_the_common_categories(world: World) -> None:
    start = _head(world.rt)
    page = world.client.get(f"/matters/{world.matter_id}/grid/")
    assert page.status_code == 200
    html = page.text
    assert (
        f'<caption id="grid-caption">{escape(world.matter_name)}: 2 documents, 2 clause '
        "categories</caption>"
    ) in html
    # The categories of the most documents, in the taxonomy's order.
    assert '<th scope="col">Parties</th><th scope="col">Agreement Date</th>' in html
    joint, supply = world.analyses[JOINT], world.analyses[SUPPLY]
    date = next(c for c in joint.clauses if c.category == "agreement_date")
    link = f'<a href="/documents/{joint.document.id}/#finding-{date.id}">'
    assert (
        f'{link}Dated: July 6, 2020 HPS INVESTMENT PARTN <span class="page-ref">p. 1</span></a>'
        in html
    )
    cells = _cells(html)
    assert list(cells) == [JOINT, SUPPLY]
    assert cells[JOINT][1] == "Dated: July 6, 2020 HPS INVESTMENT PARTN p. 1"
    assert cells[JOINT][0].count("p. ") == 6  # six parties clauses, on pages 1 to 3
    assert cells[SUPPLY][1] == "— not found"
    assert '<span class="visually-hidden">not found</span>' in html
    assert cells[SUPPLY][0].startswith(_one_line(supply.clauses[0].value))
    (viewed,) = _events_since(world.rt, start)
    assert (viewed.action, viewed.subject) == ("matter.grid_viewed", f"matter:{world.matter_id}")
    assert viewed.details == {
        "categories": ["parties", "agreement_date"],
        "documents": [joint.document.id, supply.document.id],
    }


def test_the_grid_shows_the_chosen_columns_and_downloads_them(world: World) -> None:
    query = "category=governing_law&category=parties&category=no_such_thing"
    html = world.client.get(f"/matters/{world.matter_id}/grid/?{query}").text
    assert '<th scope="col">Parties</th><th scope="col">Governing Law</th>' in html
    assert 'value="governing_law" checked' in html and 'value="parties" checked' in html
    assert 'value="agreement_date">' in html
    downloads = f"/matters/{world.matter_id}/grid.csv?category=parties&amp;category=governing_law"
    assert downloads in html
    name = f"{world.matter_name} - review grid"
    data = _attachment(
        world.client.get(f"/matters/{world.matter_id}/grid.csv?category=parties"),
        "text/csv; charset=utf-8",
        f"{name}.csv",
    )
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    ids = {n: a.document.id for n, a in world.analyses.items()}
    assert rows[0] == ["Document", "Pages", "Analysis", "Parties", "Link"]
    assert [r[:3] for r in rows[1:]] == [[JOINT, "3", "Done"], [SUPPLY, "1", "Done"]]
    assert rows[1][3].startswith("Dated: July 6, 2020 HPS INVESTMENT PARTN (p. 1); ")
    assert rows[1][4] == f"http://testserver/documents/{ids[JOINT]}/"
    xlsx = _attachment(
        world.client.get(f"/matters/{world.matter_id}/grid.xlsx?category=parties"),
        XLSX,
        f"{name}.xlsx",
    )
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(xlsx)).active
    assert sheet is not None
    assert [c.value for c in sheet[1]] == rows[0]
    assert [[c.value for c in r][:4] for r in sheet.iter_rows(min_row=2)] == [
        [JOINT, "3", "Done", rows[1][3]],
        [SUPPLY, "1", "Done", rows[2][3]],
    ]
    first_party = next(c for c in world.analyses[JOINT].clauses if c.category == "parties")
    target = f"http://testserver/documents/{ids[JOINT]}/#finding-{first_party.id}"
    assert sheet["D2"].hyperlink.target == target


EXPORTS = [
    ("/documents/{doc}/report.docx", "docx", "document"),
    ("/documents/{doc}/report.pdf", "pdf", "document"),
    ("/matters/{matter}/report.docx", "docx", "matter"),
    ("/matters/{matter}/report.pdf", "pdf", "matter"),
    ("/matters/{matter}/grid.csv?category=parties", "csv", "grid"),
    ("/matters/{matter}/grid.xlsx?category=parties", "xlsx", "grid"),
]


def _expected_details(world: World, fmt: str, what: str, data: bytes) -> dict[str, Any]:
    ids = [a.document.id for a in world.analyses.values()]
    scope: dict[str, Any] = {
        "document": {"scope": "document", "report": "analysis", "document_id": ids[0]},
        "matter": {"scope": "matter", "report": "analysis"},  # the event's matter_id says which
        "grid": {"scope": "matter", "report": "grid"},
    }[what]
    if what != "document":
        scope["documents"] = ids
    if what == "grid":
        scope["categories"] = ["parties"]
    return {
        "format": fmt,
        **scope,
        "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
    }


@pytest.mark.parametrize(("template", "fmt", "what"), EXPORTS)
def test_each_export_is_one_audit_event_with_its_hash_and_no_text(
    world: World, template: str, fmt: str, what: str
) -> None:
    doc_id = world.analyses[JOINT].document.id
    path = template.format(doc=doc_id, matter=world.matter_id)
    start = _head(world.rt)
    response = world.client.get(path, HTTP_X_REQUEST_ID=f"export-{fmt}-{what}")
    assert response.status_code == 200
    (event,) = _events_since(world.rt, start)
    subject = f"document:{doc_id}" if what == "document" else f"matter:{world.matter_id}"
    assert (event.action, event.subject, event.matter_id, event.outcome) == (
        "report.exported",
        subject,
        world.matter_id,
        "ok",
    )
    assert event.request_id == f"export-{fmt}-{what}"
    assert event.actor == f"{world.user.username} <{world.user.email}>"
    assert event.details == _expected_details(world, fmt, what, response.content)
    row = json.dumps(event.as_row(), default=str)
    words = [_one_line(c.text)[:24] for a in world.analyses.values() for c in a.clauses]
    assert [w for w in words if w in row] == []


def test_someone_outside_the_matter_gets_404_and_nothing_is_recorded(world: World) -> None:
    outsider = _client(_user("outsider"))
    doc_id = world.analyses[JOINT].document.id
    paths = [t.format(doc=doc_id, matter=world.matter_id) for t, _, _ in EXPORTS]
    start = _head(world.rt)
    for path in [*paths, f"/matters/{world.matter_id}/grid/"]:
        response = outsider.get(path)
        assert response.status_code == 404, path
        assert JOINT not in response.text
    assert _events_since(world.rt, start) == []
    assert world.client.post(f"/matters/{world.matter_id}/report.pdf").status_code == 405


def test_the_pages_link_to_the_exports(world: World) -> None:
    doc_id = world.analyses[JOINT].document.id
    matter = world.client.get(f"/matters/{world.matter_id}/").text
    assert f'<a href="/matters/{world.matter_id}/grid/">Review grid</a>' in matter
    assert f'<a href="/matters/{world.matter_id}/report.docx">Matter report (DOCX)</a>' in matter
    assert f'<a href="/matters/{world.matter_id}/report.pdf">Matter report (PDF)</a>' in matter
    document = world.client.get(f"/documents/{doc_id}/").text
    assert f'<a href="/documents/{doc_id}/report.docx">Word report (DOCX)</a>' in document
    assert f'<a href="/documents/{doc_id}/report.pdf">PDF report</a>' in document


def test_an_empty_matter_says_so_on_the_grid(world: World) -> None:
    matter_id = _matter(world.client, f"Empty {world.user.username}")
    html = world.client.get(f"/matters/{matter_id}/grid/").text
    assert "No documents to compare yet." in html
    assert "<table" not in html
    csv_data = world.client.get(f"/matters/{matter_id}/grid.csv").content
    assert csv_data == "\ufeffDocument,Pages,Analysis,Link\r\n".encode()


def test_reviews_show_in_the_grid_and_reports_and_rejected_clauses_leave(world: World) -> None:
    from docanalysis.services.corrections import Decision, review_finding
    from docanalysis.services.views import Actor

    matter_id = _matter(world.client, f"Reviewed {world.user.username}")
    _upload(world.client, matter_id, SUPPLY, ONE_PAGE_CONTRACT.read_bytes())
    assert run_to_end(world.rt, world.rt.queue.sent[-1]) == "done"  # type: ignore[attr-defined]
    (doc,) = queries.documents_in_matter(world.rt, world.user.pk, matter_id)
    kept, dropped = queries.document_analysis(world.rt, world.user.pk, doc.id).clauses[:2]
    reviewer = Actor(world.user.pk, f"{world.user.username} <{world.user.email}>")
    review_finding(world.rt, reviewer, kept.id, Decision("corrected", value="Stremick's"))
    review_finding(world.rt, reviewer, dropped.id, Decision("rejected"))
    html = world.client.get(f"/matters/{matter_id}/grid/").text
    (cell,) = _cells(html)[SUPPLY]
    assert cell == f"Stremick's p. {kept.page} reviewed by {reviewer.identity}"
    assert f"#finding-{dropped.id}" not in html
    text = _docx_text(world.client.get(f"/documents/{doc.id}/report.docx").content)
    assert f"reviewed by {reviewer.identity} (corrected)" in text
    assert "1 clause rejected in review is not listed." in text
    assert _one_line(dropped.text) not in text


def test_the_api_serves_the_reports_and_grid_to_keys_in_scope(world: World) -> None:
    from django.test import Client

    from docanalysis.services import apikeys
    from docanalysis.services.matters import DEFAULT_TENANT, create_matter
    from docanalysis.services.views import Actor

    admin = Actor(None, "cli:admin")
    other = create_matter(world.rt, admin, f"Other {world.user.username}")
    own_key = apikeys.create_key(world.rt, admin, DEFAULT_TENANT, matter_ids=(world.matter_id,))
    other_key = apikeys.create_key(world.rt, admin, DEFAULT_TENANT, matter_ids=(other,))
    own = Client(HTTP_AUTHORIZATION=f"Bearer {own_key.secret}")
    outsider = Client(HTTP_AUTHORIZATION=f"Bearer {other_key.secret}")
    doc_id = world.analyses[JOINT].document.id
    start = _head(world.rt)
    pdf = own.get(f"/api/v1/documents/{doc_id}/report.pdf")
    assert pdf["Content-Type"] == "application/pdf"
    assert _one_line(world.analyses[JOINT].clauses[0].text) in _pdf_text(pdf.content)
    grid = own.get(f"/api/v1/matters/{world.matter_id}/grid.csv?category=parties")
    assert grid["Content-Disposition"].startswith("attachment; ")
    assert grid.content.decode("utf-8-sig").splitlines()[0] == "Document,Pages,Analysis,Parties"
    docx = own.get(f"/api/v1/documents/{doc_id}/report.docx")
    xlsx = own.get(f"/api/v1/matters/{world.matter_id}/grid.xlsx")
    assert (docx["Content-Type"], xlsx["Content-Type"]) == (DOCX, XLSX)
    events = _events_since(world.rt, start)
    assert [(e.action, e.actor, e.details["format"]) for e in events] == [
        ("report.exported", f"api-key:{own_key.prefix}", fmt)
        for fmt in ("pdf", "csv", "docx", "xlsx")
    ]
    for path in (
        f"/api/v1/documents/{doc_id}/report.pdf",
        f"/api/v1/matters/{world.matter_id}/grid.csv",
    ):
        refused = outsider.get(path)
        assert (refused.status_code, refused.json()["error"]["code"]) == (404, "not_found")
    assert len(_events_since(world.rt, start)) == 4
