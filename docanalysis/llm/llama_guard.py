"""Guard over a Llama Guard model in process (transformers): response classification.

The score is the probability that the first answer token is "unsafe", from one forward pass
over the prompt (the method of the Llama Guard model card); the policy's threshold turns it into
a verdict, and only a blocked answer is decoded further to read its category codes. The bundled
SmolLM2 model stands in for Llama Guard in tests and in the embedded profile, on this same path.
Every failure is a `held` verdict: the guard fails closed and never raises.
"""

from __future__ import annotations

from typing import Any

from docanalysis import config
from docanalysis.core.guard_policy import (
    DEFAULT_POLICY,
    GuardPolicy,
    guard_prompt,
    llama3_chat,
    llama4_chat,
    parse_guard_output,
)
from docanalysis.core.types import GuardVerdict, Verdict
from docanalysis.llm.transformers_local import LoadedModel, load_causal_lm

CATEGORY_TOKENS = 12  # enough for "S1,S10,S14" and an end token


def chat_prompt(tokenizer: Any, task: str) -> str:
    """The task as the user turn, ready for the assistant's answer.

    Llama Guard's own chat templates build the task text themselves from a conversation, so
    passing our task through them would wrap it twice: for those models the prompt is written
    with their header tokens, as the model card shows. Other models use their chat template.
    """
    vocab = tokenizer.get_vocab()
    if "<|header_start|>" in vocab:
        return llama4_chat(task)
    if "<|start_header_id|>" in vocab:
        return llama3_chat(task)
    messages = [{"role": "user", "content": task}]
    return str(tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))


class LlamaGuard:
    """Guard: classify(instruction, response) -> GuardVerdict; never raises."""

    def __init__(self, model: str = config.BUNDLED_MODEL, policy: GuardPolicy = DEFAULT_POLICY):
        self.model_name = model
        self.policy = policy

    def classify(self, instruction: str, response: str) -> GuardVerdict:
        try:
            return self._classify(instruction, response)
        except Exception as exc:  # fail closed: load failure, OOM, too long, garbage
            return GuardVerdict(
                verdict="held",
                categories=(),
                model=self.model_name,
                policy_version=self.policy.version,
                reason=f"guard could not judge: {exc!r}"[:500],
            )

    def _classify(self, instruction: str, response: str) -> GuardVerdict:
        import torch

        loaded = load_causal_lm(self.model_name)
        tokenizer, identity = loaded.tokenizer, loaded.identity
        prompt = chat_prompt(tokenizer, guard_prompt(self.policy, instruction, response))
        ids = tokenizer(prompt, add_special_tokens=False).input_ids
        if identity.context_length and len(ids) + CATEGORY_TOKENS > identity.context_length:
            raise ValueError(f"guard prompt of {len(ids)} tokens exceeds the model's context")
        unsafe_ids = tokenizer("unsafe\n", add_special_tokens=False).input_ids
        input_ids = torch.tensor([ids])
        with torch.inference_mode():
            out = loaded.model(input_ids=input_ids)
            probs = torch.softmax(out.logits[0, -1].float(), dim=-1)
            score = float(probs[unsafe_ids[0]])
            verdict: Verdict = "safe"
            categories: tuple[str, ...] = ()
            if score >= self.policy.threshold:
                tail = _generate_after(loaded, ids + unsafe_ids)
                verdict, categories = (
                    "unsafe",
                    parse_guard_output("unsafe\n" + tail, self.policy)[1],
                )
        return GuardVerdict(
            verdict=verdict,
            categories=categories,
            model=f"{identity.id}@{identity.revision}",
            policy_version=self.policy.version,
            score=score,
        )


def _generate_after(loaded: LoadedModel, ids: list[int]) -> str:
    """Greedy tokens after `ids` (the prompt and 'unsafe\\n'): the category codes.

    The prompt is run again rather than its cache reused: the cache argument of generate()
    changed name across transformers versions, and this path runs only for blocked outputs.
    """
    import torch

    input_ids = torch.tensor([ids])
    tokenizer = loaded.tokenizer
    output = loaded.model.generate(
        input_ids=input_ids,
        attention_mask=torch.ones_like(input_ids),
        max_new_tokens=CATEGORY_TOKENS,
        do_sample=False,
        pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
    )
    return str(tokenizer.decode(output[0, len(ids) :], skip_special_tokens=True))
