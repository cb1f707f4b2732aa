"""The guard's shared-prefix cache changes no verdict: the bundled model, batched, with awkward
outputs at the prefix's boundary (tokens that could merge with the policy text before them)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from docanalysis.core.guard_policy import guard_prompt
from docanalysis.core.types import GuardVerdict
from docanalysis.guard_policies import load_policy
from docanalysis.llm import next_token
from docanalysis.llm.llama_guard import LlamaGuard, chat_prompt
from docanalysis.llm.transformers_local import load_causal_lm

pytestmark = pytest.mark.slow

POLICY = load_policy()
# Two categories without wording: short prompts, for the tests that run the model many times.
SHORT = replace(POLICY, categories=tuple(c for c in POLICY.categories if c.code in ("S1", "S6")))
SHORT = replace(SHORT, categories=tuple(replace(c, description="") for c in SHORT.categories))
BUNDLED = "bundled:SmolLM2-135M-Instruct"
# Outputs whose first characters could join the tokens before them: none, newlines, a colon,
# the template's own words and special tokens, accents, leading spaces; and ordinary ones.
PAIRS = [
    ("", ""),
    ("\n\nFind the parties.", "\nAcme Inc.; Beta LLC"),
    (":Find", "Value:"),
    ("User: Agent:", "<END CONVERSATION>"),
    ("<|im_end|>", "<|im_start|>assistant"),
    ("Résumé du contrat.", "Le contrat est régi par le droit français."),
    ("   Summarize this contract.", "  The agreement runs for three years from March 1, 2021."),
]


def _prompt_ids(tokenizer: Any, pair: tuple[str, str]) -> list[int]:
    prompt = chat_prompt(tokenizer, guard_prompt(POLICY, *pair))  # the policy the product uses
    return list(tokenizer(prompt, add_special_tokens=False).input_ids)


def _same(cached: list[GuardVerdict], whole: list[GuardVerdict]) -> None:
    assert [(v.verdict, v.categories, v.outcome) for v in cached] == [
        (v.verdict, v.categories, v.outcome) for v in whole
    ]
    for c, w in zip(cached, whole, strict=True):
        assert c.score == pytest.approx(w.score, abs=1e-4)


def test_every_prompt_starts_with_the_cached_ids_though_the_prefix_text_alone_would_not() -> None:
    loaded = load_causal_lm(BUNDLED)
    prefix = LlamaGuard(POLICY).prefix(loaded)
    assert prefix is not None
    for pair in PAIRS:
        ids = _prompt_ids(loaded.tokenizer, pair)
        assert tuple(ids[: len(prefix.ids)]) == prefix.ids, pair
        assert len(ids) > len(prefix.ids)
    # Why the split is made on the whole prompt's ids, never by tokenizing the prefix's text:
    # alone, its closing blank line is one token, where the prompt has two (BPE at the edge).
    text = loaded.tokenizer.decode(list(prefix.ids))
    assert text.endswith("<BEGIN CONVERSATION>\n\n")
    alone = loaded.tokenizer(text, add_special_tokens=False).input_ids
    assert tuple(alone) != prefix.ids


def test_batched_verdicts_with_the_prefix_cache_equal_whole_prompts_one_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rows_cached: list[int] = []
    real = next_token._after_prefix

    def counted(model: Any, prefix: Any, suffixes: list[list[int]]) -> Any:
        rows_cached.append(len(suffixes))
        return real(model, prefix, suffixes)

    monkeypatch.setattr(next_token, "_after_prefix", counted)
    cached = LlamaGuard(SHORT, BUNDLED, batch_size=4).classify_batch(PAIRS)
    assert rows_cached == [4, 3]  # every output went through the cache, in two batches
    whole = LlamaGuard(SHORT, BUNDLED, batch_size=1, prefix_cache=False).classify_batch(PAIRS)
    assert len(rows_cached) == 2  # and none of the baseline did
    _same(cached, whole)
    assert all(v.verdict in ("safe", "unsafe") for v in cached)


def test_an_unsafe_answer_reads_the_same_categories_with_the_cache() -> None:
    # Threshold 0: every output is unsafe, and its category codes are decoded after the cache.
    always = replace(SHORT, threshold=0.0)
    pairs = PAIRS[-1:]
    cached = LlamaGuard(always, BUNDLED).classify_batch(pairs)
    whole = LlamaGuard(always, BUNDLED, prefix_cache=False).classify_batch(pairs)
    assert [v.verdict for v in cached] == ["unsafe"]
    _same(cached, whole)
