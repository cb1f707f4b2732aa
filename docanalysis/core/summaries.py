"""The reduce step: one document summary from the summaries of its windows."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from docanalysis.core.types import Message

REDUCE_SYSTEM = (
    "You are a careful legal analyst. You combine summaries of consecutive parts of one "
    "document into a single faithful summary. Use only what the part summaries say; add nothing."
)


def reduce_messages(part_summaries: Sequence[str]) -> list[Message]:
    parts = "\n".join(f"Part {i}: {s.strip()}" for i, s in enumerate(part_summaries, 1))
    return [
        Message("system", REDUCE_SYSTEM),
        Message(
            "user",
            "Summaries of the parts of the document, in order:\n"
            f"{parts}\n\nWrite one summary of the whole document as JSON: "
            '{"summary": "..."}',
        ),
    ]


def reduce_schema(summary_chars: int = 1200) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"summary": {"type": "string", "maxLength": summary_chars}},
        "required": ["summary"],
        "additionalProperties": False,
    }


_SENTENCE = re.compile(r"[^.!?]+(?:[.!?]+|$)")


def clean_summary(text: str) -> str:
    """The model's summary without sentences it repeated (small models loop) and without a
    trailing fragment cut off by the length limit. Nothing is added or reworded."""
    seen: set[str] = set()
    kept: list[str] = []
    for match in _SENTENCE.finditer(text):
        sentence = match.group().strip()
        key = " ".join(sentence.lower().split())
        if key and key not in seen:
            seen.add(key)
            kept.append(sentence)
    if len(kept) > 1 and kept[-1][-1] not in ".!?":
        kept.pop()
    return " ".join(kept)
