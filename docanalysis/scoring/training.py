"""Training the clause scorer on labelled contracts (CUAD's layout), reproducibly.

A candidate's label is CUAD's own test: it matches a gold answer when their word sets overlap
by half (Jaccard >= 0.5 after CUAD's normalization), or, for Parties, when it holds the gold
answer verbatim. So the scorer learns the granularity the benchmark (and a lawyer) rewards.

The first stage learns from every candidate that matches, every candidate that overlaps an
answer without matching (the near misses teach the granularity) and a fixed random share of
the rest. The second stage learns from first-stage scores the model did not see while
training (inner folds by contract), so its calibration is that of unseen contracts.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from docanalysis.evaluation.baseline import FOLDS, fold_of
from docanalysis.evaluation.metrics import words
from docanalysis.scoring.candidates import Candidate, candidates
from docanalysis.scoring.features import Vectorizer, contract_tokens
from docanalysis.scoring.forest import Forest
from docanalysis.scoring.model import ClauseScorer, habits_of, second_stage_rows

NEGATIVE_SHARE = 0.1
REGULARIZATION = 1.0  # logistic regression's C
MIN_DF = 3
KEPT = 12_000  # first-stage weights kept per category
WORTH_CAP = 5
SEED = 0


@dataclass(frozen=True)
class Example:
    """A training contract, cut into candidates, with each category's matching and
    overlapping candidates (indexes into `found`)."""

    name: str
    text: str
    spans: Mapping[str, Sequence[tuple[int, int]]]
    found: list[Candidate]
    tokens: list[list[str]]
    matches: dict[str, Counter[int]]  # candidate index -> how many gold answers it matches
    near: dict[str, set[int]]


def prepare(name: str, text: str, spans: Mapping[str, Sequence[tuple[int, int]]]) -> Example:
    found = candidates(text)
    bags = [words(text[c.start : c.end]) for c in found]
    matches, near = {}, {}
    for category, pieces in spans.items():
        if pieces:
            matches[category], near[category] = _labels(text, found, bags, pieces, category)
    return Example(name, text, spans, found, contract_tokens(text, found), matches, near)


def _labels(
    text: str,
    found: Sequence[Candidate],
    bags: Sequence[set[str]],
    pieces: Sequence[tuple[int, int]],
    category: str,
) -> tuple[Counter[int], set[int]]:
    matching: Counter[int] = Counter()
    overlapping: set[int] = set()
    for start, end in pieces:
        gold = text[start:end]
        gold_bag = words(gold)
        for i, (candidate, bag) in enumerate(zip(found, bags, strict=True)):
            if candidate.start < end and start < candidate.end:
                overlapping.add(i)
            piece = text[candidate.start : candidate.end]
            if _matches(gold, gold_bag, piece, bag, category == "Parties"):
                matching[i] += 1
    return matching, overlapping


def _matches(gold: str, gold_bag: set[str], piece: str, bag: set[str], substring_ok: bool) -> bool:
    """CUAD's test (evaluation/metrics.is_match) on precomputed word sets: a Jaccard index of
    at least one half needs sizes within a factor of two, checked first because it is cheap."""
    if substring_ok and gold in piece:
        return True
    if not bag or not gold_bag or 2 * min(len(bag), len(gold_bag)) < max(len(bag), len(gold_bag)):
        return False
    return 2 * len(bag & gold_bag) >= len(bag | gold_bag)


def _first_stage(
    matrices: Sequence[Any], examples: Sequence[Example], names: Sequence[str], seed: int
) -> tuple[Any, np.ndarray]:
    """One logistic regression per category: weights (features x categories), intercepts."""
    from scipy.sparse import csr_matrix, hstack, vstack
    from sklearn.linear_model import LogisticRegression

    stacked = vstack(matrices).tocsr()
    offsets = np.cumsum([0] + [m.shape[0] for m in matrices])
    columns, intercepts = [], []
    for category in names:
        rows, labels, weights = _sample(examples, offsets, category, seed)
        if not any(labels):
            columns.append(csr_matrix((stacked.shape[1], 1)))
            intercepts.append(-20.0)
            continue
        model = LogisticRegression(C=REGULARIZATION, solver="liblinear", random_state=seed)
        model.fit(stacked[rows], labels, sample_weight=weights)
        columns.append(csr_matrix(_strongest(model.coef_.ravel()).reshape(-1, 1)))
        intercepts.append(float(model.intercept_[0]))
    return hstack(columns).tocsr(), np.asarray(intercepts)


def _strongest(weights: np.ndarray) -> np.ndarray:
    """The KEPT largest weights by magnitude, the rest zero: the artifact stays a few MB, and
    every fit (inner folds included) is pruned alike, so the second stage learns from the
    scores the shipped model gives."""
    weights = weights.astype(np.float16).astype(np.float64)  # as shipped
    if np.count_nonzero(weights) <= KEPT:
        return weights
    cut = np.partition(np.abs(weights), -KEPT)[-KEPT]
    return np.where(np.abs(weights) >= cut, weights, 0.0)


def _sample(
    examples: Sequence[Example], offsets: np.ndarray, category: str, seed: int
) -> tuple[list[int], list[int], list[float]]:
    """The rows one category's regression learns from, their labels and weights."""
    draw = random.Random(f"{seed}:{category}")
    rows, labels, weights = [], [], []
    for example, offset in zip(examples, offsets, strict=False):
        matching = example.matches.get(category, Counter())
        near = example.near.get(category, set())
        for i in range(len(example.found)):
            if i in matching:
                rows.append(int(offset) + i)
                labels.append(1)
                weights.append(_worth(matching[i]))
            elif i in near or draw.random() < NEGATIVE_SHARE:
                rows.append(int(offset) + i)
                labels.append(0)
                weights.append(1.0)
    return rows, labels, weights


def _worth(answers: int) -> float:
    """A passage that holds several gold answers (a preamble naming every party) finds them
    all at once: it weighs as much as the answers it matches, up to WORTH_CAP."""
    return float(min(answers, WORTH_CAP))


def train(examples: Sequence[Example], names: Sequence[str], seed: int = SEED) -> ClauseScorer:
    """The scorer, trained on `examples` only (inner folds for the second stage)."""
    vectorizer = Vectorizer.fit([t for e in examples for t in e.tokens], min_df=MIN_DF)
    matrices = [vectorizer.transform(e.tokens) for e in examples]
    habits = habits_of([e.spans for e in examples], [e.text for e in examples], names)
    everyone = [e.name for e in examples]
    rows, labels = [], []
    for fold in range(FOLDS):
        inside = [i for i, e in enumerate(examples) if fold_of(e.name, everyone) != fold]
        weights, intercepts = _first_stage(
            [matrices[i] for i in inside], [examples[i] for i in inside], names, seed
        )
        for i, example in enumerate(examples):
            if fold_of(example.name, everyone) == fold:
                z = np.asarray((matrices[i] @ weights).todense()) + intercepts
                for j, category in enumerate(names):
                    order, features = second_stage_rows(
                        example.text, example.found, z[:, j], habits[category]
                    )
                    matching = example.matches.get(category, Counter())
                    rows.append(features)
                    labels += [int(k in matching) for k in order]
    forest = _second_stage(np.vstack(rows), np.asarray(labels), seed)
    weights, intercepts = _first_stage(matrices, examples, names, seed)
    meta = {"trained_on": sorted(text_id(e.text) for e in examples), "contracts": len(examples)}
    return ClauseScorer(list(names), vectorizer, weights, intercepts, habits, forest, meta)


def _second_stage(rows: np.ndarray, labels: np.ndarray, seed: int) -> Forest:
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = HistGradientBoostingClassifier(
        max_iter=300, learning_rate=0.1, max_leaf_nodes=31, random_state=seed
    )
    # Unweighted: its probability is that of matching an answer, comparable across categories.
    return Forest.from_sklearn(model.fit(rows, labels))


def text_id(text: str) -> str:
    """A contract's identity for leakage checks: the hash of its text, not its file name."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
