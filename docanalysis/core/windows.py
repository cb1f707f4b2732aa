"""Windows: runs of consecutive provisions that fit the model's input budget."""

from __future__ import annotations

from collections.abc import Sequence

from docanalysis.core.ports import TokenCounter
from docanalysis.core.provisions import render_provision
from docanalysis.core.types import Provision, Window


def plan_windows(
    text: str,
    provisions: Sequence[Provision],
    counter: TokenCounter,
    budget_tokens: int,
    *,
    overlap: int = 1,
) -> tuple[Window, ...]:
    """Cut `provisions` into windows whose rendered text fits `budget_tokens`.

    Windows cut only at provision boundaries; consecutive windows share `overlap` provisions
    (fewer where they would not leave room for a new one) so a clause that reads across a cut
    is seen whole at least once. Each provision
    is counted once (a window's tokens are the sum of its provisions' counts), so planning is
    linear in the document. Raises ValueError if one provision alone exceeds the budget.
    """
    if budget_tokens <= 0:
        raise ValueError(f"budget_tokens must be positive, got {budget_tokens}")
    if overlap < 0:
        raise ValueError(f"overlap must be zero or more, got {overlap}")
    costs = [counter.count_tokens(render_provision(text, p)) for p in provisions]
    for provision, cost in zip(provisions, costs, strict=True):
        if cost > budget_tokens:
            raise ValueError(
                f"provision {provision.number} alone needs {cost} tokens, more than the window "
                f"budget of {budget_tokens}; split provisions smaller (max_chars)"
            )
    windows: list[Window] = []
    first = 0
    while first < len(provisions):
        last = _last_fitting(costs, first, budget_tokens)
        windows.append(_window(len(windows), provisions, costs, first, last))
        if last == len(provisions) - 1:
            break
        first = _next_first(costs, first, last, overlap, budget_tokens)
    return tuple(windows)


def _next_first(costs: Sequence[int], first: int, last: int, overlap: int, budget: int) -> int:
    """Where the window after [first, last] starts: `overlap` provisions back, or fewer.

    Always forward: a window of one provision (or an overlap as large as the window) must not
    restart where it began. And the next window must reach past `last`: when the overlap and
    the next provision do not fit together, the overlap shrinks, since a window of old
    provisions alone would cost a model call and read nothing new.
    """
    start = max(last + 1 - overlap, first + 1)
    total = sum(costs[start : last + 2])
    while total > budget:  # ends by start == last + 1: every cost alone fits the budget
        total -= costs[start]
        start += 1
    return start


def _last_fitting(costs: Sequence[int], first: int, budget: int) -> int:
    """Index of the last provision, from `first`, whose cumulative cost fits the budget."""
    total = 0
    last = first
    for index in range(first, len(costs)):
        if total + costs[index] > budget:
            break
        total += costs[index]
        last = index
    return last


def _window(
    index: int, provisions: Sequence[Provision], costs: Sequence[int], first: int, last: int
) -> Window:
    return Window(
        index=index,
        first=provisions[first].number,
        last=provisions[last].number,
        start=provisions[first].start,
        end=provisions[last].end,
        tokens=sum(costs[first : last + 1]),
    )
