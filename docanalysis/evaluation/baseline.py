"""The floor under every figure: a plain TF-IDF + logistic-regression sentence classifier.

Each contract is cut into sentences (with their offsets, so every candidate is the source's own
text); one binary logistic regression per category scores every sentence; the top K distinct
sentences of each (contract, category) are the candidates, their probability the model's.
Trained and applied cross-validated by contract: a contract is scored only by the fold model
that never saw it. No tuning on purpose: this is the reference the scorer must beat.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

FOLDS = 5

# A sentence ends at a line break, or at ".", "!" or "?" followed by space and a capital, a
# digit or an opening quote or bracket, unless the word before is a common abbreviation or a
# single initial ("Inc.", "U.S.", "M. D. Anderson").
_BREAK = re.compile(r"\n|(?<=[.!?])[ \t]+(?=[\"'(\[]?[A-Z0-9])")
_ABBREVIATION = re.compile(
    r"(?:\b[A-Za-z]|\bInc|\bCo|\bCorp|\bLtd|\bNo|\bNos|\bMr|\bMrs|\bMs|\bDr|\bSt|\bSec"
    r"|\bArt|\bU\.S|\bi\.e|\be\.g|\betc|\bvs|\bv)\.$"
)


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class LabelledContract:
    """A training contract: its text and, per category, the gold spans' offsets."""

    name: str
    text: str
    spans: Mapping[str, Sequence[tuple[int, int]]]


def sentences(text: str) -> list[Sentence]:
    """The text cut into sentences, each stripped of surrounding blanks, with offsets."""
    found, begin = [], 0
    for cut in _BREAK.finditer(text):
        if cut.group() != "\n" and _ABBREVIATION.search(
            text[max(0, cut.start() - 8) : cut.start()]
        ):
            continue
        found.append(_stripped(text, begin, cut.start()))
        begin = cut.end()
    found.append(_stripped(text, begin, len(text)))
    return [s for s in found if s is not None]


def _stripped(text: str, start: int, end: int) -> Sentence | None:
    piece = text[start:end]
    lead = len(piece) - len(piece.lstrip())
    body = piece.strip()
    if not body:
        return None
    return Sentence(start + lead, start + lead + len(body), body)


def is_positive(sentence: Sentence, spans: Sequence[tuple[int, int]]) -> bool:
    """A sentence belongs to a category when it holds at least half of a gold span, or a
    gold span covers at least half of it: short answers (a date) make their sentence a
    positive, and a sentence inside a long clause is one too."""
    for start, end in spans:
        overlap = min(sentence.end, end) - max(sentence.start, start)
        if overlap > 0 and (2 * overlap >= end - start or 2 * overlap >= len(sentence.text)):
            return True
    return False


def fold_of(name: str, names: Sequence[str]) -> int:
    """Contracts dealt round-robin in name order: a contract lies in exactly one fold."""
    return sorted(names).index(name) % FOLDS


def train(pool: Sequence[LabelledContract], categories: Sequence[str]) -> Any:
    """A vectorizer and one logistic regression per category (None: no positive example)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    rows = [(c, s) for c in pool for s in sentences(c.text)]
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    features = vectorizer.fit_transform([s.text for _, s in rows])
    models: dict[str, Any] = {}
    for category in categories:
        labels = [is_positive(s, c.spans.get(category, ())) for c, s in rows]
        models[category] = None
        if any(labels):
            models[category] = LogisticRegression(solver="liblinear", random_state=0).fit(
                features, labels
            )
    return vectorizer, models


def candidates(
    model: Any, text: str, categories: Sequence[str], k: int
) -> dict[str, list[tuple[str, float, int, int]]]:
    """Per category, the top k distinct sentences of `text`: (text, probability, start, end)."""
    vectorizer, models = model
    cut = sentences(text)
    out: dict[str, list[tuple[str, float, int, int]]] = {c: [] for c in categories}
    if not cut:
        return out
    features = vectorizer.transform([s.text for s in cut])
    for category in categories:
        if models.get(category) is None:
            continue
        probabilities = models[category].predict_proba(features)[:, 1]
        ranked = sorted(zip(probabilities, cut, strict=True), key=lambda p: -p[0])
        seen: set[str] = set()
        for probability, sentence in ranked:
            if sentence.text not in seen and len(seen) < k:
                seen.add(sentence.text)
                out[category].append(
                    (sentence.text, float(probability), sentence.start, sentence.end)
                )
    return out
