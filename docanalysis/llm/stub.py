"""A model and a guard for load tests: DOCANALYSIS_MODEL_BACKEND=stub, DOCANALYSIS_GUARD_MODEL=stub.

StubModel answers at once, deterministically, with JSON that fits the schema it is given, built
from the prompt the way a real model's answer is: it points at provision numbers it was shown
(a summary sentence and one clause, both citing the first provision of the window), and the
system quotes the source through grounding as for any model. Tokens are counted by whitespace.

StubGuard never releases anything: the guard fails closed, so every output is held with a
reason saying why, and a run ends `held` (a final state) without any model behind it.
Neither is a language model; nothing here is fit for real analysis.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from docanalysis.core.guard_policy import GuardPolicy
from docanalysis.core.types import Completion, GuardVerdict, Message, ModelIdentity, Usage

STUB_MODEL_ID = "stub (load testing; not a language model)"
STUB_GUARD_MODEL = "stub"
STUB_GUARD_REASON = "no guard model: the load-testing stub holds everything"
# "[12] text of provision 12", one per line, as core.provisions.render_provision writes them.
PROVISION_LINE = re.compile(r"^\[(\d+)\] (.*)$", re.M)
QUOTE_WORDS = 8


def _cited(array_schema: Mapping[str, Any]) -> list[int]:
    """The provision numbers a schema's provisions array admits (none when it admits none)."""
    return [int(n) for n in array_schema.get("items", {}).get("enum", [])]


def _opening(body: str, limit: int) -> str:
    words = body.split()
    text = " ".join(words[:QUOTE_WORDS])
    return text[:limit].rstrip()


class StubModel:
    """The LanguageModel port at no cost: for load tests of everything around the model."""

    def __init__(self, context_length: int) -> None:
        self.identity = ModelIdentity(STUB_MODEL_ID, "1", context_length)

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def count_prompt_tokens(self, messages: Sequence[Message]) -> int:
        return sum(self.count_tokens(m.content) + 4 for m in messages)

    def complete_json(
        self, messages: Sequence[Message], schema: Mapping[str, Any], max_tokens: int
    ) -> Completion:
        if "clauses" in schema["properties"]:
            answer = self._window(messages[-1].content, schema)
        else:
            answer = self._reduce(schema)
        text = json.dumps(answer)
        return Completion(text, Usage(self.count_prompt_tokens(messages), self.count_tokens(text)))

    def complete_text(self, messages: Sequence[Message], max_tokens: int) -> Completion:
        text = "stub"
        return Completion(text, Usage(self.count_prompt_tokens(messages), 1))

    def _window(self, prompt: str, schema: Mapping[str, Any]) -> dict[str, Any]:
        """One summary sentence and one clause, both pointing at the first provision shown."""
        shown = {int(n): body for n, body in PROVISION_LINE.findall(prompt)}
        clause = schema["properties"]["clauses"]["items"]["properties"]
        numbers = [n for n in _cited(clause["provisions"]) if n in shown]
        if not numbers:  # an empty window: nothing to point at
            return {"clauses": [], "summary": []}
        first = numbers[0]
        sentence = f"The part opens with provision {first}: {_opening(shown[first], 160)}."
        category = clause["category"]["enum"][0]
        value = _opening(shown[first], clause["value"].get("maxLength", 120))
        return {
            "clauses": [{"category": category, "provisions": [first], "value": value}],
            "summary": [{"text": sentence, "provisions": [first]}],
        }

    def _reduce(self, schema: Mapping[str, Any]) -> dict[str, Any]:
        sentence = schema["properties"]["summary"]["items"]["properties"]
        cited = _cited(sentence["provisions"])[:1]
        text = f"The document opens with provision {cited[0]}." if cited else "No text."
        return {"summary": [{"text": text, "provisions": cited}]}


class StubGuard:
    """The Guard port that judges nothing and so releases nothing: every output is held."""

    def __init__(self, policy: GuardPolicy) -> None:
        self.policy = policy

    def classify_batch(self, pairs: Sequence[tuple[str, str]]) -> list[GuardVerdict]:
        held = GuardVerdict.held_for(
            STUB_GUARD_REASON, STUB_GUARD_MODEL, self.policy.version, self.policy.sha256
        )
        return [held for _ in pairs]
