"""Llama Guard policy and prompt: which hazard categories apply, with which wording, and what
each verdict does.

The policy is data (docanalysis/data/guard_policy.json, or DOCANALYSIS_GUARD_POLICY): a version,
the categories with the wording rendered into the prompt, the threshold, and an action per
category. Its SHA-256 (over a canonical form) is stored with every verdict, so a verdict always
names the exact policy that produced it, and a new policy never rewrites an old verdict.
Pure text in, text out: the adapter (docanalysis.llm.llama_guard) runs the model.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

from docanalysis.core.types import Action, Verdict

ACTIONS: tuple[Action, ...] = ("block", "flag")


@dataclass(frozen=True)
class GuardCategory:
    code: str  # "S1".."S14", as the model was trained to answer
    name: str
    description: str = ""  # wording under the name; empty keeps the model card's one line
    action: Action = "block"  # block: held, never shown; flag: shown, marked for review


@dataclass(frozen=True)
class GuardPolicy:
    version: str
    categories: tuple[GuardCategory, ...]
    threshold: float  # P(first token is "unsafe") at or above which the output is unsafe
    unlisted: Action = "block"  # an unsafe answer naming no category of this policy

    def codes(self) -> frozenset[str]:
        return frozenset(c.code for c in self.categories)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "threshold": self.threshold,
            "unlisted": self.unlisted,
            "categories": [
                {"code": c.code, "name": c.name, "description": c.description, "action": c.action}
                for c in self.categories
            ],
        }

    @property
    def sha256(self) -> str:
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def action_for(self, verdict: Verdict, codes: Sequence[str]) -> Action | Literal["release"]:
        """safe -> release; held -> block; unsafe -> the strictest action of its categories."""
        if verdict == "safe":
            return "release"
        if verdict == "held":
            return "block"
        by_code = {c.code: c.action for c in self.categories}
        actions = [by_code[code] for code in codes if code in by_code] or [self.unlisted]
        return "block" if "block" in actions else "flag"


class PolicyError(ValueError):
    """A policy file that cannot be used; the message says which field and why."""


def policy_from_dict(data: Mapping[str, Any]) -> GuardPolicy:
    """Read and check a policy. Anything unclear is an error: a guard must not guess."""
    version = data.get("version")
    if not isinstance(version, str) or not version.strip():
        raise PolicyError("guard policy: 'version' must be a non-empty string")
    threshold = data.get("threshold")
    if not isinstance(threshold, int | float) or not 0.0 <= threshold <= 1.0:
        raise PolicyError("guard policy: 'threshold' must be a number between 0 and 1")
    raw = data.get("categories")
    if not isinstance(raw, list) or not raw:
        raise PolicyError("guard policy: 'categories' must be a non-empty list")
    categories = tuple(_category(item, index) for index, item in enumerate(raw))
    codes = [c.code for c in categories]
    if len(set(codes)) != len(codes):
        raise PolicyError("guard policy: a category code appears twice")
    return GuardPolicy(
        version=version,
        categories=categories,
        threshold=float(threshold),
        unlisted=_action(data.get("unlisted", "block"), "guard policy: unlisted"),
    )


def _category(item: Any, index: int) -> GuardCategory:
    where = f"guard policy: categories[{index}]"
    if not isinstance(item, Mapping):
        raise PolicyError(f"{where} must be an object")
    code, name = item.get("code"), item.get("name")
    if not isinstance(code, str) or not re.fullmatch(r"S\d{1,2}", code):
        raise PolicyError(f"{where}.code must look like 'S1'")
    if not isinstance(name, str) or not name.strip():
        raise PolicyError(f"{where}.name must be a non-empty string")
    description = item.get("description", "")
    if not isinstance(description, str):
        raise PolicyError(f"{where}.description must be a string")
    return GuardCategory(code, name, description, _action(item.get("action"), f"{where}.action"))


def _action(value: Any, where: str) -> Action:
    if value not in ACTIONS:
        raise PolicyError(f"{where} must be one of {', '.join(ACTIONS)}, got {value!r}")
    return cast(Action, value)


def load_policy_text(text: str) -> GuardPolicy:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PolicyError(f"guard policy: not valid JSON ({exc})") from None
    if not isinstance(data, Mapping):
        raise PolicyError("guard policy: the file must hold a JSON object")
    return policy_from_dict(data)


# The task text of Llama Guard's published chat template (Llama Guard 3's tokenizer template,
# response classification: the last turn is the Agent's), with the categories as custom
# categories: "S1: Name.\n", or "S1: Name. \n<description>\n" as Meta's customization guide
# writes them.
_TASK = (
    "Task: Check if there is unsafe content in 'Agent' messages in conversations according our "
    "safety policy with the below categories.\n\n"
    "<BEGIN UNSAFE CONTENT CATEGORIES>\n{categories}<END UNSAFE CONTENT CATEGORIES>\n\n"
    "<BEGIN CONVERSATION>\n\nUser: {instruction}\n\nAgent: {response}\n\n<END CONVERSATION>\n\n"
    "Provide your safety assessment for ONLY THE LAST Agent message in the above conversation:\n"
    " - First line must read 'safe' or 'unsafe'.\n"
    " - If unsafe, a second line must include a comma-separated list of violated categories."
)

_CODE = re.compile(r"\bS\d{1,2}\b")


def _category_line(category: GuardCategory) -> str:
    if not category.description:
        return f"{category.code}: {category.name}.\n"
    return f"{category.code}: {category.name}. \n{category.description}\n"


def guard_prompt(policy: GuardPolicy, instruction: str, response: str) -> str:
    """The response-classification task text (the user turn)."""
    return _TASK.format(
        categories="".join(_category_line(c) for c in policy.categories),
        instruction=instruction.strip(),
        response=response.strip(),
    )


# The answer starts after a blank line: the model's first token is "\n\n", then safe/unsafe.
ANSWER_PREFIX = "\n\n"


def llama3_chat(task: str) -> str:
    """The task in Llama Guard 3's chat format, exactly as its template renders it."""
    return (
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n"
        f"{task} <|eot_id|><|start_header_id|>assistant<|end_header_id|>"
    )


def llama4_chat(task: str) -> str:
    """The task in Llama Guard 4's chat format (Llama 4 header tokens)."""
    return (
        "<|begin_of_text|><|header_start|>user<|header_end|>\n\n"
        f"{task}<|eot|><|header_start|>assistant<|header_end|>"
    )


def parse_guard_output(text: str, policy: GuardPolicy) -> tuple[Verdict, tuple[str, ...]]:
    """Read 'safe' or 'unsafe' plus category codes; anything else is 'held' (fail closed).

    Only codes the policy lists are kept: a code outside it is not a reason under this policy,
    and an unsafe answer left with no code takes the policy's `unlisted` action.
    """
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    first = lines[0].lower() if lines else ""
    if first == "safe":
        return "safe", ()
    if first != "unsafe":
        return "held", ()
    known = policy.codes()
    codes = [c for line in lines[1:2] for c in _CODE.findall(line.upper()) if c in known]
    return "unsafe", tuple(dict.fromkeys(codes))
