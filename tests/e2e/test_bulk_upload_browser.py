"""A ZIP archive, a Word file and a text file through the matter page's upload area in headless
Chromium: the archive's row says how many documents it made, and they all join the table
without a reload; a bad archive's row gives the reason and adds nothing."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import ONE_PAGE_CONTRACT
from tests.e2e.test_upload_browser import expect_uploaded, payload, upload_row
from tests.support.docgen import contract_docx, make_zip
from tests.support.live import Live

pytestmark = [pytest.mark.browser]


def test_an_archive_a_word_file_and_a_text_file_join_the_table(page: Any, live: Live) -> None:
    # Its own user name: Live numbers users per module, so "uploader" would clash with
    # test_upload_browser's in one session.
    live.sign_in(page, live.user("bulk-uploader"))
    page.get_by_label("Matter name").fill("Data room")
    page.get_by_role("button", name="Create matter").click()
    page.wait_for_url(f"{live.url}/matters/*/")
    page.evaluate("window.__noReload = 'same page'")
    archive = make_zip(
        {
            "Room/Leases/lease.txt": b"The rent is due monthly.",
            "Room/Contracts/supply.pdf": ONE_PAGE_CONTRACT.read_bytes(),
        }
    )
    bad = make_zip({"../escape.txt": b"x"})

    page.get_by_label("PDF files").set_input_files(
        [
            payload("room.zip", archive, "application/zip"),
            payload("msa.docx", contract_docx(), "application/octet-stream"),
            payload("notes.txt", b"Plain notes.", "text/plain"),
            payload("bad.zip", bad, "application/zip"),
        ]
    )

    room = upload_row(page, "room.zip")
    expect(room).to_have_attribute("data-state", "done")
    expect(room.locator(".upload-message")).to_have_text(
        "room.zip: 2 documents uploaded; the analysis has started. Show the matter"
    )
    for name in ("msa.docx", "notes.txt"):
        expect_uploaded(upload_row(page, name), name)
    refused = upload_row(page, "bad.zip")
    expect(refused).to_have_attribute("data-state", "refused")
    expect(refused.locator(".upload-message")).to_have_text(
        "bad.zip was not imported: the member '../escape.txt' has an unsafe path "
        "(absolute, '..' or backslashes)"
    )
    table = page.locator("#matter-documents")
    for name in ("lease.txt", "supply.pdf", "msa.docx", "notes.txt"):
        expect(table.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(table.get_by_role("link", name="escape.txt")).to_have_count(0)
    assert page.evaluate("window.__noReload") == "same page", "the page was reloaded"
