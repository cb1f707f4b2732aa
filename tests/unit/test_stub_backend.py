"""The load-testing stubs: the model answers what the pipeline's schemas admit, pointing at a
provision it was shown; the guard releases nothing; the settings build them."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from docanalysis.config import MAX_WINDOW_TOKENS, load_settings
from docanalysis.core.parsing import parse_summary_output, parse_window_output
from docanalysis.core.prompts import window_messages, window_schema
from docanalysis.core.provisions import split_provisions
from docanalysis.core.summaries import reduce_messages, reduce_schema
from docanalysis.core.types import (
    ClauseRef,
    ExtractedDocument,
    Message,
    Page,
    SummarySentence,
    WindowAnalysis,
)
from docanalysis.guard_policies import load_policy
from docanalysis.llm.stub import STUB_GUARD_REASON, STUB_MODEL_ID, StubGuard, StubModel
from docanalysis.services.runtime import build_runtime
from docanalysis.taxonomy import load_taxonomy
from workers.queue import InProcessQueue

TEXT = (
    "SUPPLY AGREEMENT\n\n"
    "1. This Supply Agreement is made between Acme LLC and Beta Inc. on March 1, 2021.\n\n"
    "2. This Agreement is governed by the laws of the State of New York.\n\n"
    "3. Either party may terminate it on 30 days' written notice.\n"
)
DOC = ExtractedDocument("0" * 64, TEXT, (Page(1, 0, len(TEXT)),))
TAXONOMY = load_taxonomy("")
KEYS = [c.key for c in TAXONOMY]


def test_a_window_answer_fits_the_schema_and_points_at_the_first_provision_shown() -> None:
    provisions = split_provisions(DOC)
    part = provisions[1:]  # a later window: its first provision is not provision 1
    numbers = [p.number for p in part]
    schema = window_schema(numbers, TAXONOMY)

    completion = StubModel(4096).complete_json(window_messages(TEXT, part, TAXONOMY), schema, 512)

    jsonschema.validate(json.loads(completion.text), schema)
    first = part[0]
    opening = " ".join(TEXT[first.start : first.end].split()[:8])
    assert parse_window_output(completion.text, numbers, KEYS) == WindowAnalysis(
        summary=(
            SummarySentence(
                f"The part opens with provision {first.number}: {opening}.", (first.number,)
            ),
        ),
        clauses=(ClauseRef("document_name", (first.number,), opening),),
    )


def test_a_window_without_provisions_gets_an_empty_answer_that_fits() -> None:
    schema = window_schema([], TAXONOMY)
    completion = StubModel(4096).complete_json(window_messages("", [], TAXONOMY), schema, 512)
    jsonschema.validate(json.loads(completion.text), schema)
    assert json.loads(completion.text) == {"clauses": [], "summary": []}


def test_the_reduce_answer_fits_its_schema_and_cites_the_first_provision_cited() -> None:
    parts = [
        (SummarySentence("Part one.", (4, 2)),),
        (SummarySentence("Part two.", (9,)),),
    ]
    schema = reduce_schema([9, 4, 2])
    completion = StubModel(4096).complete_json(reduce_messages(parts), schema, 512)
    jsonschema.validate(json.loads(completion.text), schema)
    assert parse_summary_output(completion.text) == (
        SummarySentence("The document opens with provision 2.", (2,)),
    )


def test_tokens_are_counted_by_whitespace_and_the_identity_says_what_it_is() -> None:
    model = StubModel(8192)
    messages = [Message("system", "one two"), Message("user", "three  four\nfive")]
    assert model.count_tokens("a  b\tc\n") == 3
    assert model.count_prompt_tokens(messages) == (2 + 4) + (3 + 4)
    assert (model.identity.id, model.identity.context_length) == (STUB_MODEL_ID, 8192)
    assert STUB_MODEL_ID == "stub (load testing; not a language model)"
    usage = model.complete_json(messages, reduce_schema([1]), 64).usage
    assert usage.prompt_tokens == 13


def test_the_stub_guard_holds_every_output_and_says_why() -> None:
    policy = load_policy("")
    verdicts = StubGuard(policy).classify_batch([("Summarize.", "A summary."), ("Find.", "A")])
    assert len(verdicts) == 2
    for verdict in verdicts:
        assert (verdict.verdict, verdict.outcome, verdict.released) == ("held", "block", False)
        assert verdict.reason == "no guard model: the load-testing stub holds everything"
        assert (verdict.policy_version, verdict.policy_sha256) == (policy.version, policy.sha256)
    assert StubGuard(policy).classify_batch([]) == []


def test_the_settings_build_both_stubs(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "DOCANALYSIS_DATA_DIR": str(tmp_path),
            "DOCANALYSIS_MODEL_BACKEND": "stub",
            "DOCANALYSIS_GUARD_MODEL": "stub",
        }
    )
    rt = build_runtime(settings, queue=InProcessQueue())
    assert isinstance(rt.model, StubModel)
    assert rt.model.identity.context_length == MAX_WINDOW_TOKENS
    assert isinstance(rt.guard, StubGuard)
    assert rt.guard.classify_batch([("q", "a")])[0].reason == STUB_GUARD_REASON


def test_an_unknown_backend_still_names_the_real_ones() -> None:
    with pytest.raises(ValueError, match="must be 'local' or 'openai' \\('stub' for load tests\\)"):
        load_settings({"DOCANALYSIS_MODEL_BACKEND": "vllm"})
