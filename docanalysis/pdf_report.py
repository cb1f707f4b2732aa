"""A small PDF writer for text reports: Helvetica, A4 pages, headings, wrapped lines and tables.

No PDF library is a dependency, and a report needs little: the standard Type 1 fonts Helvetica
and Helvetica-Bold (every reader has them, nothing is embedded) with WinAnsiEncoding, text
placed line by line, a table whose header repeats on every page, and a footer "page i of n".
The file is PDF 1.4 with one object per font, page and content stream, a cross-reference table
of exact byte offsets, and content streams compressed with zlib (FlateDecode).

Text is Unicode; characters outside Windows-1252 (which WinAnsiEncoding covers) print as "?"
and control characters as spaces. Lines are wrapped at word boundaries using the fonts' Adobe
metrics; table cells that do not fit their column are cut and end with "...". Given the same
input and `created_at`, the bytes are identical.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

PAGE_WIDTH = 595.0  # A4 in points
PAGE_HEIGHT = 842.0
MARGIN = 50.0
LEADING = 1.3  # line height as a multiple of the font size
ELLIPSIS = "..."

# Advance widths (1/1000 em) of the printable ASCII characters 32..126 in the Adobe Core 14
# metrics (Helvetica.afm and Helvetica-Bold.afm).
_HELVETICA = (
    (278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278)
    + (556,) * 10
    + (278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667, 611, 778, 722, 278)
    + (500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667)
    + (611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222)
    + (222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500)
    + (500, 334, 260, 334, 584)
)
_HELVETICA_BOLD = (
    (278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278)
    + (556,) * 10
    + (333, 333, 584, 584, 584, 611, 975, 722, 722, 722, 722, 667, 611, 778, 722, 278)
    + (556, 722, 611, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667)
    + (611, 333, 278, 333, 584, 556, 333, 556, 611, 556, 611, 556, 333, 611, 611, 278)
    + (278, 556, 278, 889, 611, 611, 611, 611, 389, 556, 333, 611, 556, 778, 556, 556)
    + (500, 389, 280, 389, 584)
)
# Widths indexed by the WinAnsi byte a character is printed as (what pdf_string writes): a
# character outside Windows-1252 prints as "?" and is measured as one.
_BYTE_WIDTHS = {
    bold: tuple(table[byte - 32] if 32 <= byte <= 126 else 1000 for byte in range(256))
    for bold, table in ((False, _HELVETICA), (True, _HELVETICA_BOLD))
}
_WIDEST = 1015  # "@": no string is wider than len(text) * _WIDEST

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NEEDS_ESCAPE = re.compile(rb"[\\()\x00-\x1f\x7f-\xff]")


def _encode(text: str) -> bytes:
    return text.encode("cp1252", errors="replace")


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """The width in points of `text` set in Helvetica (or Helvetica-Bold) at `size`. Bytes
    outside printable ASCII count as 1000/1000 em: too wide at worst, so nothing overflows."""
    return sum(map(_BYTE_WIDTHS[bold].__getitem__, _encode(text))) * size / 1000


def fit(text: str, width: float, size: float, *, bold: bool = False) -> str:
    """`text`, cut and ended with "..." if it is wider than `width` points."""
    if len(text) * _WIDEST * size / 1000 <= width or text_width(text, size, bold=bold) <= width:
        return text
    room = width - text_width(ELLIPSIS, size, bold=bold)
    widths = _BYTE_WIDTHS[bold]
    used = 0.0
    for index, char in enumerate(text):
        used += sum(map(widths.__getitem__, _encode(char))) * size / 1000
        if used > room:
            return text[:index].rstrip() + ELLIPSIS
    return text


def wrap(text: str, width: float, size: float, *, bold: bool = False) -> list[str]:
    """`text` broken into lines no wider than `width`: at spaces, or inside a word too long
    for a line of its own. An empty text is one empty line."""
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if text_width(candidate, size, bold=bold) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = word
        while text_width(current, size, bold=bold) > width and len(current) > 1:
            cut = len(current) - 1
            while cut > 1 and text_width(current[:cut], size, bold=bold) > width:
                cut -= 1
            lines.append(current[:cut])
            current = current[cut:]
    lines.append(current)
    return lines


def _clean(text: str) -> str:
    return _CONTROL.sub(" ", text)


def _escape_byte(match: re.Match[bytes]) -> bytes:
    byte = match.group()[0]
    if byte in b"\\()":
        return b"\\" + bytes([byte])
    return b"\\%03o" % byte


def pdf_string(text: str) -> bytes:
    """A PDF literal string of `text` in WinAnsiEncoding: (...) with \\, ( and ) escaped and
    every byte outside printable ASCII written as an octal escape."""
    data = _encode(_clean(text))
    return b"(" + _NEEDS_ESCAPE.sub(_escape_byte, data) + b")"


def _text_string(text: str) -> bytes:
    """A PDF text string (document information): UTF-16BE with a byte order mark, in hex."""
    return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode("ascii") + b">"


def _number(value: float) -> bytes:
    return (f"{value:.2f}".rstrip("0").rstrip(".") or "0").encode("ascii")


@dataclass(frozen=True)
class Column:
    """A table column: its title and its width in points."""

    title: str
    width: float


class PdfReport:
    """Build a text report top to bottom, then `to_bytes()`.

    >>> report = PdfReport("Audit export")
    >>> report.heading("Audit export")
    >>> report.line("Scope: tenant 1")
    >>> data = report.to_bytes()
    """

    def __init__(
        self,
        title: str,
        *,
        font_size: float = 9.0,
        created_at: datetime | None = None,
        producer: str = "docanalysis",
    ) -> None:
        self.title = title
        self.font_size = font_size
        self.created_at = created_at or datetime.now(UTC)
        self.producer = producer
        self._pages: list[list[bytes]] = []
        self._y = 0.0
        self._new_page()

    # -- layout -----------------------------------------------------------------------------

    @property
    def _width(self) -> float:
        return PAGE_WIDTH - 2 * MARGIN

    def _new_page(self) -> None:
        self._pages.append([])
        self._y = PAGE_HEIGHT - MARGIN

    def _room(self, height: float) -> bool:
        # The footer sits below the bottom margin's first half.
        return self._y - height >= MARGIN

    def _advance(self, size: float) -> float:
        """Move down one line of `size` (a new page if it does not fit); the baseline's y."""
        height = size * LEADING
        if not self._room(height):
            self._new_page()
        self._y -= height
        return self._y

    def _emit(self, cells: Sequence[tuple[float, str]], y: float, size: float, bold: bool) -> None:
        font = b"/F2 " if bold else b"/F1 "
        ops = [b"BT ", font, _number(size), b" Tf "]
        previous_x = 0.0
        for index, (x, text) in enumerate(cells):
            if index == 0:
                ops += [_number(x), b" ", _number(y), b" Td "]
            else:
                ops += [_number(x - previous_x), b" 0 Td "]
            ops += [pdf_string(text), b" Tj "]
            previous_x = x
        ops.append(b"ET\n")
        self._pages[-1].append(b"".join(ops))

    # -- content ----------------------------------------------------------------------------

    def heading(self, text: str, *, size: float = 14.0) -> None:
        """A bold heading, wrapped if needed, with a little space above unless at a page top."""
        if self._y < PAGE_HEIGHT - MARGIN:
            self._y -= size * 0.5
        for part in wrap(_clean(text), self._width, size, bold=True):
            self._emit([(MARGIN, part)], self._advance(size), size, True)

    def line(self, text: str = "", *, bold: bool = False, size: float | None = None) -> None:
        """One paragraph of text, wrapped to the page width."""
        size = size or self.font_size
        for part in wrap(_clean(text), self._width, size, bold=bold):
            y = self._advance(size)
            if part:
                self._emit([(MARGIN, part)], y, size, bold)

    def blank(self) -> None:
        """An empty line."""
        self._advance(self.font_size)

    def table(self, columns: Sequence[Column], rows: Iterable[Sequence[str]]) -> None:
        """A table: a bold header (repeated at the top of every page it runs onto), then one
        line per row, each cell cut to its column's width."""
        size = self.font_size
        gap = size * 0.8
        xs = []
        x = MARGIN
        for column in columns:
            xs.append(x)
            x += column.width + gap
        header = [(xs[i], fit(c.title, c.width, size, bold=True)) for i, c in enumerate(columns)]
        height = size * LEADING

        def put_header() -> None:
            self._emit(header, self._advance(size), size, True)

        if not self._room(2 * height):
            self._new_page()
        put_header()
        for row in rows:
            if not self._room(height):
                self._new_page()
                put_header()
            cells = [
                (xs[i], fit(_clean(str(value)), columns[i].width, size))
                for i, value in enumerate(row)
            ]
            self._emit(cells, self._advance(size), size, False)

    # -- output -----------------------------------------------------------------------------

    def _footer(self, number: int, count: int) -> bytes:
        size = 7.0
        text = fit(f"{self.title} - page {number} of {count}", self._width, size)
        return b"".join(
            [b"BT /F1 7 Tf ", _number(MARGIN), b" ", _number(MARGIN / 2), b" Td "]
            + [pdf_string(text), b" Tj ET\n"]
        )

    @property
    def page_count(self) -> int:
        return len(self._pages)

    def to_bytes(self) -> bytes:
        """The PDF file."""
        count = len(self._pages)
        first_page = 6  # 1 catalog, 2 page tree, 3 and 4 fonts, 5 document information
        kids = b" ".join(b"%d 0 R" % (first_page + 2 * i) for i in range(count))
        stamp = self.created_at.astimezone(UTC).strftime("D:%Y%m%d%H%M%SZ").encode("ascii")
        objects: list[bytes] = [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % count,
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold"
            b" /Encoding /WinAnsiEncoding >>",
            b"<< /Title "
            + _text_string(self.title)
            + b" /Producer "
            + _text_string(self.producer)
            + b" /CreationDate ("
            + stamp
            + b") >>",
        ]
        for index, ops in enumerate(self._pages):
            content = zlib.compress(b"".join([*ops, self._footer(index + 1, count)]), 6)
            objects.append(
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %s %s]"
                % (_number(PAGE_WIDTH), _number(PAGE_HEIGHT))
                + b" /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >>"
                + b" /Contents %d 0 R >>" % (first_page + 2 * index + 1)
            )
            objects.append(
                b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(content)
                + content
                + b"\nendstream"
            )

        return pdf_file(objects, info=5)


def pdf_file(objects: Sequence[bytes], *, info: int | None = None) -> bytes:
    """A PDF of `objects` (numbered from 1; object 1 is the catalog) with its xref table and
    trailer. With `info` (the Info dictionary's number) the file also gets an /ID, a hash of
    its body, so identical input gives identical bytes."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n0 %d\n" % (len(objects) + 1)
    out += b"0000000000 65535 f\r\n"
    for offset in offsets:
        out += b"%010d 00000 n\r\n" % offset
    extra = b""
    if info is not None:
        file_id = hashlib.md5(bytes(out), usedforsecurity=False).hexdigest().encode("ascii")
        extra = b" /Info %d 0 R /ID [<%s> <%s>]" % (info, file_id, file_id)
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\n" % (len(objects) + 1, extra)
    out += b"startxref\n%d\n%%%%EOF\n" % xref_at
    return bytes(out)


__all__ = ["Column", "PdfReport", "fit", "pdf_file", "pdf_string", "text_width", "wrap"]
