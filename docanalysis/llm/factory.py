"""Build the configured model and guard from Settings (the only place that reads them here)."""

from __future__ import annotations

from docanalysis.config import Settings
from docanalysis.core.ports import Guard, InjectionDetector, LanguageModel, PromptCounter


def build_model(settings: Settings) -> LanguageModel:
    """The analysis model: in process ("local") or over HTTP ("openai"). Loads nothing yet."""
    if settings.model_backend == "openai":
        from docanalysis.llm.openai_compat import OpenAICompatModel

        return OpenAICompatModel(
            settings.openai_base_url,
            settings.model,
            api_key=settings.openai_api_key,
            tokenizer=settings.tokenizer,
            context_length=settings.model_context or None,
            structured_output=settings.structured_output,
            token_ids=settings.prompt_token_ids,
        )
    if settings.model_backend == "local":
        from docanalysis.llm.transformers_local import LocalModel

        return LocalModel(settings.model)
    raise ValueError(f"unknown model backend {settings.model_backend!r}")


def build_guard(settings: Settings) -> Guard:
    """Llama Guard under the configured policy. A policy file that cannot be read raises
    PolicyError: the screening step then holds every output (it never judges without one)."""
    from docanalysis.guard_policies import load_policy
    from docanalysis.llm.llama_guard import LlamaGuard
    from docanalysis.llm.transformers_local import Placement

    placement = Placement(settings.guard_revision, settings.guard_device, settings.guard_dtype)
    return LlamaGuard(
        load_policy(settings.guard_policy),
        settings.guard_model,
        placement,
        settings.guard_batch_size,
    )


def build_counter(settings: Settings) -> tuple[PromptCounter, int]:
    """The serving model's token counter and context length, without loading any weights."""
    if settings.model_backend == "openai":
        model = build_model(settings)
        return model, model.identity.context_length
    from docanalysis.llm.tokenizer_counter import TokenizerCounter

    counter = TokenizerCounter(settings.model)
    return counter, counter.context_length()


def build_injection_detector(settings: Settings) -> InjectionDetector:
    """The injection screen: the rules ("rules"), else the Prompt Guard model it names (a folder
    or an HF cache id), loaded on first use."""
    if settings.injection_detector == "rules":
        from docanalysis.core.injection import RuleDetector

        return RuleDetector()
    from docanalysis.llm.prompt_guard import PromptGuard

    return PromptGuard(settings.injection_detector, settings.injection_threshold)
