"""CUAD's metric, as the benchmark's published evaluate.py defines it (TheAtticusProject/cuad).

Written from that script's definitions, standard library only, so that a figure printed here is
the figure evaluate.py prints for the same predictions:

- normalization: drop ".", ",", ";", ":"; lower-case; "/" becomes a space; words are the set of
  whitespace-separated tokens. A prediction matches a gold answer when the word-level Jaccard
  index is >= 0.5, or, for a question whose id contains "Parties", when the gold answer is a
  substring of the raw prediction.
- a question with no gold answer makes every prediction a false positive; a gold answer counts
  once as a true positive however many predictions match it; a prediction matching no answer
  is a false positive.
- the sweep: predictions whose probability is strictly above each threshold of
  `numpy.arange(0.99, 0, -0.01)` followed by 0.001 and 0; precision is undefined (NaN) where
  nothing is predicted; the curve starts at (recall 0, precision 1).
- before the area and before "precision at recall", each precision becomes the best precision
  at that recall or any higher one (a running max from the end of the sweep).
- AUPR is the trapezoidal area under (recall, monotone precision); NaN counts as 0.
- precision at R% recall is the monotone precision at the first point of the sweep whose recall
  reaches R; like evaluate.py (a zip against the shorter list of thresholds) the final point,
  threshold 0, is never considered there.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

IOU_THRESHOLD = 0.5
_REMOVED = (".", ",", ";", ":")
# evaluate.py splits question ids as "<contract>__<Category>".
ID_SEPARATOR = "__"

Predictions = Mapping[str, Sequence[tuple[str, float]]]
Answers = Mapping[str, Sequence[str]]


def _thresholds() -> tuple[float, ...]:
    # numpy.arange fills start + i * (second - start); reproduced bit for bit so that a
    # probability of exactly 0.5 falls on the same side of "0.50" as in evaluate.py.
    start = 0.99
    delta = (start + -0.01) - start
    return tuple(start + i * delta for i in range(99)) + (0.001, 0.0)


THRESHOLDS = _thresholds()


@dataclass(frozen=True)
class Curve:
    """The sweep: one (precision, recall) per threshold after the (1, 0) starting point."""

    precisions: tuple[float, ...]
    recalls: tuple[float, ...]


@dataclass(frozen=True)
class Scores:
    aupr: float
    prec_at_80_recall: float
    prec_at_90_recall: float
    precision: float
    recall: float

    def as_dict(self) -> dict[str, float]:
        return {
            "aupr": self.aupr,
            "prec_at_80_recall": self.prec_at_80_recall,
            "prec_at_90_recall": self.prec_at_90_recall,
            "precision": self.precision,
            "recall": self.recall,
        }


def words(text: str) -> set[str]:
    for token in _REMOVED:
        text = text.replace(token, "")
    return set(text.lower().replace("/", " ").split())


def jaccard(gold: str, predicted: str) -> float:
    a, b = words(gold), words(predicted)
    union = a | b
    # evaluate.py divides by zero here (only when both are punctuation); no match is the
    # only sensible reading.
    return len(a & b) / len(union) if union else 0.0


def is_match(gold: str, predicted: str, substring_ok: bool) -> bool:
    if substring_ok and gold in predicted:
        return True
    return jaccard(gold, predicted) >= IOU_THRESHOLD


@dataclass(frozen=True)
class Events:
    """What the sweep needs, computed once: the threshold only decides which events count.

    `hits`: for each gold answer, the highest probability among the predictions matching it
    (-inf when none does): the answer is a true positive at every threshold below that.
    `misses`: the probability of each prediction that matches no answer (a false positive at
    every threshold below it). Both sorted, so each threshold is two binary searches.
    """

    hits: tuple[float, ...]
    misses: tuple[float, ...]

    def counts(self, threshold: float) -> tuple[int, int, int]:
        """True positives, false positives and false negatives at one threshold."""
        tp = len(self.hits) - bisect.bisect_right(self.hits, threshold)
        fp = len(self.misses) - bisect.bisect_right(self.misses, threshold)
        return tp, fp, len(self.hits) - tp


def question_events(
    answers: Sequence[str], predictions: Sequence[tuple[str, float]], substring_ok: bool
) -> tuple[list[float], list[float]]:
    """One question's hits and misses (see Events), from its deduplicated predictions."""
    # evaluate.py's get_preds: empty texts dropped, one entry per text, the last one wins.
    kept = list({t: p for t, p in predictions if t != ""}.items())
    hits = []
    for gold in answers:
        probs = [p for t, p in kept if is_match(gold, t, substring_ok)]
        hits.append(max(probs) if probs else -math.inf)
    misses = [p for t, p in kept if not any(is_match(a, t, substring_ok) for a in answers)]
    return hits, misses


def events(answers: Answers, predictions: Predictions) -> Events:
    hits: list[float] = []
    misses: list[float] = []
    for qid, gold in answers.items():
        q_hits, q_misses = question_events(gold, predictions.get(qid, ()), "Parties" in qid)
        hits += q_hits
        misses += q_misses
    return Events(tuple(sorted(hits)), tuple(sorted(misses)))


def precision_recall(found: Events, threshold: float) -> tuple[float, float]:
    """Micro precision and recall at one threshold (NaN where undefined, as in evaluate.py)."""
    tp, fp, fn = found.counts(threshold)
    precision = tp / (tp + fp) if tp + fp else math.nan
    recall = tp / (tp + fn) if tp + fn else math.nan
    return precision, recall


def sweep(found: Events) -> Curve:
    precisions, recalls = [1.0], [0.0]
    for threshold in THRESHOLDS:
        p, r = precision_recall(found, threshold)
        precisions.append(p)
        recalls.append(r)
    return Curve(tuple(precisions), tuple(recalls))


def monotone(precisions: Sequence[float]) -> list[float]:
    """evaluate.py's process_precisions: running max from the end, with Python's max().

    max(previous, nan) keeps previous and max(nan, x) keeps nan, exactly as the script does,
    so a sweep that never predicts anything stays NaN (and its area counts as 0).
    """
    best = list(reversed(precisions))
    for i in range(1, len(best)):
        best[i] = max(best[i - 1], best[i])
    return list(reversed(best))


def aupr(curve: Curve) -> float:
    y = monotone(curve.precisions)
    x = curve.recalls
    area = sum((x[i + 1] - x[i]) * (y[i + 1] + y[i]) / 2.0 for i in range(len(x) - 1))
    return 0.0 if math.isnan(area) else area


def precision_at_recall(curve: Curve, recall_threshold: float) -> float:
    processed = monotone(curve.precisions)
    # Only as many points as there are thresholds: evaluate.py zips against them, so the last
    # point (threshold 0) is never reached.
    for precision, recall in list(zip(processed, curve.recalls, strict=True))[: len(THRESHOLDS)]:
        if recall >= recall_threshold:
            return precision
    return 0.0


def score(answers: Answers, predictions: Predictions, operating_threshold: float = 0.5) -> Scores:
    """All figures for one set of questions; precision and recall at `operating_threshold`."""
    found = events(answers, predictions)
    curve = sweep(found)
    precision, recall = precision_recall(found, operating_threshold)
    return Scores(
        aupr=aupr(curve),
        prec_at_80_recall=precision_at_recall(curve, 0.8),
        prec_at_90_recall=precision_at_recall(curve, 0.9),
        precision=0.0 if math.isnan(precision) else precision,
        recall=0.0 if math.isnan(recall) else recall,
    )


def category_of(question_id: str) -> str:
    return question_id.rsplit(ID_SEPARATOR, 1)[1]


def score_by_category(answers: Answers, predictions: Predictions) -> dict[str, Scores]:
    """Per category, over that category's questions only.

    evaluate.py selects a category with `category in question_id`, which would also pick up a
    contract whose name contains the category's words; the exact category is used here.
    """
    names = sorted({category_of(qid) for qid in answers})
    return {
        name: score(
            {qid: gold for qid, gold in answers.items() if category_of(qid) == name}, predictions
        )
        for name in names
    }
