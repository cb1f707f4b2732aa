from __future__ import annotations

import json
from pathlib import Path

import pytest

from docanalysis.core.guard_policy import (
    GuardCategory,
    GuardPolicy,
    PolicyError,
    guard_prompt,
    llama3_chat,
    llama4_chat,
    load_policy_text,
    parse_guard_output,
    policy_from_dict,
)
from docanalysis.guard_policies import BUNDLED_POLICY, load_policy

POLICY = load_policy()

# The 13 categories Llama Guard 3's chat template lists by default, with its own short names.
TEMPLATE_DEFAULTS = [
    ("S1", "Violent Crimes"),
    ("S2", "Non-Violent Crimes"),
    ("S3", "Sex Crimes"),
    ("S4", "Child Exploitation"),
    ("S5", "Defamation"),
    ("S6", "Specialized Advice"),
    ("S7", "Privacy"),
    ("S8", "Intellectual Property"),
    ("S9", "Indiscriminate Weapons"),
    ("S10", "Hate"),
    ("S11", "Self-Harm"),
    ("S12", "Sexual Content"),
    ("S13", "Elections"),
]

# What Llama Guard 3's published chat template (tokenizer_config.json of Llama-Guard-3-1B and
# -8B) renders for the conversation [user: "What does clause 4 say?", assistant: "  It caps
# liability at $1M.\n"] with its default categories, character for character: the task, the
# categories one per line, both turns trimmed, the space before <|eot_id|>, and nothing after
# the assistant header.
PUBLISHED_LLAMA_GUARD_3 = (
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n"
    "Task: Check if there is unsafe content in 'Agent' messages in conversations according our "
    "safety policy with the below categories.\n\n"
    "<BEGIN UNSAFE CONTENT CATEGORIES>\n"
    "S1: Violent Crimes.\nS2: Non-Violent Crimes.\nS3: Sex Crimes.\nS4: Child Exploitation.\n"
    "S5: Defamation.\nS6: Specialized Advice.\nS7: Privacy.\nS8: Intellectual Property.\n"
    "S9: Indiscriminate Weapons.\nS10: Hate.\nS11: Self-Harm.\nS12: Sexual Content.\n"
    "S13: Elections.\n"
    "<END UNSAFE CONTENT CATEGORIES>\n\n"
    "<BEGIN CONVERSATION>\n\n"
    "User: What does clause 4 say?\n\n"
    "Agent: It caps liability at $1M.\n\n"
    "<END CONVERSATION>\n\n"
    "Provide your safety assessment for ONLY THE LAST Agent message in the above conversation:\n"
    " - First line must read 'safe' or 'unsafe'.\n"
    " - If unsafe, a second line must include a comma-separated list of violated categories. "
    "<|eot_id|><|start_header_id|>assistant<|end_header_id|>"
)


def test_prompt_is_byte_for_byte_the_published_llama_guard_3_template() -> None:
    defaults = GuardPolicy("t", tuple(GuardCategory(c, n) for c, n in TEMPLATE_DEFAULTS), 0.5)
    task = guard_prompt(defaults, "What does clause 4 say?", "  It caps liability at $1M.\n")
    assert llama3_chat(task) == PUBLISHED_LLAMA_GUARD_3


def test_custom_wording_follows_metas_customization_format() -> None:
    policy = GuardPolicy("v1", (GuardCategory("S6", "Specialized Advice", "Crime how-tos."),), 0.5)
    block = guard_prompt(policy, "Q", "A").split("<BEGIN UNSAFE CONTENT CATEGORIES>\n")[1]
    assert block.startswith("S6: Specialized Advice. \nCrime how-tos.\n<END UNSAFE CONTENT")


def test_llama4_wrapper() -> None:
    assert llama4_chat("T") == (
        "<|begin_of_text|><|header_start|>user<|header_end|>\n\n"
        "T<|eot|><|header_start|>assistant<|header_end|>"
    )


def test_bundled_policy_rewrites_s6_and_s7_for_legal_work() -> None:
    assert POLICY.version == "2026-11-legal-2"
    assert POLICY.threshold == 0.5
    assert [c.code for c in POLICY.categories] == [f"S{n}" for n in range(1, 15)]
    by_code = {c.code: c for c in POLICY.categories}
    s6, s7 = by_code["S6"], by_code["S7"]
    assert "explaining their legal effect is the service's purpose" in s6.description
    assert "not specialized advice" in s6.description
    assert "that is not in the document being analyzed" in s7.description
    assert (s6.action, s7.action) == ("flag", "flag")
    assert by_code["S1"].action == "block" and by_code["S4"].action == "block"
    prompt = guard_prompt(POLICY, "Summarize.", "A lease.")
    assert "S6: Specialized Advice. \nResponses that advise how to commit a crime" in prompt


def test_policy_hash_is_stable_and_covers_the_wording() -> None:
    again = load_policy_text(BUNDLED_POLICY.read_text())
    assert again.sha256 == POLICY.sha256 and len(POLICY.sha256) == 64
    data = json.loads(BUNDLED_POLICY.read_text())
    data["categories"][6]["description"] += " Also home phone numbers."
    assert policy_from_dict(data).sha256 != POLICY.sha256
    data = json.loads(BUNDLED_POLICY.read_text())
    data["threshold"] = 0.6
    assert policy_from_dict(data).sha256 != POLICY.sha256


@pytest.mark.parametrize(
    ("verdict", "codes", "outcome"),
    [
        ("safe", (), "release"),
        ("held", (), "block"),
        ("unsafe", ("S6",), "flag"),
        ("unsafe", ("S6", "S7"), "flag"),
        ("unsafe", ("S6", "S1"), "block"),  # the strictest category wins
        ("unsafe", (), "block"),  # no category named: the policy's `unlisted` action
        ("unsafe", ("S99",), "block"),
    ],
)
def test_what_each_verdict_does(verdict: str, codes: tuple[str, ...], outcome: str) -> None:
    assert POLICY.action_for(verdict, codes) == outcome  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"version": ""}, "'version' must be a non-empty string"),
        ({"threshold": 1.5}, "'threshold' must be a number between 0 and 1"),
        ({"categories": []}, "'categories' must be a non-empty list"),
        ({"unlisted": "allow"}, "unlisted must be one of block, flag, got 'allow'"),
        ({"categories": [{"code": "X1", "name": "n", "action": "block"}]}, "code must look"),
        ({"categories": [{"code": "S1", "name": "n", "action": "pass"}]}, "one of block, flag"),
        (
            {"categories": [{"code": "S1", "name": "a", "action": "block"}] * 2},
            "a category code appears twice",
        ),
    ],
)
def test_bad_policies_are_refused_with_the_field_named(change: dict, message: str) -> None:
    data = json.loads(BUNDLED_POLICY.read_text()) | change
    with pytest.raises(PolicyError, match="guard policy") as caught:
        policy_from_dict(data)
    assert message in str(caught.value)


def test_unreadable_policy_files(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot be read"):
        load_policy(str(tmp_path / "missing.json"))
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(PolicyError, match="not valid JSON"):
        load_policy(str(broken))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("safe", ("safe", ())),
        ("\n safe \n", ("safe", ())),
        ("unsafe\nS1,S10", ("unsafe", ("S1", "S10"))),
        ("unsafe\ns2, S14, S2", ("unsafe", ("S2", "S14"))),
        ("unsafe\nS99", ("unsafe", ())),  # a code the policy does not list is no reason
        ("unsafe", ("unsafe", ())),
        ("Unsafe\nS3\nS4", ("unsafe", ("S3",))),
        ("", ("held", ())),
        ("I think it is fine.", ("held", ())),
        ("safe-ish", ("held", ())),
    ],
)
def test_parse_guard_output(text: str, expected: tuple[str, tuple[str, ...]]) -> None:
    assert parse_guard_output(text, POLICY) == expected
