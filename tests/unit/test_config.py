"""Settings: defaults, validation, and the README table kept in step with the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from docanalysis.config import BUNDLED_MODEL, load_settings

REPO = Path(__file__).resolve().parents[2]


def test_embedded_defaults_live_under_the_data_dir(tmp_path: Path) -> None:
    settings = load_settings({"DOCANALYSIS_DATA_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'docanalysis.sqlite3'}"
    assert settings.broker_url == "filesystem://"
    assert settings.model_backend == "local"
    assert settings.model == BUNDLED_MODEL
    assert settings.blob_dir == tmp_path / "blobs"


def test_conventional_urls_choose_the_production_profile() -> None:
    settings = load_settings(
        {
            "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/docanalysis",
            "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
        }
    )
    assert settings.database_url == "postgresql://postgres@127.0.0.1:5432/docanalysis"
    assert settings.broker_url == "redis://127.0.0.1:6379/0"


def test_window_cap_never_exceeds_128k() -> None:
    assert load_settings({"DOCANALYSIS_MAX_WINDOW_TOKENS": "500000"}).max_window_tokens == 131072
    assert load_settings({"DOCANALYSIS_MAX_WINDOW_TOKENS": "4096"}).max_window_tokens == 4096


def test_bad_values_are_named() -> None:
    with pytest.raises(ValueError, match="DOCANALYSIS_OUTPUT_TOKENS must be an integer, got 'x'"):
        load_settings({"DOCANALYSIS_OUTPUT_TOKENS": "x"})
    with pytest.raises(ValueError, match="DOCANALYSIS_MODEL_BACKEND must be 'local' or 'openai'"):
        load_settings({"DOCANALYSIS_MODEL_BACKEND": "vllm"})


def test_readme_lists_every_setting_and_no_other() -> None:
    # config.py, and the production settings' own two (the proxy in front)
    code = (REPO / "docanalysis" / "config.py").read_text() + (
        REPO / "docanalysis" / "settings" / "production.py"
    ).read_text()
    read = set(re.findall(r'"((?:DOCANALYSIS|DATABASE|CELERY)_[A-Z_]+)"', code))
    readme = (REPO / "README.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", readme, flags=re.M))
    assert read == documented


@pytest.mark.parametrize(
    ("value", "expected"), [(None, None), ("auto", None), ("ON", True), ("off", False)]
)
def test_prompt_token_ids_is_auto_on_or_off(value: str | None, expected: bool | None) -> None:
    env = {} if value is None else {"DOCANALYSIS_PROMPT_TOKEN_IDS": value}
    assert load_settings(env).prompt_token_ids is expected


def test_prompt_token_ids_refuses_other_words() -> None:
    with pytest.raises(ValueError, match="DOCANALYSIS_PROMPT_TOKEN_IDS must be auto, on or off"):
        load_settings({"DOCANALYSIS_PROMPT_TOKEN_IDS": "yes"})
