"""Grounding: turn what the model points at into the source's own words, page and offsets.

The model only names a category and provision numbers; the text a user sees is always cut from
the document here, so a model cannot put words into a contract. Windows overlap, so the same
finding can come from several windows: it is merged into one, with the windows that saw it and
the value most of them gave. What cannot be grounded is dropped with a reason, for the audit.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from docanalysis.core.types import (
    DroppedRef,
    GroundedClause,
    GroundingReport,
    Provision,
    WindowAnalysis,
)

WindowResult = tuple[int, Collection[int], WindowAnalysis]


@dataclass
class _Votes:
    """The windows that proposed one (category, provision), and the value each gave."""

    by_window: dict[int, str] = field(default_factory=dict)

    def add(self, window: int, value: str) -> None:
        # Within one window a non-empty value wins over an empty one; otherwise the first.
        if not self.by_window.get(window):
            self.by_window[window] = value

    def kept_value(self) -> tuple[str, int]:
        """The value proposed by the most windows, and their number.

        Values are compared ignoring case and spacing; the first spelling seen is kept. Ties go
        to the value seen first, and an empty value loses to any non-empty one.
        """
        counts: dict[str, int] = {}
        spelling: dict[str, str] = {}
        for value in self.by_window.values():
            key = " ".join(value.casefold().split())
            counts[key] = counts.get(key, 0) + 1
            spelling.setdefault(key, value)
        order = list(counts)
        best = max(order, key=lambda k: (k != "", counts[k], -order.index(k)))
        return spelling[best], counts[best]


def _why_dropped(
    category: str,
    number: int,
    categories: Collection[str],
    by_number: Mapping[int, Provision],
    window: Collection[int],
) -> str:
    if category not in categories:
        return "unknown category"
    if number not in by_number:
        return "unknown provision"
    if number not in window:
        return "provision outside the window"
    return ""


def _collect(
    results: Sequence[WindowResult],
    by_number: Mapping[int, Provision],
    categories: Collection[str],
) -> tuple[dict[tuple[str, int], _Votes], list[DroppedRef], int]:
    """Votes per (category, provision), refs dropped, and the number of pairs proposed.

    A pair counts once per window that proposes it, however many of its refs repeat it.
    """
    votes: dict[tuple[str, int], _Votes] = {}
    dropped: dict[tuple[int, str, int], DroppedRef] = {}
    proposed: set[tuple[int, str, int]] = set()
    for index, numbers, analysis in results:
        window = set(numbers)
        for ref in analysis.clauses:
            for number in ref.provisions:
                proposed.add((index, ref.category, number))
                why = _why_dropped(ref.category, number, categories, by_number, window)
                if why:
                    drop = DroppedRef(index, ref.category, number, ref.value, why)
                    dropped.setdefault((index, ref.category, number), drop)
                else:
                    votes.setdefault((ref.category, number), _Votes()).add(index, ref.value)
    return votes, list(dropped.values()), len(proposed)


def merge_and_ground(
    results: Sequence[WindowResult],
    text: str,
    provisions: Sequence[Provision],
    categories: Sequence[str],
) -> tuple[tuple[GroundedClause, ...], GroundingReport]:
    """One grounded finding per (category, provision) over all windows, and the report.

    `results` are (window index, the window's provision numbers, its analysis), in window
    order. A ref is dropped if its category is not in `categories`, its provision does not
    exist, or the provision is not in that window (the model saw only its window's numbers).
    Findings are ordered by the order of `categories`, then by provision number; a finding's
    text is text[start:end] of its provision.
    """
    by_number = {p.number: p for p in provisions}
    rank = {key: position for position, key in enumerate(categories)}
    votes, dropped, proposed = _collect(results, by_number, rank)
    findings = []
    for (category, number), vote in sorted(votes.items(), key=lambda i: (rank[i[0][0]], i[0][1])):
        provision = by_number[number]
        value, support = vote.kept_value()
        findings.append(
            GroundedClause(
                category=category,
                provision=number,
                text=text[provision.start : provision.end],
                page=provision.page,
                start=provision.start,
                end=provision.end,
                value=value,
                windows=tuple(sorted(vote.by_window)),
                support=support,
            )
        )
    report = GroundingReport(proposed=proposed, verified=len(findings), dropped=tuple(dropped))
    return tuple(findings), report
