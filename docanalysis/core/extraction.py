"""Text extraction from PDF bytes: one text, pages as character ranges, reasons a lawyer reads.

Run this in a sandboxed child (docanalysis.sandbox): a hostile PDF can make pypdf spin or
allocate without bound, which only a process limit can stop.
"""

from __future__ import annotations

import hashlib
import io
import re
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import pypdf
from pypdf import PasswordType
from pypdf.errors import PdfStreamError

from docanalysis.core.errors import ExtractionError
from docanalysis.core.hidden_text import HiddenText, PageText, read_page
from docanalysis.core.parse_once import shared_fonts
from docanalysis.core.types import ExtractedDocument, Page

T = TypeVar("T")

PDF_MAGIC = b"%PDF-"
# Many real PDFs carry junk (mail headers, a BOM) before the header; readers accept 1 KiB of it.
MAGIC_WINDOW = 1024
PAGE_SEPARATOR = "\n\n"
# A page with fewer letters than this has no words: blank, or an image with a stray page number.
# Low on purpose: real one-word pages exist ("bar", "Potato" in qpdf's fixtures, "Notes").
MIN_LETTERS_PER_PAGE = 3

REASON_NOT_PDF = "this file is not a PDF"
REASON_EMPTY = "this file is empty"
REASON_NO_PAGES = "this PDF has no pages"
REASON_ENCRYPTED = "this PDF is password-protected: remove the password and upload it again"
REASON_NO_TEXT = (
    "this PDF has no text layer: it is a scan or an image; run OCR on it and upload the result"
)
MALFORMED_PREFIX = "this PDF is damaged and cannot be read"

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
# Some PDF fonts map ";" to U+037E (Greek question mark, identical on screen); searching and
# splitting at clauses need the real one. Typeset PDFs also space words with no-break, thin or
# en spaces: a reader sees a space, and a search for "Acme Corp." (or CUAD's Parties test, a
# plain substring match) must find it, so each becomes one plain space.
_TYPESET_SPACES = (0x00A0, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000)
_CONFUSABLES = {0x037E: ";"} | {code: " " for code in _TYPESET_SPACES}
_TRAILING_SPACE = re.compile(r"[ \t]+(?=\n|\Z)")
# How much of the hidden text a warning quotes: enough to judge it, too little to act on.
EXCERPT_CHARS = 80


def malformed_reason(detail: str) -> str:
    return f"{MALFORMED_PREFIX} ({detail})"


def too_many_pages_reason(pages: int, limit: int) -> str:
    return f"this PDF has {pages} pages; the limit is {limit}"


def extract_pdf(
    data: bytes, *, max_pages: int = 2000, include_hidden: bool = False
) -> ExtractedDocument:
    """Read `data` as a PDF. Raises ExtractionError with a user-facing reason on any failure.

    Text a reader cannot see (white, invisible, microscopic, off the page: a way to talk to the
    model behind the reader's back) is left out unless `include_hidden`; either way each page
    that has some gets a warning that quotes it."""
    reader, count = open_pdf(data, max_pages=max_pages)
    pages = read_pages(reader, range(count), include_hidden=include_hidden)
    return document_from_pages(hashlib.sha256(data).hexdigest(), pages, included=include_hidden)


@dataclass(frozen=True)
class PageFailure:
    """A page pypdf could not read: the phrase a user reads if no page could be read."""

    detail: str


PageRead = PageText | PageFailure


def open_pdf(data: bytes, *, max_pages: int) -> tuple[pypdf.PdfReader, int]:
    """The reader and the page count, or the ExtractionError that stops before any page."""
    if not data.strip():
        raise ExtractionError(REASON_EMPTY, code="empty")
    if PDF_MAGIC not in data[:MAGIC_WINDOW]:
        raise ExtractionError(REASON_NOT_PDF, code="not_pdf")
    reader = _open(data)
    count = _guard(lambda: len(reader.pages))
    if count == 0:
        raise ExtractionError(REASON_NO_PAGES, code="empty")
    if count > max_pages:
        raise ExtractionError(too_many_pages_reason(count, max_pages), code="too_many_pages")
    return reader, count


def document_from_pages(
    sha256: str, pages: Sequence[PageRead], *, included: bool
) -> ExtractedDocument:
    """The document of every page read (in order, however they were shared out), or the
    ExtractionError it means: no page read, a scan."""
    if not pages:
        raise ExtractionError(REASON_NO_PAGES, code="empty")
    failures = [page for page in pages if isinstance(page, PageFailure)]
    if len(failures) == len(pages):
        raise ExtractionError(malformed_reason(failures[0].detail), code="malformed")
    read = [page if isinstance(page, PageText) else None for page in pages]
    warnings = _check_pages(read) + _hidden_warnings(read, included=included)
    return assemble(sha256, [page.text if page is not None else "" for page in read], warnings)


REASON_NOT_UTF8 = "this text file is not UTF-8 text; save it as UTF-8 and upload it again"


def extract_text(data: bytes) -> ExtractedDocument:
    """Read `data` as a plain-text document (UTF-8). A form feed starts a new page, as in the
    output of pdftotext; without one the text is a single page."""
    if not data.strip():
        raise ExtractionError(REASON_EMPTY, code="empty")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ExtractionError(REASON_NOT_UTF8, code="not_text") from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    pages = text.split("\f")
    if len(pages) > 1 and not pages[-1].strip():
        pages.pop()  # a trailing form feed ends the last page; it opens no new one
    # Offsets must index the file as its author reads it (CUAD's spans, a DMS's annotations):
    # control characters become spaces, one for one, and nothing else changes.
    return assemble(hashlib.sha256(data).hexdigest(), pages, clean=_blank_controls)


def _blank_controls(text: str) -> str:
    return _CONTROL.sub(" ", text)


def assemble(
    sha256: str,
    texts: Sequence[str],
    warnings: Sequence[str] = (),
    *,
    clean: Callable[[str], str] | None = None,
) -> ExtractedDocument:
    """Join cleaned page texts (`normalize` by default); each page but the last ends with the
    separator, in its range."""
    clean = clean or normalize
    pages: list[Page] = []
    parts: list[str] = []
    offset = 0
    last = len(texts) - 1
    for index, raw in enumerate(texts):
        part = clean(raw) + (PAGE_SEPARATOR if index < last else "")
        pages.append(Page(number=index + 1, start=offset, end=offset + len(part)))
        parts.append(part)
        offset += len(part)
    return ExtractedDocument(
        sha256=sha256, text="".join(parts), pages=tuple(pages), warnings=tuple(warnings)
    )


def normalize(text: str) -> str:
    """Deterministic clean-up: one newline style, no control characters, no trailing blanks."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text).translate(_CONFUSABLES)
    text = _TRAILING_SPACE.sub("", text)
    return text.strip("\n")


def _open(data: bytes) -> pypdf.PdfReader:
    reader = _guard(lambda: pypdf.PdfReader(io.BytesIO(data), strict=False))
    if _guard(lambda: reader.is_encrypted):
        # Permission-only encryption (empty user password) is common in filings: it must open.
        result = _guard(lambda: reader.decrypt(""))
        if result == PasswordType.NOT_DECRYPTED:
            raise ExtractionError(REASON_ENCRYPTED, code="encrypted")
    return reader


def read_pages(
    reader: pypdf.PdfReader, numbers: Iterable[int], *, include_hidden: bool
) -> list[PageRead]:
    """The pages at these indices, each on its own: one broken page must not cost the other 99.
    A font is built once for all of them (parse_once.py)."""
    with shared_fonts():
        return [_read_page(reader, index, include_hidden) for index in numbers]


def _read_page(reader: pypdf.PdfReader, index: int, include_hidden: bool) -> PageRead:
    try:
        return read_page(reader.pages[index], include_hidden=include_hidden)
    except MemoryError:
        raise  # the sandbox reports it as "too complex", not as one bad page
    except (Exception, RecursionError) as exc:  # any pypdf failure, see _guard
        _reraise_memory_error(exc)
        return PageFailure(_detail(exc))


def _hidden_warnings(pages: Sequence[PageText | None], *, included: bool) -> list[str]:
    return [
        hidden_text_warning(number, page.hidden, included=included)
        for number, page in enumerate(pages, start=1)
        if page is not None and page.hidden
    ]


def hidden_text_warning(number: int, hidden: Sequence[HiddenText], *, included: bool) -> str:
    """One page's hidden text, for a lawyer: how much, why nobody sees it, what it says."""
    passages = sum(piece.passages for piece in hidden)
    amount = "1 passage" if passages == 1 else f"{passages} passages"
    verb = "was" if passages == 1 else "were"
    fate = "included in the analysis, as configured" if included else "left out of the analysis"
    reasons = ", ".join(piece.reason for piece in hidden)
    quote = excerpt(" ".join(piece.text for piece in hidden))
    return (
        f'page {number}: {amount} of text a reader cannot see ({reasons}) {verb} {fate}: "{quote}"'
    )


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The start of `text` on one line, whitespace collapsed, cut with an ellipsis."""
    flat = " ".join(normalize(text).split())
    return flat if len(flat) <= limit else flat[:limit].rstrip() + "\u2026"


def _check_pages(pages: Sequence[PageText | None]) -> list[str]:
    """Refuse a scan; otherwise the warnings a lawyer needs about pages that were not read."""
    warnings = [
        f"page {number} could not be read and was skipped"
        for number, page in enumerate(pages, start=1)
        if page is None
    ]
    readable = [(number, page) for number, page in enumerate(pages, start=1) if page is not None]
    # A page whose only text is hidden has a text layer (no scan); its own warning says why
    # none of it is read.
    textless = [number for number, page in readable if not (_has_words(page.text) or page.hidden)]
    # Mostly-image documents (one OCR'd chart among scanned pages) are scans too: analyzing the
    # few words found would look like a complete answer while most of the document went unread.
    if 2 * len(textless) > len(readable):
        raise ExtractionError(REASON_NO_TEXT, code="no_text")
    if textless:
        warnings.append(_no_text_warning(textless))
    return warnings


def _no_text_warning(pages: Sequence[int]) -> str:
    """Mixed documents (a scanned signature page or exhibit) are common: say what is missing."""
    subject = f"page {pages[0]} has" if len(pages) == 1 else f"pages {_ranges(pages)} have"
    return f"{subject} no text (blank, or a scanned image without OCR) and will not be analyzed"


def _ranges(numbers: Sequence[int]) -> str:
    """[1, 2, 3, 7] -> "1-3, 7": a lawyer reads ranges, not 300 numbers."""
    spans: list[str] = []
    start = prev = numbers[0]
    for number in numbers[1:]:
        if number != prev + 1:
            spans.append(str(start) if start == prev else f"{start}-{prev}")
            start = number
        prev = number
    spans.append(str(start) if start == prev else f"{start}-{prev}")
    return ", ".join(spans)


def _has_words(text: str) -> bool:
    letters = 0
    for char in text:
        letters += char.isalpha()
        if letters >= MIN_LETTERS_PER_PAGE:
            return True
    return False


def _guard(step: Callable[[], T]) -> T:
    """Run a pypdf step; any failure becomes a "damaged" ExtractionError.

    pypdf raises its own errors but also TypeError, AttributeError, AssertionError, KeyError,
    zlib.error and RecursionError on hostile files: all mean the same thing to a user.
    """
    try:
        return step()
    except (ExtractionError, MemoryError):
        raise
    except (Exception, RecursionError) as exc:
        _reraise_memory_error(exc)
        raise ExtractionError(malformed_reason(_detail(exc)), code="malformed") from exc


def _reraise_memory_error(exc: BaseException) -> None:
    """Out of memory is not "damaged": let the sandbox report it as too complex.

    pypdf sometimes wraps a MemoryError in its own error, and a C extension (zlib) that fails to
    allocate under RLIMIT_AS surfaces as SystemError("error return without exception set").
    """
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, MemoryError | SystemError) or "insufficient memory" in str(seen):
            raise MemoryError from exc
        seen = seen.__cause__ or seen.__context__


def _detail(exc: BaseException) -> str:
    """A short, fixed phrase: pypdf's messages carry bytes reprs and class names, not for users."""
    message = str(exc).lower()
    if isinstance(exc, RecursionError):
        return "its structure is nested too deeply"
    if isinstance(exc, zlib.error) or "decompress" in message or "filter" in message:
        return "a compressed part of it is corrupt"
    if isinstance(exc, PdfStreamError) or "ended unexpectedly" in message or "eof" in message:
        return "the file is incomplete or cut off"
    if "xref" in message or "trailer" in message or "startxref" in message:
        return "its table of contents (cross-reference table) is broken"
    return "its internal structure is invalid"
