"""What every report says about one document, as plain strings: the facts, the summary with
the provisions it cites, one row per clause, and the model and guard that produced them. The
DOCX and PDF writers only lay these out, so the two formats cannot disagree."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from docanalysis.services.views import DocumentAnalysis, FindingView

HELD = "held for review"
PENDING = "awaiting guard review"
BASIS = {
    "agreed": "model and scorer agree",
    "candidate": "candidate for review",
    "unconfirmed": "unconfirmed",
    "model_only": "model only",
}
_SPACES = re.compile(r"\s+")
# What XML 1.0 (so DOCX and XLSX) cannot hold: C0 controls but tab and line breaks, lone
# surrogates, and the two non-characters U+FFFE and U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class ReportMeta:
    """Who exported the report and when (printed in it; the same input gives the same file)."""

    created_at: datetime
    exported_by: str
    matter_name: str = ""


@dataclass(frozen=True)
class ClauseRow:
    finding_id: int
    category: str  # the category's name
    value: str
    quote: str  # the source's own words; "" when held or pending
    page: str  # "3", or "" when unknown
    basis: str  # "0.20 · model only"
    guard: str  # "released", "flagged (S1)", "held for review", ...
    review: str  # "reviewed by alice (corrected)", or ""
    shown: bool


def one_line(text: str) -> str:
    """Whitespace (line breaks of the PDF's layout) collapsed to single spaces."""
    return _SPACES.sub(" ", text).strip()


def xml_safe(text: str) -> str:
    """`text` without the characters an Office file cannot hold (a PDF's text may have them)."""
    return _NOT_XML.sub(" ", text)


def stamp(moment: datetime) -> str:
    """A moment in UTC; a naive one (SQLite gives them back so) is already UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def facts(analysis: DocumentAnalysis, meta: ReportMeta) -> list[tuple[str, str]]:
    doc = analysis.document
    found = [
        ("Document", doc.name),
        ("Pages", "" if doc.pages is None else str(doc.pages)),
        ("Uploaded", stamp(doc.uploaded_at)),
        ("Analysis", doc.status.label),
        ("SHA-256", doc.sha256),
    ]
    if meta.matter_name:
        found.insert(0, ("Matter", meta.matter_name))
    return found


def summary_lines(analysis: DocumentAnalysis) -> list[str]:
    """The summary's sentences, each ending with the provisions it rests on."""
    s = analysis.summary
    if s is None:
        return ["No summary."]
    if s.status == "held":
        return [f"The summary is {HELD}."]
    if not s.shown:
        return [f"The summary is {PENDING}."]
    if not s.sentences:
        return [one_line(s.text)] if s.text.strip() else ["The model wrote no summary."]
    return [
        one_line(line.text) + "".join(f" [§{p.n}, p. {p.page}]" for p in line.provisions)
        for line in s.sentences
    ]


def clause_rows(analysis: DocumentAnalysis) -> list[ClauseRow]:
    """One row per clause that is not rejected, in the order of the analysis."""
    return [_row(c) for c in analysis.clauses if not c.rejected]


def rejected_count(analysis: DocumentAnalysis) -> int:
    return sum(1 for c in analysis.clauses if c.rejected)


def _row(c: FindingView) -> ClauseRow:
    final = c.final
    page = final.page if c.shown else c.page
    return ClauseRow(
        finding_id=c.id,
        category=final.category_name or final.category,
        # Never the words of what the guard has not released.
        value=one_line(final.value) if c.shown else "",
        quote=one_line(final.text) if c.shown else "",
        page="" if page is None else str(page),
        basis=_basis(c),
        guard=_guard(c),
        review=reviewed(c),
        shown=c.shown,
    )


def _basis(c: FindingView) -> str:
    parts = [] if c.confidence is None else [f"{c.confidence:.2f}"]
    if c.basis:
        parts.append(BASIS.get(c.basis, c.basis))
    return " · ".join(parts)


def _guard(c: FindingView) -> str:
    if c.status == "held":
        return HELD
    if c.status not in ("released", "flagged"):
        return PENDING
    label = "flagged" if c.status == "flagged" else "released"
    if c.guard_categories:
        label += f" ({', '.join(c.guard_categories)})"
    if c.released_by:
        label += f", released by {c.released_by}"
    return label


def reviewed(c: FindingView) -> str:
    if c.review is None:
        return ""
    return f"reviewed by {c.review.reviewer} ({c.review.decision})"


def model_lines(analysis: DocumentAnalysis) -> list[tuple[str, str]]:
    """The model and guard behind the results, for the section "Model and guard"."""
    findings = [f for f in (analysis.summary, *analysis.clauses) if f is not None]
    guards = sorted({f.guard_model for f in findings if f.guard_model})
    policies = sorted(
        {
            f"{f.guard_policy_version} (sha256 {f.guard_policy_sha256})"
            if f.guard_policy_sha256
            else f.guard_policy_version
            for f in findings
            if f.guard_policy_version
        }
    )
    lines = [
        ("Model", analysis.model_id or "—"),
        ("Model revision", analysis.model_revision or "—"),
        ("Guard model", ", ".join(guards) or "—"),
        ("Guard policy", ", ".join(policies) or "—"),
    ]
    usage = analysis.usage
    calls = usage.get("calls")
    if calls:
        tokens = f"{usage.get('prompt_tokens', 0)} prompt and {usage.get('completion_tokens', 0)}"
        lines.append(
            ("Usage", f"{calls} model call{'s' if calls != 1 else ''}, {tokens} output tokens")
        )
    return lines


def note(analysis: DocumentAnalysis) -> str:
    """What the reader should know about the clause table."""
    rejected = rejected_count(analysis)
    text = (
        "Every quote is the document's own text; pages are the PDF's. A reviewer's correction "
        "replaces the model's clause."
    )
    if rejected:
        text += f" {rejected} clause{'s' if rejected != 1 else ''} rejected in review "
        text += "are not listed." if rejected != 1 else "is not listed."
    return text
