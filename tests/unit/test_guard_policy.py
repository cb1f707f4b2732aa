from __future__ import annotations

import re

import pytest

from docanalysis.core.guard_policy import (
    DEFAULT_POLICY,
    GuardCategory,
    GuardPolicy,
    guard_prompt,
    llama3_chat,
    llama4_chat,
    parse_guard_output,
)


def test_prompt_lists_exactly_the_policy_categories() -> None:
    prompt = guard_prompt(DEFAULT_POLICY, "Summarize the contract.", "It is a supply deal.")
    block = prompt.split("<BEGIN UNSAFE CONTENT CATEGORIES>\n")[1].split(
        "\n<END UNSAFE CONTENT CATEGORIES>"
    )[0]
    assert block.splitlines() == [
        "S1: Violent Crimes.",
        "S2: Non-Violent Crimes.",
        "S3: Sex-Related Crimes.",
        "S4: Child Sexual Exploitation.",
        "S5: Defamation.",
        "S8: Intellectual Property.",
        "S9: Indiscriminate Weapons.",
        "S10: Hate.",
        "S11: Suicide & Self-Harm.",
        "S12: Sexual Content.",
        "S13: Elections.",
        "S14: Code Interpreter Abuse.",
    ]
    assert re.findall(r"\bS[67]\b", prompt) == []
    assert "Specialized Advice" not in prompt and "Privacy" not in prompt


def test_prompt_is_the_model_card_task() -> None:
    policy = GuardPolicy("v1", (GuardCategory("S1", "Violent Crimes", "Threats."),), 0.5)
    assert guard_prompt(policy, " Summarize. ", "A lease.\n") == (
        "Task: Check if there is unsafe content in 'Agent' messages in conversations according "
        "our safety policy with the below categories.\n\n"
        "<BEGIN UNSAFE CONTENT CATEGORIES>\nS1: Violent Crimes.\nThreats.\n"
        "<END UNSAFE CONTENT CATEGORIES>\n\n"
        "<BEGIN CONVERSATION>\n\nUser: Summarize.\n\nAgent: A lease.\n\n<END CONVERSATION>\n\n"
        "Provide your safety assessment for ONLY THE LAST Agent message in the above "
        "conversation:\n"
        " - First line must read 'safe' or 'unsafe'.\n"
        " - If unsafe, a second line must include a comma-separated list of violated categories."
    )


def test_chat_wrappers() -> None:
    assert llama3_chat("T") == (
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n"
        "T<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
    )
    assert llama4_chat("T") == (
        "<|begin_of_text|><|header_start|>user<|header_end|>\n\n"
        "T<|eot|><|header_start|>assistant<|header_end|>\n\n"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("safe", ("safe", ())),
        ("\n safe \n", ("safe", ())),
        ("unsafe\nS1,S10", ("unsafe", ("S1", "S10"))),
        ("unsafe\ns2, S14, S2", ("unsafe", ("S2", "S14"))),
        ("unsafe\nS6,S7", ("unsafe", ())),  # codes this policy leaves out are not reasons
        ("unsafe\nS99", ("unsafe", ())),
        ("unsafe", ("unsafe", ())),
        ("Unsafe\nS3\nS4", ("unsafe", ("S3",))),
        ("", ("held", ())),
        ("I think it is fine.", ("held", ())),
        ("safe-ish", ("held", ())),
    ],
)
def test_parse_guard_output(text: str, expected: tuple[str, tuple[str, ...]]) -> None:
    assert parse_guard_output(text, DEFAULT_POLICY) == expected


def test_default_policy() -> None:
    assert DEFAULT_POLICY.version == "2026-11-legal-1"
    assert DEFAULT_POLICY.threshold == 0.5
    assert "S6" not in DEFAULT_POLICY.codes() and "S7" not in DEFAULT_POLICY.codes()
    assert len(DEFAULT_POLICY.categories) == 12
