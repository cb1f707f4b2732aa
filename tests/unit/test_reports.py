"""The reports' pure core: the review grid, the formula guard, and the files themselves, opened
with the libraries a reader's software uses (python-docx, pypdf, openpyxl, csv)."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from docanalysis.reports import docx_report, pdf_reports
from docanalysis.reports.content import ReportMeta
from docanalysis.reports.grid import CellValue, Grid, GridRow, build_grid, default_categories
from docanalysis.reports.grid_export import grid_csv, grid_xlsx, safe_cell
from docanalysis.services.views import (
    CitedProvision,
    DocumentAnalysis,
    DocumentView,
    FindingView,
    ReviewView,
    RunStatus,
    SummaryLine,
)

WHEN = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
META = ReportMeta(WHEN, "alice <alice@firm.example>", "Acquisition of Beta")
NAMES = {
    "parties": "Parties",
    "agreement_date": "Agreement Date",
    "governing_law": "Governing Law",
    "cap_on_liability": "Cap On Liability",
}
LAW = "This Agreement is governed by the laws of the State of Delaware."
HELD_WORDS = "SECRET WORDS THE GUARD HOLDS"
BASE = "https://docs.firm.example/"


def _clause(
    fid: int, category: str, text: str, page: int, value: str = "", **kw: object
) -> FindingView:
    fields: dict[str, object] = {
        "kind": "clause",
        "category": category,
        "category_name": NAMES[category],
        "text": text,
        "page": page,
        "start": 10 * fid,
        "end": 10 * fid + len(text),
        "value": value,
        "status": "released",
        "verdict": "safe",
        "guard_categories": (),
        "guard_model": "meta-llama/Llama-Guard-3-1B",
        "guard_policy_version": "2026-01",
        "guard_policy_sha256": "ab" * 32,
        "confidence": 0.87,
        "basis": "agreed",
        "id": fid,
    }
    fields.update(kw)
    return FindingView(**fields)  # type: ignore[arg-type]


def _review(decision: str, **kw: object) -> ReviewView:
    fields: dict[str, object] = {
        "decision": decision,
        "reviewer": "bob <bob@firm.example>",
        "reviewed_at": WHEN,
        "category": "",
        "category_name": "",
        "value": "",
        "text": "",
        "page": None,
        "start": None,
        "end": None,
    }
    fields.update(kw)
    return ReviewView(**fields)  # type: ignore[arg-type]


def _analysis(document_id: int, name: str, clauses: tuple[FindingView, ...]) -> DocumentAnalysis:
    status = RunStatus(document_id, "done", "Done", "", 4, 4, True, WHEN)
    doc = DocumentView(document_id, 7, name, "cd" * 32, 1000, 3, 2000, WHEN, status)
    summary = replace(
        _clause(100 + document_id, "parties", "", 1),
        kind="summary",
        category="",
        text="A supply agreement.",
        sentences=(SummaryLine("A supply agreement.", (CitedProvision(2, 1, 0, 40),)),),
    )
    return DocumentAnalysis(doc, "org/contract-model", "rev-9f8e", summary, clauses, (), 0)


def _supply() -> DocumentAnalysis:
    """Governing law on p. 3, parties corrected by a reviewer, a cap the guard holds, and a
    date a reviewer rejected."""
    return _analysis(
        1,
        "supply.pdf",
        (
            _clause(11, "governing_law", LAW, 3, "Delaware", review=_review("confirmed")),
            _clause(
                12,
                "parties",
                "Acme LLC",
                1,
                "Acme",
                review=_review(
                    "corrected",
                    category="parties",
                    category_name="Parties",
                    value="Acme Components LLC",
                    text="Acme Components LLC and Beta Devices Inc.",
                    page=1,
                    start=5,
                    end=46,
                ),
            ),
            _clause(13, "cap_on_liability", HELD_WORDS, 2, "", status="held", verdict="held"),
            _clause(
                14, "agreement_date", "July 6, 2020", 1, "2020-07-06", review=_review("rejected")
            ),
        ),
    )


def _license() -> DocumentAnalysis:
    return _analysis(
        2,
        "=license.pdf",
        (
            _clause(21, "governing_law", "governed by the laws of New York", 2, "=1+1"),
            _clause(22, "agreement_date", "March 1, 2019", 1, "2019-03-01"),
        ),
    )


def _text(data: str) -> str:
    return re.sub(r"\s+", " ", data)


# -- the grid -----------------------------------------------------------------------------


def test_the_grid_holds_final_values_with_pages_and_finding_ids() -> None:
    grid = build_grid(
        [_supply(), _license()], ["governing_law", "parties", "agreement_date"], NAMES
    )
    reviewer = "bob <bob@firm.example>"
    assert grid == Grid(
        ("governing_law", "parties", "agreement_date"),
        ("Governing Law", "Parties", "Agreement Date"),
        (
            GridRow(
                1,
                "supply.pdf",
                3,
                "Done",
                True,
                (
                    (CellValue(11, "Delaware", 3, reviewer=reviewer),),
                    (CellValue(12, "Acme Components LLC", 1, reviewer=reviewer),),
                    (),  # the date was rejected in review
                ),
            ),
            GridRow(
                2,
                "=license.pdf",
                3,
                "Done",
                True,
                ((CellValue(21, "=1+1", 2),), (), (CellValue(22, "2019-03-01", 1),)),
            ),
        ),
    )


def test_a_held_clause_is_a_cell_that_says_so_without_its_words() -> None:
    grid = build_grid([_supply()], ["cap_on_liability"], NAMES)
    assert grid.rows[0].cells == ((CellValue(13, "held for review", 2, held=True),),)


def test_a_clause_without_a_value_shows_the_start_of_its_words() -> None:
    long = "The Supplier shall " + "deliver the goods on time " * 10
    analysis = _analysis(3, "x.pdf", (_clause(31, "parties", long, 2),))
    (value,) = build_grid([analysis], ["parties"], NAMES).rows[0].cells[0]
    assert len(value.text) == 120
    assert value.text.startswith("The Supplier shall deliver") and value.text.endswith("…")


def test_default_columns_are_the_most_common_categories_in_taxonomy_order() -> None:
    analyses = [_supply(), _license()]
    # governing law in 2 documents; parties and agreement date (the rejected one not counted)
    # and the held cap in 1 each.
    assert default_categories(analyses, NAMES, limit=2) == ["agreement_date", "governing_law"]
    assert default_categories(analyses, NAMES) == list(NAMES)


# -- spreadsheets ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Delaware", "Delaware"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_cells_a_spreadsheet_would_run_are_made_text(value: str, cell: str) -> None:
    assert safe_cell(value) == cell


def test_csv_has_a_bom_and_reads_back_with_formulas_made_inert() -> None:
    grid = build_grid([_supply(), _license()], ["governing_law", "agreement_date"], NAMES)
    data = grid_csv(grid, BASE)
    assert data.startswith(b"\xef\xbb\xbfDocument,Pages,Analysis,Governing Law,")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [
        ["Document", "Pages", "Analysis", "Governing Law", "Agreement Date", "Link"],
        ["supply.pdf", "3", "Done", "Delaware (p. 3)", "", f"{BASE}documents/1/"],
        ["'=license.pdf", "3", "Done", "'=1+1 (p. 2)", "2019-03-01 (p. 1)", f"{BASE}documents/2/"],
    ]
    assert b"Link" not in grid_csv(grid)  # no address, no link column


def test_xlsx_opens_with_a_bold_frozen_header_links_and_inert_formulas() -> None:
    from openpyxl import load_workbook

    grid = build_grid([_supply(), _license()], ["governing_law", "parties"], NAMES)
    data = grid_xlsx(grid, WHEN, BASE, "Review grid: Beta")
    assert grid_xlsx(grid, WHEN, BASE, "Review grid: Beta") == data  # the same bytes again
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    assert [c.value for c in sheet[1]] == [
        "Document",
        "Pages",
        "Analysis",
        "Governing Law",
        "Parties",
        "Link",
    ]
    assert all(c.font.bold for c in sheet[1])
    assert sheet.freeze_panes == "B2"
    assert sheet["A2"].value == "supply.pdf"
    assert sheet["A2"].hyperlink.target == f"{BASE}documents/1/"
    assert sheet["D2"].value == "Delaware (p. 3)"
    assert sheet["D2"].hyperlink.target == f"{BASE}documents/1/#finding-11"
    assert sheet["E2"].value == "Acme Components LLC (p. 1)"
    assert (sheet["A3"].value, sheet["A3"].data_type) == ("'=license.pdf", "s")
    assert (sheet["D3"].value, sheet["D3"].data_type) == ("'=1+1 (p. 2)", "s")
    assert sheet["E3"].value is None and sheet["E3"].hyperlink is None


# -- reports -------------------------------------------------------------------------------


def _docx_text(data: bytes) -> tuple[list[str], list[list[str]]]:
    from docx import Document

    doc = Document(io.BytesIO(data))
    tables = [[c.text for c in row.cells] for t in doc.tables for row in t.rows]
    return [p.text for p in doc.paragraphs], tables


def test_docx_report_has_the_clause_table_summary_and_model() -> None:
    data = docx_report.document_docx(_supply(), META)
    assert docx_report.document_docx(_supply(), META) == data  # the same bytes again
    paragraphs, rows = _docx_text(data)
    assert paragraphs[:3] == [
        "Analysis of supply.pdf",
        "Exported by alice <alice@firm.example> on 2026-03-04 05:06 UTC.",
        "Matter: Acquisition of Beta",
    ]
    assert "A supply agreement. [§2, p. 1]" in paragraphs
    assert rows[0] == ["Category", "Value", "Source text", "Page", "Confidence", "Guard", "Review"]
    assert rows[1] == [
        "Governing Law",
        "Delaware",
        f"“{LAW}”",
        "3",
        "0.87 · model and scorer agree",
        "released",
        "reviewed by bob <bob@firm.example> (confirmed)",
    ]
    assert rows[2][:4] == [
        "Parties",
        "Acme Components LLC",
        "“Acme Components LLC and Beta Devices Inc.”",
        "1",
    ]
    assert rows[3][:4] == ["Cap On Liability", "", "(held for review: text not shown)", "2"]
    assert len(rows) == 4  # the rejected date is left out, and counted:
    assert any(p.endswith("1 clause rejected in review is not listed.") for p in paragraphs)
    assert "Model: org/contract-model" in paragraphs
    assert "Model revision: rev-9f8e" in paragraphs
    assert "Guard model: meta-llama/Llama-Guard-3-1B" in paragraphs
    assert f"Guard policy: 2026-01 (sha256 {'ab' * 32})" in paragraphs
    everything = str(paragraphs) + str(rows)
    assert HELD_WORDS not in everything and "July 6, 2020" not in everything


def test_pdf_report_holds_each_clause_in_full_with_its_page() -> None:
    from pypdf import PdfReader

    data = pdf_reports.document_pdf(_supply(), META)
    assert pdf_reports.document_pdf(_supply(), META) == data
    text = _text(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages))
    assert f"1. Governing Law, p. 3 “{LAW}” Value: Delaware" in text
    assert "“Acme Components LLC and Beta Devices Inc.”" in text
    assert "reviewed by bob <bob@firm.example> (corrected)" in text
    assert "3. Cap On Liability, p. 2 The text is not shown: held for review." in text
    assert "Model: org/contract-model Model revision: rev-9f8e" in text
    assert HELD_WORDS not in text and "July 6, 2020" not in text


def test_matter_reports_have_a_section_per_document() -> None:
    from pypdf import PdfReader

    analyses = [_supply(), _license()]
    paragraphs, rows = _docx_text(docx_report.matter_docx("Beta", analyses, META))
    assert paragraphs[0] == "Matter report: Beta"
    assert "supply.pdf (3 clauses)" in paragraphs and "=license.pdf (2 clauses)" in paragraphs
    assert [p for p in paragraphs if p in ("supply.pdf", "=license.pdf")] == [
        "supply.pdf",
        "=license.pdf",
    ]  # the sections' headings
    assert "“governed by the laws of New York”" in [r[2] for r in rows]
    data = pdf_reports.matter_pdf("Beta", analyses, META)
    text = _text(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages))
    assert f"“{LAW}”" in text and "“governed by the laws of New York”" in text


def test_an_empty_matter_still_makes_a_report() -> None:
    paragraphs, rows = _docx_text(docx_report.matter_docx("Empty", [], META))
    assert "This matter has no documents." in paragraphs and rows == []
    assert pdf_reports.matter_pdf("Empty", [], META).startswith(b"%PDF-1.4")


def test_a_document_still_running_has_empty_cells_and_its_state() -> None:
    running = _license()
    status = RunStatus(2, "analyzing", "Analyzing part 1 of 2", "", 0, 2, False, WHEN)
    running = replace(running, document=replace(running.document, status=status), clauses=())
    grid = build_grid([running], ["parties"], NAMES)
    assert grid.rows[0] == GridRow(2, "=license.pdf", 3, "Analyzing part 1 of 2", False, ((),))
    rows = list(csv.reader(io.StringIO(grid_csv(grid).decode("utf-8-sig"))))
    assert rows[1] == ["'=license.pdf", "3", "Analyzing part 1 of 2", ""]
