"""CPU per 128K-token window, and growth with length: extraction, provisions, windows, grounding.

Two PDFs of real contracts (bench/cuad_pdfs.py): `--large` pages (1,000 by default) of CUAD
PDFs joined, and `--small` pages (100) sampled one in ten from the same pages, so both hold the
same mix of contracts. Each is processed in a fresh Python process of its own (so their peak
memory is their own), as the pipeline's worker does it:

1. extraction: the PDF read by the sandboxed child process (docanalysis.sandbox), as the
   extracting step does;
2. windows: plan_document (provisions, token counts, windows), as the windowing step does;
3. grounding: the analyzing step's side of it: the provisions split again, each window's
   prompt rendered, a model answer per window parsed (simulated: clauses citing provisions of
   the window, with values quoting their text, and summary sentences) and merged and grounded
   in the source (core/grounding.py), the summary's citations checked.

CPU is this process's time.process_time plus its children's: the spawned ones (RUSAGE_CHILDREN)
and the extraction children its sandbox's zygote forked (sandbox_parts.forked_cpu_s). Per 128K
window = CPU / (document tokens / 131,072), on the large document. Peak memory
is the worker process's high-water mark (VmHWM, reset after the tokenizer is loaded); the
extraction child runs under its own memory limit and is not in it (its ru_maxrss would count
the worker's pages it was forked with). The model itself is not run.

    .venv/bin/python bench/pipeline_cpu.py [--small 100] [--large 1000] [--json FILE]

The bundled tokenizer is loaded once from its GGUF file (about 30 s, not timed) and saved to a
folder in the system's temporary directory (kept for the next run), which each worker process
loads in a second: the same tokenizer.json and chat template, so the same tokens. The workers
get a generous extraction time limit (DOCANALYSIS_EXTRACT_TIMEOUT_S=1200): the default 120 s
is wall-clock time, which a 1,000-page PDF can exceed on a busy shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from docanalysis import sandbox_parts

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cuad_pdfs import joined_pdf  # noqa: E402
from table import Row, format_table, write_rows  # noqa: E402

BUNDLED = "bundled:SmolLM2-135M-Instruct"
WINDOW_TOKENS = 131_072
CPU_GOAL_S = 4.0
GROWTH_GOAL = 11.0


def cpu_now() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    spawned = children.ru_utime + children.ru_stime
    return time.process_time() + spawned + sandbox_parts.forked_cpu_s()


def measured(stages: dict[str, float], name: str, work: Callable[[], Any]) -> Any:
    started = cpu_now()
    result = work()
    stages[name] = cpu_now() - started
    return result


def high_water_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_high_water() -> bool:
    try:  # "5" resets the peak resident set size (Linux >= 4.0)
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


# --- The worker: one document, in a process of its own ----------------------------------------


def simulated_answer(text: str, provisions: list[Any], keys: list[str]) -> str:
    """A model's JSON answer for a window: 24 clauses citing provisions spread over the window,
    values quoting their text, and 5 summary sentences; one citation outside the window."""
    step = max(1, len(provisions) // 24)
    cited = provisions[::step][:24]
    clauses = [
        {
            "category": keys[i % len(keys)],
            "provisions": [p.number],
            "value": " ".join(text[p.start : p.end].split())[:100],
        }
        for i, p in enumerate(cited)
    ]
    clauses.append(
        {"category": keys[0], "provisions": [provisions[-1].number + 10**6], "value": ""}
    )
    summary = [
        {"text": f"Part {i} of the agreement.", "provisions": [p.number]}
        for i, p in enumerate(cited[:5])
    ]
    return json.dumps({"clauses": clauses, "summary": summary})


def ground(doc: Any, plan: Any, keys: list[str], taxonomy: Any) -> int:
    """The analyzing step's grounding, with simulated answers; the number of findings."""
    from docanalysis.core.grounding import merge_and_ground
    from docanalysis.core.parsing import parse_window_output
    from docanalysis.core.prompts import window_messages
    from docanalysis.core.provisions import split_provisions
    from docanalysis.core.summaries import ground_summary

    provisions = split_provisions(doc)  # the analyzing step splits the text again
    results = []
    for w in plan.windows:
        part = list(provisions[w.first - 1 : w.last])
        window_messages(doc.text, part, taxonomy)  # the prompt the model would read
        numbers = [p.number for p in part]
        answer = parse_window_output(simulated_answer(doc.text, part, keys), numbers, keys)
        results.append((w.index, range(w.first, w.last + 1), answer))
    ground_summary([s for r in results for s in r[2].summary], {p.number for p in provisions})
    findings, _ = merge_and_ground(results, doc.text, provisions, keys)
    return len(findings)


def worker(pdf: Path, tokenizer: str) -> dict[str, Any]:
    from docanalysis.config import load_settings
    from docanalysis.llm.tokenizer_counter import TokenizerCounter
    from docanalysis.sandbox import extract_with_settings
    from docanalysis.services.planning import plan_document, prompts_add_up
    from docanalysis.taxonomy import bundled_taxonomy

    settings = load_settings()
    taxonomy = bundled_taxonomy()
    keys = [c.key for c in taxonomy]
    counter = TokenizerCounter(tokenizer)
    prompts_add_up(counter, tuple(taxonomy[:1]))  # once per worker process, with the loading
    data = pdf.read_bytes()
    reset = reset_high_water()
    start_mb = high_water_mb()
    stages: dict[str, float] = {}
    wall = time.perf_counter()
    doc = measured(stages, "extraction", lambda: extract_with_settings(settings, data))
    plan = measured(
        stages,
        "windows",
        lambda: plan_document(
            doc,
            counter,
            taxonomy,
            window_tokens=WINDOW_TOKENS,
            output_tokens=settings.output_tokens,
            overlap=settings.window_overlap,
        ),
    )
    findings = measured(stages, "grounding", lambda: ground(doc, plan, keys, taxonomy))
    return {
        "pages": len(doc.pages),
        "chars": len(doc.text),
        "tokens": plan.usage.document_tokens,
        "provisions": len(plan.provisions),
        "windows": len(plan.windows),
        "findings": findings,
        "stages": stages,
        "cpu": sum(stages.values()),
        "wall": time.perf_counter() - wall,
        "peak_mb": high_water_mb(),
        "start_mb": start_mb,
        "peak_reset": reset,
    }


# --- The driver -------------------------------------------------------------------------------


def run_worker(pdf: Path, tokenizer: str) -> dict[str, Any]:
    command = [sys.executable, __file__, "--worker", str(pdf), "--tokenizer", tokenizer]
    env = {**os.environ, "DOCANALYSIS_EXTRACT_TIMEOUT_S": "1200"}
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"worker for {pdf.name} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def saved_tokenizer() -> str:
    """A folder holding the bundled tokenizer, made from the GGUF file if not there yet."""
    from docanalysis.llm.bundled import bundled_gguf
    from docanalysis.llm.transformers_local import load_tokenizer

    gguf = bundled_gguf().stat()
    name = f"docanalysis-bench-tokenizer-{gguf.st_size}-{int(gguf.st_mtime)}"
    folder = Path(tempfile.gettempdir()) / name
    if not (folder / "tokenizer.json").is_file():
        load_tokenizer(BUNDLED).save_pretrained(folder)
    return str(folder)


def describe(name: str, r: dict[str, Any]) -> str:
    stages = ", ".join(f"{k} {v:.2f}" for k, v in r["stages"].items())
    return (
        f"{name}: {r['pages']} pages, {r['chars']:,} chars, {r['tokens']:,} tokens, "
        f"{r['provisions']:,} provisions, {r['windows']} windows, {r['findings']} findings\n"
        f"  CPU {r['cpu']:.2f} core-s ({stages}); wall {r['wall']:.1f} s\n"
        f"  worker peak RSS {r['peak_mb']:.0f} MB (at start {r['start_mb']:.0f} MB"
        f"{'' if r['peak_reset'] else ', peak not reset: includes loading'})"
    )


def rows(small: dict[str, Any], large: dict[str, Any]) -> list[Row]:
    per_window = large["cpu"] / (large["tokens"] / WINDOW_TOKENS)
    growth = large["cpu"] / small["cpu"]
    pages = f"{small['pages']} / {large['pages']} pages"
    return [
        Row(
            "CPU per 128K window",
            "core-s",
            per_window,
            goal=f"<= {CPU_GOAL_S:g}",
            met=per_window <= CPU_GOAL_S,
        ),
        Row(
            f"{large['pages']} vs {small['pages']} pages time (CPU)",
            "x",
            growth,
            goal=f"<= {GROWTH_GOAL:g} x",
            met=growth <= GROWTH_GOAL,
        ),
        Row(f"peak RSS {small['pages']} pages", "MB", small["peak_mb"]),
        Row(
            f"peak RSS {large['pages']} pages",
            "MB",
            large["peak_mb"],
            small["peak_mb"],
            f"{small['pages']} pages",
            f"< {large['pages'] / small['pages']:g} x ({pages})",
            large["peak_mb"] < small["peak_mb"] * large["pages"] / small["pages"],
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--large", type=int, default=1000)
    parser.add_argument("--json", type=Path, help="also write the figures (bench/table.py)")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--tokenizer", default=BUNDLED, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.tokenizer)))
        return
    every = max(1, args.large // args.small)
    tokenizer = saved_tokenizer()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        results = {}
        for name, pages, step in (("small", args.small, every), ("large", args.large, 1)):
            pdf = folder / f"{name}.pdf"
            pdf.write_bytes(joined_pdf(pages, every=step))
            results[name] = run_worker(pdf, tokenizer)
            print(describe(f"{pages} pages", results[name]), flush=True)
    table = rows(results["small"], results["large"])
    print(format_table(table))
    if args.json:
        write_rows(args.json, table)


if __name__ == "__main__":
    main()
