"""Scans are read by OCR (Tesseract through OCRmyPDF) in the sandbox, page by page.

Slow (OCR is seconds a page): select with `-m slow`. Needs tesseract-ocr, tesseract-ocr-eng,
ghostscript and the ocrmypdf package (`make install`); skipped where they are missing.
"""

from __future__ import annotations

import io
import time
from functools import cache
from pathlib import Path

import pytest

from docanalysis.config import Settings, load_settings
from docanalysis.core.errors import ExtractionError
from docanalysis.core.types import ExtractedDocument
from docanalysis.ocr import missing_tools
from docanalysis.sandbox import extract_in_sandbox, extract_with_settings
from docanalysis.sandbox_ocr import OcrOptions
from docanalysis.services.steps import run_to_end

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
SCANNED = SHARED_DATA / "pdfs" / "scanned"
CUAD = SHARED_DATA / "cuad" / "pdfs"
BORN_DIGITAL = CUAD / "BIOPURECORP_06_30_1999-EX-10.13-AGENCY AGREEMENT.PDF"
# Measured 0.25% and 0.20% on BORN_DIGITAL's pages 1 and 2 rendered at 300 dpi (2026-11-27,
# Tesseract 5.3.0, eng): a regression to several times that fails.
MAX_CER = 0.02

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(bool(missing_tools()), reason=f"OCR is not installed: {missing_tools()}"),
]


def settings(**env: str) -> Settings:
    return load_settings({"DOCANALYSIS_EXTRACT_PROCESSES": "2", **env})


@cache
def extracted(name: str) -> ExtractedDocument:
    return extract_with_settings(settings(), (SCANNED / name).read_bytes())


def page_text(document: ExtractedDocument, number: int) -> str:
    page = document.pages[number - 1]
    return " ".join(document.text[page.start : page.end].split())


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("c02-22_public_domain_scan.pdf", "went tip-toeing along a path amongst the trees"),
        ("linn_scanned_manual_page.pdf", "state-of-the-art composition and performance tool"),
        # Straightened: deskewed, and turned upright.
        ("skew_scan.pdf", "32 Track MIDI Sequence Recorder"),
        ("ocr_test_rotated_90.pdf", "Docling bundles PDF document conversion to JSON"),
    ],
)
def test_a_one_page_scan_is_read_by_ocr(name: str, words: str) -> None:
    document = extracted(name)

    assert words in page_text(document, 1)
    assert [page.ocr for page in document.pages] == [True]
    confidence = document.pages[0].ocr_confidence
    assert confidence is not None and 0.85 < confidence <= 1


def test_only_the_pages_without_a_text_layer_are_ocred() -> None:
    document = extracted("multipage_public_domain_scan.pdf")

    # Page 4 is a chart whose labels are a text layer: kept as it is.
    assert [page.ocr for page in document.pages] == [True, True, True, False, True, True]
    assert "on the throne of England" in page_text(document, 5)
    assert document.pages[3].ocr_confidence is None
    assert document.warnings[0].startswith("Pages 1–3, 5–6 were read by OCR, mean confidence ")


def test_a_scan_with_an_ocr_layer_keeps_it() -> None:
    document = extracted("vicksburg_scan_with_ocr_layer.pdf")

    assert not any(page.ocr for page in document.pages)
    assert "VICKSBURG" in page_text(document, 1)


def test_a_born_digital_pdf_is_not_ocred() -> None:
    document = extract_with_settings(settings(), BORN_DIGITAL.read_bytes())

    assert not any(page.ocr for page in document.pages)


def test_one_child_and_several_read_a_scan_alike() -> None:
    data = (SCANNED / "c02-22_public_domain_scan.pdf").read_bytes()
    one = extract_with_settings(settings(DOCANALYSIS_EXTRACT_PROCESSES="1"), data)

    assert one == extracted("c02-22_public_domain_scan.pdf")


def test_with_ocr_off_a_scan_fails_as_before() -> None:
    data = (SCANNED / "skew_scan.pdf").read_bytes()
    with pytest.raises(ExtractionError) as caught:
        extract_with_settings(settings(DOCANALYSIS_OCR="0"), data)

    assert caught.value.code == "no_text"


def test_ocr_runs_under_the_sandbox_wall_clock() -> None:
    # 3 s read the text layer; 3 + 1 s for the one page to OCR: Tesseract needs more.
    data = (SCANNED / "linn_scanned_manual_page.pdf").read_bytes()
    started = time.monotonic()
    with pytest.raises(ExtractionError) as caught:
        extract_in_sandbox(
            data, timeout_s=3, memory_mb=1024, max_pages=10, ocr=OcrOptions(page_s=1)
        )

    assert caught.value.code == "timeout"
    assert time.monotonic() - started < 15


def test_without_tesseract_a_scan_names_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")  # the child finds neither tesseract nor gs
    data = (SCANNED / "skew_scan.pdf").read_bytes()
    with pytest.raises(ExtractionError) as caught:
        extract_with_settings(settings(), data)

    assert caught.value.code == "ocr_unavailable"
    assert "tesseract-ocr" in caught.value.reason and "tesseract, gs" in caught.value.reason


def test_character_error_rate_of_a_rendered_born_digital_contract() -> None:
    """Render pages 1-2 of a born-digital contract at 300 dpi, OCR the image-only PDF, and
    compare with the text layer."""
    import pypdfium2

    data = BORN_DIGITAL.read_bytes()
    born = extract_in_sandbox(data, timeout_s=60, memory_mb=1024, max_pages=100)
    pdf = pypdfium2.PdfDocument(data)
    images = [pdf[index].render(scale=300 / 72).to_pil().convert("L") for index in (0, 1)]
    scan = io.BytesIO()
    images[0].save(scan, "PDF", save_all=True, append_images=images[1:], resolution=300)
    started = time.monotonic()
    read = extract_with_settings(settings(), scan.getvalue())
    per_page = (time.monotonic() - started) / 2

    rates = [cer(page_text(born, n), page_text(read, n)) for n in (1, 2)]
    print(f"OCR: {per_page:.1f} s/page; CER page 1 {rates[0]:.4f}, page 2 {rates[1]:.4f}")
    assert [page.ocr for page in read.pages] == [True, True]
    assert max(rates) < MAX_CER


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate: Levenshtein distance over the reference's length. Only cells within
    `band` of the diagonal are computed (Ukkonen): the distance is exact whenever it is at most
    `band`, and a larger one comes out larger than `band` all the same, well over MAX_CER; the
    full table took seconds a page in Python."""
    band = max(64, len(reference) // 20)
    far = len(reference) + len(hypothesis)  # more than any distance
    previous = {j: j for j in range(min(len(hypothesis), band) + 1)}
    for i, expected in enumerate(reference, start=1):
        current = {0: i} if i <= band else {}
        for j in range(max(1, i - band), min(len(hypothesis), i + band) + 1):
            got = hypothesis[j - 1]
            current[j] = min(
                previous.get(j, far) + 1,
                current.get(j - 1, far) + 1,
                previous.get(j - 1, far) + (expected != got),
            )
        previous = current
    return previous.get(len(hypothesis), far) / max(1, len(reference))


def test_the_viewer_shows_a_scan_as_ocr_made_it(fresh_pg_url: str, tmp_path: Path) -> None:
    """Through the pipeline: the pages are recorded as OCRed, the run's warnings say so, and a
    highlight lands on the words of OCRmyPDF's straightened page (the upload has no text a
    renderer could find). On PostgreSQL only: the OCR is the same on either database."""
    from docanalysis.db.engine import reading
    from docanalysis.services.pages import highlight_boxes, ocr_pdf_path
    from docanalysis.services.pipeline import load_document
    from docanalysis.services.queries import document_analysis, text_pages
    from tests.integration.test_pipeline import ALICE, runtime, submit
    from tests.support.fakes import FixedGuard

    rt = runtime(fresh_pg_url, tmp_path, FixedGuard("safe"))
    document_id, run_id = submit(rt, SCANNED / "skew_scan.pdf")
    run_to_end(rt, run_id)

    with reading(rt.engine) as conn:
        document = load_document(conn, document_id)
        _, texts = text_pages(conn, document_id, 1, None)  # what the API's /text serves
    assert [page.ocr for page in document.pages] == [True]
    assert (texts[0].ocr, texts[0].ocr_confidence) == (True, document.pages[0].ocr_confidence)
    assert ocr_pdf_path(rt, document.sha256).exists()
    warnings = document_analysis(rt, ALICE.user_id, document_id).warnings
    assert warnings[0].startswith("Page 1 was read by OCR, mean confidence ")
    start = document.text.index("32 Track MIDI Sequence Recorder")
    found = highlight_boxes(rt, ALICE.user_id, document_id, start, start + 31)
    assert len(found.boxes) == 1
    left, top, right, bottom = found.boxes[0]
    # The subtitle, centred under the title near the top of the page.
    assert 0.2 < left < right < 0.8 and 0.03 < top < bottom < 0.15
