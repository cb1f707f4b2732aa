"""Next-token logits for a batch of prompts, reusing the key/value state of a shared prefix.

Every guard prompt starts with the same task and policy text (about three quarters of its
tokens); only the conversation differs. The prefix is run once per process and its cache
copied for each batch, so a prompt costs only its own tokens. Suffixes are right-padded: a
real token never attends to padding that comes after it, so each row scores exactly as it
would alone (tested against the full prompt).
"""

from __future__ import annotations

import copy
import inspect
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Prefix:
    """Token ids every prompt starts with, and the model's cache after them (batch of one)."""

    ids: tuple[int, ...]
    cache: Any


def run_prefix(model: Any, ids: list[int]) -> Prefix | None:
    """The prefix's cache, or None where the model gives no cache that can be replicated."""
    import torch

    with torch.inference_mode():
        out = model(input_ids=torch.tensor([ids], device=_device(model)), use_cache=True)
    cache = getattr(out, "cache", None) or getattr(out, "past_key_values", None)
    if cache is None or not hasattr(cache, "batch_repeat_interleave"):
        return None
    return Prefix(tuple(ids), cache)


def last_logits(model: Any, batch: list[list[int]], prefix: Prefix | None = None) -> Any:
    """The next-token logits after each sequence of `batch` (one row each)."""
    size = len(prefix.ids) if prefix is not None else 0
    if prefix is not None and all(tuple(ids[:size]) == prefix.ids and ids[size:] for ids in batch):
        return _after_prefix(model, prefix, [ids[size:] for ids in batch])
    return _left_padded(model, batch)


def _after_prefix(model: Any, prefix: Prefix, suffixes: list[list[int]]) -> Any:
    import torch

    cache = copy.deepcopy(prefix.cache)  # the forward pass appends to it
    if len(suffixes) > 1:
        cache.batch_repeat_interleave(len(suffixes))
    width = max(len(ids) for ids in suffixes)
    input_ids = torch.zeros((len(suffixes), width), dtype=torch.long)
    for row, ids in enumerate(suffixes):
        input_ids[row, : len(ids)] = torch.tensor(ids)
    # Scores over the vocabulary only at the positions some row ends at, not at every token:
    # the whole width would take a batch's peak memory from about 1.4 to 1.8 GB here.
    ends = sorted({len(ids) - 1 for ids in suffixes})
    device = _device(model)
    with torch.inference_mode():
        out = model(
            input_ids=input_ids.to(device),
            use_cache=True,
            logits_to_keep=torch.tensor(ends, device=device),
            **{cache_arg(model): cache},
        )
    column = torch.tensor([ends.index(len(ids) - 1) for ids in suffixes], device=out.logits.device)
    return out.logits[torch.arange(len(suffixes), device=out.logits.device), column]


def _left_padded(model: Any, batch: list[list[int]]) -> Any:
    """Whole prompts, left-padded, with positions from the attention mask so that a padded
    prompt scores as it would alone."""
    import torch

    width = max(len(ids) for ids in batch)
    input_ids = torch.zeros((len(batch), width), dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, ids in enumerate(batch):
        input_ids[row, width - len(ids) :] = torch.tensor(ids)
        mask[row, width - len(ids) :] = 1
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    device = _device(model)
    with torch.inference_mode():
        out = model(
            input_ids=input_ids.to(device),
            attention_mask=mask.to(device),
            position_ids=positions.to(device),
            logits_to_keep=1,  # every row ends in the last column
        )
    return out.logits[:, -1, :]


_CACHE_ARG: dict[type, str] = {}  # per model class: this runs for every batch and token


def cache_arg(model: Any) -> str:
    """transformers renamed `past_key_values` to `cache` (5.2x; the old name goes in 5.40)."""
    kind = type(model)
    if kind not in _CACHE_ARG:
        names = inspect.signature(kind.forward).parameters
        _CACHE_ARG[kind] = "cache" if "cache" in names else "past_key_values"
    return _CACHE_ARG[kind]


def _device(model: Any) -> Any:
    return next(model.parameters()).device
