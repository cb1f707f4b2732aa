"""merge_and_ground: the model points at provisions; the user sees the source's own words."""

from __future__ import annotations

from docanalysis.core.grounding import merge_and_ground
from docanalysis.core.types import (
    ClauseRef,
    DroppedRef,
    GroundedClause,
    GroundingReport,
    Provision,
    WindowAnalysis,
)

TEXT = "1. Term. Five years.\n\n2. Law. New York law governs.\n\n3. Notice. Thirty days."
PROVISIONS = (Provision(1, 0, 20, 1), Provision(2, 22, 51, 1), Provision(3, 53, 76, 2))
CATEGORIES = ("governing_law", "expiration_date", "notice_period")


def analysis(*clauses: ClauseRef) -> WindowAnalysis:
    return WindowAnalysis(summary=(), clauses=clauses)


def test_refs_become_source_text_with_page_and_offsets_in_taxonomy_order() -> None:
    result = analysis(
        ClauseRef("notice_period", (3,), "30 days"),
        ClauseRef("governing_law", (2, 1), "New York"),
    )
    clauses, report = merge_and_ground([(0, (1, 2, 3), result)], TEXT, PROVISIONS, CATEGORIES)

    assert clauses == (
        GroundedClause("governing_law", 1, "1. Term. Five years.", 1, 0, 20, "New York", (0,), 1),
        GroundedClause(
            "governing_law", 2, "2. Law. New York law governs.", 1, 22, 51, "New York", (0,), 1
        ),
        GroundedClause(
            "notice_period", 3, "3. Notice. Thirty days.", 2, 53, 76, "30 days", (0,), 1
        ),
    )
    assert all(TEXT[c.start : c.end] == c.text for c in clauses)
    assert report == GroundingReport(proposed=3, verified=3, dropped=())


def test_each_drop_reason_is_recorded() -> None:
    first = analysis(
        ClauseRef("governing_law", (9,), "NY"),
        ClauseRef("astrology", (1,), "Leo"),
        ClauseRef("expiration_date", (3, 1), "five years"),
    )
    second = analysis(ClauseRef("notice_period", (0, 3), ""))
    clauses, report = merge_and_ground(
        [(0, [1, 2], first), (1, [3], second)], TEXT, PROVISIONS, CATEGORIES
    )

    assert [(c.category, c.provision, c.windows) for c in clauses] == [
        ("expiration_date", 1, (0,)),
        ("notice_period", 3, (1,)),
    ]
    assert report == GroundingReport(
        proposed=6,
        verified=2,
        dropped=(
            DroppedRef(0, "governing_law", 9, "NY", "unknown provision"),
            DroppedRef(0, "astrology", 1, "Leo", "unknown category"),
            DroppedRef(0, "expiration_date", 3, "five years", "provision outside the window"),
            DroppedRef(1, "notice_period", 0, "", "unknown provision"),
        ),
    )


def test_overlap_duplicates_merge_with_the_best_supported_value() -> None:
    results = [
        (0, (1, 2), analysis(ClauseRef("governing_law", (2,), "NY"))),
        (1, (2, 3), analysis(ClauseRef("governing_law", (2,), "New  York"))),
        (2, (2, 3), analysis(ClauseRef("governing_law", (2,), "new york"))),
    ]
    clauses, report = merge_and_ground(results, TEXT, PROVISIONS, CATEGORIES)

    assert clauses == (
        GroundedClause(
            "governing_law",
            2,
            "2. Law. New York law governs.",
            1,
            22,
            51,
            value="New  York",  # two windows agree, ignoring case and spacing; first spelling
            windows=(0, 1, 2),
            support=2,
        ),
    )
    assert report == GroundingReport(proposed=3, verified=1, dropped=())


def test_ties_go_to_the_first_value_and_empty_loses() -> None:
    results = [
        (1, (1, 2), analysis(ClauseRef("governing_law", (2,), ""))),
        (0, (1, 2), analysis(ClauseRef("governing_law", (2,), ""))),
        (3, (2, 3), analysis(ClauseRef("governing_law", (2,), "Delaware"))),
        (2, (2, 3), analysis(ClauseRef("governing_law", (2,), "New York"))),
    ]
    clauses, report = merge_and_ground(results, TEXT, PROVISIONS, CATEGORIES)

    assert [(c.value, c.windows, c.support) for c in clauses] == [("Delaware", (0, 1, 2, 3), 1)]
    assert (report.proposed, report.verified) == (4, 1)


def test_a_pair_counts_once_per_window() -> None:
    # One window citing the same provision twice, once without a value: one vote, the value.
    result = analysis(
        ClauseRef("notice_period", (3,), ""),
        ClauseRef("notice_period", (2, 3), "30 days"),
        ClauseRef("astrology", (3,), "a"),
        ClauseRef("astrology", (3,), "b"),
    )
    clauses, report = merge_and_ground([(4, (2, 3), result)], TEXT, PROVISIONS, CATEGORIES)

    assert [(c.provision, c.value, c.windows, c.support) for c in clauses] == [
        (2, "30 days", (4,), 1),
        (3, "30 days", (4,), 1),
    ]
    assert report == GroundingReport(
        proposed=3,
        verified=2,
        dropped=(DroppedRef(4, "astrology", 3, "a", "unknown category"),),
    )


def test_nothing_proposed() -> None:
    assert merge_and_ground([], TEXT, PROVISIONS, CATEGORIES) == (
        (),
        GroundingReport(proposed=0, verified=0, dropped=()),
    )
