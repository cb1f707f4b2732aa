from __future__ import annotations

import pytest

from docanalysis.core.errors import ModelOutputError
from docanalysis.core.parsing import parse_window_output
from docanalysis.core.types import ClauseRef, WindowAnalysis

KEYS = {"governing_law", "parties", "anti_assignment"}
NUMBERS = [3, 4, 5]
GOOD = (
    '{"summary": "A supply deal.", "clauses": ['
    '{"category": "governing_law", "provision": 4, "value": "New York, USA"}, '
    '{"category": "parties", "provision": 3, "value": "Acme; Beta"}]}'
)
EXPECTED = WindowAnalysis(
    summary="A supply deal.",
    clauses=(
        ClauseRef("governing_law", 4, "New York, USA"),
        ClauseRef("parties", 3, "Acme; Beta"),
    ),
)


def test_plain_json() -> None:
    assert parse_window_output(GOOD, NUMBERS, KEYS) == EXPECTED


def test_code_fence_and_prose_are_stripped() -> None:
    raw = f"Here is the analysis:\n```json\n{GOOD}\n```\nHope this helps."
    assert parse_window_output(raw, NUMBERS, KEYS) == EXPECTED
    assert parse_window_output(f"Sure! {GOOD} Done.", NUMBERS, KEYS) == EXPECTED


def test_truncated_answer_drops_only_the_unfinished_clause() -> None:
    raw = GOOD[: GOOD.index('"parties"') + 20]  # cut inside the second clause
    assert parse_window_output(raw, NUMBERS, KEYS) == WindowAnalysis(
        summary="A supply deal.", clauses=(ClauseRef("governing_law", 4, "New York, USA"),)
    )


def test_truncated_right_after_the_list_opened() -> None:
    raw = '{"summary": "Short.", "clauses": [{"category": "par'
    assert parse_window_output(raw, NUMBERS, KEYS) == WindowAnalysis("Short.", ())


def test_truncated_summary_is_not_repaired() -> None:
    raw = '{"summary": "The parties agree that the gover'
    with pytest.raises(ModelOutputError) as caught:
        parse_window_output(raw, NUMBERS, KEYS)
    assert caught.value.raw == raw
    assert caught.value.code == "model_output_invalid"


def test_types_are_coerced_and_unknown_provisions_kept() -> None:
    raw = (
        '{"summary": " Terms. ", "clauses": ['
        '{"category": "Governing Law", "provision": "4", "value": null}, '
        '{"category": "anti_assignment", "provision": 99.0, "value": true}, '
        '{"category": "parties", "provision": "[5]", "value": " Acme "}, '
        '{"category": "parties", "provision": "[5]", "value": " Acme "}, '
        '{"category": "warranty", "provision": 3, "value": "x"}, '
        '{"category": "parties", "provision": "section five", "value": "x"}, '
        '"not an object"]}'
    )
    assert parse_window_output(raw, NUMBERS, KEYS) == WindowAnalysis(
        summary="Terms.",
        clauses=(
            ClauseRef("governing_law", 4, ""),
            ClauseRef("anti_assignment", 99, "True"),
            ClauseRef("parties", 5, "Acme"),
        ),
    )


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "I cannot help with that.",
        "[1, 2, 3]",
        '{"summary": "no clauses key"}',
        '{"summary": 3, "clauses": []}',
        '{"summary": "x", "clauses": {}}',
    ],
)
def test_invalid_answers_raise_with_raw_kept(raw: str) -> None:
    with pytest.raises(ModelOutputError) as caught:
        parse_window_output(raw, NUMBERS, KEYS)
    assert caught.value.raw == raw
