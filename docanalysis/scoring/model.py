"""The clause scorer: which passages of a contract are a lawyer's answer for each category,
with a calibrated probability.

Two stages. The first is one logistic regression per category over the candidate's TF-IDF
tokens (features.py): how much a passage reads like that category's answers. The second, a
gradient-boosted forest shared by all categories, turns that score into the probability that
the passage matches a lawyer's answer, from where it stands among the contract's other
passages (its rank, its margin to the best, the best score of a larger or smaller passage over
the same words), its kind, length and position, and the category's own habits (how often it
occurs, how long its answers are). Then, per category, the best passages that do not overlap
a better one, at most K.

The artifact is plain arrays (npz) and JSON; it loads without network and without pickle.
Tokens are hashed (features.py), so there is no vocabulary to ship.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from docanalysis.scoring.candidates import KINDS, Candidate, candidates
from docanalysis.scoring.features import Vectorizer, contract_tokens
from docanalysis.scoring.forest import Forest

FORMAT = "docanalysis-clause-scorer/1"
RANKED = 60  # the candidates per category the second stage looks at
OVERLAP = 0.5  # a passage sharing more than this share of the shorter one is a duplicate
NO_SCORE = -20.0


@dataclass(frozen=True)
class Passage:
    """A scored candidate: the source's own text at [start, end)."""

    category: str
    start: int
    end: int
    text: str
    probability: float
    kind: str


@dataclass(frozen=True)
class CategoryHabits:
    """What the training data says of a category: the share of contracts that have it, the
    median words of an answer and the answers per contract that has any."""

    prior: float
    answer_words: float
    answers: float


@dataclass
class ClauseScorer:
    categories: list[str]
    vectorizer: Vectorizer
    weights: Any  # scipy CSR, one column per category
    intercepts: np.ndarray
    habits: dict[str, CategoryHabits]
    forest: Forest
    meta: dict[str, Any]

    def first_stage(self, text: str, found: Sequence[Candidate]) -> np.ndarray:
        """Every candidate's score (log-odds) per category: candidates x categories."""
        if not found:
            return np.zeros((0, len(self.categories)))
        rows = self.vectorizer.transform(contract_tokens(text, found))
        return np.asarray((rows @ self.weights).todense()) + self.intercepts

    def score(
        self, text: str, names: Sequence[str] | None = None, k: int = 20
    ) -> dict[str, list[Passage]]:
        """Per category (those it was trained for, among `names`), at most k passages."""
        found = candidates(text)
        scores = self.first_stage(text, found)
        wanted = [n for n in (names or self.categories) if n in self.categories]
        return {
            name: self.rank(text, found, scores[:, self.categories.index(name)], name, k)
            for name in wanted
        }

    def rank(
        self, text: str, found: Sequence[Candidate], z: np.ndarray, name: str, k: int
    ) -> list[Passage]:
        if not found:
            return []
        order, rows = second_stage_rows(text, found, z, self.habits[name])
        probabilities = self.forest.probability(rows)
        scored = [
            Passage(
                name,
                found[i].start,
                found[i].end,
                text[found[i].start : found[i].end],
                float(p),
                found[i].kind,
            )
            for i, p in zip(order, probabilities, strict=True)
        ]
        return distinct(sorted(scored, key=lambda s: -s.probability), k)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        weights = self.weights.tocsr()
        arrays: dict[str, Any] = {
            "idf": self.vectorizer.idf.astype(np.float16),
            "w_data": weights.data.astype(np.float16),
            "w_indices": weights.indices.astype(np.int32),
            "w_indptr": weights.indptr.astype(np.int64),
            "w_shape": np.asarray(weights.shape),
            "intercepts": self.intercepts.astype(np.float64),
        }
        arrays |= {f"forest_{k}": v for k, v in self.forest.arrays().items()}
        np.savez_compressed(folder / "scorer.npz", **arrays)
        card = self.meta | {
            "format": FORMAT,
            "categories": self.categories,
            "habits": {n: vars(h) for n, h in self.habits.items()},
        }
        (folder / "scorer.json").write_text(json.dumps(card, indent=1, ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, folder: Path) -> ClauseScorer:
        from scipy.sparse import csr_matrix

        card = json.loads((folder / "scorer.json").read_text())
        if card.get("format") != FORMAT:
            raise ValueError(f"{folder}: not a {FORMAT} artifact")
        with np.load(folder / "scorer.npz") as saved:
            weights = csr_matrix(
                (saved["w_data"].astype(np.float32), saved["w_indices"], saved["w_indptr"]),
                shape=tuple(saved["w_shape"]),
            )
            forest = Forest.from_arrays(saved, prefix="forest_")
            vectorizer = Vectorizer(saved["idf"].astype(np.float32))
            intercepts = saved["intercepts"]
        habits = {n: CategoryHabits(**h) for n, h in card.pop("habits").items()}
        names = card.pop("categories")
        return cls(names, vectorizer, weights, intercepts, habits, forest, card)


def second_stage_rows(
    text: str, found: Sequence[Candidate], z: np.ndarray, habits: CategoryHabits
) -> tuple[np.ndarray, np.ndarray]:
    """The RANKED best candidates by first-stage score, and each one's second-stage features."""
    order = np.argsort(-z, kind="stable")[:RANKED]
    top = z[order]
    starts = np.asarray([found[i].start for i in order])
    ends = np.asarray([found[i].end for i in order])
    lengths = ends - starts
    best, second = top[0], (top[1] if len(top) > 1 else NO_SCORE)
    close = float((z > best - 1.0).sum())
    rows = []
    for rank, i in enumerate(order):
        overlapping = (starts < ends[rank]) & (starts[rank] < ends)
        inside = starts[rank] >= starts
        bigger = overlapping & inside & (ends >= ends[rank]) & (lengths > lengths[rank])
        smaller = overlapping & (starts >= starts[rank]) & (ends <= ends[rank])
        smaller &= lengths < lengths[rank]
        words = len(text[found[i].start : found[i].end].split())
        rows.append(
            [
                top[rank],
                best,
                top[rank] - best,
                best - second,
                float(rank),
                top[rank] - (top[bigger].max() if bigger.any() else top[rank] - 5.0),
                top[rank] - (top[smaller].max() if smaller.any() else top[rank] - 5.0),
                close,
                math.log1p(words),
                found[i].start / max(1, len(text)),
                float(found[i].start < 3000),
                habits.prior,
                math.log1p(habits.answer_words),
                habits.answers,
                *[float(found[i].kind == kind) for kind in KINDS],
            ]
        )
    return order, np.asarray(rows, dtype=np.float64)


def distinct(ranked: Sequence[Passage], k: int) -> list[Passage]:
    """The best passages, skipping any that overlaps a better one by more than OVERLAP of the
    shorter: the same words offered twice add nothing a reviewer needs."""
    kept: list[Passage] = []
    for passage in ranked:
        if len(kept) >= k:
            break
        if not any(_overlaps(passage, other) for other in kept):
            kept.append(passage)
    return kept


def _overlaps(a: Passage, b: Passage) -> bool:
    shared = min(a.end, b.end) - max(a.start, b.start)
    return shared > OVERLAP * min(a.end - a.start, b.end - b.start)


def habits_of(
    spans: Sequence[Mapping[str, Sequence[tuple[int, int]]]],
    texts: Sequence[str],
    names: Sequence[str],
) -> dict[str, CategoryHabits]:
    """Each category's habits over the training contracts (see CategoryHabits)."""
    out = {}
    for name in names:
        having = [(s[name], t) for s, t in zip(spans, texts, strict=True) if s.get(name)]
        lengths = sorted(len(t[a:b].split()) for pieces, t in having for a, b in pieces)
        out[name] = CategoryHabits(
            prior=len(having) / max(1, len(texts)),
            answer_words=float(lengths[len(lengths) // 2]) if lengths else 0.0,
            answers=sum(len(p) for p, _ in having) / max(1, len(having)),
        )
    return out
