"""The issue's path through the browser in one go, on the app served in this process with a
worker thread (the fake keyword model: the page's behaviour, not the model's, is under test;
tests/e2e/test_browser.py runs the real product with the bundled model):

sign in, create a matter, upload three PDFs at once (one damaged), watch them finish without a
reload, open a clause and see its words highlighted on its page, correct the clause by choosing
other words on the page, export DOCX and PDF and read them back, and compare in the review
grid. axe-core checks the screens on the way; screenshots go to test-results/.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import ONE_PAGE_CONTRACT, PDFS, THREE_PAGE_CONTRACT
from tests.support.axe import audit, audit_context, report
from tests.support.live import Live

pytestmark = [pytest.mark.browser]

DAMAGED = PDFS / "malformed" / "ocrmypdf" / "invalid.pdf"
CORRECTED_WORDS = "Joint Filing Agreement"


def _accessible(browser: Any, page: Any, what: str) -> None:
    """axe-core on the page's URL, with every <details> opened (the review forms, too)."""
    context = audit_context(browser, storage_state=page.context.storage_state())
    audited = context.new_page()
    audited.goto(page.url)
    audited.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    violations = audit(audited)
    context.close()
    assert violations == [], report(what, violations)


def _upload_three(page: Any, live: Live) -> None:
    page.get_by_label("PDF files").set_input_files(
        [str(THREE_PAGE_CONTRACT), str(ONE_PAGE_CONTRACT), str(DAMAGED)]
    )
    rows = page.locator("#upload-list li")
    expect(rows).to_have_count(3)
    for row in rows.all():
        expect(row).to_have_attribute("data-state", "done", timeout=20_000)
        expect(row.locator(".upload-percent")).to_have_text("100%")


def _watch_until_final(page: Any, names: list[str]) -> dict[str, str]:
    """Each document's final label, read from the table as it changes (no reload)."""
    page.evaluate("window.__noReload = true")
    table = page.locator("#matter-documents")
    labels = {}
    for name in names:
        row = table.locator("tr", has=page.get_by_role("link", name=name, exact=True))
        cell = row.locator(".status-cell")
        expect(cell).to_have_attribute("data-final", "true", timeout=60_000)
        labels[name] = (row.locator('[data-role="label"]').text_content() or "").strip()
    assert page.evaluate("window.__noReload") is True, "the page was reloaded"
    return labels


def _choose_words(page: Any, clause: Any, words: str) -> None:
    """Open the clause's correction form and select `words` in its page's text."""
    clause.locator("summary", has_text="Review this clause").click()
    clause.get_by_role("button", name="Choose other words on the page").click()
    text = clause.locator(".page-text")
    expect(text).to_contain_text(words)
    text.evaluate(
        """(box, words) => {
            const node = box.firstChild, at = node.data.indexOf(words);
            const range = document.createRange();
            range.setStart(node, at);
            range.setEnd(node, at + words.length);
            const sel = window.getSelection();
            sel.removeAllRanges();
            sel.addRange(range);
        }""",
        words,
    )
    clause.get_by_role("button", name="Use the selected words").click()
    expect(clause.locator(".chosen")).to_contain_text(f"\u201c{words}\u201d")


def _download(page: Any, link: str, results_dir: Path) -> bytes:
    with page.expect_download() as download:
        page.get_by_role("link", name=link).click()
    saved = results_dir / download.value.suggested_filename
    download.value.save_as(saved)
    return saved.read_bytes()


def test_the_lawyers_path_from_upload_to_export(
    browser: Any, page: Any, live: Live, results_dir: Path
) -> None:
    from docx import Document
    from pypdf import PdfReader

    live.sign_in(page, live.user("lawyer"))
    page.get_by_label("Matter name").fill("Joint filing review")
    page.get_by_role("button", name="Create matter").click()
    page.wait_for_url(f"{live.url}/matters/*/")
    names = [THREE_PAGE_CONTRACT.name, ONE_PAGE_CONTRACT.name, DAMAGED.name]

    _upload_three(page, live)
    page.screenshot(path=str(results_dir / "flow-upload.png"), full_page=True)
    with live.worker():
        labels = _watch_until_final(page, names)
    assert labels == {names[0]: "Done", names[1]: "Done", names[2]: "Failed"}
    damaged = page.locator("tr", has=page.get_by_role("link", name=DAMAGED.name, exact=True))
    expect(damaged.locator('[data-role="reason"]')).to_be_visible()
    _accessible(browser, page, "matter page")

    page.get_by_role("link", name=THREE_PAGE_CONTRACT.name, exact=True).click()
    page.wait_for_url(f"{live.url}/documents/*/")
    clause = page.locator("li.clause", has=page.locator(".page", has_text="p. 2")).first
    clause.locator("a.show-on-page").click()
    viewer = page.locator("#viewer")
    expect(viewer.locator(".viewer-position")).to_have_text("Page 2 of 3")
    expect(viewer.locator(".highlight").first).to_be_visible()
    page.screenshot(path=str(results_dir / "flow-document.png"), full_page=True)

    first = page.locator("li.clause").first
    _choose_words(page, first, CORRECTED_WORDS)
    first.get_by_label("Value").fill("Joint filing of Schedule 13D")
    first.get_by_role("button", name="Save correction").click()
    page.wait_for_load_state()
    expect(page.locator(".messages")).to_contain_text("Correction saved.")
    corrected = page.locator("li.clause").first
    expect(corrected.locator(".review-badge")).to_have_text("Corrected")
    expect(corrected.locator("blockquote.corrected-source")).to_have_text(CORRECTED_WORDS)
    expect(page.locator(".review-progress")).to_contain_text("1 of ")
    _accessible(browser, page, "document page after a correction")

    docx = Document(io.BytesIO(_download(page, "Word report (DOCX)", results_dir)))
    cells = " ".join(c.text for t in docx.tables for row in t.rows for c in row.cells)
    assert CORRECTED_WORDS in cells and "Joint filing of Schedule 13D" in cells
    pdf = PdfReader(io.BytesIO(_download(page, "PDF report", results_dir)))
    assert "Joint filing of Schedule 13D" in " ".join(p.extract_text() for p in pdf.pages)

    page.get_by_role("link", name="Joint filing review").click()
    page.get_by_role("link", name="Review grid").click()
    grid = page.locator("#review-grid")
    expect(grid).to_contain_text("Joint filing of Schedule 13D")
    expect(grid.get_by_role("link", name=ONE_PAGE_CONTRACT.name, exact=True)).to_be_visible()
    expect(grid.get_by_role("link", name=DAMAGED.name, exact=True)).to_be_visible()
    page.screenshot(path=str(results_dir / "flow-grid.png"), full_page=True)
    _accessible(browser, page, "review grid")
