"""A document's (or a matter's) analysis as a Word document (DOCX, python-docx): the facts,
the summary with the provisions it cites, the clause table (category, value, the source's
words, page, confidence, guard, review), and the model and guard that produced it. Landscape
A4, so the table's seven columns have room. A matter's report has one section per document."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from docanalysis.reports.content import (
    ReportMeta,
    clause_rows,
    facts,
    model_lines,
    note,
    stamp,
    summary_lines,
    xml_safe,
)
from docanalysis.reports.stable_zip import restamp
from docanalysis.services.views import DocumentAnalysis

COLUMNS = (
    ("Category", 1.2),
    ("Value", 1.4),
    ("Source text", 3.6),
    ("Page", 0.5),
    ("Confidence", 1.0),
    ("Guard", 1.0),
    ("Review", 1.0),
)  # titles and widths in inches: 9.7 of the page's 10.1


def document_docx(analysis: DocumentAnalysis, meta: ReportMeta) -> bytes:
    doc = _new(f"Analysis of {analysis.document.name}", meta)
    doc.add_heading(xml_safe(f"Analysis of {analysis.document.name}"), level=0)
    _exported(doc, meta)
    _document(doc, analysis, meta, level=1)
    return _save(doc, meta)


def matter_docx(matter_name: str, analyses: Sequence[DocumentAnalysis], meta: ReportMeta) -> bytes:
    doc = _new(f"Matter {matter_name}", meta)
    doc.add_heading(xml_safe(f"Matter report: {matter_name}"), level=0)
    _exported(doc, meta)
    doc.add_paragraph(f"{len(analyses)} document{'s' if len(analyses) != 1 else ''}:")
    for analysis in analyses:
        rows = clause_rows(analysis)
        line = f"{analysis.document.name} ({len(rows)} clause{'s' if len(rows) != 1 else ''})"
        doc.add_paragraph(xml_safe(line), style="List Bullet")
    if not analyses:
        doc.add_paragraph("This matter has no documents.")
    for analysis in analyses:
        doc.add_page_break()
        doc.add_heading(xml_safe(analysis.document.name), level=1)
        _document(doc, analysis, meta, level=2)
    return _save(doc, meta)


def _new(title: str, meta: ReportMeta) -> Any:
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.shared import Cm, Pt

    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(29.7), Cm(21.0)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(2))
    doc.styles["Normal"].font.size = Pt(10)
    props = doc.core_properties
    props.title, props.author = xml_safe(title), "docanalysis"
    props.last_modified_by, props.revision = "docanalysis", 1
    props.created = props.modified = meta.created_at
    return doc


def _exported(doc: Any, meta: ReportMeta) -> None:
    text = f"Exported by {meta.exported_by} on {stamp(meta.created_at)}."
    doc.add_paragraph(xml_safe(text))


def _document(doc: Any, analysis: DocumentAnalysis, meta: ReportMeta, level: int) -> None:
    _pairs(doc, facts(analysis, meta))
    doc.add_heading("Summary", level=level)
    for line in summary_lines(analysis):
        doc.add_paragraph(xml_safe(line))
    if analysis.warnings:
        doc.add_heading("Warnings", level=level)
        for warning in analysis.warnings:
            doc.add_paragraph(xml_safe(warning), style="List Bullet")
    doc.add_heading("Clauses", level=level)
    _clauses(doc, analysis)
    doc.add_paragraph(note(analysis))
    doc.add_heading("Model and guard", level=level)
    _pairs(doc, model_lines(analysis))


def _pairs(doc: Any, pairs: Sequence[tuple[str, str]]) -> None:
    """Label and value, one paragraph each, the label bold."""
    for label, value in pairs:
        paragraph = doc.add_paragraph()
        paragraph.add_run(f"{label}: ").bold = True
        paragraph.add_run(xml_safe(value))


def _clauses(doc: Any, analysis: DocumentAnalysis) -> None:
    rows = clause_rows(analysis)
    if not rows:
        doc.add_paragraph("No clauses found.")
        return
    table = doc.add_table(rows=1, cols=len(COLUMNS))
    table.style = "Table Grid"
    _repeat_header(table.rows[0])
    for cell, (title, _) in zip(table.rows[0].cells, COLUMNS, strict=True):
        cell.paragraphs[0].add_run(title).bold = True
    for row in rows:
        quote = f"“{row.quote}”" if row.shown else f"({row.guard}: text not shown)"
        values = (row.category, row.value, quote, row.page, row.basis, row.guard, row.review)
        for cell, value in zip(table.add_row().cells, values, strict=True):
            cell.text = xml_safe(value)
    _widths(table)


def _widths(table: Any) -> None:
    from docx.shared import Inches

    table.autofit = False
    for row in table.rows:
        for cell, (_, width) in zip(row.cells, COLUMNS, strict=True):
            cell.width = Inches(width)


def _repeat_header(row: Any) -> None:
    """Word repeats the header row on every page the table runs onto."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    flag = OxmlElement("w:tblHeader")
    flag.set(qn("w:val"), "true")
    row._tr.get_or_add_trPr().append(flag)


def _save(doc: Any, meta: ReportMeta) -> bytes:
    out = io.BytesIO()
    doc.save(out)
    return restamp(out.getvalue(), meta.created_at)
