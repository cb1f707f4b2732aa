"""Deterministic stand-ins for the model and the guard, for tests of the layers around them.

The fake model reads the numbered provisions from the prompt it is given, exactly as the real
model must, and points at those that contain a keyword; it also cites one provision that does
not exist, which grounding must drop and count.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from docanalysis.core.types import Completion, GuardVerdict, Message, ModelIdentity, Usage

PROVISION_LINE = re.compile(r"^\[(\d+)\] (.*)$", re.M)
MISSING_PROVISION = 99_999
KEYWORDS = {"Dated:": "agreement_date", "LLC": "parties", "governed by": "governing_law"}


class KeywordModel:
    def __init__(self, context_length: int = 4096) -> None:
        self.identity = ModelIdentity("test/keyword-model", "1", context_length)
        self.calls: list[Sequence[Message]] = []

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def count_prompt_tokens(self, messages: Sequence[Message]) -> int:
        return sum(self.count_tokens(m.content) + 4 for m in messages)

    def complete_json(
        self, messages: Sequence[Message], schema: Mapping[str, Any], max_tokens: int
    ) -> Completion:
        self.calls.append(messages)
        usage = Usage(self.count_prompt_tokens(messages), 20)
        if "clauses" not in schema["properties"]:  # the reduce call
            cited = schema["properties"]["summary"]["items"]["properties"]["provisions"]
            first = cited["items"]["enum"][:1]
            summary = [{"text": "Whole document summary.", "provisions": first}]
            return Completion(json.dumps({"summary": summary}), usage)
        provisions = PROVISION_LINE.findall(messages[-1].content)
        clauses = [
            {"category": category, "provisions": [int(number)], "value": body[:40]}
            for number, body in provisions
            for keyword, category in KEYWORDS.items()
            if keyword in body
        ]
        clauses.append({"category": "parties", "provisions": [MISSING_PROVISION], "value": ""})
        first, last = provisions[0][0], provisions[-1][0]
        summary = [{"text": f"Provisions {first} to {last}.", "provisions": [int(first)]}]
        return Completion(json.dumps({"summary": summary, "clauses": clauses}), usage)

    def complete_text(self, messages: Sequence[Message], max_tokens: int) -> Completion:
        return Completion("text")


class FixedGuard:
    """Answers one verdict for everything, or fails like a guard that is down."""

    def __init__(self, verdict: str = "safe", fail: bool = False, outcome: str = "") -> None:
        self.verdict = verdict
        self.fail = fail
        self.outcome = outcome or {"safe": "release", "unsafe": "block"}.get(verdict, "block")
        self.seen: list[tuple[str, str]] = []
        self.batches: list[int] = []

    def classify_batch(self, pairs: Sequence[tuple[str, str]]) -> list[GuardVerdict]:
        self.seen += pairs
        self.batches.append(len(pairs))
        return [self._verdict() for _ in pairs]

    def _verdict(self) -> GuardVerdict:
        if self.fail:
            return GuardVerdict(
                "held", (), "test/guard", "test-policy", None, "guard is down", "0" * 64, "block"
            )
        categories = ("S1",) if self.verdict == "unsafe" else ()
        return GuardVerdict(
            self.verdict,  # type: ignore[arg-type]
            categories,
            "test/guard",
            "test-policy",
            0.1,
            "",
            "0" * 64,
            self.outcome,  # type: ignore[arg-type]
        )
