"""Which pages of a PDF need OCR, and what OCR said about them: plain functions over values.

A page needs OCR when its text layer gives a reader nothing usable: no text at all (a scan),
or garbage (a font without a usable character map yields "(cid:12)", U+FFFD or symbols in
place of letters). Every other page keeps its born-digital text: OCR is slower and less exact
than a text layer that is right. A scan that already carries an OCR layer (text drawn
invisibly over the image) has usable text, so it is read as it is (core/hidden_text.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from statistics import fmean

from docanalysis.core.types import ExtractedDocument, GroundedClause, Page

# As many as extraction.MIN_LETTERS_PER_PAGE: fewer letters or digits, the page has no text.
MIN_LETTERS = 3
# Below this many visible characters a page is too short to judge as garbage (a page number,
# "Notes"): only an empty page is sent to OCR.
MIN_CHARS_TO_JUDGE = 20
# Share of a page's characters that are undecodable (U+FFFD, "(cid:N)") above which it is
# garbage: one or two in a page of prose is a stray glyph, not a broken font.
MAX_UNDECODABLE = 0.1
# Share of characters that are letters, digits or ordinary punctuation below which the text
# layer is a font's private codes, not words. Low on purpose: a schedule of figures is text.
MIN_ORDINARY = 0.5
_CID = re.compile(r"\(cid:\d+\)")
_ORDINARY_PUNCTUATION = frozenset(".,;:!?()[]{}-–—'\"‘’“”/\\%$€£§&*+=<>#@_|")
_WORD_CONFIDENCE = re.compile(r"x_wconf (\d+)")


def needs_ocr(text: str) -> bool:
    """Whether a page's visible text is no text at all, or garbage that OCR can replace."""
    cids = len(_CID.findall(text))  # pdfminer-style "(cid:N)": a glyph with no character
    flat = "".join(_CID.sub("", text).split())
    # Letters or digits: a page of figures (a price schedule) has a text layer worth keeping.
    if sum(char.isalnum() for char in flat) < MIN_LETTERS:
        return True
    if len(flat) + cids < MIN_CHARS_TO_JUDGE:
        return False
    if flat.count("\ufffd") + cids > MAX_UNDECODABLE * (len(flat) + cids):
        return True
    ordinary = sum(_ordinary(char) for char in flat)
    return ordinary < MIN_ORDINARY * len(flat)


def _ordinary(char: str) -> bool:
    # Private-use code points (U+E000..U+F8FF) are what broken fonts map glyphs to.
    if "\ue000" <= char <= "\uf8ff":
        return False
    return char.isalnum() or char in _ORDINARY_PUNCTUATION


def pages_to_ocr(texts: Sequence[str | None]) -> list[int]:
    """The 0-based indices of the pages to OCR; None is a page that could not be read at all
    (a damaged page is not a scan: rendering it would fail the same way)."""
    return [index for index, text in enumerate(texts) if text is not None and needs_ocr(text)]


def hocr_confidence(hocr: str) -> float | None:
    """The mean word confidence (0..1) of one page's hOCR (tesseract's x_wconf, 0..100);
    None when it found no word."""
    scores = [int(value) for value in _WORD_CONFIDENCE.findall(hocr)]
    return round(fmean(scores) / 100, 3) if scores else None


def mark_ocr(
    document: ExtractedDocument, confidences: Mapping[int, float | None]
) -> ExtractedDocument:
    """The document with its OCRed pages (by page number) marked, each with its confidence."""
    pages = tuple(
        replace(page, ocr=True, ocr_confidence=confidences[page.number])
        if page.number in confidences
        else page
        for page in document.pages
    )
    return replace(document, pages=pages)


def discount_for_ocr(
    clauses: Sequence[GroundedClause], pages: Sequence[Page]
) -> tuple[GroundedClause, ...]:
    """A clause quoted from a page read by OCR is only as sure as the OCR that read its words:
    its confidence is multiplied by the lowest OCR confidence of the pages it spans, and its
    reason says so. Clauses on born-digital pages are unchanged."""
    return tuple(_discounted(clause, pages) for clause in clauses)


def _discounted(clause: GroundedClause, pages: Sequence[Page]) -> GroundedClause:
    spanned = [
        page
        for page in pages
        if page.ocr
        and page.ocr_confidence is not None
        and page.start < max(clause.end, clause.start + 1)
        and clause.start < page.end
    ]
    if not spanned:
        return clause
    worst = min(spanned, key=lambda page: page.ocr_confidence or 0.0)
    factor = worst.ocr_confidence or 0.0
    note = (
        f"page {worst.number} was read by OCR ({round(100 * factor)}% sure), "
        f"so the confidence is multiplied by {factor:.2f}"
    )
    confidence = None if clause.confidence is None else round(clause.confidence * factor, 4)
    reason = f"{clause.reason}; {note}" if clause.reason else note
    return replace(clause, confidence=confidence, reason=reason)


def ocr_note(document: ExtractedDocument) -> str:
    """One sentence for a reader: which pages were read by OCR, how sure it was; "" if none."""
    numbers = [page.number for page in document.pages if page.ocr]
    if not numbers:
        return ""
    scores = [p.ocr_confidence for p in document.pages if p.ocr and p.ocr_confidence is not None]
    subject = f"Page {numbers[0]} was" if len(numbers) == 1 else f"Pages {ranges(numbers)} were"
    sure = f", mean confidence {round(100 * fmean(scores))}%" if scores else ""
    return f"{subject} read by OCR{sure}."


def ranges(numbers: Sequence[int]) -> str:
    """[1, 2, 3, 7] -> "1–3, 7"."""
    spans: list[str] = []
    start = prev = numbers[0]
    for number in [*numbers[1:], None]:
        if number is None or number != prev + 1:
            spans.append(str(start) if start == prev else f"{start}–{prev}")
            if number is not None:
                start = number
        if number is not None:
            prev = number
    return ", ".join(spans)
