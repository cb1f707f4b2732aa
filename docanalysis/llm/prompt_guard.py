"""Injection detector over Prompt Guard 2 (a sequence classifier) in process, on the CPU.

Prompt Guard reads at most 512 tokens, so a window's text is cut into overlapping chunks of
that size (the tokenizer's own overflow, so every chunk keeps its special tokens and its
character offsets); the window's score is the highest chunk's probability of the malicious
label (a passage anywhere in the window counts). The chunks of all texts are classified
in batches. The model is loaded once per process and never downloaded (local_files_only): a
folder, or a model already in the Hugging Face cache. Unlike the output guard this detector
raises when it cannot run: the caller records that the screen did not happen.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from docanalysis.core.errors import DocAnalysisError
from docanalysis.core.injection import InjectionFinding, InjectionScore, excerpt

CONTEXT_TOKENS = 512  # Prompt Guard 2's context, special tokens included
OVERLAP_TOKENS = 64  # shared by consecutive chunks, so a phrase cut at a border is seen whole
BATCH_SIZE = 16
GENERIC_LABEL = re.compile(r"LABEL_\d+")


class InjectionDetectorUnavailable(DocAnalysisError):
    """The Prompt Guard model cannot be loaded or run."""

    code = "injection_detector_unavailable"


@dataclass(frozen=True)
class LoadedClassifier:
    tokenizer: Any
    model: Any
    malicious: int  # the index of the malicious label in the logits
    context: int  # tokens per chunk, special tokens included


@dataclass(frozen=True)
class Chunk:
    text: int  # which of the texts it comes from
    input_ids: list[int]
    start: int  # character offsets of its first and last token in that text
    end: int


def malicious_label(id2label: Mapping[Any, str]) -> int:
    """The label that means "malicious": by name, or the last one when the labels are unnamed
    (Prompt Guard 2's own config says LABEL_0 / LABEL_1, benign / malicious)."""
    labels = {int(index): str(name) for index, name in id2label.items()}
    for index, name in labels.items():
        if name.upper() == "MALICIOUS":
            return index
    if labels and all(GENERIC_LABEL.fullmatch(name) for name in labels.values()):
        return max(labels)
    raise InjectionDetectorUnavailable(
        f"cannot tell which of the labels {sorted(labels.values())} means malicious"
    )


_cache: dict[str, LoadedClassifier] = {}
_cache_lock = threading.Lock()


def load_classifier(name: str) -> LoadedClassifier:
    """The classifier named by the settings, loaded once per process."""
    with _cache_lock:
        if name not in _cache:
            _cache[name] = _load(name)
        return _cache[name]


def _load(name: str) -> LoadedClassifier:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(name, local_files_only=True)
        model = AutoModelForSequenceClassification.from_pretrained(name, local_files_only=True)
    except Exception as exc:  # missing files, an unknown architecture, a broken checkpoint
        raise InjectionDetectorUnavailable(
            f"the Prompt Guard model {name!r} is not available on this machine ({exc})"
        ) from exc
    if not tokenizer.is_fast:  # the chunks' character offsets come from a fast tokenizer
        raise InjectionDetectorUnavailable(f"the model {name!r} has no fast tokenizer")
    model.eval()
    positions = int(getattr(model.config, "max_position_embeddings", 0) or CONTEXT_TOKENS)
    context = min(CONTEXT_TOKENS, positions)
    return LoadedClassifier(tokenizer, model, malicious_label(model.config.id2label), context)


def chunk_texts(loaded: LoadedClassifier, texts: Sequence[str], overlap: int) -> list[Chunk]:
    """Every text cut into chunks of at most `loaded.context` tokens, `overlap` shared."""
    encoded = loaded.tokenizer(
        list(texts),
        max_length=loaded.context,
        truncation=True,
        stride=overlap,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
    )
    chunks = []
    for ids, offsets, text in zip(
        encoded["input_ids"],
        encoded["offset_mapping"],
        encoded["overflow_to_sample_mapping"],
        strict=True,
    ):
        spans = [(start, end) for start, end in offsets if end > start]  # not special tokens
        start, end = (spans[0][0], spans[-1][1]) if spans else (0, 0)
        chunks.append(Chunk(int(text), list(ids), start, end))
    return chunks


def classify_chunks(loaded: LoadedClassifier, chunks: Sequence[Chunk], batch: int) -> list[float]:
    """The probability of the malicious label for each chunk, `batch` chunks at a time."""
    import torch

    pad = loaded.tokenizer.pad_token_id or 0
    scores: list[float] = []
    for first in range(0, len(chunks), batch):
        rows = [c.input_ids for c in chunks[first : first + batch]]
        width = max(len(r) for r in rows)
        ids = torch.tensor([r + [pad] * (width - len(r)) for r in rows])
        mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
        with torch.inference_mode():
            logits = loaded.model(input_ids=ids, attention_mask=mask).logits
        probabilities = torch.softmax(logits.float(), dim=-1)[:, loaded.malicious]
        scores.extend(float(p) for p in probabilities)
    return scores


class PromptGuard:
    """InjectionDetector: score(texts) -> the highest chunk probability per text."""

    def __init__(
        self,
        model: str,
        threshold: float = 0.5,
        batch_size: int = BATCH_SIZE,
        overlap: int = OVERLAP_TOKENS,
    ) -> None:
        self.name = model
        self.threshold = threshold
        self.batch_size = batch_size
        self.overlap = overlap

    def score(self, texts: Sequence[str]) -> list[InjectionScore]:
        if not texts:
            return []
        loaded = load_classifier(self.name)
        try:
            chunks = chunk_texts(loaded, texts, min(self.overlap, loaded.context // 2))
            probabilities = classify_chunks(loaded, chunks, self.batch_size)
        except Exception as exc:  # out of memory, a broken checkpoint: one clear error
            raise InjectionDetectorUnavailable(f"Prompt Guard could not run ({exc!r})") from exc
        best: dict[int, tuple[float, Chunk]] = {}
        for probability, chunk in zip(probabilities, chunks, strict=True):
            if chunk.text not in best or probability > best[chunk.text][0]:
                best[chunk.text] = (probability, chunk)
        return [self._verdict(text, *best[i]) for i, text in enumerate(texts)]

    def _verdict(self, text: str, score: float, top: Chunk) -> InjectionScore:
        """The text's score, with its highest-scoring chunk as the finding (offsets, excerpt)."""
        reason = f"Prompt Guard rates it {score:.2f} likely to be an injected instruction"
        finding = InjectionFinding(
            "prompt_guard", reason, top.start, top.end, excerpt(text, top.start)
        )
        return InjectionScore(score, score >= self.threshold, (finding,))
