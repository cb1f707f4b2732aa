"""The document view in headless Chromium, against the in-process live server and its fake
model: "Show on page" brings the original page into the viewer with the clause's words
highlighted where pdfium draws them, by mouse and by keyboard, within the Content-Security-
Policy; the filters narrow the clauses; at 200% zoom the page is one column that never scrolls
sideways."""

from __future__ import annotations

from typing import Any

import pypdfium2 as pdfium
import pytest
from playwright.sync_api import expect

from tests.conftest import THREE_PAGE_CONTRACT
from tests.support.live import Live

pytestmark = [pytest.mark.browser]

UPLOAD_WAIT_MS = 30_000
ZOOMED = {"viewport": {"width": 640, "height": 450}, "device_scale_factor": 2}


@pytest.fixture(scope="module")
def document(live: Live, browser: Any) -> dict[str, Any]:
    """THREE_PAGE_CONTRACT uploaded through the form and analyzed: its URL, and a signed-in
    browser state."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    live.sign_in(page, live.user("viewer"))
    page.get_by_label("Matter name").fill("Joint filing")
    page.get_by_role("button", name="Create matter").click()
    page.wait_for_url(f"{live.url}/matters/*/")
    page.get_by_label("PDF files").set_input_files(THREE_PAGE_CONTRACT)
    page.get_by_role("button", name="Upload and analyze").click()
    # The form may upload by script or by page load: wait for the document's link.
    link = page.get_by_role("link", name=THREE_PAGE_CONTRACT.name, exact=True)
    link.wait_for(timeout=UPLOAD_WAIT_MS)
    assert live.analyze() == ["done"]
    url = live.url + str(link.get_attribute("href"))
    state = context.storage_state()
    context.close()
    return {"url": url, "state": state}


def _where_pdfium_draws(passage: str, page_index: int) -> tuple[float, float, float, float]:
    """The first line of `passage` on the page, by pdfium's own search and character boxes, in
    fractions of the page from its top left (this page is neither rotated nor cropped)."""
    page = pdfium.PdfDocument(THREE_PAGE_CONTRACT.read_bytes())[page_index]
    width, height = page.get_size()
    text = page.get_textpage()
    first_line = passage.splitlines()[0]
    found = text.search(first_line, match_case=True).get_next()
    assert found is not None, first_line
    index, count = found
    boxes = [text.get_charbox(i) for i in range(index, index + count)]
    left, bottom = min(b[0] for b in boxes), min(b[1] for b in boxes)
    right, top = max(b[2] for b in boxes), max(b[3] for b in boxes)
    return (left / width, 1 - top / height, right / width, 1 - bottom / height)


def _on_page(page: Any, element: Any) -> tuple[float, float, float, float]:
    """An element's box in fractions of the page image it is drawn on."""
    image = page.locator('#viewer [data-role="image"]').bounding_box()
    box = element.bounding_box()
    return (
        (box["x"] - image["x"]) / image["width"],
        (box["y"] - image["y"]) / image["height"],
        (box["x"] + box["width"] - image["x"]) / image["width"],
        (box["y"] + box["height"] - image["y"]) / image["height"],
    )


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """The share of b that a covers."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    return max(width, 0) * max(height, 0) / ((b[2] - b[0]) * (b[3] - b[1]))


def _passage(live: Live, link: Any) -> str:
    from docanalysis.db.engine import reading
    from docanalysis.services.pipeline import load_document

    document_id = int(link.page.url.rstrip("/").split("/")[-1].split("?")[0])
    with reading(live.rt.engine) as conn:
        text = load_document(conn, document_id).text
    return text[int(link.get_attribute("data-start")) : int(link.get_attribute("data-end"))]


def test_show_on_page_highlights_the_clause_where_the_page_draws_it(
    live: Live,
    browser: Any,
    document: dict[str, Any],
    results_dir: Any,
) -> None:
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, storage_state=document["state"]
    )
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.goto(document["url"])
    viewer = page.locator("#viewer")
    expect(viewer.locator(".viewer-position")).to_have_text("Page 1 of 3")
    link = page.get_by_role("link", name="Show on page 2").first
    passage = _passage(live, link)
    link.click()

    highlights = viewer.locator(".highlight")
    expect(highlights.first).to_be_visible()
    expect(viewer.locator(".viewer-position")).to_have_text("Page 2 of 3")
    expect(viewer.locator('[data-role="announce"]')).to_have_text("Page 2, clause highlighted")
    image = viewer.locator('[data-role="image"]')
    assert str(image.get_attribute("src")).endswith("/pages/2.png?scale=2")
    assert image.evaluate("img => img.complete && img.naturalWidth") == 1190
    assert page.evaluate("document.activeElement.id") == "viewer"
    # One box per line of the clause; the first lies over the words pdfium draws there.
    assert highlights.count() == len(passage.splitlines())
    words = _where_pdfium_draws(passage, page_index=1)
    assert _overlap(_on_page(page, highlights.first), words) > 0.9
    # The box is in view: inside the window and inside the viewer's own scrolling box.
    assert highlights.first.evaluate(
        "r => { const b = r.getBoundingClientRect(); return b.top >= 0 && b.bottom <= innerHeight }"
    )
    page.screenshot(path=str(results_dir / "document-view.png"), full_page=False)

    # Back to the clause, then the keyboard: Enter on a link, arrows on the viewer.
    viewer.get_by_role("link", name="Back to the clause").click()
    assert page.evaluate("document.activeElement.textContent").startswith("Show on page 2")
    page.get_by_role("link", name="Show on page 3").first.focus()
    page.keyboard.press("Enter")
    expect(viewer.locator(".viewer-position")).to_have_text("Page 3 of 3")
    expect(highlights.first).to_be_visible()
    page.keyboard.press("ArrowLeft")
    expect(viewer.locator(".viewer-position")).to_have_text("Page 2 of 3")
    expect(highlights).to_have_count(0)
    expect(viewer.get_by_role("link", name="Next page")).to_have_attribute("href", "?page=3#viewer")
    # The summary's citation shows its provision the same way.
    page.get_by_role("link", name="provision 1, page 1").click()
    expect(viewer.locator(".viewer-position")).to_have_text("Page 1 of 3")
    expect(highlights.first).to_be_visible()
    assert highlights.count() >= 5  # provision 1 is the agreement's whole first paragraph
    # All of it within the app's Content-Security-Policy (no inline script or style).
    assert not [text for text in console if "Content Security Policy" in text], console
    context.close()


def test_the_filters_narrow_the_clauses_and_say_how_many_are_shown(
    browser: Any, document: dict[str, Any]
) -> None:
    context = browser.new_context(storage_state=document["state"])
    page = context.new_page()
    page.goto(document["url"])
    count = page.locator("#filter-count")
    expect(count).to_have_text("Showing 7 of 7 clauses")
    expect(page.locator(".review-progress")).to_have_text("0 of 7 findings reviewed")
    filters = page.get_by_role("form", name="Filter clauses")
    filters.get_by_label("Category").select_option("agreement_date")
    filters.get_by_role("button", name="Filter").click()
    expect(count).to_have_text("Showing 1 of 7 clauses")
    assert "category=agreement_date" in page.url
    expect(page.locator("li.clause")).to_have_count(1)
    filters.get_by_label("Status").select_option("held")
    filters.get_by_role("button", name="Filter").click()
    expect(count).to_have_text("Showing 0 of 7 clauses")
    expect(page.get_by_text("No clauses match these filters.")).to_be_visible()
    page.get_by_role("link", name="Clear filters").click()
    expect(count).to_have_text("Showing 7 of 7 clauses")
    context.close()


def test_at_200_percent_zoom_the_view_is_one_column_without_sideways_scrolling(
    browser: Any, document: dict[str, Any], results_dir: Any
) -> None:
    context = browser.new_context(**ZOOMED, storage_state=document["state"])
    page = context.new_page()
    page.goto(document["url"])
    page.get_by_role("link", name="Show on page 2").first.click()
    expect(page.locator("#viewer .highlight").first).to_be_in_viewport()
    scroll, window = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    assert scroll <= window
    findings = page.locator(".findings").bounding_box()
    viewer = page.locator("#viewer").bounding_box()
    assert viewer["y"] >= findings["y"] + findings["height"]  # below, not beside
    page.screenshot(path=str(results_dir / "document-view-zoomed.png"))
    context.close()
