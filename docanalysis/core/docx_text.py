"""Word files (.docx): the text of their paragraphs and table cells, in order.

Word has no pages. Each paragraph becomes a "page" of the document whose label says how a
lawyer cites it: the section (the last heading above it) and its paragraph number within that
section, "§ 3. Termination, ¶ 2". Provisions are the paragraphs themselves (see
core/provisions.py), so a clause is always a whole paragraph and its citation names it.

A .docx is a ZIP: it passes the same archive checks as a bulk upload before python-docx (which
trusts the archive) sees it.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Iterator
from typing import Any, NamedTuple

from docanalysis.core.archive import (
    ArchiveError,
    ArchiveLimits,
    check_members,
    is_zip,
    open_zip,
)
from docanalysis.core.errors import ExtractionError
from docanalysis.core.types import ExtractedDocument, Page

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MAIN_PART = "word/document.xml"
_MACROS = "word/vbaProject.bin"
_SEPARATOR = "\n\n"


class Block(NamedTuple):
    """A paragraph or a table cell's paragraph: whether it is a heading, the text a reader
    sees, and the text marked hidden."""

    heading: bool
    text: str
    hidden: str = ""


# between paragraphs: a blank line, as a reader of the text expects
REASON_MACROS = (
    "this Word file contains macros (.docm); save it as a Word Document (.docx) without macros"
)
REASON_NO_TEXT = "this Word file has no text"
REASON_DAMAGED = "this Word file is damaged and cannot be read; save it again from Word"


def looks_like_docx(data: bytes) -> bool:
    """A ZIP with a Word main part: what Word, LibreOffice and python-docx write."""
    if not is_zip(data):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, EOFError):
        return False
    return MAIN_PART in names


def check_docx(data: bytes, label: str, limits: ArchiveLimits) -> None:
    """ArchiveError unless `data` is a safe Word archive without macros."""
    with open_zip(data, label) as archive:
        infos = check_members(archive.infolist(), limits, label)
        names = {info.filename for info in infos}
        if MAIN_PART not in names:
            raise ArchiveError(f"{label} is not a Word document", code="unsupported_media_type")
        types = archive.read("[Content_Types].xml") if "[Content_Types].xml" in names else b""
    if _MACROS in names or b"macroEnabled" in types:
        raise ArchiveError(f"{label}: {REASON_MACROS}", code="macros")


def read_docx(data: bytes, limits: ArchiveLimits | None = None) -> ExtractedDocument:
    """The paragraphs of a Word file as one text, each a labelled "page"; ExtractionError with
    a reason a lawyer understands when it is unsafe, damaged or empty."""
    try:
        check_docx(data, "the Word file", limits or ArchiveLimits())
    except ArchiveError as e:
        raise ExtractionError(e.reason, code=e.code) from None
    blocks = _read_blocks(data)
    if not any(block.text.strip() for block in blocks):
        raise ExtractionError(REASON_NO_TEXT, code="no_text")
    return assemble_paragraphs(hashlib.sha256(data).hexdigest(), blocks)


def _read_blocks(data: bytes) -> list[Block]:
    import docx  # python-docx: imported here so that importing the core stays instant

    try:
        return list(_blocks(docx.Document(io.BytesIO(data))))
    except Exception:  # noqa: BLE001 - lxml, zipfile, KeyError...: all mean "damaged"
        raise ExtractionError(REASON_DAMAGED, code="malformed") from None


def _blocks(document: Any) -> Iterator[Block]:
    """Each paragraph and table cell, in reading order."""
    from docx.table import Table

    for item in document.iter_inner_content():
        if isinstance(item, Table):
            yield from _cells(item)
        else:
            yield Block(_is_heading(item), *_visible(item))


def _cells(table: Any) -> Iterator[Block]:
    seen: set[int] = set()  # a merged cell is returned once per grid cell it spans
    for row in table.rows:
        for cell in row.cells:
            if id(cell._tc) in seen:
                continue
            seen.add(id(cell._tc))
            for paragraph in cell.paragraphs:
                yield Block(False, *_visible(paragraph))


def _visible(paragraph: Any) -> tuple[str, str]:
    """(the text a reader sees, the text marked hidden): hidden runs are what a reader of the
    printed or displayed document never sees, so they stay out of the analysis, as hidden
    text in a PDF does (DESIGN.md section 6), and are reported."""
    from docx.text.hyperlink import Hyperlink

    shown, hidden = list[str](), list[str]()
    for item in paragraph.iter_inner_content():
        for run in item.runs if isinstance(item, Hyperlink) else (item,):
            (hidden if run.font.hidden else shown).append(run.text)
    return "".join(shown), "".join(hidden)


def _is_heading(paragraph: Any) -> bool:
    style = paragraph.style
    name = "" if style is None else str(style.name or "")
    return name.startswith("Heading") or name == "Title"


def assemble_paragraphs(sha256: str, blocks: list[Block]) -> ExtractedDocument:
    """One text from the blocks, empty ones left out, with a labelled page for each: a
    heading opens a section; the paragraphs under it are numbered from 1. A warning for each
    block with hidden text, saying where it was and quoting its start."""
    text, pages, warnings = "", list[Page](), list[str]()
    section, in_section = "", 0
    for block in blocks:
        body = block.text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", " ").strip()
        if body:
            text += _SEPARATOR if text else ""
            if block.heading:
                section, in_section = " ".join(body.split()), 0
            else:
                in_section += 1
            label = _label(block.heading, section, in_section)
            pages.append(Page(len(pages) + 1, len(text), len(text) + len(body), label=label))
            text += body
        if block.hidden.strip():
            warnings.append(_hidden_warning(pages[-1].label if pages else "", block, bool(body)))
    return ExtractedDocument(sha256, text, tuple(pages), tuple(warnings))


def _label(heading: bool, section: str, in_section: int) -> str:
    if heading:
        return f"§ {section}"
    return f"§ {section}, ¶ {in_section}" if section else f"¶ {in_section}"


def _hidden_warning(label: str, block: Block, in_it: bool) -> str:
    """Where hidden text was, for a lawyer, and the start of what it says."""
    from docanalysis.core.extraction import excerpt

    where = label if in_it else (f"after {label}" if label else "before the first paragraph")
    return (
        f"{where}: text a reader cannot see (hidden in Word) was left out of the analysis: "
        f'"{excerpt(block.hidden)}"'
    )
