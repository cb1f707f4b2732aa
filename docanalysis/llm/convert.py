"""Export the bundled GGUF model as a plain safetensors folder.

Servers such as `transformers serve` cannot load the GGUF path, and transformers refuses
`save_pretrained` on a GGUF-loaded model (it carries a quantization config). The weights are
already dequantized in memory, so they are copied into a fresh LlamaForCausalLM built from the
same config without the quantization config, and that one is saved with the tokenizer.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from docanalysis.llm.bundled import load_bundled

# What a folder needs to be served and loaded again; its presence makes the export a no-op.
EXPORTED_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")


def _is_exported(dest: Path) -> bool:
    return all((dest / name).is_file() for name in EXPORTED_FILES)


def export_bundled(dest: Path) -> Path:
    """Write the bundled model to `dest` (idempotent: an existing export is left as it is)."""
    dest = Path(dest)
    if _is_exported(dest):
        return dest
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer, gguf_model = load_bundled()
    settings = gguf_model.config.to_dict()
    settings.pop("quantization_config", None)
    plain = LlamaForCausalLM(LlamaConfig(**settings)).to(gguf_model.dtype)
    missing, unexpected = plain.load_state_dict(gguf_model.state_dict(), strict=False)
    # A tied lm_head may be absent from the GGUF state dict; any other gap is a broken export.
    missing = [
        k for k in missing if not (k == "lm_head.weight" and plain.config.tie_word_embeddings)
    ]
    if missing or unexpected:
        raise RuntimeError(f"export mismatch: missing {missing}, unexpected {unexpected}")
    plain.generation_config = gguf_model.generation_config
    dest.parent.mkdir(parents=True, exist_ok=True)
    # Write beside the destination and rename, so a crash never leaves a half folder that the
    # idempotency check would take for a finished export.
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        plain.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        if dest.exists():
            shutil.rmtree(dest)
        staging.rename(dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dest
