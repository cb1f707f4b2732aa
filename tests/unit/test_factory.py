"""The factory builds what the settings name, loading no weights."""

from __future__ import annotations

import pytest

from docanalysis.config import load_settings
from docanalysis.llm.factory import build_model
from docanalysis.llm.openai_compat import OpenAICompatModel
from docanalysis.llm.transformers_local import LocalModel


def test_openai_backend_carries_the_server_settings() -> None:
    model = build_model(
        load_settings(
            {
                "DOCANALYSIS_MODEL_BACKEND": "openai",
                "DOCANALYSIS_MODEL": "meta-llama/Llama-4-Scout-17B-16E-Instruct",
                "DOCANALYSIS_OPENAI_BASE_URL": "http://127.0.0.1:8001/v1/",
                "DOCANALYSIS_MODEL_CONTEXT": "131072",
                "DOCANALYSIS_STRUCTURED_OUTPUT": "structured_outputs",
            }
        )
    )
    assert isinstance(model, OpenAICompatModel)  # nothing is contacted until the first call
    assert (model.base_url, model.model, model.context_length, model.structured_output) == (
        "http://127.0.0.1:8001/v1",
        "meta-llama/Llama-4-Scout-17B-16E-Instruct",
        131072,
        "structured_outputs",
    )


def test_an_unknown_structured_output_field_is_refused() -> None:
    settings = load_settings(
        {
            "DOCANALYSIS_MODEL_BACKEND": "openai",
            "DOCANALYSIS_STRUCTURED_OUTPUT": "grammar",
        }
    )
    with pytest.raises(ValueError, match="unknown structured_output 'grammar'"):
        build_model(settings)


def test_local_backend_is_lazy() -> None:
    model = build_model(load_settings({}))
    assert isinstance(model, LocalModel) and model._loaded is None
