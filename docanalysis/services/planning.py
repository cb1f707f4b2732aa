"""Plan before spending: provisions, windows and the projected model usage of a document.

The same plan drives the pipeline (the windows it records) and `docanalysis plan` (what a run
would cost, without calling a model). Windows are checked against the exact prompt the model
will see, so no window ever exceeds the limit, whatever the tokenizer does at the seams.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from docanalysis.core.ports import PromptCounter
from docanalysis.core.prompts import task_overhead_messages, window_messages
from docanalysis.core.provisions import split_provisions
from docanalysis.core.summaries import reduce_messages
from docanalysis.core.types import ClauseCategory, ExtractedDocument, Provision, Window
from docanalysis.core.windows import plan_windows


@dataclass(frozen=True)
class PlannedUsage:
    document_tokens: int  # the document's text, counted once
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
    """Windows whose whole prompt plus the output budget fit `window_tokens`."""
    provisions = split_provisions(doc)
    overhead = counter.count_prompt_tokens(task_overhead_messages(categories))
    budget = window_tokens - overhead - output_tokens
    while True:
        if budget < 64:
            raise ValueError(
                f"a window of {window_tokens} tokens leaves no room for text after the prompt "
                f"({overhead} tokens) and the output budget ({output_tokens})"
            )
        windows = plan_windows(doc.text, provisions, counter, budget, overlap=overlap)
        prompts = tuple(
            counter.count_prompt_tokens(
                window_messages(doc.text, window_provisions(provisions, w), categories)
            )
            for w in windows
        )
        excess = max((p + output_tokens - window_tokens for p in prompts), default=0)
        if excess <= 0:
            break
        budget -= excess  # tokens merged differently at the seams: tighten and plan again
    return Plan(provisions, windows, prompts, _usage(doc, counter, prompts, output_tokens))


def _usage(
    doc: ExtractedDocument, counter: PromptCounter, prompts: Sequence[int], output_tokens: int
) -> PlannedUsage:
    calls = len(prompts)
    prompt_tokens = sum(prompts)
    if calls > 1:  # the reduce call reads at most every window's output
        calls += 1
        prompt_tokens += counter.count_prompt_tokens(reduce_messages([])) + len(prompts) * (
            output_tokens
        )
    return PlannedUsage(
        document_tokens=counter.count_tokens(doc.text),
        prompt_tokens=prompt_tokens,
        completion_tokens_max=calls * output_tokens,
        calls=calls,
    )
