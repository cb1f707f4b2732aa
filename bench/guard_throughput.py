"""Guard throughput: verdicts per second, batched with the shared-prefix cache against one at a
time, and the guard's share of a run's time.

Runs the product's own guard path (LlamaGuard.classify_batch: the policy's prompt, tokenizing,
the policy prefix's cache, one forward pass per batch, the verdicts) over realistic analysis
outputs, in three ways in one process: one at a time with whole prompts (the baseline), and
batched, with whole prompts and with the prefix every prompt shares run once and its cache
reused. The ways take turns in each round, so a load change on a shared machine hits them
alike, and each way's verdicts must equal the baseline's (exit status 1 if not).

    .venv/bin/python bench/guard_throughput.py                        # bundled model, CPU
    .venv/bin/python bench/guard_throughput.py --contract FILE        # + the guard's share of a run
    .venv/bin/python bench/guard_throughput.py --json guard.json      # rows for bench/run_all.py
    python3 bench/guard_throughput.py --shape lg3-1b --device cuda --tokenizer DIR

--contract runs the whole analysis of FILE (a .txt or .pdf) with the configured models, as
`docanalysis analyze` does, in a scratch SQLite database, and reports the screening step's time
against the run's. With the bundled model on CPU that is many minutes (one window's generation).

--shape lg3-1b / lg3-8b builds a model of Llama Guard 3 1B's or 8B's shape with random weights
(speed does not depend on their values; the real weights cannot be had here), in bf16 on the
device, and a tokenizer from DIR (any with Llama 3's header tokens: see bench/README.md).
Random weights answer neither "safe" nor "unsafe", so every verdict is held: the measured work
(the scoring pass) is the same as for a real answer.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from table import Row, format_table, write_rows  # noqa: E402

from docanalysis.core.types import GuardVerdict  # noqa: E402
from docanalysis.guard_policies import load_policy  # noqa: E402
from docanalysis.llm.llama_guard import LlamaGuard  # noqa: E402
from docanalysis.llm.transformers_local import Placement, load_causal_lm  # noqa: E402

# What the analysis asks the guard about: a summary and clause quotes with values.
OUTPUTS = [
    (
        "Summarize this contract for a lawyer.",
        "This Supply Agreement between Acme Components Inc. and Beta Devices LLC runs for three "
        "years from March 1, 2021 and renews for one-year terms unless either party gives 90 "
        "days' notice. Acme supplies the parts at the prices in Schedule B; Beta must buy at "
        "least 80% of its annual needs from Acme. Liability is capped at the fees paid in the "
        "prior twelve months, except for breaches of confidentiality. Delaware law governs.",
    ),
    (
        "Find the Governing Law clause in this contract and state its value.",
        "This Agreement shall be governed by and construed in accordance with the laws of the "
        "State of Delaware, without regard to its conflict of laws principles.\nValue: Delaware",
    ),
    (
        "Find the Cap On Liability clause in this contract and state its value.",
        "IN NO EVENT SHALL EITHER PARTY'S AGGREGATE LIABILITY ARISING OUT OF OR RELATED TO THIS "
        "AGREEMENT EXCEED THE TOTAL AMOUNT PAID BY CUSTOMER HEREUNDER IN THE TWELVE (12) MONTHS "
        "PRECEDING THE EVENT GIVING RISE TO THE CLAIM.\nValue: fees paid in the prior 12 months",
    ),
    (
        "Find the Parties clause in this contract and state its value.",
        'This Agreement is made between Acme Components Inc., a Delaware corporation ("Acme"), '
        'and Beta Devices LLC, a California limited liability company ("Beta").\n'
        "Value: Acme Components Inc.; Beta Devices LLC",
    ),
]

SHAPES = {  # Llama 3.2 1B and Llama 3.1 8B, which Llama Guard 3 1B and 8B are fine-tuned from
    "lg3-1b": dict(hidden_size=2048, intermediate_size=8192, num_hidden_layers=16),
    "lg3-8b": dict(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32),
}


def random_guard_model(shape: str, tokenizer_dir: str, device: str) -> str:
    """A Llama Guard 3-shaped model with random weights, placed in the loader's cache."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from docanalysis.core.types import ModelIdentity
    from docanalysis.llm import transformers_local as local

    options: dict[str, Any] = dict(
        vocab_size=128_256,
        num_attention_heads=32,
        num_key_value_heads=8,
        max_position_embeddings=131_072,
        rope_theta=500_000.0,
        **SHAPES[shape],
    )
    config = LlamaConfig(**options)
    torch.set_default_dtype(torch.bfloat16)
    with torch.device(device):
        model = LlamaForCausalLM(config).eval()
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    name = f"random:{shape}"
    identity = ModelIdentity(id=name, revision="random", context_length=131_072)
    local._cache[f"{name}|{Placement(device=device)}"] = local.LoadedModel(
        tokenizer, model, identity
    )
    return name


@dataclass(frozen=True)
class Way:
    """One way of judging the outputs: a batch size, whole prompts or the prefix's cache."""

    batch: int
    prefix: bool

    @property
    def label(self) -> str:
        return f"batch {self.batch:>3}, {'prefix cache' if self.prefix else 'whole prompts'}"


def rates(
    guards: dict[Way, LlamaGuard], outputs: list[tuple[str, str]], repeats: int, budget_s: float
) -> tuple[dict[Way, float], dict[Way, list[GuardVerdict]]]:
    """Verdicts per second of each way, the median of its rounds, and its verdicts.

    The ways take turns within a round; no round starts after `budget_s` once one is done, so
    the default run stays short on a busy machine. One at a time, a way judges one output of
    each kind: its rate does not depend on how many, and it is the slowest way. No warm-up
    here: computing the prefix's cache before (prefix_report) paid the first-call costs.
    """
    timed: dict[Way, list[float]] = {way: [] for way in guards}
    verdicts: dict[Way, list[GuardVerdict]] = {}
    started = time.perf_counter()
    for round_ in range(repeats):
        if round_ and time.perf_counter() - started > budget_s:
            break
        for way, guard in guards.items():
            judged = outputs[: len(OUTPUTS)] if way.batch == 1 else outputs
            begin = time.perf_counter()
            verdicts[way] = guard.classify_batch(judged)
            _synchronize()
            timed[way].append(len(judged) / (time.perf_counter() - begin))
    return {way: statistics.median(r) for way, r in timed.items()}, verdicts


def same_verdicts(a: list[GuardVerdict], b: list[GuardVerdict]) -> bool:
    """The cache and batching may change the score by float noise, never the decision."""
    for x, y in zip(a, b, strict=False):  # one at a time judges fewer: the first ones
        if (x.verdict, x.categories, x.outcome) != (y.verdict, y.categories, y.outcome):
            return False
        if (x.score is None) != (y.score is None) or abs((x.score or 0) - (y.score or 0)) > 1e-4:
            return False
    return True


def prefix_report(guard: LlamaGuard, outputs: list[tuple[str, str]]) -> str:
    """How much of a prompt the cache covers, and what computing it once costs."""
    loaded = load_causal_lm(guard.model_name, guard.placement)
    started = time.perf_counter()
    prefix = guard.prefix(loaded)
    seconds = time.perf_counter() - started
    if prefix is None:
        return "prefix cache: none (the model gives no cache that can be replicated)"
    prompts = _prompts(guard, loaded, outputs)
    sizes = [len(loaded.tokenizer(p, add_special_tokens=False).input_ids) for p in prompts]
    share = len(prefix.ids) / statistics.mean(sizes)
    return (
        f"prefix cache: {len(prefix.ids)} tokens, {share:.0%} of a prompt's mean "
        f"{statistics.mean(sizes):.0f}; computed once per process in {seconds:.2f} s"
    )


def _prompts(guard: LlamaGuard, loaded: Any, outputs: list[tuple[str, str]]) -> list[str]:
    from docanalysis.core.guard_policy import guard_prompt
    from docanalysis.llm.llama_guard import chat_prompt

    return [chat_prompt(loaded.tokenizer, guard_prompt(guard.policy, *pair)) for pair in outputs]


@dataclass(frozen=True)
class RunTimes:
    """One analysis run's wall time and the screening step's part of it."""

    state: str
    total_s: float
    stages: dict[str, float]
    outputs: int

    @property
    def guard_share(self) -> float:
        return 100.0 * self.stages.get("guarding", 0.0) / self.total_s


def run_contract(path: Path) -> RunTimes:
    """The whole analysis of `path` as `docanalysis analyze` runs it, in a scratch SQLite
    database, with the models loaded and the guard's prefix cached first: a worker's steady
    state, where loading happens once per process, not once per run."""
    from docanalysis.config import load_settings
    from docanalysis.db import repositories as repo
    from docanalysis.db.engine import reading
    from docanalysis.db.migrate import upgrade_database
    from docanalysis.services.matters import ensure_matter
    from docanalysis.services.runtime import build_runtime
    from docanalysis.services.steps import run_to_end
    from docanalysis.services.submit import submit_document
    from docanalysis.services.views import Actor
    from workers.queue import InProcessQueue

    with tempfile.TemporaryDirectory() as scratch:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        settings = load_settings(env | {"DOCANALYSIS_DATA_DIR": scratch})
        upgrade_database(settings.database_url)
        rt = build_runtime(settings, queue=InProcessQueue())
        rt.model.count_tokens("Load the analysis model.")
        rt.guard.classify_batch(
            [("Warm up.", "The guard's prefix cache is made once per process.")]
        )
        actor = Actor(user_id=None, identity="bench:guard_throughput")
        matter_id = ensure_matter(rt, actor, "Benchmark")
        run_id = submit_document(rt, actor, matter_id, path.name, path.read_bytes()).run_id
        started = time.perf_counter()
        state = run_to_end(rt, run_id)
        total = time.perf_counter() - started
        with reading(rt.engine) as conn:
            usage = dict(getattr(repo.run(conn, run_id), "usage", None) or {})
            outputs = len(repo.findings_of(conn, run_id))
        rt.engine.dispose()
    return RunTimes(state, total, dict(usage.get("seconds", {})), outputs)


def _synchronize() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def ways(sizes: list[int]) -> list[Way]:
    """The baseline (whole prompts at the first size), then each other size both ways."""
    others = sizes[1:] or sizes[:1]
    return [Way(sizes[0], False), *(Way(size, p) for size in others for p in (False, True))]


def throughput_rows(args: argparse.Namespace, name: str) -> tuple[list[Row], bool]:
    """Print the rate of each way; the rows, and whether every way gave the same verdicts."""
    outputs = [OUTPUTS[i % len(OUTPUTS)] for i in range(args.outputs)]
    policy, placement = load_policy(), Placement(device=args.device)
    chosen = ways([int(b) for b in args.batches.split(",")])
    print(f"guard {name} on {args.device}, policy {policy.version}, {len(outputs)} outputs")
    guards = {
        w: LlamaGuard(policy, name, placement, w.batch, prefix_cache=w.prefix) for w in chosen
    }
    print(prefix_report(guards[chosen[-1]], outputs))
    got, verdicts = rates(guards, outputs, args.repeats, args.budget_s)
    base = got[chosen[0]]
    for way, rate in got.items():
        print(f"{way.label:<30} {rate:8.2f} verdicts/s  ({rate / base:.2f} x)")
    agree = all(same_verdicts(v, verdicts[chosen[0]]) for v in verdicts.values())
    print(f"verdicts the same in every way: {'yes' if agree else 'NO'}")
    one = "one at a time" if chosen[0].batch == 1 else f"batch {chosen[0].batch}"
    best, batched = got[chosen[-1]], got[chosen[-2]]
    rows = [
        Row(
            "guard verdicts/s batched + prefix cache",
            "verdicts/s",
            best,
            base,
            one,
            "> 1 x",
            best > base,
        ),
        Row("guard verdicts/s batched, whole prompts", "verdicts/s", batched, base, one),
    ]
    return rows, agree


def share_row(contract: str) -> Row:
    path = Path(contract)
    print(f"analysis run of {path.name} (the configured models; many minutes on CPU) ...")
    times = run_contract(path)
    stages = ", ".join(f"{k} {v:.1f} s" for k, v in times.stages.items())
    print(f"run {times.state} in {times.total_s:.1f} s ({stages}); {times.outputs} outputs")
    print(f"guard share of run time: {times.guard_share:.1f} %")
    return Row("guard share of run time", "%", times.guard_share)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--shape", choices=["bundled", *SHAPES], default="bundled")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--tokenizer", default="", help="folder (random shapes only)")
    parser.add_argument("--outputs", type=int, default=8)
    parser.add_argument("--batches", default="1,8", help="batch sizes, the first is the baseline")
    parser.add_argument("--repeats", type=int, default=3, help="rounds, at most")
    parser.add_argument("--budget-s", type=float, default=20, help="no round starts after it")
    parser.add_argument("--contract", default="", help="also time a whole run of this file")
    parser.add_argument("--json", help="write the figures' rows to this file (bench/table.py)")
    args = parser.parse_args(argv)
    name = "bundled:SmolLM2-135M-Instruct"
    if args.shape != "bundled":
        name = random_guard_model(args.shape, args.tokenizer, args.device)
    rows, agree = throughput_rows(args, name)
    if args.contract:
        rows.append(share_row(args.contract))
    else:
        print("guard share of run time: not measured (--contract FILE runs a whole analysis)")
    print(format_table(rows))
    if args.json:
        write_rows(args.json, rows)
    return 0 if agree else 1


if __name__ == "__main__":
    raise SystemExit(main())
