"""The review grid: one row per document, one column per chosen clause category; each cell
holds the category's final values in that document, each with its page and finding id (what
a link to the source needs)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from docanalysis.reports.content import HELD, one_line
from docanalysis.services.views import DocumentAnalysis, FindingView

DEFAULT_COLUMNS = 8
QUOTE_CHARS = 120  # a clause without a value shows the start of its text
ANALYZED = ("done", "held")


@dataclass(frozen=True)
class CellValue:
    finding_id: int
    text: str  # the final value (or the start of the quote); HELD when the guard holds it
    page: int | None
    held: bool = False
    reviewer: str = ""  # who reviewed it; "" if nobody has

    @property
    def label(self) -> str:
        return self.text if self.page is None else f"{self.text} (p. {self.page})"


@dataclass(frozen=True)
class GridRow:
    document_id: int
    name: str
    pages: int | None
    status: str  # the run's label: "Done", "Analyzing part 2 of 5", ...
    analyzed: bool  # False while running or failed: empty cells mean "not known", not "absent"
    cells: tuple[tuple[CellValue, ...], ...]  # one per column of the grid


@dataclass(frozen=True)
class Grid:
    categories: tuple[str, ...]  # the columns' category keys
    names: tuple[str, ...]  # and their names
    rows: tuple[GridRow, ...]


def build_grid(
    analyses: Sequence[DocumentAnalysis], categories: Sequence[str], names: Mapping[str, str]
) -> Grid:
    """The grid of `analyses` (rows in the given order) over `categories` (columns)."""
    rows = tuple(_row(a, categories) for a in analyses)
    return Grid(tuple(categories), tuple(names.get(c, c) for c in categories), rows)


def _row(analysis: DocumentAnalysis, categories: Sequence[str]) -> GridRow:
    doc = analysis.document
    by_category: dict[str, list[CellValue]] = {c: [] for c in categories}
    for clause in analysis.clauses:
        category = clause.final.category
        if not clause.rejected and category in by_category:
            by_category[category].append(_value(clause))
    return GridRow(
        document_id=doc.id,
        name=doc.name,
        pages=doc.pages,
        status=doc.status.label,
        analyzed=doc.status.state in ANALYZED,
        cells=tuple(tuple(by_category[c]) for c in categories),
    )


def _value(clause: FindingView) -> CellValue:
    reviewer = clause.review.reviewer if clause.review is not None else ""
    if not clause.shown:  # never the words the guard has not released
        return CellValue(clause.id, HELD, clause.page, held=True, reviewer=reviewer)
    final = clause.final
    text = one_line(final.value) or _short(one_line(final.text))
    return CellValue(clause.id, text, final.page, reviewer=reviewer)


def _short(text: str) -> str:
    if len(text) <= QUOTE_CHARS:
        return text
    return text[: QUOTE_CHARS - 1].rstrip() + "…"


def cell_text(values: Iterable[CellValue]) -> str:
    """A cell as one line of text (CSV, XLSX): "Delaware (p. 3); New York (p. 9)"."""
    return "; ".join(v.label for v in values)


def category_counts(analyses: Iterable[DocumentAnalysis]) -> Counter[str]:
    """In how many documents each category has a clause that is not rejected."""
    counts: Counter[str] = Counter()
    for analysis in analyses:
        counts.update({c.final.category for c in analysis.clauses if not c.rejected})
    return counts


def default_categories(
    analyses: Iterable[DocumentAnalysis], names: Mapping[str, str], limit: int = DEFAULT_COLUMNS
) -> list[str]:
    """The columns a grid starts with: the categories found in the most documents (ties by
    name), at most `limit`, in taxonomy order (the order of `names`)."""
    counts = category_counts(analyses)
    ranked = sorted(counts, key=lambda c: (-counts[c], names.get(c, c)))[:limit]
    order = {key: index for index, key in enumerate(names)}
    return sorted(ranked, key=lambda c: (order.get(c, len(order)), c))
