"""extract_pdf on real PDFs: pages as exact character ranges, reasons a lawyer understands."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pytest

from docanalysis.core.errors import ExtractionError
from docanalysis.core.extraction import assemble, extract_pdf, normalize

# Same paths as tests/conftest.py (test files do not import conftest): ../shared/data.
SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
CUAD = SHARED_DATA / "cuad"
PDFS = SHARED_DATA / "pdfs"
KIROMIC = "KIROMICBIOPHARMA,INC_04_08_2020-EX-10.28-JOINT VENTURE AGREEMENT"


def _eval_row(contract: str) -> dict[str, str]:
    with (CUAD / "eval_dev.tsv").open(newline="") as handle:
        rows = {row["contract"]: row for row in csv.DictReader(handle, delimiter="\t")}
    return rows[contract]


def _assert_pages_cover(text: str, pages: tuple[tuple[int, int, int], ...]) -> None:
    assert pages[0][1] == 0
    assert pages[-1][2] == len(text)
    for (_, _, end), (_, start, _) in zip(pages, pages[1:], strict=False):
        assert start == end


def test_cuad_contract_pages_match_the_pdf_and_cover_the_text() -> None:
    row = _eval_row(KIROMIC)
    data = (CUAD / row["pdf"]).read_bytes()

    doc = extract_pdf(data)

    assert len(doc.pages) == int(row["pdf_pages"]) == 17
    assert [p.number for p in doc.pages] == list(range(1, 18))
    _assert_pages_cover(doc.text, tuple((p.number, p.start, p.end) for p in doc.pages))
    assert doc.sha256 == hashlib.sha256(data).hexdigest()
    assert doc.warnings == ()
    # Each page but the last ends with the separator, inside its own range.
    assert all(doc.text[p.start : p.end].endswith("\n\n") for p in doc.pages[:-1])
    # Known phrases from the contract land on the page a reader sees them on.
    assert doc.page_at(doc.text.index("8. DURATION")) == 8
    assert doc.page_at(doc.text.index("16. GOVERNING LAW")) == 17
    assert doc.page_at(doc.text.index("JOINT VENTURE AGREEMENT")) == 1


def test_normalize_is_deterministic_and_drops_control_characters() -> None:
    raw = "Line one  \r\nLine\x00 two\t\rthree\x0c\x07 \u037e and\n\n"

    assert normalize(raw) == "Line one\nLine two\nthree ; and"


def test_normalize_turns_typeset_spaces_into_plain_ones_so_names_can_be_found() -> None:
    raw = "Acme\u00a0Corp.,\u2009a Delaware\u202fcorporation\u00a0\nNext"

    assert normalize(raw) == "Acme Corp., a Delaware corporation\nNext"


def test_assemble_puts_the_separator_inside_each_page_but_the_last() -> None:
    doc = assemble("abc", ["First page.", "Second page.  ", "Third."])

    assert doc.text == "First page.\n\nSecond page.\n\nThird."
    assert [(p.number, p.start, p.end) for p in doc.pages] == [(1, 0, 13), (2, 13, 27), (3, 27, 33)]


@pytest.mark.parametrize(
    ("data", "code", "reason"),
    [
        (b"", "empty", "this file is empty"),
        (b"  \n", "empty", "this file is empty"),
        (b"PK\x03\x04 a zip file", "not_pdf", "this file is not a PDF"),
        (
            b"%PDF-1.4\n%%EOF\n",
            "malformed",
            "this PDF is damaged and cannot be read "
            "(its table of contents (cross-reference table) is broken)",
        ),
    ],
)
def test_unreadable_bytes_get_a_plain_reason(data: bytes, code: str, reason: str) -> None:
    with pytest.raises(ExtractionError) as caught:
        extract_pdf(data)

    assert (caught.value.code, caught.value.reason) == (code, reason)


def test_header_after_junk_within_the_first_kilobyte_is_still_a_pdf() -> None:
    data = (
        b"X" * 100 + (PDFS / "malformed" / "pdfminer" / "zen_of_python_corrupted.pdf").read_bytes()
    )

    doc = extract_pdf(data)

    assert doc.text.startswith("Beautiful is better than ugly.\nExplicit is better than implicit.")


def test_too_many_pages() -> None:
    data = (CUAD / _eval_row(KIROMIC)["pdf"]).read_bytes()

    with pytest.raises(ExtractionError) as caught:
        extract_pdf(data, max_pages=10)

    assert caught.value.code == "too_many_pages"
    assert caught.value.reason == "this PDF has 17 pages; the limit is 10"


def test_permission_only_encryption_opens_with_the_empty_password() -> None:
    doc = extract_pdf((PDFS / "malformed" / "pypdf" / "r2-owner-password.pdf").read_bytes())

    assert doc.text == "pdf encryption test\npassword: asdfzxcv"


def test_user_password_is_refused_plainly() -> None:
    with pytest.raises(ExtractionError) as caught:
        extract_pdf((PDFS / "malformed" / "pypdf" / "r6-both-passwords.pdf").read_bytes())

    assert caught.value.code == "encrypted"
    assert caught.value.reason == (
        "this PDF is password-protected: remove the password and upload it again"
    )


@pytest.mark.parametrize("name", ["bad11.pdf", "bad35.pdf", "bad7_no_trailer.pdf"])
def test_plain_python_exceptions_from_pypdf_become_damaged(name: str) -> None:
    # bad11: TypeError, bad35: AssertionError, bad7: AttributeError inside pypdf.
    with pytest.raises(ExtractionError) as caught:
        extract_pdf((PDFS / "malformed" / "qpdf" / name).read_bytes())

    assert caught.value.code == "malformed"
    assert caught.value.reason == (
        "this PDF is damaged and cannot be read (its internal structure is invalid)"
    )


def test_a_scan_without_text_layer_is_refused_with_advice() -> None:
    with pytest.raises(ExtractionError) as caught:
        extract_pdf((PDFS / "scanned" / "multipage_public_domain_scan.pdf").read_bytes())

    assert caught.value.code == "no_text"
    assert caught.value.reason == (
        "this PDF has no text layer: it is a scan or an image; run OCR on it and upload the result"
    )


def test_a_scan_with_an_ocr_layer_is_read() -> None:
    doc = extract_pdf((PDFS / "scanned" / "vicksburg_scan_with_ocr_layer.pdf").read_bytes())

    assert len(doc.pages) == 6
    assert doc.text.startswith("THE   SIEGE   OF  VICKSBURG. 49\n")
    assert doc.page_at(doc.text.index("THE   SIEGE   OF  VICKSBURG.")) == 1


POTATOES = PDFS / "malformed" / "qpdf" / "outlines-with-loop.pdf"  # 30 pages: "Salad 0".."Salad 29"


def _break_pages(
    monkeypatch: pytest.MonkeyPatch,
    failing: set[int],
    blank: frozenset[int] | set[int] = frozenset(),
) -> None:
    import pypdf

    original = pypdf.PageObject.extract_text

    def extract_text(self: pypdf.PageObject, *args: object, **kwargs: object) -> str:
        text: str = original(self, *args, **kwargs)  # type: ignore[arg-type]
        number = int(text.split()[1]) + 1
        if number in failing:
            raise TypeError("'NoneType' object is not subscriptable")
        return "" if number in blank else text

    monkeypatch.setattr(pypdf.PageObject, "extract_text", extract_text)


def test_a_page_that_fails_is_skipped_with_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    _break_pages(monkeypatch, failing={4})

    doc = extract_pdf(POTATOES.read_bytes())

    assert doc.warnings == ("page 4 could not be read and was skipped",)
    assert len(doc.pages) == 30
    page4 = doc.pages[3]
    assert doc.text[page4.start : page4.end] == "\n\n"
    assert doc.text[doc.pages[4].start : doc.pages[4].end] == "Salad 4\n\n"


def test_pages_without_text_are_named_in_one_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    _break_pages(monkeypatch, failing=set(), blank={2, 3, 4, 9})

    doc = extract_pdf(POTATOES.read_bytes())

    assert doc.warnings == (
        "pages 2-4, 9 have no text (blank, or a scanned image without OCR) "
        "and will not be analyzed",
    )


def test_when_every_page_fails_the_pdf_is_damaged(monkeypatch: pytest.MonkeyPatch) -> None:
    _break_pages(monkeypatch, failing=set(range(1, 31)))

    with pytest.raises(ExtractionError) as caught:
        extract_pdf(POTATOES.read_bytes())

    assert caught.value.code == "malformed"
    assert caught.value.reason == (
        "this PDF is damaged and cannot be read (its internal structure is invalid)"
    )


def test_plain_text_pages_split_at_form_feeds() -> None:
    from docanalysis.core.extraction import extract_text

    doc = extract_text("\ufeffFirst page.\r\nLine two.\fSecond page.\f".encode())
    assert doc.text == "First page.\nLine two.\n\nSecond page."
    assert [(p.number, p.start, p.end) for p in doc.pages] == [(1, 0, 23), (2, 23, 35)]
    assert (
        doc.sha256
        == hashlib.sha256("\ufeffFirst page.\r\nLine two.\fSecond page.\f".encode()).hexdigest()
    )


def test_plain_text_must_be_utf8_and_not_empty() -> None:
    from docanalysis.core.extraction import extract_text

    with pytest.raises(ExtractionError) as caught:
        extract_text(b"caf\xe9")
    assert (caught.value.code, caught.value.reason) == (
        "not_text",
        "this text file is not UTF-8 text; save it as UTF-8 and upload it again",
    )
    with pytest.raises(ExtractionError) as caught:
        extract_text(b"  \n")
    assert caught.value.code == "empty"


def test_plain_text_offsets_index_the_file_as_it_is() -> None:
    from docanalysis.core.extraction import extract_text

    raw = "1. Term.  \nThe term is\x0bfive years.\t\n"
    doc = extract_text(raw.encode())
    assert doc.text == "1. Term.  \nThe term is five years.\t\n"
    assert len(doc.text) == len(raw)
