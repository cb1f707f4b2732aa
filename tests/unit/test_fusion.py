"""Fusing the model's clauses with the scorer's passages: basis and confidence, exactly."""

from __future__ import annotations

from docanalysis.core.fusion import AGREED, CANDIDATE, MODEL_ONLY, UNCONFIRMED, Scored, fuse, judge
from docanalysis.core.types import GroundedClause, Provision

TEXT = "A" * 100 + "B" * 100 + "C" * 100
PROVISIONS = [Provision(1, 0, 100, 1), Provision(2, 100, 200, 1), Provision(3, 200, 300, 2)]


def _clause(category: str, number: int) -> GroundedClause:
    p = PROVISIONS[number - 1]
    return GroundedClause(category, number, TEXT[p.start : p.end], p.page, p.start, p.end)


def test_agreement_raises_confidence_with_the_scorers_probability() -> None:
    judged = judge(_clause("law", 1), [Scored(10, 60, 0.8), Scored(150, 190, 0.9)], 0.2)
    assert (judged.basis, judged.confidence) == (AGREED, 0.84)  # 0.2 + 0.8 * 0.8
    assert judged.reason == "the model proposed it and the scorer agrees (0.80)"


def test_a_clause_the_scorer_rates_low_is_unconfirmed() -> None:
    # The passage rated 0.9 lies mostly outside the clause: it does not count for it.
    judged = judge(_clause("law", 1), [Scored(10, 60, 0.1), Scored(80, 190, 0.9)], 0.7)
    assert (judged.basis, judged.confidence) == (UNCONFIRMED, 0.73)  # 0.7 + 0.3 * 0.1
    assert "unconfirmed" in judged.reason


def test_a_category_without_scorer_is_the_models_word_alone() -> None:
    judged = judge(_clause("firm_specific", 2), None, 0.7)
    assert (judged.basis, judged.confidence) == (MODEL_ONLY, 0.7)


def test_scorer_only_passages_become_candidates_for_review() -> None:
    scored = {
        "law": [Scored(20, 40, 0.9), Scored(210, 250, 0.6), Scored(120, 130, 0.49)],
        "term": [Scored(230, 260, 0.95)],
        # Only the best two of a category are offered.
        "cap": [Scored(10, 20, 0.7), Scored(30, 40, 0.9), Scored(50, 60, 0.8)],
    }
    fused = fuse([_clause("law", 1)], scored, TEXT, PROVISIONS, 0.2)
    assert [(c.category, c.basis, c.start, c.end, c.confidence) for c in fused] == [
        ("law", AGREED, 0, 100, 0.92),
        ("law", CANDIDATE, 210, 250, 0.48),  # 0.8 * 0.6; the 0.49 passage is below review
        ("term", CANDIDATE, 230, 260, 0.76),
        ("cap", CANDIDATE, 30, 40, 0.72),
        ("cap", CANDIDATE, 50, 60, 0.64),
    ]
    candidate = fused[1]
    assert (candidate.provision, candidate.page, candidate.text) == (3, 2, TEXT[210:250])
    assert (candidate.support, candidate.windows) == (0, ())
