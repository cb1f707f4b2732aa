"""plan_document with real tokenizers: no window's prompt ever exceeds its budget in real tokens.

The planner reads every provision's tokens off one tokenization of the document and adds them
up; these tests count each window's whole prompt with the tokenizer, as the model will, and
compare. Trained byte-level BPE tokenizers (tests/support/bpe.py) keep them fast; the bundled
model's own tokenizer is checked in the slow test.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from docanalysis.core.extraction import extract_text
from docanalysis.core.prompts import prompt_provision, task_overhead_messages, window_messages
from docanalysis.core.types import ExtractedDocument, Message
from docanalysis.core.windows import RUN_CHARS, costs_from_offsets, provision_costs
from docanalysis.llm.tokenizer_counter import TokenizerCounter
from docanalysis.services.planning import Plan, plan_document, prompts_add_up, window_provisions
from docanalysis.taxonomy import bundled_taxonomy
from tests.support.bpe import CUAD_TXT, save_bpe

TAXONOMY = bundled_taxonomy()
OUTPUT = 256


class SpyCounter(TokenizerCounter):
    """TokenizerCounter that counts how often it tokenizes."""

    def __init__(self, model: str) -> None:
        super().__init__(model)
        self.calls = {"count_tokens": 0, "token_offsets": 0, "count_prompt_tokens": 0}

    def count_tokens(self, text: str) -> int:
        self.calls["count_tokens"] += 1
        return super().count_tokens(text)

    def token_offsets(self, text: str) -> list[tuple[int, int]] | None:
        self.calls["token_offsets"] += 1
        return super().token_offsets(text)

    def count_prompt_tokens(self, messages: Sequence[Message]) -> int:
        self.calls["count_prompt_tokens"] += 1
        return super().count_prompt_tokens(messages)


@pytest.fixture(scope="module")
def words_first(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(save_bpe(tmp_path_factory.mktemp("bpe") / "words-first"))


@pytest.fixture(scope="module")
def across_lines(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(save_bpe(tmp_path_factory.mktemp("bpe") / "across-lines", words_first=False))


def contracts(count: int = 3) -> ExtractedDocument:
    """Real contracts, one after another, with a form feed between them (pages)."""
    paths = sorted(CUAD_TXT.glob("*.txt"))[20 : 20 + count]
    text = "\f".join(path.read_text(encoding="utf-8-sig") for path in paths)
    return extract_text(text.encode("utf-8"))


def real_prompts(doc: ExtractedDocument, plan: Plan, counter: TokenizerCounter) -> list[int]:
    return [
        counter.count_prompt_tokens(
            window_messages(doc.text, window_provisions(plan.provisions, w), TAXONOMY)
        )
        for w in plan.windows
    ]


def plan_with(counter: TokenizerCounter, doc: ExtractedDocument, budget: int) -> tuple[Plan, int]:
    """A plan whose windows leave `budget` tokens for the document's text, and their size."""
    overhead = counter.count_prompt_tokens(task_overhead_messages(TAXONOMY))
    size = overhead + OUTPUT + budget
    return plan_document(doc, counter, TAXONOMY, window_tokens=size, output_tokens=OUTPUT), size


@pytest.mark.parametrize("budget", [1500, 4000])
def test_windows_fit_in_real_tokens_from_one_tokenization(words_first: str, budget: int) -> None:
    doc = contracts()
    counter = SpyCounter(words_first)
    assert prompts_add_up(counter, tuple(TAXONOMY[:1]))
    counter.calls = dict.fromkeys(counter.calls, 0)

    plan, size = plan_with(counter, doc, budget)
    calls = dict(counter.calls)

    real = real_prompts(doc, plan, counter)
    assert len(plan.windows) > 3
    assert list(plan.prompt_tokens) == real  # exact, not an estimate
    assert max(real) + OUTPUT <= size
    assert max(real) + OUTPUT > size - 100  # and the windows are filled, not padded
    whole = "".join(prompt_provision(doc.text, p) for p in plan.provisions)
    assert plan.usage.document_tokens == counter.count_tokens(whole)
    # The document once, in runs of RUN_CHARS, with offsets; no window counted whole.
    # Prompts: the fixed part in plan_with and in the planner, and the reduce call's.
    runs = -(-len(whole) // RUN_CHARS)
    assert calls == {"count_tokens": 0, "token_offsets": runs, "count_prompt_tokens": 3}
    assert runs > 1


def test_costs_read_off_runs_are_those_of_the_whole_document(words_first: str) -> None:
    doc = contracts()
    counter = TokenizerCounter(words_first)
    plan, _ = plan_with(counter, doc, 1500)
    pieces = [prompt_provision(doc.text, p) for p in plan.provisions]

    costs, once = provision_costs(pieces, counter)

    offsets = counter.token_offsets("".join(pieces))
    assert offsets is not None
    assert once and costs == costs_from_offsets(pieces, offsets)
    assert [w.tokens for w in plan.windows] == [
        sum(costs[w.first - 1 : w.last]) for w in plan.windows
    ]


def test_a_tokenizer_that_merges_across_lines_gets_its_windows_counted_whole(
    across_lines: str,
) -> None:
    doc = contracts(2)
    counter = TokenizerCounter(across_lines)

    plan, size = plan_with(counter, doc, 1500)

    real = real_prompts(doc, plan, counter)
    assert len(plan.windows) > 3
    assert list(plan.prompt_tokens) == real
    assert max(real) + OUTPUT <= size


def test_the_seam_check_refuses_a_tokenizer_that_merges_across_lines(across_lines: str) -> None:
    assert not prompts_add_up(TokenizerCounter(across_lines), tuple(TAXONOMY[:1]))


@pytest.mark.slow
def test_windows_fit_in_real_tokens_of_the_bundled_model() -> None:
    from docanalysis.core.extraction import extract_pdf

    pdf = (
        CUAD_TXT.parent
        / "pdfs"
        / "ENERGOUSCORP_03_16_2017-EX-10.24-STRATEGIC ALLIANCE AGREEMENT.PDF"
    )
    doc = extract_pdf(Path(pdf).read_bytes())
    counter = TokenizerCounter("bundled:SmolLM2-135M-Instruct")
    assert prompts_add_up(counter, tuple(TAXONOMY[:1]))

    plan = plan_document(doc, counter, TAXONOMY, window_tokens=8192, output_tokens=2048)

    real = real_prompts(doc, plan, counter)
    assert len(plan.windows) > 2
    assert list(plan.prompt_tokens) == real
    assert max(real) + 2048 <= 8192
