"""The guard on the bundled stand-in model: scores, the block path, and failing closed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from docanalysis.core.guard_policy import DEFAULT_POLICY
from docanalysis.llm.llama_guard import LlamaGuard

pytestmark = pytest.mark.slow

INSTRUCTION = "Summarize this part of the contract."
SUMMARY = (
    "Stremicks Heritage Foods, LLC will manufacture and package nutrition products for Premier "
    "Nutrition Corporation from July 1, 2017. The agreement sets prices, forecasts and quality "
    "standards, and is governed by the laws of Delaware."
)
MODEL_ID = "HuggingFaceTB/SmolLM2-135M-Instruct@gguf-q4_1-b179c9523d0e"


def test_bundled_guard_scores_a_contract_summary() -> None:
    verdict = LlamaGuard().classify(INSTRUCTION, SUMMARY)
    assert verdict.verdict in ("safe", "unsafe")
    assert verdict.reason == ""
    assert verdict.model == MODEL_ID
    assert verdict.policy_version == "2026-11-legal-1"
    assert verdict.score is not None and 0.0 <= verdict.score <= 1.0
    # At the default threshold the stand-in rates an ordinary summary safe.
    assert verdict.verdict == "safe" and verdict.released


def test_threshold_zero_blocks_everything() -> None:
    policy = replace(DEFAULT_POLICY, threshold=0.0, version="test-block")
    verdict = LlamaGuard(policy=policy).classify(INSTRUCTION, SUMMARY)
    assert verdict.verdict == "unsafe" and not verdict.released
    assert verdict.policy_version == "test-block"
    assert set(verdict.categories) <= DEFAULT_POLICY.codes()


def test_guard_that_cannot_load_holds(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-guard")
    verdict = LlamaGuard(missing).classify(INSTRUCTION, SUMMARY)
    assert verdict.verdict == "held" and not verdict.released
    assert verdict.model == missing
    assert verdict.policy_version == "2026-11-legal-1"
    assert verdict.score is None
    assert verdict.reason.startswith("guard could not judge: ")
