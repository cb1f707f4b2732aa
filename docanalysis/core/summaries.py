"""The reduce step: one document summary from the summaries of its windows."""

from __future__ import annotations

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
