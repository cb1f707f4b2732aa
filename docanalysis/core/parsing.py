"""Turn the model's raw answer for one window into a WindowAnalysis.

The decoder is schema-constrained, so most answers parse as they are. The repairs here cover
what still happens: a server that does not enforce the schema wraps the JSON in a code fence or
prose, and an answer cut by max_tokens ends mid-object. Anything else raises ModelOutputError
with the raw text kept for the audit trail.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from typing import Any

from docanalysis.core.errors import ModelOutputError
from docanalysis.core.types import ClauseRef, WindowAnalysis

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)(?:```|$)", re.DOTALL)
_PROVISION = re.compile(r"^\s*\[?\s*(\d+)\s*\]?\s*$")
_CLOSERS = {"{": "}", "[": "]"}


def _outermost_object(text: str) -> str:
    """The text from the first '{' to the last '}' (or to the end, when the answer was cut)."""
    fenced = _FENCE.search(text)
    if fenced:
        text = fenced.group(1)
    start = text.find("{")
    if start < 0:
        return text.strip()
    end = text.rfind("}")
    return text[start : end + 1] if end > start else text[start:]


def _cut_points(text: str) -> list[tuple[int, str]]:
    """Where a truncated answer can be closed safely, with the containers then open.

    Safe means right after a complete element of an array nested in the root object (a whole
    clause) or right after that array opened: closing there drops only the clause that was
    being written, never invents or shortens a value.
    """
    points: list[tuple[int, str]] = []
    stack: list[str] = []
    in_string = escaped = False
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in _CLOSERS:
            stack.append(ch)
            if stack == ["{", "["]:
                points.append((i + 1, "".join(stack)))
        elif ch in "}]":
            if not stack:
                break
            stack.pop()
            if stack == ["{", "["]:
                points.append((i + 1, "".join(stack)))
    return points


def _close_truncated(text: str) -> Any:
    for cut, open_stack in reversed(_cut_points(text)):
        closing = "".join(_CLOSERS[c] for c in reversed(open_stack))
        try:
            return json.loads(text[:cut] + closing)
        except json.JSONDecodeError:
            continue
    return None


def _load(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        pass
    candidate = _outermost_object(raw)
    try:
        return json.loads(candidate)
    except json.JSONDecodeError:
        pass
    repaired = _close_truncated(candidate)
    if repaired is None:
        raise ModelOutputError("The model's answer is not valid JSON, even after repair.", raw)
    return repaired


def _category_key(value: Any) -> str:
    # Servers that do not enforce the enum sometimes echo the name ("Governing Law").
    return re.sub(r"[\s\-/]+", "_", str(value).strip().lower())


def _provision(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    match = _PROVISION.match(str(value))
    return int(match.group(1)) if match else None


def _value(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _clause(item: Any, categories: Collection[str]) -> ClauseRef | None:
    if not isinstance(item, dict):
        return None
    category = _category_key(item.get("category", ""))
    provision = _provision(item.get("provision"))
    if category not in categories or provision is None:
        return None
    return ClauseRef(category=category, provision=provision, value=_value(item.get("value")))


def parse_window_output(
    raw: str, provision_numbers: Collection[int], categories: Collection[str]
) -> WindowAnalysis:
    """Parse and lightly repair one window's answer.

    References to provisions outside `provision_numbers` are kept on purpose: grounding drops
    and counts them, so the audit trail shows how often the model cited nothing. Clauses whose
    category is unknown or whose provision is not a number cannot be placed at all; they are left
    out here. Raises ModelOutputError when the answer is not the expected object.
    """
    del provision_numbers  # part of the contract; see the docstring for why it filters nothing
    data = _load(raw)
    if not isinstance(data, dict):
        raise ModelOutputError("The model's answer is not a JSON object.", raw)
    summary, clauses = data.get("summary"), data.get("clauses")
    if not isinstance(summary, str) or not isinstance(clauses, list):
        raise ModelOutputError("The model's answer lacks a summary or a list of clauses.", raw)
    refs = (_clause(item, categories) for item in clauses)
    unique = tuple(dict.fromkeys(ref for ref in refs if ref is not None))
    return WindowAnalysis(summary=summary.strip(), clauses=unique)
