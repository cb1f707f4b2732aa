"""Windows: runs of consecutive provisions that fit the model's input budget.

A provision costs its tokens as the model reads it (rendered, numbered). Where the counter can
say where its tokens lie (TokenOffsets), the rendered document is tokenized once and every
provision's count is read off the offsets: counting each provision apart would run the
tokenizer's per-call overhead thousands of times, and each token would be counted twice over
once the windows are checked too.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from itertools import accumulate

from docanalysis.core.ports import TokenCounter, TokenOffsets
from docanalysis.core.provisions import render_provision
from docanalysis.core.types import Provision, Window

Render = Callable[[str, Provision], str]


def plan_windows(
    text: str,
    provisions: Sequence[Provision],
    counter: TokenCounter,
    budget_tokens: int,
    *,
    overlap: int = 1,
    render: Render = render_provision,
) -> tuple[Window, ...]:
    """Cut `provisions` into windows whose rendered text fits `budget_tokens`.

    Each provision is counted once (see provision_costs); windows_for_costs says how they are
    cut. Raises ValueError if one provision alone exceeds the budget.
    """
    costs, _ = provision_costs([render(text, p) for p in provisions], counter)
    return windows_for_costs(provisions, costs, budget_tokens, overlap=overlap)


# Pieces are tokenized in runs of about this many characters: one call per run keeps the
# tokenizer's per-call overhead negligible, and the offsets of one run's tokens (about 100 bytes
# each as Python objects) are all that is held, never those of a whole 1,000-page document.
RUN_CHARS = 1 << 16


def provision_costs(pieces: Sequence[str], counter: TokenCounter) -> tuple[list[int], bool]:
    """The tokens of each piece, and whether they were read off tokenizations of runs of the
    pieces joined. If so, with no token across a seam, the counts of a run of consecutive
    pieces add up to the tokens of the run as one text (for tokenizers that cut text into
    words before merging, as byte-level BPE does: checked per tokenizer by the planner)."""
    if pieces and isinstance(counter, TokenOffsets):
        costs = _costs_by_runs(pieces, counter)
        if costs is not None:
            return costs, True
    return [counter.count_tokens(piece) for piece in pieces], False


def _costs_by_runs(pieces: Sequence[str], counter: TokenOffsets) -> list[int] | None:
    costs: list[int] = []
    for run in _runs(pieces, RUN_CHARS):
        offsets = counter.token_offsets("".join(run))
        run_costs = None if offsets is None else costs_from_offsets(run, offsets)
        if run_costs is None:
            return None
        costs += run_costs
    return costs


def _runs(pieces: Sequence[str], limit: int) -> Iterator[Sequence[str]]:
    """Consecutive pieces in runs of at most `limit` characters (a longer piece alone)."""
    start, size = 0, 0
    for index, piece in enumerate(pieces):
        if size and size + len(piece) > limit:
            yield pieces[start:index]
            start, size = index, 0
        size += len(piece)
    if start < len(pieces):
        yield pieces[start:]


def costs_from_offsets(
    pieces: Sequence[str], offsets: Sequence[tuple[int, int]]
) -> list[int] | None:
    """Tokens per piece from the token offsets of the pieces joined: a token belongs to the
    piece its first character is in. None where that is not well defined: offsets that go
    backwards, or a token across a seam (merged over it, so the pieces' counts would not add
    up to the tokens of a window)."""
    starts = [start for start, _ in offsets]
    if starts != sorted(starts):
        return None
    seams = list(accumulate(len(piece) for piece in pieces))[:-1]
    before = [bisect_left(starts, seam) for seam in seams]  # tokens that start before the seam
    if any(i > 0 and offsets[i - 1][1] > seam for i, seam in zip(before, seams, strict=True)):
        return None
    bounds = [0, *before, len(starts)]
    return [b - a for a, b in zip(bounds, bounds[1:], strict=False)]


def windows_for_costs(
    provisions: Sequence[Provision], costs: Sequence[int], budget_tokens: int, *, overlap: int = 1
) -> tuple[Window, ...]:
    """Cut `provisions`, of token costs `costs`, into windows of at most `budget_tokens`.

    Windows cut only at provision boundaries; consecutive windows share `overlap` provisions
    (fewer where they would not leave room for a new one) so a clause that reads across a cut
    is seen whole at least once. A window's tokens are the sum of its provisions' costs, so
    planning is linear in the document. Raises ValueError if one provision alone exceeds the
    budget.
    """
    if budget_tokens <= 0:
        raise ValueError(f"budget_tokens must be positive, got {budget_tokens}")
    if overlap < 0:
        raise ValueError(f"overlap must be zero or more, got {overlap}")
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
