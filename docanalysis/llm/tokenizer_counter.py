"""Token counts by a model's own tokenizer, without loading its weights (for planning)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from docanalysis.core.types import Message
from docanalysis.llm.bundled import CONTEXT_LENGTH
from docanalysis.llm.transformers_local import (
    count_text_tokens,
    load_tokenizer,
    prompt_ids,
    text_token_offsets,
)


class TokenizerCounter:
    """count_tokens and count_prompt_tokens exactly as LocalModel counts them."""

    def __init__(self, model: str) -> None:
        self.name = model

    def count_tokens(self, text: str) -> int:
        return count_text_tokens(load_tokenizer(self.name), text)

    def token_offsets(self, text: str) -> list[tuple[int, int]] | None:
        return text_token_offsets(load_tokenizer(self.name), text)

    def count_prompt_tokens(self, messages: Sequence[Message]) -> int:
        return len(prompt_ids(load_tokenizer(self.name), messages))

    def context_length(self) -> int:
        if self.name.startswith("bundled:"):
            return CONTEXT_LENGTH
        config = json.loads((Path(self.name) / "config.json").read_text())
        return int(
            config.get("max_position_embeddings")
            or config["text_config"]["max_position_embeddings"]
        )
