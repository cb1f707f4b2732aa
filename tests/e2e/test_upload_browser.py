"""The upload area of a matter page in headless Chromium, against the web app served in this
process (tests/support/live.py): several files at once, a progress bar and an outcome per
file, a refusal at once, a password-protected PDF unlocked in its row, and the documents table
updated (and polled) without a reload."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path
from typing import Any

import pypdf
import pytest
from playwright.sync_api import expect

from tests.conftest import CUAD, ONE_PAGE_CONTRACT, THREE_PAGE_CONTRACT
from tests.support.live import Live

pytestmark = [pytest.mark.browser]

SEALED_SOURCE = CUAD / "pdfs" / "GULFSOUTHMEDICALSUPPLYINC_12_24_1997-EX-4-AFFILIATE AGREEMENT.PDF"
SEALED_PASSWORD = "Brief-Case-2024"
ANALYZED = re.compile(r"^(Done|Held for review)$")


def sealed() -> bytes:
    """A real contract protected by SEALED_PASSWORD (its user password)."""
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(SEALED_SOURCE))
    writer.encrypt(user_password=SEALED_PASSWORD, algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def payload(name: str, data: bytes, mime: str = "application/pdf") -> dict[str, Any]:
    return {"name": name, "mimeType": mime, "buffer": data}


def drop(page: Any, name: str, data: bytes) -> None:
    """Drag a file over the upload form and drop it, as a file manager would."""
    transfer = page.evaluate_handle(
        """([name, b64]) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], name, { type: "application/pdf" }));
            return dt;
        }""",
        [name, base64.b64encode(data).decode()],
    )
    zone = page.locator("form[data-dropzone]")
    zone.dispatch_event("dragenter", {"dataTransfer": transfer})
    zone.dispatch_event("dragover", {"dataTransfer": transfer})
    expect(zone).to_have_class("upload dragging")
    zone.dispatch_event("drop", {"dataTransfer": transfer})
    expect(zone).to_have_class("upload")


def upload_row(page: Any, name: str) -> Any:
    return page.locator("#upload-list li", has=page.locator(".upload-name", has_text=name))


def expect_uploaded(row: Any, name: str) -> None:
    expect(row).to_have_attribute("data-state", "done")
    expect(row.locator(".upload-message")).to_have_text(f"Uploaded: analysis started. Open {name}")
    expect(row.locator(".upload-percent")).to_have_text("100%")
    assert row.locator("progress").evaluate("p => [p.value, p.max, p.textContent]") == [
        100,
        100,
        "100%",
    ]


def new_matter(page: Any, live: Live, name: str) -> None:
    live.sign_in(page, live.user("uploader"))
    page.get_by_label("Matter name").fill(name)
    page.get_by_role("button", name="Create matter").click()
    page.wait_for_url(f"{live.url}/matters/*/")


def test_several_files_each_with_progress_and_outcome_then_the_table_without_reload(
    page: Any,
    live: Live,
    results_dir: Path,
) -> None:
    problems: list[str] = []  # script errors and CSP refusals ("Refused to ...")
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    new_matter(page, live, "Supply batch")
    expect(page.get_by_label("PDF password")).to_be_hidden()  # the rows ask, with JavaScript
    page.evaluate("window.__noReload = 'same page'")

    page.get_by_label("PDF files").set_input_files(
        [
            payload("manufacturing.pdf", ONE_PAGE_CONTRACT.read_bytes()),
            payload("joint filing.pdf", THREE_PAGE_CONTRACT.read_bytes()),
            payload("memo.docx", b"PK\x03\x04\x14\x00 a word file", "application/octet-stream"),
        ]
    )
    refused = upload_row(page, "memo.docx")
    expect(refused).to_have_attribute("data-state", "refused", timeout=5_000)
    expect(refused.locator(".upload-message")).to_have_text(
        "memo.docx is not a Word document: it is damaged; save it again from Word as .docx"
    )
    for name in ("manufacturing.pdf", "joint filing.pdf"):
        expect_uploaded(upload_row(page, name), name)
    assert page.locator("#upload-list progress").count() == 3  # one per file

    drop(page, "sealed.pdf", sealed())
    locked = upload_row(page, "sealed.pdf")
    expect(locked).to_have_attribute("data-state", "password")
    expect(locked.locator(".upload-message")).to_have_text(
        "sealed.pdf is password-protected: enter its password"
    )
    page.screenshot(path=str(results_dir / "upload-progress.png"), full_page=True)
    locked.get_by_label("Password for sealed.pdf").fill("not-it")
    locked.get_by_role("button", name="Unlock and upload").click()
    expect(locked.locator(".upload-message")).to_have_text(
        "sealed.pdf: the password is not correct"
    )
    locked.get_by_label("Password for sealed.pdf").fill(SEALED_PASSWORD)
    locked.get_by_role("button", name="Unlock and upload").click()
    expect_uploaded(locked, "sealed.pdf")

    table = page.locator("#matter-documents")
    names = ("manufacturing.pdf", "joint filing.pdf", "sealed.pdf")
    for name in names:
        expect(table.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(table.get_by_role("link", name="memo.docx")).to_have_count(0)
    assert page.evaluate("window.__noReload") == "same page", "the page was reloaded"
    # The browser logs each refused upload's status (415, 422) as a failed resource load.
    assert [p for p in problems if "Failed to load resource" not in p] == []

    # The swapped-in rows are polled (live.js, on docanalysis:rows-added) to their end.
    assert set(live.analyze()) <= {"done", "held"}
    for name in names:
        row = table.locator("tr", has=page.get_by_role("link", name=name, exact=True))
        expect(row.locator('[data-role="label"]')).to_have_text(ANALYZED, timeout=15_000)


def test_a_file_over_the_limit_is_refused_before_it_is_sent(
    page: Any,
    live: Live,
) -> None:
    new_matter(page, live, "Too large")
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    # The limit the page renders from settings.MAX_UPLOAD_BYTES, set small for this test.
    page.locator("form[data-dropzone]").evaluate("form => { form.dataset.maxBytes = '1048576'; }")

    page.get_by_label("PDF files").set_input_files(
        [payload("exhibits.pdf", b"%PDF-1.4\n" + b"0" * 1024 * 1024)]
    )

    row = upload_row(page, "exhibits.pdf")
    expect(row).to_have_attribute("data-state", "refused")
    expect(row.locator(".upload-message")).to_have_text(
        "exhibits.pdf is larger than the 1 MB limit"
    )
    expect(row.locator(".upload-size")).to_have_text("1.0 MB")
    expect(row.locator("progress")).to_be_hidden()
    assert posts == []
