"""Economy of the analysis: prompt tokens per document token, one pass vs one pass per clause type.

The product reads each window once and asks for every clause type in that one call (issue 3).
The naive design asks one question per clause type (41 passes over the whole document). This
script plans both on real text, without calling a model, counting tokens with the bundled
model's tokenizer, and prints the figures and their ratio.

    .venv/bin/python bench/economy.py [--pages 320] [--window-tokens 131072] [--output-tokens 2048]

The document is built from the CUAD contract texts in ../shared/data/cuad (concatenated until
it has the requested number of pages of 3,000 characters, pages separated by form feeds).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from docanalysis.core.extraction import extract_text
from docanalysis.core.prompts import window_messages
from docanalysis.llm.tokenizer_counter import TokenizerCounter
from docanalysis.services.planning import plan_document
from docanalysis.taxonomy import bundled_taxonomy

REPO = Path(__file__).resolve().parents[1]
CUAD = REPO.parent / "shared" / "data" / "cuad"
PAGE_CHARS = 3000


def long_document(pages: int) -> bytes:
    """CUAD contracts one after another, cut into pages, until there are `pages` of them."""
    text = ""
    for path in sorted((CUAD / "contracts_txt").glob("*.txt")):
        text += path.read_text(encoding="utf-8-sig") + "\n\n"
        if len(text) >= pages * PAGE_CHARS:
            break
    cut = [text[i : i + PAGE_CHARS] for i in range(0, pages * PAGE_CHARS, PAGE_CHARS)]
    return "\f".join(cut).encode("utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=320)
    parser.add_argument("--window-tokens", type=int, default=131_072)
    parser.add_argument("--output-tokens", type=int, default=2048)
    args = parser.parse_args()

    doc = extract_text(long_document(args.pages))
    counter = TokenizerCounter("bundled:SmolLM2-135M-Instruct")
    taxonomy = bundled_taxonomy()
    started = time.perf_counter()
    plan = plan_document(
        doc, counter, taxonomy, window_tokens=args.window_tokens, output_tokens=args.output_tokens
    )
    seconds = time.perf_counter() - started
    usage = plan.usage

    # The naive design: for each clause type, one call per window with only that type asked.
    text_tokens = sum(w.tokens for w in plan.windows)
    per_type = [
        counter.count_prompt_tokens(window_messages("", [], [category])) for category in taxonomy
    ]
    naive_prompt = len(plan.windows) * sum(per_type) + len(taxonomy) * text_tokens

    print(
        f"document: {len(doc.pages)} pages, {len(doc.text):,} chars, "
        f"{usage.document_tokens:,} tokens; {len(plan.provisions):,} provisions"
    )
    print(
        f"windows of {args.window_tokens:,} tokens: {len(plan.windows)} "
        f"(largest prompt {max(plan.prompt_tokens):,} + {args.output_tokens:,} output)"
    )
    print(f"planned in {seconds:.1f} s")
    print(
        f"one pass, all {len(taxonomy)} types: {usage.calls} calls, "
        f"{usage.prompt_tokens:,} prompt tokens = "
        f"{usage.prompt_tokens / usage.document_tokens:.3f} x document tokens"
    )
    naive_calls = len(taxonomy) * len(plan.windows)
    print(
        f"naive, one pass per type:  {naive_calls} calls, {naive_prompt:,} prompt tokens = "
        f"{naive_prompt / usage.document_tokens:.3f} x document tokens"
    )
    print(
        f"ratio naive / one pass: {naive_prompt / usage.prompt_tokens:.1f} x prompt tokens, "
        f"{naive_calls / usage.calls:.1f} x calls"
    )


if __name__ == "__main__":
    main()
