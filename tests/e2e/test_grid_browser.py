"""The review grid and the reports in headless Chromium, against the web app served in this
process (tests/support/live.py, the fake model): two real contracts uploaded through the form,
compared in the grid, a cell followed to its clause, and the document's Word and PDF reports
downloaded and opened."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import ONE_PAGE_CONTRACT, THREE_PAGE_CONTRACT
from tests.support.live import Live

pytestmark = [pytest.mark.browser]

JOINT, SUPPLY = "joint filing.pdf", "manufacturing.pdf"
# The joint filing's first "parties" clause, as the fake model finds it (on page 1).
JOINT_PARTY = "Dated: July 6, 2020 HPS INVESTMENT PARTNERS, LLC /s/ John Madden"


def _counts(message: Any) -> bool:
    """A console error that is the page's fault (the browser's own favicon.ico request is
    not: the app has none)."""
    return message.type == "error" and not message.location["url"].endswith("/favicon.ico")


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _matter_with_two_analyzed_contracts(page: Any, live: Live) -> None:
    live.sign_in(page, live.user("reviewer"))
    page.get_by_label("Matter name").fill("Grid comparison")
    page.get_by_role("button", name="Create matter").click()
    page.wait_for_url(f"{live.url}/matters/*/")
    page.get_by_label("PDF files").set_input_files(
        [
            {
                "name": JOINT,
                "mimeType": "application/pdf",
                "buffer": THREE_PAGE_CONTRACT.read_bytes(),
            },
            {
                "name": SUPPLY,
                "mimeType": "application/pdf",
                "buffer": ONE_PAGE_CONTRACT.read_bytes(),
            },
        ]
    )
    # With upload.js the files are sent as they are chosen and the button sends nothing more;
    # without it the button posts the form. Either way the documents' links appear.
    page.get_by_role("button", name="Upload and analyze").click()
    for name in (JOINT, SUPPLY):
        expect(page.get_by_role("link", name=name, exact=True).first).to_be_visible(timeout=30_000)
    assert live.analyze() == ["done", "done"]


def _open_grid(page: Any) -> Any:
    page.reload()
    page.get_by_role("link", name="Review grid").click()
    page.wait_for_url("**/grid/")
    grid = page.get_by_role("table", name=re.compile("^Grid comparison: 2 documents"))
    expect(grid).to_be_visible()
    return grid


def test_compare_in_the_grid_follow_a_cell_and_download_the_reports(
    page: Any,
    live: Live,
    results_dir: Path,
) -> None:
    problems: list[str] = []  # script errors and CSP refusals ("Refused to ...")
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if _counts(m) else None)
    _matter_with_two_analyzed_contracts(page, live)
    grid = _open_grid(page)

    headers = grid.locator("thead th")
    expect(headers).to_have_text(["Document", "Parties", "Agreement Date"])
    joint = grid.locator("tbody tr", has=page.get_by_role("link", name=JOINT, exact=True))
    supply = grid.locator("tbody tr", has=page.get_by_role("link", name=SUPPLY, exact=True))
    parties = joint.locator("td").nth(0).get_by_role("link")
    expect(parties).to_have_count(6)
    expect(parties.first).to_have_text("Dated: July 6, 2020 HPS INVESTMENT PARTN p. 1")
    expect(joint.locator("td").nth(1)).to_have_text("Dated: July 6, 2020 HPS INVESTMENT PARTN p. 1")
    expect(supply.locator("td").nth(1)).to_have_text("—not found")
    expect(supply.locator("td").nth(1).locator(".visually-hidden")).to_have_text("not found")
    expect(supply.locator("td").nth(0).get_by_role("link").first).to_contain_text("p. 1")
    page.screenshot(path=str(results_dir / "review-grid.png"), full_page=True)

    # At 200% zoom (half the width) the grid scrolls in its own box, its first column pinned.
    page.set_viewport_size({"width": 640, "height": 900})
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    box = page.get_by_role("region", name=re.compile("^Grid comparison"))
    assert box.evaluate("b => b.scrollWidth > b.clientWidth")
    assert joint.locator("th").evaluate("th => getComputedStyle(th).position") == "sticky"
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("checkbox", name=re.compile("^Agreement Date")).uncheck()
    page.get_by_role("button", name="Show these columns").click()
    page.wait_for_url("**/grid/?category=parties")
    expect(page.locator("#review-grid thead th")).to_have_text(["Document", "Parties"])

    link = page.locator("#review-grid tbody tr").first.locator("td a").first
    target = link.get_attribute("href")
    assert re.fullmatch(r"/documents/\d+/#finding-\d+", target or "")
    link.click()
    page.wait_for_url(f"{live.url}{target}")
    expect(page.locator("h1")).to_have_text(JOINT)
    anchor = page.locator(target.split("/")[-1])
    if anchor.count():  # the clause's own anchor, where the document page has one
        expect(anchor).to_be_in_viewport()
    expect(page.locator("blockquote.source").first).to_contain_text("HPS INVESTMENT PARTNERS")

    for name, reader in (("Word report (DOCX)", _docx_text), ("PDF report", _pdf_text)):
        with page.expect_download() as download:
            page.get_by_role("link", name=name).click()
        assert download.value.suggested_filename.startswith("joint filing - analysis.")
        text = reader(Path(download.value.path()))
        assert JOINT_PARTY in text, name
        assert "Model: test/keyword-model" in text, name
    assert problems == []


def _docx_text(path: Path) -> str:
    from docx import Document

    doc = Document(str(path))
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    return _one_line(" ".join([p.text for p in doc.paragraphs] + cells))


def _pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    return _one_line(" ".join(p.extract_text() for p in PdfReader(str(path)).pages))
