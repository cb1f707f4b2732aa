"""Build the configured model and guard from Settings (the only place that reads them here)."""

from __future__ import annotations

from docanalysis.config import Settings
from docanalysis.core.guard_policy import DEFAULT_POLICY
from docanalysis.core.ports import Guard, LanguageModel, PromptCounter


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
        )
    if settings.model_backend == "local":
        from docanalysis.llm.transformers_local import LocalModel

        return LocalModel(settings.model)
    raise ValueError(f"unknown model backend {settings.model_backend!r}")


def build_guard(settings: Settings) -> Guard:
    """Llama Guard with the default categories, the configured threshold and policy version."""
    from docanalysis.llm.llama_guard import LlamaGuard

    return LlamaGuard(settings.guard_model, DEFAULT_POLICY)


def build_counter(settings: Settings) -> tuple[PromptCounter, int]:
    """The serving model's token counter and context length, without loading any weights."""
    if settings.model_backend == "openai":
        model = build_model(settings)
        return model, model.identity.context_length
    from docanalysis.llm.tokenizer_counter import TokenizerCounter

    counter = TokenizerCounter(settings.model)
    return counter, counter.context_length()
