"""Guard over a Llama Guard model in process (transformers): response classification, batched.

The score is the probability that the first answer token is "unsafe" (the method of the Llama
Guard model card), from one forward pass over a left-padded batch of prompts; the policy's
threshold turns it into a verdict, and only an unsafe answer is decoded further to read its
category codes. Llama Guard 3 (Llama) and 4 (Llama 4, its text tower) use their published
prompt format; the bundled SmolLM2 stands in for them in tests and in the embedded profile on
this same path. Every failure is a `held` verdict: the guard fails closed and never raises.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from docanalysis import config
from docanalysis.core.guard_policy import (
    ANSWER_PREFIX,
    GuardPolicy,
    guard_prompt,
    llama3_chat,
    llama4_chat,
    parse_guard_output,
)
from docanalysis.core.types import GuardVerdict, Verdict
from docanalysis.llm import next_token
from docanalysis.llm.next_token import Prefix
from docanalysis.llm.transformers_local import ON_CPU, LoadedModel, Placement, load_causal_lm

CATEGORY_TOKENS = 12  # enough for "S1,S10,S14" and an end token
# A Llama Guard model answers "safe" or "unsafe" with nearly all its probability; below this
# share its answer is neither, and the output is held.
MIN_ANSWER_SHARE = 0.5

Pair = tuple[str, str]  # (instruction, response): what was asked, what would be shown


def guard_format(tokenizer: Any) -> str:
    """ "llama4", "llama3" (Llama Guard's own formats) or "chat" (any other model)."""
    vocab = tokenizer.get_vocab()
    if "<|header_start|>" in vocab:
        return "llama4"
    if "<|start_header_id|>" in vocab:
        return "llama3"
    return "chat"


def chat_prompt(tokenizer: Any, task: str) -> str:
    """The task as the user turn, up to where the answer starts.

    Llama Guard's chat templates build the task text themselves from a conversation, so
    passing our task through them would wrap it twice: for those models the prompt is written
    as their template renders it. Other models use their own chat template.
    """
    form = guard_format(tokenizer)
    if form == "llama4":
        return llama4_chat(task) + ANSWER_PREFIX
    if form == "llama3":
        return llama3_chat(task) + ANSWER_PREFIX
    messages = [{"role": "user", "content": task}]
    return str(tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))


class LlamaGuard:
    """Guard: classify_batch(pairs) -> one GuardVerdict per pair, in order; never raises."""

    def __init__(
        self,
        policy: GuardPolicy,
        model: str = config.BUNDLED_MODEL,
        placement: Placement = ON_CPU,
        batch_size: int = 8,
        prefix_cache: bool = True,
    ) -> None:
        self.policy = policy
        self.model_name = model
        self.placement = placement
        self.batch_size = max(1, batch_size)
        # Off only to measure or check the cache against whole prompts: verdicts are the same.
        self.prefix_cache = prefix_cache
        self._prefixes: dict[str, Prefix | None] = {}

    def prefix(self, loaded: LoadedModel) -> Prefix | None:
        """The cache of the task and policy tokens all prompts share, computed once."""
        if not self.prefix_cache:
            return None
        key = f"{loaded.identity.id}@{loaded.identity.revision}"
        if key not in self._prefixes:
            ids = _shared_ids(loaded.tokenizer, self.policy)
            self._prefixes[key] = next_token.run_prefix(loaded.model, ids) if ids else None
        return self._prefixes[key]

    def classify(self, instruction: str, response: str) -> GuardVerdict:
        return self.classify_batch([(instruction, response)])[0]

    def classify_batch(self, pairs: Sequence[Pair]) -> list[GuardVerdict]:
        try:
            loaded = load_causal_lm(self.model_name, self.placement)
        except Exception as exc:  # weights missing, CUDA absent, out of memory while loading
            return [self.held(f"the guard model could not be loaded: {exc!r}")] * len(pairs)
        verdicts: list[GuardVerdict] = []
        for start in range(0, len(pairs), self.batch_size):
            verdicts += self._judge_chunk(loaded, pairs[start : start + self.batch_size])
        return verdicts

    def held(self, reason: str, model: str = "") -> GuardVerdict:
        policy = self.policy
        return GuardVerdict.held_for(
            reason, model or self.model_name, policy.version, policy.sha256
        )

    def _judge_chunk(self, loaded: LoadedModel, pairs: Sequence[Pair]) -> list[GuardVerdict]:
        """Judge a chunk; out of memory, judge its halves (down to one output) before holding."""
        try:
            return _Judgement(self, loaded).run(pairs)
        except Exception as exc:
            if _out_of_memory(exc) and len(pairs) > 1:
                half = len(pairs) // 2
                return self._judge_chunk(loaded, pairs[:half]) + self._judge_chunk(
                    loaded, pairs[half:]
                )
            why = "out of memory" if _out_of_memory(exc) else "could not judge"
            return [self.held(f"the guard {why}: {exc!r}")] * len(pairs)


def _shared_ids(tokenizer: Any, policy: GuardPolicy) -> list[int]:
    """The tokens every prompt under `policy` starts with: the common start of two prompts
    that differ in their conversation, less two tokens (a token at the boundary can merge with
    what follows it; a prompt that does not start with these ids is scored whole)."""
    a, b = (
        tokenizer(
            chat_prompt(tokenizer, guard_prompt(policy, *pair)), add_special_tokens=False
        ).input_ids
        for pair in (("a", "b"), ("Zq", "Xw"))
    )
    common = next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )
    return list(a[: max(0, common - 2)])


def _out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError"


class _Judgement:
    """One batch through one model: prompts, the forward pass, the verdicts."""

    def __init__(self, guard: LlamaGuard, loaded: LoadedModel) -> None:
        self.guard, self.loaded, self.policy = guard, loaded, guard.policy
        self.model_id = f"{loaded.identity.id}@{loaded.identity.revision}"
        tokenizer = loaded.tokenizer
        self.trained = guard_format(tokenizer) != "chat"
        self.safe_id = tokenizer("safe", add_special_tokens=False).input_ids[0]
        self.unsafe_ids = tokenizer("unsafe", add_special_tokens=False).input_ids
        self.prefix = guard.prefix(loaded)

    def run(self, pairs: Sequence[Pair]) -> list[GuardVerdict]:
        prompts = [self._ids(pair) for pair in pairs]
        fitting = [i for i, ids in enumerate(prompts) if ids is not None]
        verdicts = [
            self.guard.held("the output is too long for the guard model's context", self.model_id)
        ] * len(pairs)
        if fitting:
            shares = self._answer_shares([prompts[i] or [] for i in fitting])
            for index, (p_safe, p_unsafe) in zip(fitting, shares, strict=True):
                verdicts[index] = self._verdict(prompts[index] or [], p_safe, p_unsafe)
        return verdicts

    def _ids(self, pair: Pair) -> list[int] | None:
        prompt = chat_prompt(self.loaded.tokenizer, guard_prompt(self.policy, *pair))
        ids = list(self.loaded.tokenizer(prompt, add_special_tokens=False).input_ids)
        limit = self.loaded.identity.context_length
        return None if limit and len(ids) + CATEGORY_TOKENS > limit else ids

    def _answer_shares(self, batch: list[list[int]]) -> list[tuple[float, float]]:
        """P(first answer token is "safe"), P(... "unsafe") for each prompt of the batch."""
        import torch

        logits = next_token.last_logits(self.loaded.model, batch, self.prefix)
        probs = torch.softmax(logits.float(), dim=-1)
        return [(float(row[self.safe_id]), float(row[self.unsafe_ids[0]])) for row in probs]

    def _verdict(self, ids: list[int], p_safe: float, p_unsafe: float) -> GuardVerdict:
        share = p_safe + p_unsafe
        if self.trained and share < MIN_ANSWER_SHARE:
            reason = f"the guard answered neither 'safe' nor 'unsafe' (their share {share:.3f})"
            return self.guard.held(reason, self.model_id)
        # A model not trained for the task (the bundled stand-in) chooses between the two.
        score = p_unsafe / share if share > 0 else 1.0
        verdict: Verdict = "safe"
        codes: tuple[str, ...] = ()
        if score >= self.policy.threshold:
            answer = ids + self.unsafe_ids + self._newline()
            tail = _greedy(self.loaded, answer, CATEGORY_TOKENS, self.prefix)
            verdict, codes = "unsafe", parse_guard_output("unsafe\n" + tail, self.policy)[1]
        return GuardVerdict(
            verdict=verdict,
            categories=codes,
            model=self.model_id,
            policy_version=self.policy.version,
            score=score,
            policy_sha256=self.policy.sha256,
            outcome=self.policy.action_for(verdict, codes),
        )

    def _newline(self) -> list[int]:
        return list(self.loaded.tokenizer("\n", add_special_tokens=False).input_ids)


def _greedy(loaded: LoadedModel, ids: list[int], tokens: int, prefix: Prefix | None) -> str:
    """Greedy tokens after `ids`: the category codes of an unsafe answer.

    A plain loop of forward passes rather than generate(): generate's arguments and cache
    changed across transformers versions (and fail on Llama 4 text-only in 5.24), and this
    runs only for unsafe outputs, a dozen tokens at most.
    """
    tokenizer = loaded.tokenizer
    stop = {tokenizer.eos_token_id, *tokenizer.all_special_ids}
    new: list[int] = []
    for _ in range(tokens):
        token = int(next_token.last_logits(loaded.model, [ids + new], prefix)[0].argmax())
        if token in stop:
            break
        new.append(token)
    return str(tokenizer.decode(new, skip_special_tokens=True))
