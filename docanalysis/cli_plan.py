"""`docanalysis plan FILE`: provisions, windows and projected usage, without calling a model."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from docanalysis.config import load_settings
from docanalysis.core.errors import DocAnalysisError
from docanalysis.services.planning import Plan


def plan_file(path: str, window_tokens: int | None) -> int:
    from docanalysis.llm.factory import build_counter
    from docanalysis.services.errors import Rejected
    from docanalysis.services.pipeline import read_document
    from docanalysis.services.planning import plan_document
    from docanalysis.services.submit import validate_upload
    from docanalysis.taxonomy import load_taxonomy

    settings = load_settings()
    try:
        data = Path(path).read_bytes()
        name, media_type = validate_upload(Path(path).name, data, settings.max_upload_bytes)
    except OSError as err:
        raise DocAnalysisError(f"cannot read {path}: {err.strerror}") from None
    except Rejected as err:
        raise DocAnalysisError(err.reason) from None
    doc = read_document(settings, data, media_type)
    counter, context = build_counter(settings)
    size = window_tokens or min(settings.max_window_tokens, context)
    plan = plan_document(
        doc,
        counter,
        load_taxonomy(settings.taxonomy_file),
        window_tokens=size,
        output_tokens=settings.output_tokens,
        overlap=settings.window_overlap,
    )
    payload = as_json(plan, size, settings.output_tokens)
    payload["document"] = {
        "sha256": doc.sha256,
        "filename": name,
        "pages": len(doc.pages),
        "chars": len(doc.text),
    }
    json.dump(payload, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


def as_json(plan: Plan, window_tokens: int, output_tokens: int) -> dict[str, Any]:
    by_number = {p.number: p for p in plan.provisions}
    return {
        "window_tokens": window_tokens,
        "output_tokens": output_tokens,
        "provisions": [
            {"n": p.number, "start": p.start, "end": p.end, "page": p.page} for p in plan.provisions
        ],
        "windows": [
            {
                "provisions": [w.first, w.last],
                "pages": [by_number[w.first].page, by_number[w.last].page],
                "tokens": prompt,  # the whole prompt: instructions and the window's text
                "text_tokens": w.tokens,
            }
            for w, prompt in zip(plan.windows, plan.prompt_tokens, strict=True)
        ],
        "usage": {
            "document_tokens": plan.usage.document_tokens,
            "prompt_tokens": plan.usage.prompt_tokens,
            "completion_tokens_max": plan.usage.completion_tokens_max,
            "calls": plan.usage.calls,
        },
    }
