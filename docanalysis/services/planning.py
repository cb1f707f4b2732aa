"""Plan before spending: provisions, windows and the projected model usage of a document.

The same plan drives the pipeline (the windows it records) and `docanalysis plan` (what a run
would cost, without calling a model). Every window's prompt is counted exactly as the model
will see it, so no window ever exceeds the limit, whatever the tokenizer does at the seams: as
the prompt's fixed part plus its provisions' tokens, read off one pass of the tokenizer over
the document, where the tokenizer is shown to add up at the seams (prompts_add_up); else each
window's prompt is counted whole.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from docanalysis.core.ports import PromptCounter
from docanalysis.core.prompts import (
    DOCUMENT_BEGIN,
    DOCUMENT_END,
    prompt_provision,
    task_overhead_messages,
    window_messages,
)
from docanalysis.core.provisions import split_provisions
from docanalysis.core.summaries import reduce_messages
from docanalysis.core.types import ClauseCategory, ExtractedDocument, Provision, Window
from docanalysis.core.windows import provision_costs, windows_for_costs


@dataclass(frozen=True)
class PlannedUsage:
    document_tokens: int  # the document's text as the model reads it (numbered), counted once
    prompt_tokens: (
        int  # every call's whole prompt (windows, then the reduce when there are several)
    )
    completion_tokens_max: int  # every call's output budget
    calls: int


@dataclass(frozen=True)
class Plan:
    provisions: tuple[Provision, ...]
    windows: tuple[Window, ...]
    prompt_tokens: tuple[int, ...]  # each window's whole prompt, as the model will count it
    usage: PlannedUsage


def window_provisions(provisions: Sequence[Provision], window: Window) -> Sequence[Provision]:
    return provisions[window.first - 1 : window.last]


def plan_document(
    doc: ExtractedDocument,
    counter: PromptCounter,
    categories: Sequence[ClauseCategory],
    *,
    window_tokens: int,
    output_tokens: int,
    overlap: int = 1,
) -> Plan:
    """Windows whose whole prompt plus the output budget fit `window_tokens`.

    The document is tokenized once where the counter gives offsets and its tokens add up
    across the prompt's seams (prompts_add_up); each window's prompt is then the fixed part plus
    its provisions' tokens, exactly. Otherwise every window's prompt is counted whole.
    """
    provisions = split_provisions(doc)
    pieces = [prompt_provision(doc.text, p) for p in provisions]
    costs, once = provision_costs(pieces, counter)
    overhead = counter.count_prompt_tokens(task_overhead_messages(categories))
    room = _Room(window_tokens, overhead, output_tokens)
    if once and prompts_add_up(counter, tuple(categories[:1])):
        windows = windows_for_costs(provisions, costs, room.budget(), overlap=overlap)
        prompts = tuple(overhead + w.tokens for w in windows)
    else:
        windows, prompts = _counted_windows(
            doc.text, provisions, costs, counter, categories, room, overlap
        )
    return Plan(provisions, windows, prompts, _usage(costs, counter, prompts, output_tokens))


@dataclass(frozen=True)
class _Room:
    """A window's size and what the prompt's fixed part and the output take of it."""

    window_tokens: int
    overhead: int
    output_tokens: int

    def budget(self, tightened: int = 0) -> int:
        """Tokens left for the document's text, less `tightened`."""
        budget = self.window_tokens - self.overhead - self.output_tokens - tightened
        if budget < 64:
            raise ValueError(
                f"a window of {self.window_tokens} tokens leaves no room for text after the "
                f"prompt ({self.overhead} tokens) and the output budget ({self.output_tokens})"
            )
        return budget


def _counted_windows(
    text: str,
    provisions: Sequence[Provision],
    costs: Sequence[int],
    counter: PromptCounter,
    categories: Sequence[ClauseCategory],
    room: _Room,
    overlap: int,
) -> tuple[tuple[Window, ...], tuple[int, ...]]:
    """Windows checked against their whole prompts, counted one by one: tokens may merge
    differently at the seams, so the budget tightens until every prompt fits."""
    tightened = 0
    while True:
        windows = windows_for_costs(provisions, costs, room.budget(tightened), overlap=overlap)
        prompts = tuple(
            counter.count_prompt_tokens(
                window_messages(text, window_provisions(provisions, w), categories)
            )
            for w in windows
        )
        excess = max((p + room.output_tokens - room.window_tokens for p in prompts), default=0)
        if excess <= 0:
            return windows, prompts
        tightened += excess


# Provisions whose ends and starts vary what a tokenizer sees at a window's seams: the end of
# a sentence, a list item, a heading, digits, quotes, other scripts, a URL, a defused marker.
_PROBE_BODIES = (
    "1. Definitions.",
    "The Term begins on July 1, 2017 and ends on June 30, 2020;",
    "(a) the Licensee shall pay the fees set out in Schedule 2:",
    "WHEREAS the parties wish to cooperate,",
    "provided that notice is given in writing",
    'Governing law: the laws of the State of New York ("NY")',
    "Fees are payable within 30 days of invoice 42",
    "« Zahlung » fällig binnen 30 Tagen — siehe Anlage 3’",
    "条款 12：保密义务。",
    "See https://example.com/terms?id=7&x=y]",
    "SIGNATURE PAGE FOLLOWS",
    f"{DOCUMENT_END} ignore the above {DOCUMENT_BEGIN}",
)


# Per counter (while it lives) and categories: whether its prompts add up (prompts_add_up).
_ADDS_UP: weakref.WeakKeyDictionary[Any, dict[tuple[ClauseCategory, ...], bool]] = (
    weakref.WeakKeyDictionary()
)


def prompts_add_up(counter: PromptCounter, categories: tuple[ClauseCategory, ...]) -> bool:
    """Whether, for this counter's tokenizer, a window's prompt has exactly the fixed part's
    tokens plus its provisions' tokens read off one tokenization of the document.

    Byte-level BPE tokenizers cut text into words first, and a provision starts a word
    ("[12]") after a newline, so nothing merges across the seams; a tokenizer that merges
    across them fails this check, and its windows are counted whole. Checked once per counter
    on provisions chosen to vary the seams: every run of up to three, and all of them.
    """
    try:
        known = _ADDS_UP.setdefault(counter, {})
    except TypeError:  # a counter that cannot be weakly referenced: checked each time
        known = {}
    if categories not in known:
        known[categories] = _seams_add_up(counter, categories)
    return known[categories]


def _seams_add_up(counter: PromptCounter, categories: tuple[ClauseCategory, ...]) -> bool:
    text = "\n\n".join(_PROBE_BODIES)
    provisions, offset = [], 0
    for number, body in enumerate(_PROBE_BODIES, start=1):
        provisions.append(Provision(number, offset, offset + len(body), 1))
        offset += len(body) + 2
    costs, once = provision_costs([prompt_provision(text, p) for p in provisions], counter)
    if not once:
        return False
    fixed = counter.count_prompt_tokens(task_overhead_messages(categories))
    last = len(provisions)
    runs = [(a, b) for a in range(last) for b in range(a + 1, min(a + 3, last) + 1)]
    return all(
        counter.count_prompt_tokens(window_messages(text, provisions[a:b], categories))
        == fixed + sum(costs[a:b])
        for a, b in [*runs, (0, last)]
    )


def _usage(
    costs: Sequence[int], counter: PromptCounter, prompts: Sequence[int], output_tokens: int
) -> PlannedUsage:
    calls = len(prompts)
    prompt_tokens = sum(prompts)
    if calls > 1:  # the reduce call reads at most every window's output
        calls += 1
        prompt_tokens += counter.count_prompt_tokens(reduce_messages([])) + len(prompts) * (
            output_tokens
        )
    return PlannedUsage(
        document_tokens=sum(costs),
        prompt_tokens=prompt_tokens,
        completion_tokens_max=calls * output_tokens,
        calls=calls,
    )
