"""content_stream.parse against pypdf's own parser: the same operations, object for object and
type for type, or no answer (pypdf parses); drop_idle leaves out only what no reader sees."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pypdf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf.generic import ContentStream

from docanalysis.core.content_stream import ENCODING, drop_idle, parse

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
# Small real PDFs of different makers: one stream per page, forms, escapes, TJ arrays.
REAL = (
    SHARED_DATA / "cuad" / "pdfs" / "BIOPURECORP_06_30_1999-EX-10.13-AGENCY AGREEMENT.PDF",
    SHARED_DATA / "cuad" / "pdfs" / "FerroglobePlc_20150624_F-4A_EX-10.20_9154746_EX-10.20_"
    "Outsourcing Agreement.pdf",
    SHARED_DATA / "pdfs" / "papers" / "arxiv_0908.0054.pdf",
    SHARED_DATA / "pdfs" / "papers" / "wang_neumann_AVE2008.pdf",
)


def pypdf_operations(data: bytes) -> list[Any] | Exception:
    """What pypdf's text extraction parses from `data`, or what it raises."""
    content = ContentStream(None, None, ENCODING)
    content.set_data(data)
    try:
        return content.operations
    except Exception as exc:  # pypdf's verdict on a broken stream
        return exc


def same(a: Any, b: Any) -> bool:
    """Equal values of the same types all the way down (1 == 1.0 is not enough)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return bool(a == b)


def agrees(data: bytes, *, page: bool = True) -> bool:
    """parse gives up, or gives what pypdf gives (empty q Q pairs aside: drop_idle on both)."""
    fast = parse(data)
    if fast is None:
        return True
    slow = pypdf_operations(data)
    if isinstance(slow, Exception):
        return False  # pypdf fails: parse must not succeed
    return same(drop_idle(fast, path_closed=page), drop_idle(slow, path_closed=page))


@pytest.mark.parametrize(
    "data",
    [
        b"BT /F1 12 Tf 72 700 Td (Hello, world) Tj ET",
        b"BT/F1 12 Tf 1 0 0 1 72 700 Tm[(A)-120(B)12.5(C)]TJ ET",
        b"(esc \\( \\) \\\\ \\n \\r \\t \\b \\f \\101\\0\\1234 \\/ \\%) Tj",
        b"(nested (parens) inside) Tj (line \\\ncontinued) Tj (\\777 too big) Tj",
        b"<48656C6C6F> Tj <48656C6C6F2> Tj < 48 65 > Tj <> Tj () Tj",
        b"-.5 +3 5. 0.25 -0 12345678901234567890 1.2.3 --4 m",
        b"/Span <</MCID 0 /Lang (en)>> BDC EMC /a#20b gs /\xe9t\xe9 Tf",
        b"[1 [2 3] (x)] TJ [null] TJ [ true false ] TJ [/A/B]TJ",
        b"q Q q\rQ\r\nq\x00Q q q Q Q qQ Q",
        b"12 Tf 1 2 m\x0b3 4 l",
        b"0 0 m 10 10 l S 0 0 10 10 re W n 0 0 10 10 re f",
        b"T* 0 Tw 0 Tc (x) ' 1 2 (y) \" d0 BX EX",
        b"10 20",  # operands and no operator
        b"3 0 R Tj",  # pypdf's reference pattern: it gives up
        b"% a comment\n(x) Tj",
        b"BI /W 1 /H 1 /BPC 8 /CS /G ID \x00 EI Q",
        b"(unterminated Tj",
        b"",
    ],
)
def test_parse_agrees_with_pypdf(data: bytes) -> None:
    assert agrees(data)


def test_fast_streams_are_read_fast() -> None:
    assert parse(b"BT /F1 12 Tf (a\\(b) Tj [(c) -5 <0041>] TJ ET q 1 0 0 1 0 0 cm Q") is not None


def test_what_it_does_not_follow_it_leaves_to_pypdf() -> None:
    assert parse(b"BI /W 1 /H 1 ID \x00 EI") is None  # inline image
    assert parse(b"% comment\n(x) Tj") is None
    assert parse(b"1 0 R Do") is None


# Operators, operands pypdf reads fast or slowly, and pieces of broken ones.
TOKENS = rb"q Q BT ET Tj TJ Tf m l c h re n S s f b W W* ' 0 12 -3.5 .5 +7 1. 1.2.3 /F1 /a#41"
TOKENS += rb" (x) (a\)b)"
TOKENS += rb" (\101) (\477) (a(b)c) <41> <4> [ ] << >> R null true ) {"
tokens = st.sampled_from([*TOKENS.split(), b"%c\n", b"\\"])
blanks = st.sampled_from([b" ", b"\n", b"\r\n", b"\t", b"\x00", b"\x0b", b"\x0c", b""])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(tokens, blanks), max_size=40))
def test_random_token_soup_agrees_with_pypdf(pieces: list[tuple[bytes, bytes]]) -> None:
    assert agrees(b"".join(token + blank for token, blank in pieces))


@pytest.mark.parametrize("path", REAL, ids=lambda p: p.name[:30])
def test_real_pages_and_forms_agree_with_pypdf(path: Path) -> None:
    reader = pypdf.PdfReader(io.BytesIO(path.read_bytes()), strict=False)
    checked = 0
    for page in reader.pages:
        assert agrees(ContentStream(page["/Contents"].get_object(), reader, ENCODING).get_data())
        xobjects = page["/Resources"].get_object().get("/XObject", {})
        for name in xobjects:
            form = xobjects[name].get_object()
            if form.get("/Subtype") == "/Form":
                assert agrees(ContentStream(form, reader, ENCODING).get_data(), page=False)
        checked += 1
    assert checked == len(reader.pages)


def ops(*operators: bytes) -> list[Any]:
    return [([], operator) for operator in operators]


def test_drop_idle_drops_empty_saves_and_unfilled_paths_only() -> None:
    stream = [([1, 2], b"m"), ([3, 4], b"l"), ([], b"W"), ([], b"n")]
    filled = [([1, 2], b"m"), ([3, 4], b"l"), ([], b"f")]

    assert drop_idle(ops(b"q", b"q", b"Q", b"Q"), path_closed=True) == []
    assert drop_idle([*ops(b"q"), *stream, *ops(b"Q")], path_closed=True) == []
    assert drop_idle(filled, path_closed=True) == filled
    assert drop_idle([*ops(b"BT"), *stream], path_closed=True) == ops(b"BT")
    # A form may be drawn with a path open: an unfilled path then does what its end does.
    assert drop_idle(stream, path_closed=False) == ops(b"n")
    # A path left open before: the later path's end still ends it.
    opened = [([0, 0], b"m"), *ops(b"BT"), *stream]
    assert drop_idle(opened, path_closed=True) == [([0, 0], b"m"), *ops(b"BT", b"n")]
