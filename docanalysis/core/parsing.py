"""Turn the model's raw answers (a window's analysis, the reduce call's summary) into values.

The decoder is schema-constrained, so most answers parse as they are. The repairs here cover
what still happens: a server that does not enforce the schema wraps the JSON in a code fence or
prose, and an answer cut by max_tokens ends mid-object. Anything else raises ModelOutputError
with the raw text kept for the audit trail.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from docanalysis.core.errors import ModelOutputError
from docanalysis.core.types import ClauseCategory, ClauseRef, SummarySentence, WindowAnalysis

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
    clause or summary sentence) or right after that array opened: closing there drops only the
    item that was being written, never invents or shortens a value. Clauses come first in the
    answer; one cut before its "clauses" list began still fails: nothing was written.
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


def _normal(value: Any) -> str:
    return re.sub(r"[\s\-/]+", "_", str(value).strip().lower())


def category_lookup(categories: Iterable[str | ClauseCategory]) -> dict[str, str]:
    """Normalized key or name -> key. Servers that do not enforce the enum sometimes answer
    with the category's name ("Governing Law") or a spelling of its key."""
    lookup: dict[str, str] = {}
    for category in categories:
        if isinstance(category, ClauseCategory):
            lookup.setdefault(_normal(category.name), category.key)
            lookup[_normal(category.key)] = category.key
        else:
            lookup[_normal(category)] = category
    return lookup


def _provision(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    match = _PROVISION.match(str(value))
    return int(match.group(1)) if match else None


def _provisions(value: Any) -> tuple[int, ...]:
    """Provision numbers as ints, each once, in order; what is not a number is left out."""
    items = value if isinstance(value, list) else [] if value is None else [value]
    numbers = (_provision(item) for item in items)
    return tuple(dict.fromkeys(n for n in numbers if n is not None))


def _value(value: Any) -> str:
    """The normalized value; punctuation alone (a small model's '}}, {' or ',') is no value."""
    text = "" if value is None else str(value).strip()
    return text if any(c.isalnum() for c in text) else ""


def _clause(item: Any, lookup: Mapping[str, str]) -> ClauseRef | None:
    if not isinstance(item, dict):
        return None
    raw_category = _normal(item.get("category", ""))
    # The singular "provision" is the shape servers that ignore the schema still produce.
    provisions = _provisions(item.get("provisions", item.get("provision")))
    if not raw_category or not provisions:
        return None  # nothing to place or to count
    category = lookup.get(raw_category, raw_category)
    return ClauseRef(category, provisions, _value(item.get("value")))


def _sentence(item: Any) -> SummarySentence | None:
    if isinstance(item, str):  # a bare sentence, from a server that ignores the schema
        return SummarySentence(item.strip())
    if not isinstance(item, dict) or not isinstance(item.get("text"), str):
        return None
    return SummarySentence(item["text"].strip(), _provisions(item.get("provisions")))


def _summary(value: Any, raw: str) -> tuple[SummarySentence, ...]:
    if isinstance(value, str):
        return (SummarySentence(value.strip()),) if value.strip() else ()
    if not isinstance(value, list):
        raise ModelOutputError("The model's answer lacks a summary.", raw)
    sentences = (_sentence(item) for item in value)
    return tuple(s for s in sentences if s is not None)


def _object(raw: str) -> dict[str, Any]:
    data = _load(raw)
    if not isinstance(data, dict):
        raise ModelOutputError("The model's answer is not a JSON object.", raw)
    return data


def parse_window_output(
    raw: str,
    provision_numbers: Collection[int],
    categories: Iterable[str | ClauseCategory],
) -> WindowAnalysis:
    """Parse and lightly repair one window's answer.

    `categories` (keys, or ClauseCategory values whose names are also recognised) serve to
    coerce a category's spelling to its key. Nothing the model proposed is filtered here:
    unknown categories and provisions outside `provision_numbers` are kept so that grounding
    drops and counts them, and the audit trail shows how often the model cited nothing. Only
    clauses that cite no number at all are left out (there is nothing to place or count).
    Raises ModelOutputError when the answer is not the expected object.
    """
    del provision_numbers  # part of the contract; see the docstring for why it filters nothing
    data = _object(raw)
    clauses = data.get("clauses")
    if not isinstance(clauses, list):
        raise ModelOutputError("The model's answer lacks a list of clauses.", raw)
    # An answer cut by the output budget after its clauses may lack the summary: keep the
    # clauses (complete, each closed) rather than lose them with it.
    summary = _summary(data.get("summary", []), raw)
    lookup = category_lookup(categories)
    refs = (_clause(item, lookup) for item in clauses)
    unique = tuple(dict.fromkeys(ref for ref in refs if ref is not None))
    return WindowAnalysis(summary=summary, clauses=unique)


def parse_summary_output(raw: str) -> tuple[SummarySentence, ...]:
    """Parse the reduce call's answer ({"summary": [{"text", "provisions"}]}), repaired as a
    window's answer is. Citations are kept as given; ground_summary filters them."""
    return _summary(_object(raw).get("summary"), raw)
