from __future__ import annotations

import pytest

from docanalysis.core.errors import ModelOutputError
from docanalysis.core.parsing import parse_summary_output, parse_window_output
from docanalysis.core.types import ClauseCategory, ClauseRef, SummarySentence, WindowAnalysis

KEYS = {"governing_law", "parties", "anti_assignment"}
NUMBERS = [3, 4, 5]
GOOD = (
    '{"summary": [{"text": "A supply deal.", "provisions": [3]}, '
    '{"text": "New York law.", "provisions": [4, 5]}], "clauses": ['
    '{"category": "governing_law", "provisions": [4], "value": "New York, USA"}, '
    '{"category": "parties", "provisions": [3, 5], "value": "Acme; Beta"}]}'
)
SUMMARY = (SummarySentence("A supply deal.", (3,)), SummarySentence("New York law.", (4, 5)))
EXPECTED = WindowAnalysis(
    summary=SUMMARY,
    clauses=(
        ClauseRef("governing_law", (4,), "New York, USA"),
        ClauseRef("parties", (3, 5), "Acme; Beta"),
    ),
)


def test_plain_json() -> None:
    assert parse_window_output(GOOD, NUMBERS, KEYS) == EXPECTED


def test_code_fence_and_prose_are_stripped() -> None:
    raw = f"Here is the analysis:\n```json\n{GOOD}\n```\nHope this helps."
    assert parse_window_output(raw, NUMBERS, KEYS) == EXPECTED
    assert parse_window_output(f"Sure! {GOOD} Done.", NUMBERS, KEYS) == EXPECTED


def test_truncated_answer_drops_only_the_unfinished_clause() -> None:
    raw = GOOD[: GOOD.index('"parties"') + 20]  # cut inside the second clause's provisions
    assert parse_window_output(raw, NUMBERS, KEYS) == WindowAnalysis(
        summary=SUMMARY, clauses=(ClauseRef("governing_law", (4,), "New York, USA"),)
    )


def test_cut_in_the_summary_keeps_the_clauses_written_before_it() -> None:
    # Clauses come first in the schema, so the output budget runs out in the summary.
    raw = (
        '{"clauses": [{"category": "governing_law", "provisions": [4], "value": "New York"}], '
        '"summary": [{"text": "A supply deal.", "provisions": [3]}, {"text": "The gov'
    )
    assert parse_window_output(raw, NUMBERS, KEYS) == WindowAnalysis(
        summary=(SummarySentence("A supply deal.", (3,)),),
        clauses=(ClauseRef("governing_law", (4,), "New York"),),
    )
    cut_before_summary = (
        '{"clauses": [{"category": "parties", "provisions": [1], "value": "A"}, {"ca'
    )
    assert parse_window_output(cut_before_summary, NUMBERS, KEYS) == WindowAnalysis(
        summary=(), clauses=(ClauseRef("parties", (1,), "A"),)
    )


def test_truncated_right_after_the_list_opened() -> None:
    raw = '{"summary": [], "clauses": [{"category": "par'
    assert parse_window_output(raw, NUMBERS, KEYS) == WindowAnalysis((), ())


def test_truncated_before_the_clauses_is_not_repaired() -> None:
    # The clauses were never written: a silent "no clauses" would hide the loss.
    raw = '{"summary": [{"text": "A supply deal.", "provisions": [3]}, {"text": "The gov'
    with pytest.raises(ModelOutputError) as caught:
        parse_window_output(raw, NUMBERS, KEYS)
    assert caught.value.raw == raw
    assert caught.value.code == "model_output_invalid"
    assert caught.value.reason == "The model's answer lacks a list of clauses."


def test_types_are_coerced_unknowns_kept_duplicates_removed() -> None:
    raw = (
        '{"summary": [{"text": " Terms. ", "provisions": ["4", 4, "x"]}, {"text": 3}], '
        '"clauses": ['
        '{"category": "Governing Law", "provisions": ["4", 4.0], "value": null}, '
        '{"category": "anti_assignment", "provisions": [99.0, true], "value": true}, '
        '{"category": "parties", "provisions": ["[5]"], "value": " Acme "}, '
        '{"category": "parties", "provisions": [5], "value": "Acme"}, '
        '{"category": "warranty", "provisions": [3], "value": "x"}, '
        '{"category": "parties", "provision": 3, "value": "singular key"}, '
        '{"category": "parties", "provisions": ["section five"], "value": "x"}, '
        '{"category": "", "provisions": [3], "value": "x"}, '
        '"not an object"]}'
    )
    assert parse_window_output(raw, NUMBERS, KEYS) == WindowAnalysis(
        summary=(SummarySentence("Terms.", (4,)),),
        clauses=(
            ClauseRef("governing_law", (4,), ""),
            ClauseRef("anti_assignment", (99,), "True"),
            ClauseRef("parties", (5,), "Acme"),
            ClauseRef("warranty", (3,), "x"),  # unknown: grounding drops and counts it
            ClauseRef("parties", (3,), "singular key"),
        ),
    )


def test_category_names_map_to_keys() -> None:
    categories = [
        ClauseCategory("law", "Governing Law", "Which law?", "jurisdiction"),
        ClauseCategory("rofr", "Rofr/Rofo/Rofn", "First refusal?", "yes_no"),
    ]
    raw = (
        '{"summary": "One string summary.", "clauses": ['
        '{"category": "governing law", "provisions": [4], "value": "NY"}, '
        '{"category": "ROFR/ROFO/ROFN", "provisions": [5], "value": "yes"}, '
        '{"category": "LAW", "provisions": [3], "value": "NY"}]}'
    )
    assert parse_window_output(raw, NUMBERS, categories) == WindowAnalysis(
        summary=(SummarySentence("One string summary."),),
        clauses=(
            ClauseRef("law", (4,), "NY"),
            ClauseRef("rofr", (5,), "yes"),
            ClauseRef("law", (3,), "NY"),
        ),
    )


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "I cannot help with that.",
        "[1, 2, 3]",
        '{"summary": []}',
        '{"summary": 3, "clauses": []}',
        '{"summary": [], "clauses": {}}',
    ],
)
def test_invalid_answers_raise_with_raw_kept(raw: str) -> None:
    with pytest.raises(ModelOutputError) as caught:
        parse_window_output(raw, NUMBERS, KEYS)
    assert caught.value.raw == raw


def test_summary_output() -> None:
    raw = '{"summary": [{"text": "Acme sells.", "provisions": [12, "14", 12]}, "Bare."]}'
    assert parse_summary_output(raw) == (
        SummarySentence("Acme sells.", (12, 14)),
        SummarySentence("Bare."),
    )


def test_truncated_summary_output_keeps_the_complete_sentences() -> None:
    raw = '```json\n{"summary": [{"text": "Acme sells.", "provisions": [12]}, {"text": "Be'
    assert parse_summary_output(raw) == (SummarySentence("Acme sells.", (12,)),)


@pytest.mark.parametrize("raw", ['{"text": "x"}', "no json", '{"summary": {"text": "x"}}'])
def test_invalid_summary_output_raises(raw: str) -> None:
    with pytest.raises(ModelOutputError) as caught:
        parse_summary_output(raw)
    assert caught.value.raw == raw


def test_a_value_of_punctuation_alone_is_no_value() -> None:
    raw = (
        '{"summary": [], "clauses": [{"category": "governing_law", "provisions": [2], '
        '"value": "}}, {"}, {"category": "parties", "provisions": [1], "value": " Acme Inc "}]}'
    )
    result = parse_window_output(raw, [1, 2], ["governing_law", "parties"])
    assert [(c.category, c.value) for c in result.clauses] == [
        ("governing_law", ""),
        ("parties", "Acme Inc"),
    ]
