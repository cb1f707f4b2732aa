"""The original's pages as images and a passage's lines on them (docanalysis/services/pages.py
and its views), and the document view's filters and page viewer, through Django's test client
against the real services, pdfium in its child process, and a SQLite data dir."""

from __future__ import annotations

import struct
import zlib
from html import escape
from typing import Any

import pypdfium2 as pdfium
import pytest

from docanalysis.services import pages
from docanalysis.services.pipeline import extract
from docanalysis.services.runtime import Runtime
from docanalysis.services.views import FindingView, ReviewView
from tests.conftest import THREE_PAGE_CONTRACT
from tests.support.web import _client, _matter, _single_document, _upload, _user

# A passage of page 2 of the three-page contract, and page 2's size in points (A4).
PASSAGE = "By: HPS Mezzanine Partners II, LLC, its investment manager"
A4 = (595, 842)


@pytest.fixture(scope="module")
def contract(web: Runtime) -> dict[str, Any]:
    """The three-page contract uploaded by a member and read (text and pages stored)."""
    user = _user("pages")
    client = _client(user)
    matter_id = _matter(client, f"Pages {user.username}")
    _upload(client, matter_id, "joint-filing.pdf", THREE_PAGE_CONTRACT.read_bytes())
    doc = _single_document(web, user, matter_id)
    extract(web, doc.status.run_id)
    return {"client": client, "user": user, "id": doc.id}


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _dark_box(data: bytes) -> tuple[float, float, float, float]:
    """Where the ink is in one of our PNGs (8-bit RGB, no row filters), as page fractions."""
    width, height = _png_size(data)
    idat, at = b"", 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        if data[at + 4 : at + 8] == b"IDAT":
            idat += data[at + 8 : at + 8 + length]
        at += length + 12
    raw = zlib.decompress(idat)
    stride = 1 + 3 * width
    xs, ys = [], []
    for y in range(height):
        row = raw[y * stride + 1 : (y + 1) * stride]
        if min(row) < 100:
            dark = [i // 3 for i, value in enumerate(row) if value < 100]
            xs += [min(dark), max(dark) + 1]
            ys.append(y)
    return (min(xs) / width, min(ys) / height, max(xs) / width, (max(ys) + 1) / height)


def _one_line_pdf(text: str, *, rotate: int, cropbox: tuple[int, ...]) -> bytes:
    """A one-page PDF with one line of Helvetica at (120, 600), turned by /Rotate and cut by
    a crop box that does not start at the origin."""
    stream = f"BT /F1 24 Tf 120 600 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/CropBox [{' '.join(map(str, cropbox))}] /Rotate {rotate} "
            "/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>"
        ).encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _offsets_of(web: Runtime, document_id: int, passage: str) -> tuple[int, int]:
    from docanalysis.db.engine import reading
    from docanalysis.services.pipeline import load_document

    with reading(web.engine) as conn:
        text = load_document(conn, document_id).text
    start = text.index(passage)
    return start, start + len(passage)


def test_a_page_is_a_png_of_the_pages_size_and_is_rendered_once(
    web: Runtime, contract: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, doc_id = contract["client"], contract["id"]
    response = client.get(f"/documents/{doc_id}/pages/2.png?scale=1")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, max-age=3600"
    assert _png_size(response.content) == A4
    assert _png_size(client.get(f"/documents/{doc_id}/pages/1.png").content) == (1190, 1684)
    # Cached on disk: the second view of a page starts no renderer.
    monkeypatch.setattr(pages, "_in_child", lambda *a: pytest.fail("rendered twice"))
    assert client.get(f"/documents/{doc_id}/pages/2.png?scale=1").content == response.content
    # Asked scales are rounded to a step: 1.1 is the 1.0 image.
    assert client.get(f"/documents/{doc_id}/pages/2.png?scale=1.1").content == response.content


def test_pages_and_highlights_are_not_found_for_others_and_bad_requests_are_refused(
    contract: dict[str, Any],
) -> None:
    client, doc_id = contract["client"], contract["id"]
    other = _client(_user("outsider"))
    assert other.get(f"/documents/{doc_id}/pages/1.png").status_code == 404
    refused = other.get(f"/documents/{doc_id}/highlight.json?start=0&end=10")
    assert (refused.status_code, refused.json()) == (404, {"error": "No such document."})
    assert client.get("/documents/999999/pages/1.png").status_code == 404
    assert client.get(f"/documents/{doc_id}/pages/4.png").status_code == 404  # 3 pages
    for query in ("scale=big", "scale=0.1", "scale=9", "scale=nan", "scale=inf"):
        assert client.get(f"/documents/{doc_id}/pages/1.png?{query}").status_code == 400, query
    assert client.get(f"/documents/{doc_id}/pages/0.png").status_code == 400
    for query in ("", "start=1", "start=a&end=2", "start=-1&end=5", "start=9&end=9"):
        response = client.get(f"/documents/{doc_id}/highlight.json?{query}")
        assert response.status_code == 400, query
        assert "error" in response.json()
    beyond = client.get(f"/documents/{doc_id}/highlight.json?start=10&end=999999")
    assert beyond.status_code == 400


def test_a_passage_is_highlighted_on_its_page_over_its_own_words(
    web: Runtime, contract: dict[str, Any]
) -> None:
    start, end = _offsets_of(web, contract["id"], PASSAGE)
    response = contract["client"].get(
        f"/documents/{contract['id']}/highlight.json?start={start}&end={end}"
    )
    assert response.status_code == 200
    found = response.json()
    assert (found["page"], found["width"], found["height"]) == (2, *A4)
    assert len(found["boxes"]) == 1  # one line
    # pdfium's own text inside the box (PDF coordinates: origin bottom left) is the passage.
    page = pdfium.PdfDocument(THREE_PAGE_CONTRACT.read_bytes())[1]
    width, height = A4
    for x0, y0, x1, y1 in found["boxes"]:
        assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1
        inside = page.get_textpage().get_text_bounded(
            left=x0 * width, bottom=(1 - y1) * height, right=x1 * width, top=(1 - y0) * height
        )
        assert " ".join(inside.split()) == PASSAGE


def test_a_rotated_cropped_page_is_highlighted_where_its_image_shows_the_words(
    web: Runtime,
) -> None:
    user = _user("rotated")
    client = _client(user)
    matter_id = _matter(client, f"Rotated {user.username}")
    pdf = _one_line_pdf("Highlight these words", rotate=90, cropbox=(40, 300, 560, 760))
    _upload(client, matter_id, "rotated.pdf", pdf)
    doc = _single_document(web, user, matter_id)
    extract(web, doc.status.run_id)
    found = client.get(f"/documents/{doc.id}/highlight.json?start=0&end=21").json()
    # Turned a quarter clockwise: the crop box's 520 x 460 points are shown 460 wide, 520 high.
    assert (found["page"], found["width"], found["height"]) == (1, 460, 520)
    image = client.get(f"/documents/{doc.id}/pages/1.png?scale=1").content
    assert _png_size(image) == (460, 520)
    (box,) = found["boxes"]
    ink = _dark_box(image)
    # The line runs down the image (taller than wide), and the box holds all its ink with a
    # margin of a few points at most.
    assert ink[3] - ink[1] > 5 * (ink[2] - ink[0])
    assert box[0] <= ink[0] and box[1] <= ink[1] and ink[2] <= box[2] and ink[3] <= box[3]
    assert max(ink[0] - box[0], ink[1] - box[1], box[2] - ink[2], box[3] - ink[3]) < 0.02
    # Once the file is gone (its last document deleted), its cached images go with it.
    cache = web.settings.data_dir / "page-cache" / doc.sha256[:2] / doc.sha256
    assert sorted(p.suffix for p in cache.iterdir()) == [".json", ".png"]
    assert client.post(f"/documents/{doc.id}/delete").status_code == 302
    assert not cache.exists()
    assert client.get(f"/documents/{doc.id}/pages/1.png?scale=1").status_code == 404


def test_a_text_document_has_no_page_images(web: Runtime) -> None:
    user = _user("texts")
    client = _client(user)
    matter_id = _matter(client, f"Texts {user.username}")
    _upload(client, matter_id, "notes.txt", b"The term is five years.\n")
    doc = _single_document(web, user, matter_id)
    extract(web, doc.status.run_id)
    assert client.get(f"/documents/{doc.id}/pages/1.png").status_code == 404
    assert client.get(f"/documents/{doc.id}/highlight.json?start=0&end=8").status_code == 404


def test_the_viewer_without_script_shows_the_page_and_the_passage_lines(
    web: Runtime, contract: dict[str, Any]
) -> None:
    client, doc_id = contract["client"], contract["id"]
    start, end = _offsets_of(web, doc_id, PASSAGE)
    warning = 'page 2: 1 passage of text a reader cannot see (white text) was left out: "x"'
    _finish(web, contract, start, end, warning)
    page = client.get(f"/documents/{doc_id}/")
    assert 'id="viewer"' in page.text
    assert f'src="/documents/{doc_id}/pages/1.png?scale=2"' in page.text
    assert 'Page <span data-role="page">1</span> of 3' in page.text
    assert '<rect class="highlight"' not in page.text
    # The warning at the top, with its page, and again on that page's clause.
    assert '<section class="warnings-region" role="note"' in page.text
    assert 'href="?page=2#viewer" data-show-page="2">Show page 2</a>' in page.text
    assert (
        '<p class="clause-warning"><span class="warning-label">Warning about page 2:</span> '
        f"{escape(warning)}</p>"
    ) in page.text
    assert '<span class="value-label">Parties</span> HPS Mezzanine Partners II, LLC' in page.text
    link = f'href="?start={start}&amp;end={end}#viewer" data-page="2"'
    assert link in page.text
    # Following that link without script: page 2 with the passage's line drawn on it.
    shown = client.get(f"/documents/{doc_id}/?start={start}&end={end}")
    assert f'src="/documents/{doc_id}/pages/2.png?scale=2"' in shown.text
    assert shown.text.count('<rect class="highlight"') == 1
    assert "Page 2, passage highlighted." in shown.text
    assert 'href="?page=1#viewer" data-to="1"' in shown.text
    assert 'href="?page=3#viewer" data-to="3"' in shown.text
    # The filters stay in the viewer's links.
    filtered = client.get(f"/documents/{doc_id}/?category=parties&page=2")
    assert 'href="?category=parties&amp;page=3#viewer" data-to="3"' in filtered.text
    assert "Showing 1 of 1 clause<" in filtered.text


def _finish(web: Runtime, contract: dict[str, Any], start: int, end: int, warning: str) -> None:
    """The contract's run done, with a warning about page 2 and one released clause there."""
    from docanalysis.db import repositories as repo
    from docanalysis.db.engine import transaction

    doc = _single_document(web, contract["user"], _matter_of(web, contract["id"]))
    run_id = doc.status.run_id
    row = dict(run_id=run_id, ordinal=0, kind="clause", category="parties", citations=None)
    with transaction(web.engine) as conn:
        repo.add_findings(
            conn,
            [
                dict(
                    row,
                    text=PASSAGE,
                    page=2,
                    start=start,
                    end=end,
                    value="HPS Mezzanine Partners II, LLC",
                )
            ],
        )
        (finding,) = repo.findings_of(conn, run_id)
        verdict = dict(verdict="safe", categories=[], model="test-guard", policy_version="t")
        repo.record_verdict(conn, int(finding.id), "released", **verdict)
        repo.update_run(conn, run_id, state="done", warnings=[warning], finished_at=repo.now())


def _matter_of(web: Runtime, document_id: int) -> int:
    from docanalysis.db import repositories as repo
    from docanalysis.db.engine import reading

    with reading(web.engine) as conn:
        doc = repo.document(conn, document_id)
    assert doc is not None
    return int(doc.matter_id)


def _clause(n: int, **fields: Any) -> FindingView:
    defaults: dict[str, Any] = dict(
        kind="clause",
        category="parties",
        category_name="Parties",
        text=f"clause {n}",
        page=1,
        start=n * 10,
        end=n * 10 + 5,
        value="",
        status="released",
        verdict="safe",
        guard_categories=(),
        guard_model="guard",
        id=n,
    )
    return FindingView(**{**defaults, **fields})


def test_the_clause_filter_keeps_what_each_choice_asks(django_ready: None) -> None:
    from docanalysis.web.views.documents import ClauseFilter, filter_clauses

    review = ReviewView("confirmed", "rita", _now(), "parties", "Parties", "", "", 1, 0, 5)
    clauses = [
        _clause(1, confidence=0.9, review=review),
        _clause(2, confidence=0.6, status="flagged"),
        _clause(3, confidence=None, status="held", category="agreement_date"),
        _clause(4, confidence=0.3, category="agreement_date"),
    ]

    def ids(**query: str) -> list[int]:
        return [c.id for c in filter_clauses(clauses, ClauseFilter.from_query(query))]

    assert ids() == [1, 2, 3, 4]
    assert ids(category="agreement_date") == [3, 4]
    assert ids(confidence="0.5") == [1, 2]  # no confidence: not "at least 0.5"
    assert ids(confidence="0.8") == [1]
    assert ids(status="shown") == [1, 2, 4]
    assert ids(status="held") == [3]
    assert ids(status="flagged") == [2]
    assert ids(status="reviewed") == [1]
    assert ids(status="unreviewed") == [2, 3, 4]
    assert ids(category="agreement_date", status="shown") == [4]
    # What the form does not offer is no filter at all.
    assert ids(confidence="0.01", status="everything") == [1, 2, 3, 4]
    chosen = ClauseFilter.from_query({"category": "parties", "confidence": "0.8"})
    assert chosen.query() == "category=parties&confidence=0.8"


def test_warnings_are_placed_on_the_page_they_name(django_ready: None) -> None:
    from docanalysis.web.views.documents import page_warnings, warning_page

    hidden = 'page 2: 1 passage of text a reader cannot see (white text) was left out: "see page 9"'
    injected = "window 1 of 2 (page 3): text that looks like an instruction to the model"
    scanned = "pages 4-5 have no text (blank, or a scanned image without OCR)"
    assert page_warnings([hidden, injected, scanned]) == {2: [hidden], 3: [injected]}
    assert [warning_page(w) for w in (hidden, injected, scanned)] == [2, 3, None]


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)
