"""The bundled model's two memory savings give the same answers: the converted copy in the
cache (weights mapped from safetensors instead of dequantized from the GGUF file in every
process) and the prompt prefilled in chunks (instead of one pass over the whole window)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from docanalysis.core.types import Message
from docanalysis.llm import bundled, transformers_local
from docanalysis.llm.transformers_local import LocalModel, prefilled

pytestmark = pytest.mark.slow

CONTRACT = (
    Path(__file__).resolve().parents[3] / "shared" / "data" / "cuad" / "contracts_txt"
    / "BellringBrandsInc_20190920_S-1_EX-10.12_11817081_EX-10.12_Manufacturing Agreement1.txt"
)  # fmt: skip
TEXTS = ["Governing law: New York.", "§ 3.1 — Vertragsstrafe: 5 % p.a.; naïve café 日本語"]


@pytest.fixture
def fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty cache folder, and no model loaded in this process yet."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(bundled, "_loaded", None)
    yield tmp_path
    bundled._loaded = None  # the next test loads the model from the usual cache again


def _logits(model: Any, ids: list[int]) -> torch.Tensor:
    with torch.inference_mode():
        return model(input_ids=torch.tensor([ids])).logits[0, -1]


def test_the_converted_copy_is_the_gguf_model(fresh_cache: Path) -> None:
    tokenizer, model = bundled.load_bundled()  # from the GGUF file; writes the copy
    folder = bundled.converted_folder()
    assert folder.parent.parent == fresh_cache / "docanalysis"
    names = {p.name for p in folder.iterdir()}
    assert {"complete", "config.json", "model.safetensors", "tokenizer.json"} <= names
    bundled._loaded = None
    copied_tokenizer, copy = bundled.load_bundled()  # from the copy
    assert copy is not model
    for text in TEXTS:
        ids = tokenizer(text, add_special_tokens=False).input_ids
        assert copied_tokenizer(text, add_special_tokens=False).input_ids == ids
        assert torch.equal(_logits(copy, ids), _logits(model, ids))
    chat = [{"role": "user", "content": TEXTS[1]}]
    assert copied_tokenizer.apply_chat_template(chat, tokenize=False) == (
        tokenizer.apply_chat_template(chat, tokenize=False)
    )
    assert bundled.load_bundled_tokenizer()(TEXTS[1]).input_ids == tokenizer(TEXTS[1]).input_ids


def test_a_damaged_copy_is_removed_so_the_gguf_file_is_read_and_converted_again(
    fresh_cache: Path,
) -> None:
    folder = bundled.converted_folder()
    folder.mkdir(parents=True)
    (folder / "complete").write_text("yes")
    (folder / "config.json").write_text("{not json")
    assert bundled._load_converted() is None  # load_bundled then reads the GGUF file
    assert not folder.exists()  # and its copy can take the damaged one's place
    assert bundled.load_bundled_tokenizer()(TEXTS[0]).input_ids  # from the GGUF file


def test_a_prompt_prefilled_in_chunks_gives_the_same_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = LocalModel()
    messages = [
        Message("system", "Name the parties of this agreement."),
        Message("user", CONTRACT.read_text(encoding="utf-8")[:5000]),
    ]
    chunked = model.complete_text(messages, 8)
    assert chunked.usage.prompt_tokens > 2 * transformers_local.PREFILL_CHUNK  # 3 passes or more
    monkeypatch.setattr(transformers_local, "PREFILL_CHUNK", 10**9)  # one pass
    whole = model.complete_text(messages, 8)
    assert (chunked.text, chunked.usage) == (whole.text, whole.usage)


def test_a_short_prompt_is_one_pass() -> None:
    ids = torch.tensor([list(range(transformers_local.PREFILL_CHUNK + 1))])
    assert prefilled(object(), ids) is None
