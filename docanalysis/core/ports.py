"""Ports: the small interfaces the core and the services depend on. Adapters live elsewhere."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from docanalysis.core.injection import InjectionScore
from docanalysis.core.types import Completion, GuardVerdict, Message, ModelIdentity


class TokenCounter(Protocol):
    def count_tokens(self, text: str) -> int:
        """Tokens in `text` by the serving model's tokenizer (no special tokens added)."""
        ...


@runtime_checkable
class TokenOffsets(Protocol):
    """A counter that can also say where each token lies, so one tokenization of a whole
    document yields the count of every part of it (core/windows.py)."""

    def token_offsets(self, text: str) -> Sequence[tuple[int, int]] | None:
        """[start, end) character range of each token of `text`, in order, no special tokens;
        None where this counter cannot tell (no local tokenizer)."""
        ...


class PromptCounter(TokenCounter, Protocol):
    def count_prompt_tokens(self, messages: Sequence[Message]) -> int:
        """Tokens of `messages` once the chat template is applied (with the generation prompt)."""
        ...


class LanguageModel(PromptCounter, Protocol):
    @property
    def identity(self) -> ModelIdentity: ...

    def complete_json(
        self, messages: Sequence[Message], schema: Mapping[str, Any], max_tokens: int
    ) -> Completion:
        """Greedy completion whose text the decoder constrains to `schema` (a JSON schema)."""
        ...

    def complete_text(self, messages: Sequence[Message], max_tokens: int) -> Completion:
        """Greedy, unconstrained completion."""
        ...


class Guard(Protocol):
    def classify_batch(self, pairs: Sequence[tuple[str, str]]) -> list[GuardVerdict]:
        """Llama Guard response classification of (instruction, response) pairs: one verdict
        each, in order. Never raises: a failure is a `held` verdict."""
        ...


class InjectionDetector(Protocol):
    """Scores texts for instructions aimed at the model (prompt injection): the rules of
    core/injection.py, or a classifier such as Prompt Guard 2 (llm/prompt_guard.py)."""

    name: str  # what judged, for the audit trail: "rules", or the model's name
    threshold: float  # a score at or above it is flagged

    def score(self, texts: Sequence[str]) -> list[InjectionScore]:
        """One score per text, in order. Raises when the detector cannot run (model missing)."""
        ...
