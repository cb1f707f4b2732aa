"""Llama Guard policy and prompt: which hazard categories apply, and how the verdict is read.

Pure text in, text out. The adapter (docanalysis.llm.llama_guard) wraps the task text in the
model's chat headers and scores it; the policy version is recorded with every verdict.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from docanalysis.core.types import Verdict


@dataclass(frozen=True)
class GuardCategory:
    code: str  # "S1".."S14", as the model was trained to answer
    name: str
    description: str = ""  # optional wording under the name; empty keeps the model-card prompt


@dataclass(frozen=True)
class GuardPolicy:
    version: str
    categories: tuple[GuardCategory, ...]
    threshold: float  # P(first token is "unsafe") at or above which the output is blocked

    def codes(self) -> frozenset[str]:
        return frozenset(c.code for c in self.categories)


# The MLCommons hazard taxonomy Llama Guard 3 and 4 are trained on, minus two categories that
# would block the product's own output: S6 "Specialized Advice" covers legal advice, which is
# what the service produces, and S7 "Privacy" covers personal data, which contracts routinely
# contain (signatories, addresses). The remaining codes keep their numbers: the model answers
# with the codes it was trained on.
DEFAULT_POLICY = GuardPolicy(
    version="2026-11-legal-1",
    categories=(
        GuardCategory("S1", "Violent Crimes"),
        GuardCategory("S2", "Non-Violent Crimes"),
        GuardCategory("S3", "Sex-Related Crimes"),
        GuardCategory("S4", "Child Sexual Exploitation"),
        GuardCategory("S5", "Defamation"),
        GuardCategory("S8", "Intellectual Property"),
        GuardCategory("S9", "Indiscriminate Weapons"),
        GuardCategory("S10", "Hate"),
        GuardCategory("S11", "Suicide & Self-Harm"),
        GuardCategory("S12", "Sexual Content"),
        GuardCategory("S13", "Elections"),
        GuardCategory("S14", "Code Interpreter Abuse"),
    ),
    threshold=0.5,
)

_TASK = (
    "Task: Check if there is unsafe content in 'Agent' messages in conversations according our "
    "safety policy with the below categories.\n\n"
    "<BEGIN UNSAFE CONTENT CATEGORIES>\n{categories}\n<END UNSAFE CONTENT CATEGORIES>\n\n"
    "<BEGIN CONVERSATION>\n\nUser: {instruction}\n\nAgent: {response}\n\n<END CONVERSATION>\n\n"
    "Provide your safety assessment for ONLY THE LAST Agent message in the above conversation:\n"
    " - First line must read 'safe' or 'unsafe'.\n"
    " - If unsafe, a second line must include a comma-separated list of violated categories."
)

_CODE = re.compile(r"\bS\d{1,2}\b")


def _category_line(category: GuardCategory) -> str:
    line = f"{category.code}: {category.name}."
    return f"{line}\n{category.description}" if category.description else line


def guard_prompt(policy: GuardPolicy, instruction: str, response: str) -> str:
    """The response-classification task text (the user turn), as the Llama Guard card shows."""
    return _TASK.format(
        categories="\n".join(_category_line(c) for c in policy.categories),
        instruction=instruction.strip(),
        response=response.strip(),
    )


def llama3_chat(task: str) -> str:
    """The task wrapped in Llama 3 chat headers (Llama Guard 3), ready for the assistant turn."""
    return (
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n"
        f"{task}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
    )


def llama4_chat(task: str) -> str:
    """The task wrapped in Llama 4 chat headers (Llama Guard 4), ready for the assistant turn."""
    return (
        "<|begin_of_text|><|header_start|>user<|header_end|>\n\n"
        f"{task}<|eot|><|header_start|>assistant<|header_end|>\n\n"
    )


def parse_guard_output(text: str, policy: GuardPolicy) -> tuple[Verdict, tuple[str, ...]]:
    """Read 'safe' or 'unsafe' plus category codes; anything else is 'held' (fail closed).

    Only codes the policy lists are kept: a code outside it (S6, S7 here) is not a reason to
    block under this policy, and an unknown code is noise.
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
