"""The small PDF writer: what pypdf reads back, escaping, page breaks and the xref table."""

from __future__ import annotations

import io
import re
import zlib
from datetime import UTC, datetime

import pypdf
import pytest

from docanalysis.pdf_report import (
    MARGIN,
    PAGE_WIDTH,
    Column,
    PdfReport,
    fit,
    pdf_string,
    text_width,
    wrap,
)

CREATED = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def _pages(data: bytes) -> list[list[str]]:
    reader = pypdf.PdfReader(io.BytesIO(data), strict=True)
    return [page.extract_text().splitlines() for page in reader.pages]


def test_lines_read_back_with_pypdf() -> None:
    report = PdfReport("Audit export", created_at=CREATED)
    report.heading("Audit export")
    report.line("Scope: tenant 1, from the beginning to now")
    report.blank()
    report.line("Hash 0000000000000000000000000000000000000000000000000000000000000000")

    [lines] = _pages(report.to_bytes())
    assert lines == [
        "Audit export",
        "Scope: tenant 1, from the beginning to now",
        "Hash 0000000000000000000000000000000000000000000000000000000000000000",
        "Audit export - page 1 of 1",
    ]


def test_strings_are_escaped_and_encoded() -> None:
    assert pdf_string("a(b)c\\d") == b"(a\\(b\\)c\\\\d)"
    assert pdf_string("zoë €") == b"(zo\\353 \\200)"
    assert pdf_string("中\tx\r\n") == b"(? x  )"

    report = PdfReport("(title) \\ zoë", created_at=CREATED)
    report.line("unbalanced ( and ) and \\ and zoë, 5 €, 中文, tab\there")
    data = report.to_bytes()
    [lines] = _pages(data)
    assert lines[0] == "unbalanced ( and ) and \\ and zoë, 5 €, ??, tab here"
    metadata = pypdf.PdfReader(io.BytesIO(data)).metadata
    assert metadata is not None and metadata.title == "(title) \\ zoë"


def test_table_spans_pages_and_repeats_its_header() -> None:
    report = PdfReport("Events", created_at=CREATED)
    report.heading("Events")
    columns = [Column("Seq", 45), Column("Actor", 140), Column("Subject", 80)]
    report.table(
        columns, ([str(n), f"user{n} <u{n}@firm.example>", f"doc:{n}"] for n in range(200))
    )
    data = report.to_bytes()

    pages = _pages(data)
    assert len(pages) == report.page_count > 2
    rows = []
    for number, lines in enumerate(pages, start=1):
        assert lines[-1] == f"Events - page {number} of {len(pages)}"
        header = 1 if number == 1 else 0
        assert lines[header] == "Seq Actor Subject"
        rows += lines[header + 1 : -1]
    assert rows == [f"{n} user{n} <u{n}@firm.example> doc:{n}" for n in range(200)]


def test_xref_offsets_point_at_their_objects() -> None:
    report = PdfReport("Xref", created_at=CREATED)
    for n in range(150):
        report.line(f"line {n} (with parentheses)")
    data = report.to_bytes()

    assert data.startswith(b"%PDF-1.4\n") and data.endswith(b"%%EOF\n")
    startxref = int(re.search(rb"startxref\n(\d+)\n%%EOF\n$", data).group(1))  # type: ignore[union-attr]
    assert data[startxref:].startswith(b"xref\n0 ")
    header, _, rest = data[startxref + 5 :].partition(b"\n")
    first, count = map(int, header.split())
    entries = rest[: 20 * count]
    assert first == 0 and entries[:20] == b"0000000000 65535 f\r\n"
    for number in range(1, count):
        entry = entries[20 * number : 20 * number + 20]
        assert entry.endswith(b" 00000 n\r\n")
        offset = int(entry[:10])
        assert data[offset:].startswith(b"%d 0 obj\n" % number)
    # Each stream's /Length is its exact byte count.
    for match in re.finditer(rb"/Length (\d+) /Filter /FlateDecode >>\nstream\n", data):
        start = match.end()
        length = int(match.group(1))
        assert data[start + length : start + length + 10] == b"\nendstream"
        zlib.decompress(data[start : start + length])


def test_same_input_same_bytes() -> None:
    def build() -> bytes:
        report = PdfReport("Same", created_at=CREATED)
        report.line("one")
        return report.to_bytes()

    assert build() == build()


def test_wrap_and_fit_respect_the_width() -> None:
    text = "a fairly long sentence " * 20 + "x" * 200
    width = PAGE_WIDTH - 2 * MARGIN
    lines = wrap(text, width, 9)
    assert len(lines) > 3
    assert all(text_width(line, 9) <= width for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    assert wrap("", width, 9) == [""]

    cut = fit("alice <alice@firm.example>", 60, 9)
    assert cut.endswith("...") and text_width(cut, 9) <= 60
    assert fit("short", 60, 9) == "short"
    assert text_width("中", 10) == text_width("?", 10)  # printed as "?"


@pytest.mark.parametrize("lines", [0, 1, 500])
def test_any_number_of_lines_makes_a_valid_file(lines: int) -> None:
    report = PdfReport("Lines", created_at=CREATED)
    for n in range(lines):
        report.line(f"line {n}")
    pages = _pages(report.to_bytes())
    body = [line for page in pages for line in page[:-1]]
    assert body == [f"line {n}" for n in range(lines)]
