"""Fusing the language model's clauses with the clause scorer's passages.

Each clause gets a confidence and a basis that says why:
- "agreed": the model proposed it and the scorer rates a passage inside it at least AGREE_AT;
- "unconfirmed": the model proposed it, the scorer rates nothing inside it that high;
- "candidate": the scorer rates a passage at least REVIEW_AT that the model did not propose:
  offered for review (the best CANDIDATES_PER_CATEGORY of a category), never as a finding the
  model made;
- "model_only": the category has no scorer (a firm's own category), the model's word alone.

confidence = w x (1 if the model proposed it) + (1 - w) x (the scorer's best probability
inside it), where w is how much the model is trusted: high for a large served model (Llama 4
on vLLM), low for the small embedded default, where the scorer carries most of the weight.
Pure: the scorer's passages come in as data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from docanalysis.core.types import GroundedClause, Provision

AGREED, UNCONFIRMED, CANDIDATE, MODEL_ONLY = "agreed", "unconfirmed", "candidate", "model_only"
BASES = (AGREED, UNCONFIRMED, CANDIDATE, MODEL_ONLY)
AGREE_AT = 0.3
REVIEW_AT = 0.5
# A reviewer is offered the scorer's best few per category, not a list to wade through (and
# each one is screened by the guard like any other output).
CANDIDATES_PER_CATEGORY = 2


@dataclass(frozen=True)
class Scored:
    """A passage the scorer rated for one category: the source's text at [start, end)."""

    start: int
    end: int
    probability: float


def _inside(passage: Scored, clause: GroundedClause) -> bool:
    """More than half of the passage lies within the clause's span."""
    shared = min(passage.end, clause.end) - max(passage.start, clause.start)
    return shared > 0.5 * (passage.end - passage.start)


def judge(clause: GroundedClause, scored: Sequence[Scored] | None, weight: float) -> GroundedClause:
    """A clause the model proposed, with its confidence and basis."""
    if scored is None:
        return replace(
            clause,
            confidence=round(weight, 4),
            basis=MODEL_ONLY,
            reason="the model proposed it; no scorer is trained for this category",
        )
    best = max((p.probability for p in scored if _inside(p, clause)), default=0.0)
    confidence = round(weight + (1.0 - weight) * best, 4)
    if best >= AGREE_AT:
        why = f"the model proposed it and the scorer agrees ({best:.2f})"
        return replace(clause, confidence=confidence, basis=AGREED, reason=why)
    why = f"the model proposed it; the scorer rates it low ({best:.2f}): unconfirmed"
    return replace(clause, confidence=confidence, basis=UNCONFIRMED, reason=why)


def fuse(
    clauses: Sequence[GroundedClause],
    scored: Mapping[str, Sequence[Scored]],
    text: str,
    provisions: Sequence[Provision],
    weight: float,
) -> tuple[GroundedClause, ...]:
    """The model's clauses judged, then the scorer's candidates it did not propose.

    `scored` maps a category key to the scorer's passages for it; a category missing from it
    has no scorer. Candidates keep the scorer's own span (a sentence or a few words, not the
    whole provision) and name the provision that holds it.
    """
    judged = [judge(c, scored.get(c.category), weight) for c in clauses]
    extra = []
    for category, passages in scored.items():
        proposed = [c for c in clauses if c.category == category]
        offered = 0
        for passage in sorted(passages, key=lambda p: -p.probability):
            if passage.probability < REVIEW_AT or any(_inside(passage, c) for c in proposed):
                continue
            if offered == CANDIDATES_PER_CATEGORY:
                break
            holder = _provision_at(provisions, passage.start)
            if holder is None:
                continue
            offered += 1
            extra.append(
                GroundedClause(
                    category=category,
                    provision=holder.number,
                    text=text[passage.start : passage.end],
                    page=holder.page,
                    start=passage.start,
                    end=passage.end,
                    windows=(),
                    support=0,
                    confidence=round((1.0 - weight) * passage.probability, 4),
                    basis=CANDIDATE,
                    reason=f"the scorer rates it {passage.probability:.2f}; the model did not "
                    "propose it: a candidate for review",
                )
            )
    return tuple(judged) + tuple(extra)


def _provision_at(provisions: Sequence[Provision], offset: int) -> Provision | None:
    for provision in provisions:
        if provision.start <= offset < provision.end:
            return provision
    return None
