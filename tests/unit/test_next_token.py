"""Which prompts reuse the shared prefix's cache and which are scored whole (no model needed)."""

from __future__ import annotations

from typing import Any

import pytest

from docanalysis.llm import next_token
from docanalysis.llm.next_token import Prefix

PREFIX = Prefix(ids=(5, 6, 7), cache=object())


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[list[int]]]]:
    seen: list[tuple[str, list[list[int]]]] = []

    def after_prefix(model: Any, prefix: Prefix, suffixes: list[list[int]]) -> str:
        seen.append(("cached", suffixes))
        return "cached"

    def left_padded(model: Any, batch: list[list[int]]) -> str:
        seen.append(("whole", batch))
        return "whole"

    monkeypatch.setattr(next_token, "_after_prefix", after_prefix)
    monkeypatch.setattr(next_token, "_left_padded", left_padded)
    return seen


def test_prompts_that_start_with_the_prefix_ids_run_only_their_own_tokens(
    calls: list[tuple[str, list[list[int]]]],
) -> None:
    assert next_token.last_logits(None, [[5, 6, 7, 1], [5, 6, 7, 2, 3]], PREFIX) == "cached"
    assert calls == [("cached", [[1], [2, 3]])]


def test_a_prompt_whose_tokens_differ_at_the_boundary_sends_the_batch_whole(
    calls: list[tuple[str, list[list[int]]]],
) -> None:
    # As when the prompt's text starts with the prefix's but BPE merged across the boundary.
    batch = [[5, 6, 7, 1], [5, 6, 9, 2]]
    assert next_token.last_logits(None, batch, PREFIX) == "whole"
    assert calls == [("whole", batch)]


def test_a_prompt_that_is_only_the_prefix_is_scored_whole(
    calls: list[tuple[str, list[list[int]]]],
) -> None:
    # Its next-token logits come from the prefix's last position, which the cache does not keep.
    assert next_token.last_logits(None, [[5, 6, 7]], PREFIX) == "whole"
    assert next_token.last_logits(None, [[5, 6]], PREFIX) == "whole"
    assert [kind for kind, _ in calls] == ["whole", "whole"]


def test_without_a_prefix_every_prompt_is_scored_whole(
    calls: list[tuple[str, list[list[int]]]],
) -> None:
    assert next_token.last_logits(None, [[5, 6, 7, 1]]) == "whole"
    assert calls == [("whole", [[5, 6, 7, 1]])]
