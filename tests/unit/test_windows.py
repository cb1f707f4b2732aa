"""plan_windows with fake token counters (one token per whitespace-separated word)."""

from __future__ import annotations

import re

import pytest

from docanalysis.core.provisions import render_provision
from docanalysis.core.types import Provision, Window
from docanalysis.core.windows import costs_from_offsets, plan_windows, provision_costs


class WordCounter:
    def __init__(self) -> None:
        self.calls = 0

    def count_tokens(self, text: str) -> int:
        self.calls += 1
        return len(text.split())


# Rendered "[n] body\n": provision n with k words costs k + 1 tokens (the "[n]" marker).
TEXT = "a b c\n\nd e\n\nf g h i\n\nj\n\nk l m"
PROVISIONS = (
    Provision(1, 0, 5, 1),  # "a b c"   -> 4 tokens
    Provision(2, 7, 10, 1),  # "d e"     -> 3
    Provision(3, 12, 19, 2),  # "f g h i" -> 5
    Provision(4, 21, 22, 2),  # "j"       -> 2
    Provision(5, 24, 29, 3),  # "k l m"   -> 4
)


def test_windows_fit_the_budget_and_overlap_by_one_provision() -> None:
    counter = WordCounter()

    windows = plan_windows(TEXT, PROVISIONS, counter, 8)

    assert windows == (
        Window(index=0, first=1, last=2, start=0, end=10, tokens=7),
        Window(index=1, first=2, last=3, start=7, end=19, tokens=8),
        Window(index=2, first=3, last=4, start=12, end=22, tokens=7),
        Window(index=3, first=4, last=5, start=21, end=29, tokens=6),
    )
    assert counter.calls == 5  # each provision counted once


def test_without_overlap_windows_partition_the_provisions() -> None:
    windows = plan_windows(TEXT, PROVISIONS, WordCounter(), 9, overlap=0)

    assert [(w.first, w.last, w.tokens) for w in windows] == [(1, 2, 7), (3, 4, 7), (5, 5, 4)]


def test_one_window_when_everything_fits() -> None:
    assert plan_windows(TEXT, PROVISIONS, WordCounter(), 100) == (
        Window(index=0, first=1, last=5, start=0, end=29, tokens=18),
    )


def test_windows_always_advance_even_when_the_overlap_covers_a_whole_window() -> None:
    windows = plan_windows(TEXT, PROVISIONS, WordCounter(), 5, overlap=3)

    assert [(w.first, w.last) for w in windows] == [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5)]


def test_a_provision_larger_than_the_budget_is_refused() -> None:
    with pytest.raises(ValueError) as caught:
        plan_windows(TEXT, PROVISIONS, WordCounter(), 4)

    assert str(caught.value) == (
        "provision 3 alone needs 5 tokens, more than the window budget of 4; "
        "split provisions smaller (max_chars)"
    )


def test_no_provisions_no_windows() -> None:
    assert plan_windows("", (), WordCounter(), 10) == ()


def test_planning_is_linear_in_the_number_of_provisions() -> None:
    words = ["w"] * 20_000
    text = " ".join(words)
    provisions = [Provision(i + 1, 2 * i, 2 * i + 1, 1) for i in range(20_000)]
    counter = WordCounter()

    windows = plan_windows(text, provisions, counter, 100, overlap=1)

    assert counter.calls == 20_000
    # 50 provisions of 2 tokens per window; each next window adds 49: 1 + ceil(19950 / 49)
    assert len(windows) == 409
    assert windows[-1].last == 20_000


class OffsetWordCounter(WordCounter):
    """A word per token, with offsets: the whole document is tokenized once."""

    def __init__(self, *, merge_seams: bool = False) -> None:
        super().__init__()
        self.offset_calls = 0
        self.merge_seams = merge_seams

    def token_offsets(self, text: str) -> list[tuple[int, int]]:
        self.offset_calls += 1
        # merge_seams: a newline joins the words around it, as a tokenizer merging across a
        # provision's end would.
        pattern = r"\S+\n\S+|\S+" if self.merge_seams else r"\S+"
        return [m.span() for m in re.finditer(pattern, text)]


def test_with_offsets_the_document_is_tokenized_once() -> None:
    counter = OffsetWordCounter()

    windows = plan_windows(TEXT, PROVISIONS, counter, 8)

    assert windows == plan_windows(TEXT, PROVISIONS, WordCounter(), 8)
    assert (counter.offset_calls, counter.calls) == (1, 0)


def test_a_token_across_a_seam_falls_back_to_counting_each_provision() -> None:
    counter = OffsetWordCounter(merge_seams=True)

    costs, once = provision_costs([render_provision(TEXT, p) for p in PROVISIONS], counter)

    assert (costs, once) == ([4, 3, 5, 2, 4], False)
    assert (counter.offset_calls, counter.calls) == (1, 5)


def test_costs_from_offsets() -> None:
    pieces = ["[1] a b\n", "[2] c\n", "[3] d e f\n"]  # seams at 8 and 14
    offsets = [m.span() for m in re.finditer(r"\S+|\n", "".join(pieces))]

    assert costs_from_offsets(pieces, offsets) == [4, 3, 5]
    assert costs_from_offsets(pieces, [(0, 4), (4, 9), (9, 24)]) is None  # 4-9 crosses 8
    assert costs_from_offsets(pieces, [(0, 3), (5, 6), (4, 5)]) is None  # backwards
    assert costs_from_offsets(["[1] a\n"], []) == [0]
