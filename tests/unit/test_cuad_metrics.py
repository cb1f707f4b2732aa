"""CUAD's metric on hand-made cases; every expected value is worked out in the comments."""

from __future__ import annotations

import math

import pytest

from docanalysis.evaluation import metrics

LAW = "c1__Governing Law"
PARTIES = "c1__Parties"
COMPETE = "c1__Non-Compete"


def test_normalization_drops_punctuation_lowercases_and_splits_slashes() -> None:
    # "." "," ";" ":" vanish, "/" becomes a space: {dated, 1, 2, 2020, the, agreement}.
    assert metrics.words("The Agreement, dated: 1/2/2020.") == {
        "the",
        "agreement",
        "dated",
        "1",
        "2",
        "2020",
    }


def test_jaccard_is_over_word_sets() -> None:
    # gold {governed, by, the, laws, of, delaware}: 6 words, all in the prediction;
    # prediction {this, agreement, is, governed, by, the, laws, of, state, delaware}: 10 words.
    gold = "governed by the laws of Delaware"
    predicted = "This Agreement is governed by the laws of the State of Delaware."
    assert metrics.jaccard(gold, predicted) == 6 / 10
    assert metrics.is_match(gold, predicted, substring_ok=False)
    # {notices} vs {notices, shall, be, in, writing}: 1/5 < 0.5.
    assert not metrics.is_match("Notices", "Notices shall be in writing.", substring_ok=False)


def test_substring_match_only_where_allowed_and_case_sensitive() -> None:
    # {acme, corp} vs {acme, corp, and, beta, llc}: 2/5 < 0.5, so only the substring rule
    # matches, and it compares the raw texts.
    assert not metrics.is_match("Acme Corp.", "Acme Corp. and Beta LLC", substring_ok=False)
    assert metrics.is_match("Acme Corp.", "Acme Corp. and Beta LLC", substring_ok=True)
    assert not metrics.is_match("Acme Corp.", "ACME CORP. and Beta LLC", substring_ok=True)


def test_thresholds_are_numpys_arange_then_0001_and_0() -> None:
    assert len(metrics.THRESHOLDS) == 101
    assert metrics.THRESHOLDS[0] == 0.99
    assert metrics.THRESHOLDS[-2:] == (0.001, 0.0)
    # numpy's arange lands just under 0.50: a probability of exactly 0.5 counts there.
    assert metrics.THRESHOLDS[49] == 0.49999999999999956


ANSWERS = {LAW: ["governed by the laws of Delaware"], PARTIES: ["Acme Corp."], COMPETE: []}
PREDICTIONS = {
    LAW: [
        ("This Agreement is governed by the laws of the State of Delaware.", 0.905),
        ("Notices shall be in writing.", 0.705),
    ],
    PARTIES: [("Acme Corp. and Beta LLC", 0.605)],
    COMPETE: [("Seller shall not compete.", 0.205)],
}


def test_sweep_on_a_hand_made_case() -> None:
    # Hits (one per gold answer): 0.905 (law), 0.605 (parties, by substring).
    # False positives: 0.705 (notices), 0.205 (a question with no answer). Two answers.
    # thresholds .99-.91 (9): nothing predicted, P NaN, R 0
    # .90-.71 (20): tp 1 fp 0, P 1, R .5      .70-.61 (10): tp 1 fp 1, P .5, R .5
    # .60-.21 (40): tp 2 fp 1, P 2/3, R 1     .20-.01, .001, 0 (22): tp 2 fp 2, P .5, R 1
    curve = metrics.sweep(metrics.events(ANSWERS, PREDICTIONS))
    assert curve.recalls == (0.0,) * 10 + (0.5,) * 30 + (1.0,) * 62
    assert curve.precisions[0] == 1.0
    assert all(math.isnan(p) for p in curve.precisions[1:10])
    assert curve.precisions[10:] == (1.0,) * 20 + (0.5,) * 10 + (2 / 3,) * 40 + (0.5,) * 22
    # Running max from the end: the .5 at recall .5 becomes 2/3, the NaNs become 1.
    assert metrics.monotone(curve.precisions) == [1.0] * 30 + [2 / 3] * 50 + [0.5] * 22


def test_scores_on_the_hand_made_case() -> None:
    # Area: recall 0 -> .5 at precision 1 (0.5) plus .5 -> 1 at precision 2/3 (1/3) = 5/6.
    # First point reaching 80% (and 90%) recall: the first at recall 1, precision 2/3.
    # At the 0.5 operating threshold: tp 2, fp 1 (0.705), fn 0.
    scores = metrics.score(ANSWERS, PREDICTIONS)
    assert scores.aupr == pytest.approx(5 / 6, abs=1e-12)
    assert scores.prec_at_80_recall == 2 / 3
    assert scores.prec_at_90_recall == 2 / 3
    assert (scores.precision, scores.recall) == (2 / 3, 1.0)


def test_per_category_keeps_each_categorys_questions() -> None:
    by_category = metrics.score_by_category(ANSWERS, PREDICTIONS)
    assert sorted(by_category) == ["Governing Law", "Non-Compete", "Parties"]
    # Governing Law: hit .905, miss .705. Recall jumps 0 -> 1 at threshold .90 with precision
    # 1 (the miss only counts from .70 on), so the area is 1 * 1 = 1 and P@80 is 1.
    assert by_category["Governing Law"].aupr == 1.0
    assert by_category["Governing Law"].prec_at_80_recall == 1.0
    # At 0.5 both predictions count: tp 1, fp 1.
    assert by_category["Governing Law"].precision == 0.5
    # Non-Compete has no answer: recall undefined everywhere, so the area is NaN -> 0.
    assert by_category["Non-Compete"].aupr == 0.0
    assert by_category["Non-Compete"].recall == 0.0


def test_threshold_zero_never_counts_for_precision_at_recall() -> None:
    # One answer found only below 0.001: recall 0 (precision NaN) down to 0.001, then at
    # threshold 0 precision 1, recall 1. The running max turns every NaN into 1, so the area
    # is 1 * 1 = 1, but precision at recall never looks at the threshold-0 point: 0.
    scores = metrics.score({"c__Insurance": ["x y"]}, {"c__Insurance": [("x y", 0.0005)]})
    assert scores.aupr == 1.0
    assert scores.prec_at_80_recall == 0.0


def test_no_prediction_scores_zero() -> None:
    # Nothing above any threshold (0 is not > 0): precision NaN everywhere, which the running
    # max keeps (max(nan, 1) is nan), so the area is NaN, reported as 0.
    scores = metrics.score({"c__Insurance": ["x y"]}, {"c__Insurance": [("x y", 0.0)]})
    assert scores.as_dict() == {
        "aupr": 0.0,
        "prec_at_80_recall": 0.0,
        "prec_at_90_recall": 0.0,
        "precision": 0.0,
        "recall": 0.0,
    }


def test_repeated_text_keeps_the_last_probability_and_empty_text_is_ignored() -> None:
    # ("x y", .9) is overwritten by ("x y", .3): the answer is found only below .30.
    found = metrics.events(
        {"c__Insurance": ["x y"]}, {"c__Insurance": [("x y", 0.9), ("x y", 0.3), ("", 1.0)]}
    )
    assert found == metrics.Events(hits=(0.3,), misses=())


def test_an_answer_counts_once_and_matching_predictions_are_not_false_positives() -> None:
    # Two predictions match the one answer: tp 1 (the best, .8), no false positive;
    # "z" matches nothing: one false positive at .6.
    found = metrics.events(
        {"c__Insurance": ["x y"]},
        {"c__Insurance": [("x y", 0.8), ("x y.", 0.7), ("z", 0.6)]},
    )
    assert found == metrics.Events(hits=(0.8,), misses=(0.6,))
    assert found.counts(0.65) == (1, 0, 0)
    assert found.counts(0.5) == (1, 1, 0)
