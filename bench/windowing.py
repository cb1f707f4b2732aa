"""Windowing throughput: document text to windows, against the raw tokenizer on the same text.

Ours is the product's whole path from a document's text to its windows (plan_document:
provision detection, rendering, token counts, windows and their prompt sizes), with the
bundled model's tokenizer, as `docanalysis plan` and the pipeline's windowing step run it.
The reference is the floor for any such path: Hugging Face `tokenizers` (the same tokenizer's
backend) encoding the document's text in one call. Both are timed in CPU seconds of this
process, interleaved, and the median of `--repeat` runs is kept, so the ratio holds on a
shared machine. The goal is ours >= 0.6 x the reference's tokens per second.

    .venv/bin/python bench/windowing.py [--pages 300] [--repeat 5] [--json FILE]

The document is CUAD contract PDFs joined into one (bench/cuad_pdfs.py) and read by the
product's extraction (not timed here). Loading the tokenizer from the bundled GGUF file takes
about 30 s and is not timed either: a worker loads it once.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cuad_pdfs import joined_pdf  # noqa: E402
from table import Row, format_table, write_rows  # noqa: E402

from docanalysis.config import load_settings  # noqa: E402
from docanalysis.llm.tokenizer_counter import TokenizerCounter  # noqa: E402
from docanalysis.llm.transformers_local import load_tokenizer  # noqa: E402
from docanalysis.sandbox import extract_with_settings  # noqa: E402
from docanalysis.services.planning import plan_document, prompts_add_up  # noqa: E402
from docanalysis.taxonomy import bundled_taxonomy  # noqa: E402

BUNDLED = "bundled:SmolLM2-135M-Instruct"
GOAL = 0.6


def cpu_seconds(work: Callable[[], object]) -> float:
    started = time.process_time()
    work()
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--window-tokens", type=int, default=131_072)
    parser.add_argument("--output-tokens", type=int, default=2048)
    parser.add_argument("--json", type=Path, help="also write the figures (bench/table.py)")
    args = parser.parse_args()

    doc = extract_with_settings(load_settings(), joined_pdf(args.pages))
    counter = TokenizerCounter(BUNDLED)
    backend = load_tokenizer(BUNDLED).backend_tokenizer
    taxonomy = bundled_taxonomy()
    probe = cpu_seconds(lambda: prompts_add_up(counter, tuple(taxonomy[:1])))

    def reference() -> object:
        return backend.encode(doc.text, add_special_tokens=False)

    def ours() -> object:
        return plan_document(
            doc,
            counter,
            taxonomy,
            window_tokens=args.window_tokens,
            output_tokens=args.output_tokens,
        )

    tokens = len(backend.encode(doc.text, add_special_tokens=False).ids)
    times: dict[str, list[float]] = {"reference": [], "ours": []}
    for _ in range(args.repeat):
        times["reference"].append(cpu_seconds(reference))
        times["ours"].append(cpu_seconds(ours))
    plan = ours()
    ref_rate = tokens / statistics.median(times["reference"])
    our_rate = tokens / statistics.median(times["ours"])
    print(
        f"document: {len(doc.pages)} pages, {len(doc.text):,} chars, {tokens:,} tokens; "
        f"{len(plan.provisions):,} provisions, {len(plan.windows)} windows of "
        f"{args.window_tokens:,} tokens"
    )
    for name, runs in times.items():
        print(f"{name:9}: CPU s per run {', '.join(f'{t:.3f}' for t in runs)}")
    print(f"seam check (once per tokenizer and process): {probe:.3f} CPU s")
    print(f"raw tokenizer: {ref_rate:,.0f} tokens/s; ours: {our_rate:,.0f} tokens/s")
    row = Row(
        figure=f"windowing tokens/s, {len(doc.pages)} CUAD PDF pages",
        unit="tokens/s",
        ours=our_rate,
        reference=ref_rate,
        reference_name="raw tokenizers encode",
        goal=f">= {GOAL} x",
        met=our_rate >= GOAL * ref_rate,
    )
    print(format_table([row]))
    if args.json:
        write_rows(args.json, [row])


if __name__ == "__main__":
    main()
