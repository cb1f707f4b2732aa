"""Grounding: turn what the model points at into the source's own words, page and offsets.

The model only names a category and a provision number; the text a user sees is always cut
from the document here, so a model cannot put words into a contract.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from docanalysis.core.types import ClauseRef, GroundedClause, Provision


def ground(
    refs: Iterable[ClauseRef],
    text: str,
    provisions: Sequence[Provision],
    categories: Collection[str],
) -> tuple[tuple[GroundedClause, ...], int]:
    """Grounded clauses, and how many refs were dropped (unknown provision or category).

    The same (category, provision) cited twice (overlapping windows) is kept once, with the
    first value. Order: by the order of `categories`, then by provision number.
    """
    by_number = {p.number: p for p in provisions}
    rank = {key: position for position, key in enumerate(categories)}
    kept: dict[tuple[str, int], GroundedClause] = {}
    dropped = 0
    for ref in refs:
        provision = by_number.get(ref.provision)
        if provision is None or ref.category not in rank:
            dropped += 1
            continue
        key = (ref.category, ref.provision)
        if key not in kept:
            kept[key] = _grounded(ref, provision, text)
    ordered = sorted(kept.values(), key=lambda c: (rank[c.category], c.provision))
    return tuple(ordered), dropped


def _grounded(ref: ClauseRef, provision: Provision, text: str) -> GroundedClause:
    return GroundedClause(
        category=ref.category,
        provision=provision.number,
        text=text[provision.start : provision.end],
        page=provision.page,
        start=provision.start,
        end=provision.end,
        value=ref.value,
    )
