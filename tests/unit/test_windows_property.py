"""plan_windows over random documents, budgets and overlaps (hypothesis)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from docanalysis.core.types import Provision, Window
from docanalysis.core.windows import plan_windows

NUMBER = re.compile(r"\[(\d+)\] ")


class TableCounter:
    """Token costs drawn at random, looked up by the provision number in the rendered text."""

    def __init__(self, costs: list[int]) -> None:
        self.costs = costs

    def count_tokens(self, text: str) -> int:
        match = NUMBER.match(text)
        assert match is not None, text
        return self.costs[int(match.group(1)) - 1]


def document(lengths: list[int]) -> tuple[str, tuple[Provision, ...]]:
    """Provisions of "x" * length, separated by blank lines, numbered from 1."""
    provisions: list[Provision] = []
    offset = 0
    for number, length in enumerate(lengths, start=1):
        provisions.append(Provision(number, offset, offset + length, 1 + number // 10))
        offset += length + 2
    return "\n\n".join("x" * length for length in lengths), tuple(provisions)


documents = st.lists(
    st.tuples(st.integers(1, 40), st.integers(1, 30)), min_size=0, max_size=60
)  # (characters, tokens) per provision


@settings(max_examples=200, deadline=None)
@given(documents, st.integers(1, 120), st.integers(0, 6))
def test_windows_fit_cover_and_overlap(
    shape: list[tuple[int, int]], budget: int, overlap: int
) -> None:
    costs = [cost for _, cost in shape]
    text, provisions = document([length for length, _ in shape])
    if any(cost > budget for cost in costs):
        with pytest.raises(ValueError):
            plan_windows(text, provisions, TableCounter(costs), budget, overlap=overlap)
        return

    windows = plan_windows(text, provisions, TableCounter(costs), budget, overlap=overlap)

    assert windows == plan_windows(text, provisions, TableCounter(costs), budget, overlap=overlap)
    assert_windows(windows, provisions, costs, budget, overlap)


def assert_windows(
    windows: tuple[Window, ...],
    provisions: tuple[Provision, ...],
    costs: list[int],
    budget: int,
    overlap: int,
) -> None:
    n = len(provisions)
    assert [w.index for w in windows] == list(range(len(windows)))
    for w in windows:
        assert w.first >= 1 and w.first <= w.last and w.last <= n  # inside the document
        assert w.tokens == sum(costs[w.first - 1 : w.last]) <= budget
        assert (w.start, w.end) == (provisions[w.first - 1].start, provisions[w.last - 1].end)
        # Greedy: the next provision would not have fitted.
        assert w.last == n or w.tokens + costs[w.last] > budget
    covered = {k for w in windows for k in range(w.first, w.last + 1)}
    assert covered == set(range(1, n + 1))
    if windows:
        assert (windows[0].first, windows[-1].last) == (1, n)
    for a, b in zip(windows, windows[1:], strict=False):
        assert a.first < b.first <= a.last + 1 and b.last > a.last  # in order, no gap, advances
        shared = a.last - b.first + 1
        assert 0 <= shared <= overlap
        if shared < overlap:
            # Fewer only where the window could not advance or one more would not fit.
            assert b.first == a.first + 1 or sum(costs[b.first - 2 : a.last + 1]) > budget
