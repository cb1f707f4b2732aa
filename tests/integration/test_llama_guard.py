"""The guard adapter on real models: the bundled stand-in, and tiny random Llama Guard 3
(Llama) and Llama Guard 4 (Llama 4, multimodal checkpoint) models built here, so that the
production classes, formats and loading path run on CPU without downloading anything."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch

from docanalysis.core.guard_policy import guard_prompt, llama3_chat, llama4_chat
from docanalysis.guard_policies import load_policy
from docanalysis.llm import next_token
from docanalysis.llm.llama_guard import LlamaGuard, chat_prompt, guard_format
from docanalysis.llm.transformers_local import load_causal_lm, load_tokenizer

pytestmark = pytest.mark.slow

POLICY = load_policy()
# Two categories without wording: short prompts, for the tests that run the stand-in many times.
SHORT = replace(POLICY, categories=tuple(c for c in POLICY.categories if c.code in ("S1", "S6")))
SHORT = replace(SHORT, categories=tuple(replace(c, description="") for c in SHORT.categories))
INSTRUCTION = "Summarize this part of the contract."
SUMMARY = (
    "Stremicks Heritage Foods, LLC will manufacture and package nutrition products for Premier "
    "Nutrition Corporation from July 1, 2017. The agreement sets prices, forecasts and quality "
    "standards, and is governed by the laws of Delaware."
)
OUTPUTS = [
    (INSTRUCTION, SUMMARY),
    ("Find the Governing Law clause.", "This Agreement is governed by the laws of Delaware."),
    ("Find the Cap On Liability clause.", "Liability shall not exceed the fees paid."),
]
MODEL_ID = "HuggingFaceTB/SmolLM2-135M-Instruct@gguf-q4_1-b179c9523d0e"
LLAMA3_TOKENS = ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
LLAMA4_TOKENS = ["<|begin_of_text|>", "<|header_start|>", "<|header_end|>", "<|eot|>"]


def test_bundled_guard_releases_a_contract_summary() -> None:
    verdict = LlamaGuard(POLICY).classify(INSTRUCTION, SUMMARY)
    assert (verdict.verdict, verdict.outcome, verdict.reason) == ("safe", "release", "")
    assert verdict.released
    assert verdict.model == MODEL_ID
    assert (verdict.policy_version, verdict.policy_sha256) == (POLICY.version, POLICY.sha256)
    assert verdict.score is not None and 0.0 <= verdict.score < POLICY.threshold


def test_threshold_zero_makes_every_output_unsafe_and_the_policy_decides() -> None:
    verdict = LlamaGuard(replace(SHORT, threshold=0.0)).classify(INSTRUCTION, SUMMARY)
    assert verdict.verdict == "unsafe"
    assert set(verdict.categories) <= SHORT.codes()
    assert verdict.outcome == SHORT.action_for("unsafe", verdict.categories)


def test_a_batch_scores_exactly_as_one_at_a_time() -> None:
    guard = LlamaGuard(SHORT, batch_size=3)
    batched = guard.classify_batch(OUTPUTS)
    alone = [guard.classify(*pair) for pair in OUTPUTS]
    assert [v.verdict for v in batched] == [v.verdict for v in alone]
    for b, a in zip(batched, alone, strict=True):
        assert b.score == pytest.approx(a.score, abs=1e-5)


def test_a_guard_that_cannot_load_holds(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-guard")
    verdicts = LlamaGuard(POLICY, missing).classify_batch(OUTPUTS)
    assert [v.verdict for v in verdicts] == ["held"] * 3
    assert not any(v.released for v in verdicts)
    assert verdicts[0].model == missing and verdicts[0].score is None
    assert verdicts[0].reason.startswith("the guard model could not be loaded: ")


def test_out_of_memory_splits_the_batch_before_holding(monkeypatch: pytest.MonkeyPatch) -> None:
    real = next_token.last_logits
    sizes: list[int] = []

    def tight_memory(model: Any, batch: list[list[int]], prefix: Any) -> Any:
        sizes.append(len(batch))
        if len(batch) > 1:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(model, batch, prefix)

    monkeypatch.setattr(next_token, "last_logits", tight_memory)
    verdicts = LlamaGuard(SHORT, batch_size=3).classify_batch(OUTPUTS)
    assert [v.verdict for v in verdicts] == ["safe"] * 3
    assert sizes == [3, 1, 2, 1, 1]


def test_out_of_memory_for_a_single_output_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_memory(model: Any, batch: list[list[int]], prefix: Any) -> Any:
        raise torch.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(next_token, "last_logits", no_memory)
    verdicts = LlamaGuard(POLICY, batch_size=2).classify_batch(OUTPUTS)
    assert [v.verdict for v in verdicts] == ["held"] * 3
    assert verdicts[0].reason == "the guard out of memory: OutOfMemoryError('CUDA out of memory')"


def _tokenizer_with(folder: Path, tokens: list[str]) -> Any:
    tokenizer = load_tokenizer("bundled:SmolLM2-135M-Instruct")
    tokenizer = type(tokenizer).from_pretrained(_saved(tokenizer, folder / "base"))
    tokenizer.add_special_tokens({"additional_special_tokens": tokens})
    return tokenizer


def _saved(tokenizer: Any, folder: Path) -> Path:
    tokenizer.save_pretrained(folder)
    return folder


def _text_config(vocab: int) -> dict[str, Any]:
    return {
        "vocab_size": vocab,
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": 8,
        "max_position_embeddings": 4096,
        "pad_token_id": 0,
        "bos_token_id": 1,
        "eos_token_id": 2,
    }


@pytest.fixture(scope="module")
def tiny_llama_guard_3(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from transformers import LlamaConfig, LlamaForCausalLM

    folder = tmp_path_factory.mktemp("llama-guard-3-tiny")
    tokenizer = _tokenizer_with(folder, LLAMA3_TOKENS)
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(**_text_config(len(tokenizer))))
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_llama_guard_4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from transformers import Llama4Config, Llama4ForConditionalGeneration

    folder = tmp_path_factory.mktemp("llama-guard-4-tiny")
    tokenizer = _tokenizer_with(folder, LLAMA4_TOKENS)
    text = _text_config(len(tokenizer)) | {
        "intermediate_size_mlp": 64,
        "num_local_experts": 1,
        "num_experts_per_tok": 1,
        "interleave_moe_layer_step": 1,
        "attention_chunk_size": 1024,
    }
    vision = {
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 1,
        "num_attention_heads": 4,
        "image_size": 28,
        "patch_size": 14,
        "vision_output_dim": 32,
        "projector_input_dim": 32,
        "projector_output_dim": 32,
    }
    torch.manual_seed(0)
    model = Llama4ForConditionalGeneration(Llama4Config(text_config=text, vision_config=vision))
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.mark.parametrize(
    ("fixture", "form", "wrap"),
    [("tiny_llama_guard_3", "llama3", llama3_chat), ("tiny_llama_guard_4", "llama4", llama4_chat)],
)
def test_llama_guard_classes_use_their_published_format_and_hold_a_non_answer(
    fixture: str, form: str, wrap: Any, request: pytest.FixtureRequest
) -> None:
    folder: Path = request.getfixturevalue(fixture)
    loaded = load_causal_lm(str(folder))
    assert guard_format(loaded.tokenizer) == form
    task = guard_prompt(POLICY, INSTRUCTION, SUMMARY)
    assert chat_prompt(loaded.tokenizer, task) == wrap(task) + "\n\n"
    assert json.loads((folder / "config.json").read_text())["architectures"] == [
        "LlamaForCausalLM" if form == "llama3" else "Llama4ForConditionalGeneration"
    ]
    # Random weights put almost no probability on "safe" or "unsafe": the answer is neither,
    # and the output is held, never released.
    verdicts = LlamaGuard(POLICY, str(folder), batch_size=2).classify_batch(OUTPUTS)
    assert [v.verdict for v in verdicts] == ["held"] * 3
    assert all(
        v.reason.startswith("the guard answered neither 'safe' nor 'unsafe'") for v in verdicts
    )
    assert verdicts[0].model.startswith(f"{folder}@local-")
    assert verdicts[0].policy_sha256 == POLICY.sha256


@pytest.mark.parametrize("fixture", ["bundled", "tiny_llama_guard_3", "tiny_llama_guard_4"])
def test_the_shared_prefix_cache_scores_as_the_whole_prompt_batched_or_alone(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    name = (
        "bundled:SmolLM2-135M-Instruct"
        if fixture == "bundled"
        else str(request.getfixturevalue(fixture))
    )
    loaded = load_causal_lm(name)
    if fixture == "tiny_llama_guard_4":
        assert type(loaded.model).__name__ == "Llama4ForCausalLM"  # the text tower alone
    guard = LlamaGuard(SHORT, name)
    prefix = guard.prefix(loaded)
    assert prefix is not None and len(prefix.ids) > 40
    prompts = [
        list(
            loaded.tokenizer(
                chat_prompt(loaded.tokenizer, guard_prompt(SHORT, *pair)), add_special_tokens=False
            ).input_ids
        )
        for pair in OUTPUTS
    ]
    assert all(tuple(ids[: len(prefix.ids)]) == prefix.ids for ids in prompts)
    whole = next_token.last_logits(loaded.model, prompts)
    cached = next_token.last_logits(loaded.model, prompts, prefix)
    for row, ids in enumerate(prompts):
        alone = next_token.last_logits(loaded.model, [ids], prefix)[0]
        assert torch.allclose(cached[row], whole[row], atol=1e-4)
        assert torch.allclose(alone, whole[row], atol=1e-4)
