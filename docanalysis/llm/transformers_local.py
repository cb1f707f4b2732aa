"""LanguageModel in process with transformers: the embedded default, and any local model folder.

Greedy decoding; complete_json constrains it with an xgrammar grammar compiled from the schema,
so even a 135M model returns JSON that fits the window's schema. torch, transformers and
xgrammar are imported inside the functions that need them, so importing this module is instant.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docanalysis import config
from docanalysis.core.types import Completion, Message, ModelIdentity, Usage
from docanalysis.llm.bundled import bundled_identity, load_bundled, load_bundled_tokenizer
from docanalysis.llm.next_token import cache_arg


@dataclass
class LoadedModel:
    """One model in memory with what is costly to build for it (the grammar compiler)."""

    tokenizer: Any
    model: Any
    identity: ModelIdentity
    _compiler: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def grammar_compiler(self) -> Any:
        with self._lock:
            if self._compiler is None:
                import xgrammar as xgr

                info = xgr.TokenizerInfo.from_huggingface(
                    self.tokenizer, vocab_size=self.model.config.vocab_size
                )
                self._compiler = xgr.GrammarCompiler(info)
            return self._compiler


_cache: dict[str, LoadedModel] = {}
_cache_lock = threading.Lock()


def _folder_revision(name: str, model: Any) -> str:
    # Hashing tens of GB of weights at every process start is too slow; a hub snapshot carries
    # its commit, and a plain folder is pinned by its config and the names and sizes of its files.
    commit = getattr(model.config, "_commit_hash", None)
    if commit:
        return str(commit)
    folder = Path(name)
    digest = hashlib.sha256((folder / "config.json").read_bytes())
    for f in sorted(folder.glob("*.safetensors")):
        digest.update(f"{f.name}:{f.stat().st_size}".encode())
    return "local-" + digest.hexdigest()[:12]


@dataclass(frozen=True)
class Placement:
    """Where a model's weights come from and where they live: revision, device and dtype."""

    revision: str = ""  # commit or tag in the HF cache; "" = the one found
    device: str = "cpu"  # "cpu", "cuda", "cuda:1", or "auto" (accelerate spreads the layers)
    dtype: str = "auto"  # "auto" keeps the stored dtype

    def from_pretrained_options(self) -> dict[str, Any]:
        import torch

        options: dict[str, Any] = {"local_files_only": True}  # a folder or the cache; never fetch
        if self.revision:
            options["revision"] = self.revision
        options["dtype"] = "auto" if self.dtype == "auto" else getattr(torch, self.dtype)
        if self.device == "auto":
            options["device_map"] = "auto"
        return options


def _load_folder(name: str, placement: Placement) -> LoadedModel:
    from transformers import AutoModelForCausalLM, AutoModelForImageTextToText, AutoTokenizer

    options = placement.from_pretrained_options()
    tokenizer = AutoTokenizer.from_pretrained(
        name, local_files_only=True, revision=placement.revision or None
    )
    model: Any
    try:
        model = AutoModelForCausalLM.from_pretrained(name, **options)
    except ValueError:
        # Llama Guard 4 is published as a multimodal Llama 4 checkpoint, which the causal-LM
        # auto class does not map. Its text tower is a causal LM of its own, and the only part
        # text screening needs (the full model's text-only forward fails in transformers 5.24).
        model = AutoModelForImageTextToText.from_pretrained(name, **options)
        model = getattr(model, "language_model", model)
    if placement.device != "auto":
        model = model.to(placement.device)
    model.eval()
    context = int(getattr(model.config, "max_position_embeddings", 0) or 0)
    revision = placement.revision or _folder_revision(name, model)
    identity = ModelIdentity(id=name, revision=revision, context_length=context)
    return LoadedModel(tokenizer, model, identity)


ON_CPU = Placement()


def load_causal_lm(name: str, placement: Placement = ON_CPU) -> LoadedModel:
    """The model named by settings ("bundled:..." or a folder/cached id), once per process."""
    bundled = name.startswith("bundled:")
    # The bundled model is one fixed file: only its device can vary, so the guard and the
    # analysis model share it in a process.
    key = f"{name}|{placement.device}" if bundled else f"{name}|{placement}"
    with _cache_lock:
        if key not in _cache:
            if bundled:
                tokenizer, model = load_bundled()
                if placement.device not in ("cpu", "auto"):
                    model = model.to(placement.device)
                _cache[key] = LoadedModel(tokenizer, model, bundled_identity())
            else:
                _cache[key] = _load_folder(name, placement)
        return _cache[key]


_tokenizers: dict[str, Any] = {}


def load_tokenizer(name: str) -> Any:
    """Only the tokenizer of a model, for processes that count tokens but never generate."""
    with _cache_lock:
        loaded = _cache.get(f"{name}|cpu") or _cache.get(f"{name}|{ON_CPU}")
        if loaded is not None:
            return loaded.tokenizer
        if name not in _tokenizers:
            from transformers import AutoTokenizer

            if name.startswith("bundled:"):
                tokenizer = load_bundled_tokenizer()
            else:
                tokenizer = AutoTokenizer.from_pretrained(name, local_files_only=True)
            _tokenizers[name] = tokenizer
        return _tokenizers[name]


# Prompt tokens per forward pass before generation starts. One pass over a whole window holds
# every layer's activations for all its tokens at once (about 400 MiB more for 4,000 tokens
# with the bundled model); passes of this size hold a fraction, for the same cache and output.
PREFILL_CHUNK = 512


def prefilled(model: Any, input_ids: Any) -> Any:
    """The cache of every prompt token but the last, filled PREFILL_CHUNK tokens at a time
    (generate then runs the last token and goes on); None for a prompt short enough for one
    pass."""
    count = int(input_ids.shape[1])
    if count <= PREFILL_CHUNK + 1:
        return None
    from transformers import DynamicCache

    cache = DynamicCache(config=model.config)
    for start in range(0, count - 1, PREFILL_CHUNK):
        chunk = input_ids[:, start : min(start + PREFILL_CHUNK, count - 1)]
        model(input_ids=chunk, use_cache=True, logits_to_keep=1, **{cache_arg(model): cache})
    return cache


def chat_dicts(messages: Sequence[Message]) -> list[dict[str, str]]:
    return [{"role": m.role, "content": m.content} for m in messages]


def count_text_tokens(tokenizer: Any, text: str) -> int:
    return len(tokenizer(text, add_special_tokens=False).input_ids)


def text_token_offsets(tokenizer: Any, text: str) -> list[tuple[int, int]] | None:
    """Character offsets of the tokens of `text` (no special tokens), straight from the fast
    tokenizer's backend: the transformers call around it costs more than the tokenizing on a
    short text and copies every id. None for a slow (pure Python) tokenizer."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return None
    offsets: list[tuple[int, int]] = backend.encode(text, add_special_tokens=False).offsets
    return offsets


def prompt_ids(tokenizer: Any, messages: Sequence[Message]) -> list[int]:
    """Token ids of `messages` under the tokenizer's chat template, with the generation prompt."""
    prompt = tokenizer.apply_chat_template(
        chat_dicts(messages), tokenize=False, add_generation_prompt=True
    )
    # The template already wrote the special tokens it wants; add none twice.
    return list(tokenizer(prompt, add_special_tokens=False).input_ids)


class LocalModel:
    """LanguageModel over a transformers model in this process (loaded on first use)."""

    def __init__(self, model: str = config.BUNDLED_MODEL) -> None:
        self.name = model
        self._loaded: LoadedModel | None = None

    @property
    def loaded(self) -> LoadedModel:
        if self._loaded is None:
            self._loaded = load_causal_lm(self.name)
        return self._loaded

    @property
    def identity(self) -> ModelIdentity:
        return self.loaded.identity

    def count_tokens(self, text: str) -> int:
        return count_text_tokens(self.loaded.tokenizer, text)

    def token_offsets(self, text: str) -> list[tuple[int, int]] | None:
        return text_token_offsets(self.loaded.tokenizer, text)

    def count_prompt_tokens(self, messages: Sequence[Message]) -> int:
        return len(prompt_ids(self.loaded.tokenizer, messages))

    def complete_json(
        self, messages: Sequence[Message], schema: Mapping[str, Any], max_tokens: int
    ) -> Completion:
        import xgrammar as xgr

        # Compact JSON: with free whitespace a small model spends tokens on (or loops in)
        # blank lines between fields.
        compiled = self.loaded.grammar_compiler().compile_json_schema(
            json.dumps(schema), any_whitespace=False
        )
        processor = xgr.contrib.hf.LogitsProcessor(compiled)
        return self._generate(messages, max_tokens, [processor])

    def complete_text(self, messages: Sequence[Message], max_tokens: int) -> Completion:
        return self._generate(messages, max_tokens, [])

    def _generate(
        self, messages: Sequence[Message], max_tokens: int, processors: list[Any]
    ) -> Completion:
        import torch

        loaded = self.loaded
        ids = prompt_ids(loaded.tokenizer, messages)
        limit = loaded.identity.context_length
        if limit and len(ids) + max_tokens > limit:
            raise ValueError(
                f"prompt of {len(ids)} tokens plus {max_tokens} output tokens exceeds the "
                f"context of {limit} tokens of {loaded.identity.id}; use smaller windows"
            )
        tokenizer = loaded.tokenizer
        input_ids = torch.tensor([ids])
        with torch.inference_mode():
            prefix = {cache_arg(loaded.model): prefilled(loaded.model, input_ids)}
            output = loaded.model.generate(
                input_ids=input_ids,
                **prefix,
                attention_mask=torch.ones_like(input_ids),
                max_new_tokens=max_tokens,
                do_sample=False,
                logits_processor=processors,
                pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
            )
        new = output[0, len(ids) :].tolist()
        text = tokenizer.decode(new, skip_special_tokens=True)
        return Completion(text=text, usage=Usage(len(ids), len(new)))
