"""A document's (or a matter's) analysis as a PDF, written by docanalysis.pdf_report (no PDF
library): the same content as the Word report. Its table cuts what does not fit a column, so
the clause table is followed by each clause's full quote, wrapped."""

from __future__ import annotations

from collections.abc import Sequence

from docanalysis.pdf_report import Column, PdfReport
from docanalysis.reports.content import (
    ClauseRow,
    ReportMeta,
    clause_rows,
    facts,
    model_lines,
    note,
    stamp,
    summary_lines,
)
from docanalysis.services.views import DocumentAnalysis

TABLE = (
    Column("#", 16),
    Column("Category", 95),
    Column("Page", 26),
    Column("Value", 140),
    Column("Guard", 80),
    Column("Review", 95),
)  # 452 points of the page's 495, with the gaps between the columns


def document_pdf(analysis: DocumentAnalysis, meta: ReportMeta) -> bytes:
    title = f"Analysis of {analysis.document.name}"
    report = PdfReport(title, created_at=meta.created_at)
    report.heading(title, size=16)
    _exported(report, meta)
    _document(report, analysis, meta, size=13)
    return report.to_bytes()


def matter_pdf(matter_name: str, analyses: Sequence[DocumentAnalysis], meta: ReportMeta) -> bytes:
    report = PdfReport(f"Matter report: {matter_name}", created_at=meta.created_at)
    report.heading(f"Matter report: {matter_name}", size=16)
    _exported(report, meta)
    count = len(analyses)
    report.line(f"{count} document{'s' if count != 1 else ''}." if count else "No documents.")
    for analysis in analyses:
        report.line(f"- {analysis.document.name} ({len(clause_rows(analysis))} clauses)")
    for analysis in analyses:
        report.heading(analysis.document.name, size=14)
        _document(report, analysis, meta, size=11)
    return report.to_bytes()


def _exported(report: PdfReport, meta: ReportMeta) -> None:
    report.line(f"Exported by {meta.exported_by} on {stamp(meta.created_at)}.")


def _document(report: PdfReport, analysis: DocumentAnalysis, meta: ReportMeta, size: float) -> None:
    for label, value in facts(analysis, meta):
        report.line(f"{label}: {value}")
    report.heading("Summary", size=size)
    for line in summary_lines(analysis):
        report.line(line)
    if analysis.warnings:
        report.heading("Warnings", size=size)
        for warning in analysis.warnings:
            report.line(f"- {warning}")
    report.heading("Clauses", size=size)
    rows = clause_rows(analysis)
    if rows:
        report.table(TABLE, [_cells(n, row) for n, row in enumerate(rows, start=1)])
        report.heading("Clause text", size=size - 1)
        for n, row in enumerate(rows, start=1):
            _clause(report, n, row)
    else:
        report.line("No clauses found.")
    report.line(note(analysis))
    report.heading("Model and guard", size=size)
    for label, value in model_lines(analysis):
        report.line(f"{label}: {value}")


def _cells(n: int, row: ClauseRow) -> list[str]:
    return [str(n), row.category, row.page, row.value, row.guard, row.review]


def _clause(report: PdfReport, n: int, row: ClauseRow) -> None:
    """One clause: where it is, the source's words, and how far it may be trusted."""
    where = f"p. {row.page}" if row.page else "page unknown"
    report.line(f"{n}. {row.category}, {where}", bold=True)
    if row.shown:
        report.line(f"“{row.quote}”")
        if row.value:
            report.line(f"Value: {row.value}")
    else:
        report.line(f"The text is not shown: {row.guard}.")
    trust = [f"Confidence: {row.basis}" if row.basis else "", f"Guard: {row.guard}", row.review]
    report.line(" | ".join(t for t in trust if t))
    report.blank()
