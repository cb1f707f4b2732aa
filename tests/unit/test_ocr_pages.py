"""Which pages a scan needs OCR on, and how OCR's results are recorded (core/ocr_pages.py)."""

from __future__ import annotations

import pytest

from docanalysis.config import load_settings
from docanalysis.core.ocr_pages import (
    discount_for_ocr,
    hocr_confidence,
    mark_ocr,
    needs_ocr,
    ocr_note,
    pages_to_ocr,
    ranges,
)
from docanalysis.core.types import ExtractedDocument, GroundedClause, Page

PROSE = "The Supplier shall deliver the Goods within thirty (30) days of the Order."


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\n ",
        "12",  # a page number on a scanned image
        "(cid:3)(cid:4)(cid:5)(cid:6)(cid:7)(cid:8)(cid:9)(cid:10)(cid:11)(cid:12)(cid:13)",
        "\ufffd" * 3 + " ab " + "\ufffd" * 14,
        "".join(chr(0xE001 + n) for n in range(3))
        + " ab "
        + "".join(chr(0xE010 + n) for n in range(11)),
        "ab ☐☑☒▲▼◆◇○●◎◐◑◒◓◔◕◖◗◘◙◚◛◜◝◞◟◠◡",
    ],
)
def test_empty_or_garbage_pages_need_ocr(text: str) -> None:
    assert needs_ocr(text)


@pytest.mark.parametrize(
    "text",
    [
        PROSE,
        "Notes",  # a real one-word page
        "Exhibit B",
        "1,250.00   3,400.00   $ 4,650.00   12/31/2024   (15%)",  # a schedule of figures
        PROSE + " \ufffd",  # one stray glyph in a page of prose
        PROSE + " (cid:7)",
    ],
)
def test_pages_with_a_usable_text_layer_keep_it(text: str) -> None:
    assert not needs_ocr(text)


def test_only_readable_pages_without_usable_text_are_picked() -> None:
    # None: a page pypdf could not read is damaged, not scanned; OCR would fail the same way.
    assert pages_to_ocr([PROSE, "", None, "(cid:1)" * 30, PROSE]) == [1, 3]


def test_hocr_confidence_is_the_mean_word_confidence() -> None:
    hocr = (
        "<span class='ocrx_word' title='bbox 1 2 3 4; x_wconf 96'>The</span>"
        "<span class='ocrx_word' title='bbox 5 6 7 8; x_wconf 90'>Supplier</span>"
        "<span class='ocrx_word' title='bbox 5 6 7 8; x_wconf 81'>shall</span>"
    )
    assert hocr_confidence(hocr) == 0.89
    assert hocr_confidence("<div class='ocr_page'></div>") is None


def test_marking_records_ocr_and_confidence_on_those_pages_only() -> None:
    pages = (Page(1, 0, 10), Page(2, 10, 20), Page(3, 20, 30))
    document = ExtractedDocument("sha", "x" * 30, pages)

    marked = mark_ocr(document, {1: 0.91, 3: None})

    assert marked.pages == (
        Page(1, 0, 10, ocr=True, ocr_confidence=0.91),
        Page(2, 10, 20),
        Page(3, 20, 30, ocr=True, ocr_confidence=None),
    )
    assert marked.text == document.text


def test_the_note_names_the_ocr_pages_and_their_mean_confidence() -> None:
    pages = tuple(
        Page(n, n, n + 1, ocr=n != 4, ocr_confidence=0.9 if n != 4 else None) for n in range(1, 6)
    )
    assert ocr_note(ExtractedDocument("sha", "x" * 6, pages)) == (
        "Pages 1–3, 5 were read by OCR, mean confidence 90%."
    )
    one = (Page(1, 0, 1, ocr=True, ocr_confidence=None), Page(2, 1, 2))
    assert ocr_note(ExtractedDocument("sha", "xx", one)) == "Page 1 was read by OCR."
    assert ocr_note(ExtractedDocument("sha", "xx", (Page(1, 0, 2),))) == ""


def test_a_clause_on_an_ocred_page_is_as_sure_as_the_ocr() -> None:
    pages = (
        Page(1, 0, 100),
        Page(2, 100, 200, ocr=True, ocr_confidence=0.9),
        Page(3, 200, 300, ocr=True, ocr_confidence=0.6),
    )
    born = GroundedClause("governing_law", 1, "t", 1, 10, 50, confidence=0.8, reason="agreed")
    scanned = GroundedClause("governing_law", 2, "t", 2, 120, 150, confidence=0.8)
    spanning = GroundedClause("parties", 3, "t", 2, 150, 250, confidence=0.5, reason="scored")

    kept, lowered, lowest = discount_for_ocr([born, scanned, spanning], pages)

    assert kept == born
    assert lowered.confidence == 0.72
    assert lowered.reason == (
        "page 2 was read by OCR (90% sure), so the confidence is multiplied by 0.90"
    )
    assert lowest.confidence == 0.3  # the worse of its two pages
    assert lowest.reason.startswith("scored; page 3 was read by OCR (60% sure)")


def test_ranges() -> None:
    assert ranges([1, 2, 3, 7, 9, 10]) == "1–3, 7, 9–10"
    assert ranges([4]) == "4"


def test_ocr_settings_default_to_english_and_can_be_switched_off() -> None:
    defaults = load_settings({})
    assert (defaults.ocr, defaults.ocr_languages, defaults.ocr_page_s) == (True, "eng", 60)
    chosen = load_settings(
        {
            "DOCANALYSIS_OCR": "0",
            "DOCANALYSIS_OCR_LANGUAGES": "eng+fra",
            "DOCANALYSIS_OCR_PAGE_S": "20",
        }
    )
    assert (chosen.ocr, chosen.ocr_languages, chosen.ocr_page_s) == (False, "eng+fra", 20)


@pytest.mark.parametrize("value", ["eng; rm -rf /", "e", "eng+--psm"])
def test_ocr_languages_are_tesseract_codes(value: str) -> None:
    with pytest.raises(ValueError, match="DOCANALYSIS_OCR_LANGUAGES"):
        load_settings({"DOCANALYSIS_OCR_LANGUAGES": value})
