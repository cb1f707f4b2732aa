"""Clause categories the model is asked to find.

The names and descriptions are CUAD's (data/cuad/category_descriptions.csv), written here as
literals because the core reads no files. This is the first slice of the 41 categories; the
taxonomy is data, so callers may pass their own tuple instead of DEFAULT_CATEGORIES.
"""

from __future__ import annotations

from docanalysis.core.types import ClauseCategory

DEFAULT_CATEGORIES: tuple[ClauseCategory, ...] = (
    ClauseCategory(
        key="parties",
        name="Parties",
        description="The two or more parties who signed the contract",
        value_kind="text",
    ),
    ClauseCategory(
        key="agreement_date",
        name="Agreement Date",
        description="The date of the contract",
        value_kind="date",
    ),
    ClauseCategory(
        key="effective_date",
        name="Effective Date",
        description="The date when the contract is effective",
        value_kind="date",
    ),
    ClauseCategory(
        key="expiration_date",
        name="Expiration Date",
        description="On what date will the contract's initial term expire?",
        value_kind="date",
    ),
    ClauseCategory(
        key="governing_law",
        name="Governing Law",
        description="Which state/country's law governs the interpretation of the contract?",
        value_kind="jurisdiction",
    ),
    ClauseCategory(
        key="termination_for_convenience",
        name="Termination for Convenience",
        description=(
            "Can a party terminate this contract without cause (solely by giving a notice and "
            "allowing a waiting period to expire)?"
        ),
        value_kind="yes_no",
    ),
    ClauseCategory(
        key="anti_assignment",
        name="Anti-Assignment",
        description=(
            "Is consent or notice required of a party if the contract is assigned to a third party?"
        ),
        value_kind="yes_no",
    ),
    ClauseCategory(
        key="cap_on_liability",
        name="Cap on Liability",
        description=(
            "Does the contract include a cap on liability upon the breach of a party's "
            "obligation? This includes time limitation for the counterparty to bring claims or "
            "maximum amount for recovery."
        ),
        value_kind="yes_no",
    ),
)
