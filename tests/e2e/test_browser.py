"""The lawyer's path through the real product in headless Chromium: sign in, create a matter,
upload a PDF, watch its status change without a reload, read the clauses with their pages, and
see why a damaged PDF failed. Runs `docanalysis serve` (web and worker, bundled model on CPU)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
# The 1-page contract of tests/conftest.py (tests/ is not a package, so it cannot be imported).
ONE_PAGE_CONTRACT = (
    SHARED_DATA
    / "cuad"
    / "pdfs"
    / "BellringBrandsInc_20190920_S-1_EX-10.12_11817081_EX-10.12_Manufacturing Agreement2.pdf"
)
MALFORMED_PDF = SHARED_DATA / "pdfs" / "malformed" / "ocrmypdf" / "invalid.pdf"
FINAL_LABELS = ("Done", "Held for review", "Failed")
RUN_TIMEOUT_S = 300
USERNAME, PASSWORD = "lawyer", "e2e-Correct-horse-9"  # as created by tests/e2e/conftest.py


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    docanalysis = str(Path(sys.executable).parent / "docanalysis")
    return subprocess.run(
        [docanalysis, *args], env=env, capture_output=True, text=True, timeout=300
    )


def _sign_in(page: Any, base_url: str) -> None:
    page.goto(f"{base_url}/login/")
    assert page.title() == "Sign in · docanalysis"
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}/")
    assert page.locator("h1").text_content() == "Your matters"


def _upload(page: Any, name: str, path: Path) -> Any:
    """Upload through the form; returns the document's table row once it is listed. (upload.js
    sends the file as soon as it is chosen and swaps the table in; the button then has nothing
    left to send. Without JavaScript the button posts the form and the page comes back.)"""
    page.get_by_label("PDF files").set_input_files(
        {"name": name, "mimeType": "application/pdf", "buffer": path.read_bytes()}
    )
    page.get_by_role("button", name="Upload and analyze").click()
    row = page.locator("tr", has=page.get_by_role("link", name=name, exact=True))
    expect(row).to_be_visible(timeout=30_000)
    return row


def _watch_status(page: Any, row: Any) -> list[str]:
    """Every label the row's status cell shows until it is final, without reloading the page."""
    page.evaluate("window.__noReload = 'still the same page'")
    label = row.locator('[data-role="label"]')
    seen: list[str] = []
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        text = (label.text_content() or "").strip()
        if not seen or seen[-1] != text:
            seen.append(text)
        if (
            text in FINAL_LABELS
            and row.locator(".status-cell").get_attribute("data-final") == "true"
        ):
            break
        time.sleep(0.2)
    assert page.evaluate("window.__noReload") == "still the same page", "the page was reloaded"
    assert seen[-1] in FINAL_LABELS, f"no final state in {RUN_TIMEOUT_S} s; saw {seen}"
    return seen


def test_sign_in_upload_watch_and_read_clauses(
    page: Any, product: dict[str, Any], results_dir: Path
) -> None:
    base_url, env = product["url"], product["env"]
    _sign_in(page, base_url)

    page.get_by_label("Matter name").fill("Bellring manufacturing")
    page.get_by_role("button", name="Create matter").click()
    page.wait_for_url(f"{base_url}/matters/*/")
    assert page.locator("h1").text_content() == "Bellring manufacturing"
    assert page.title() == "Bellring manufacturing · docanalysis"

    row = _upload(page, "manufacturing.pdf", ONE_PAGE_CONTRACT)
    seen = _watch_status(page, row)
    assert seen[0] not in FINAL_LABELS, f"the status never showed a running state: {seen}"
    assert seen[-1] in ("Done", "Held for review"), f"{seen}: {row.text_content()}"
    # The row is refreshed with its pages once the status is final: a fetch after the label
    # changed, so wait for it (Playwright's expect retries until its timeout).
    expect(row.locator("td.num")).to_have_text("1", timeout=15_000)
    page.screenshot(path=str(results_dir / "browser-matter.png"), full_page=True)

    row.get_by_role("link", name="manufacturing.pdf").click()
    page.wait_for_url(f"{base_url}/documents/*/")
    assert page.locator("h1").text_content() == "manufacturing.pdf"
    assert page.get_by_role("heading", name="Clauses").is_visible()
    extracted = _cli(env, "extract", str(ONE_PAGE_CONTRACT), "--format", "json")
    assert extracted.returncode == 0, extracted.stderr
    text = json.loads(extracted.stdout)["text"]
    # The summary is the model's (screened) words; it is always shown or marked as held.
    assert page.locator("p.summary, p.held").first.is_visible()
    # Every clause shown is the source's own words on its page. The bundled 135M model often
    # finds none in a one-page amendment; then the page says so.
    clauses = page.locator("li.clause")
    if clauses.count() == 0:
        assert page.get_by_text("No clauses found").is_visible()
    for clause in clauses.all():
        assert (clause.locator(".page").text_content() or "").strip() == "p. 1"
        for quote in clause.locator("blockquote.source").all():
            assert (quote.text_content() or "").strip() in text
    page.screenshot(path=str(results_dir / "browser-document.png"), full_page=True)


def test_a_damaged_pdf_fails_with_its_reason(
    page: Any, product: dict[str, Any], results_dir: Path
) -> None:
    base_url, env = product["url"], product["env"]
    _sign_in(page, base_url)
    page.get_by_label("Matter name").fill("Damaged files")
    page.get_by_role("button", name="Create matter").click()
    page.wait_for_url(f"{base_url}/matters/*/")

    row = _upload(page, "invalid.pdf", MALFORMED_PDF)
    seen = _watch_status(page, row)
    assert seen[-1] == "Failed", seen
    extracted = _cli(env, "extract", str(MALFORMED_PDF))
    assert extracted.returncode == 1
    expected = extracted.stderr.strip().removeprefix("docanalysis: ")
    reason = row.locator('[data-role="reason"]')
    assert reason.is_visible()
    assert expected in (reason.text_content() or "")
    page.screenshot(path=str(results_dir / "browser-failed.png"), full_page=True)


def test_the_compliance_view_filters_opens_and_exports_a_verifiable_trail(
    page: Any, product: dict[str, Any], results_dir: Path
) -> None:
    from docanalysis.services.audit_export import verify_export

    base_url = product["url"]
    _sign_in(page, base_url)  # the product's administrator: a tenant admin
    page.get_by_label("Matter name").fill("Compliance check")
    page.get_by_role("button", name="Create matter").click()
    page.wait_for_url(f"{base_url}/matters/*/")
    page.get_by_role("link", name="Compliance").click()
    page.wait_for_url(f"{base_url}/compliance/")
    assert page.locator("h1").text_content() == "Audit trail"
    page.get_by_label("Action").select_option("matter.created")
    page.get_by_role("button", name="Show events").click()
    page.wait_for_load_state()
    actions = page.locator("table.events tbody td code").all_text_contents()
    assert actions and set(actions) == {"matter.created"}
    page.locator("table.events tbody tr").first.get_by_role("link").click()
    page.wait_for_url(f"{base_url}/compliance/events/*/")
    assert len((page.locator("code.hash").last.text_content() or "").strip()) == 64
    page.screenshot(path=str(results_dir / "browser-compliance.png"), full_page=True)
    page.go_back()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download verifiable export (ZIP)").click()
    saved = results_dir / download.value.suggested_filename
    download.value.save_as(saved)
    check = verify_export(saved)
    assert check.ok, check.problem
    assert check.events >= 2
