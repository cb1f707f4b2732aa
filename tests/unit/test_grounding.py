"""ground: the model points at provisions; the user sees the source's own words."""

from __future__ import annotations

from docanalysis.core.grounding import ground
from docanalysis.core.types import ClauseRef, GroundedClause, Provision

TEXT = "1. Term. Five years.\n\n2. Law. New York law governs.\n\n3. Notice. Thirty days."
PROVISIONS = (Provision(1, 0, 20, 1), Provision(2, 22, 51, 1), Provision(3, 53, 76, 2))
CATEGORIES = ("governing_law", "expiration_date", "notice_period")


def test_refs_become_source_text_with_page_and_offsets() -> None:
    clauses, dropped = ground(
        [ClauseRef("notice_period", 3, "30 days"), ClauseRef("governing_law", 2, "New York")],
        TEXT,
        PROVISIONS,
        CATEGORIES,
    )

    assert dropped == 0
    assert clauses == (
        GroundedClause("governing_law", 2, "2. Law. New York law governs.", 1, 22, 51, "New York"),
        GroundedClause("notice_period", 3, "3. Notice. Thirty days.", 2, 53, 76, "30 days"),
    )


def test_unknown_provisions_and_categories_are_dropped_and_counted() -> None:
    clauses, dropped = ground(
        [
            ClauseRef("governing_law", 9),  # no provision 9
            ClauseRef("astrology", 1),  # not in the taxonomy
            ClauseRef("expiration_date", 0),
            ClauseRef("expiration_date", 1, "five years"),
        ],
        TEXT,
        PROVISIONS,
        CATEGORIES,
    )

    assert dropped == 3
    assert [(c.category, c.provision, c.text) for c in clauses] == [
        ("expiration_date", 1, "1. Term. Five years.")
    ]


def test_duplicates_from_overlapping_windows_keep_the_first_value() -> None:
    clauses, dropped = ground(
        [
            ClauseRef("governing_law", 2, "New York"),
            ClauseRef("governing_law", 2, "NY"),
            ClauseRef("governing_law", 1, ""),
        ],
        TEXT,
        PROVISIONS,
        CATEGORIES,
    )

    assert dropped == 0
    assert [(c.provision, c.value) for c in clauses] == [(1, ""), (2, "New York")]
