"""Guard throughput: outputs screened per second, batched against one at a time.

Runs the product's own guard path (LlamaGuard.classify_batch: the policy's prompt, tokenizing,
left padding, one forward pass per batch, the verdicts) over realistic analysis outputs.

    .venv/bin/python bench/guard_throughput.py                        # bundled model, CPU
    python3 bench/guard_throughput.py --shape lg3-1b --device cuda --tokenizer DIR

--shape lg3-1b / lg3-8b builds a model of Llama Guard 3 1B's or 8B's shape with random weights
(speed does not depend on their values; the real weights cannot be had here), in bf16 on the
device, and a tokenizer from DIR (any with Llama 3's header tokens: see bench/README.md).
Random weights answer neither "safe" nor "unsafe", so every verdict is held: the measured work
(the scoring pass) is the same as for a real answer.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from docanalysis.guard_policies import load_policy  # noqa: E402
from docanalysis.llm.llama_guard import LlamaGuard  # noqa: E402
from docanalysis.llm.transformers_local import Placement  # noqa: E402

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

    config = LlamaConfig(
        vocab_size=128_256,
        num_attention_heads=32,
        num_key_value_heads=8,
        max_position_embeddings=131_072,
        rope_theta=500_000.0,
        **SHAPES[shape],
    )
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


def throughput(
    guard: LlamaGuard, outputs: list[tuple[str, str]], repeats: int, whole: bool = False
) -> float:
    """Outputs per second, the median of `repeats` timed passes after one warm-up. `whole`:
    every prompt scored in full (the shared policy prefix not reused), the baseline."""
    guard.classify_batch(outputs[: guard.batch_size])
    if whole:
        guard._prefixes = dict.fromkeys(guard._prefixes)  # type: ignore[assignment]
    rates = []
    for _ in range(repeats):
        started = time.perf_counter()
        verdicts = guard.classify_batch(outputs)
        _synchronize()
        rates.append(len(verdicts) / (time.perf_counter() - started))
    return statistics.median(rates)


def _synchronize() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", choices=["bundled", *SHAPES], default="bundled")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--tokenizer", default="", help="folder (random shapes only)")
    parser.add_argument("--outputs", type=int, default=16)
    parser.add_argument("--batches", default="1,8", help="batch sizes, the first is the baseline")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    name = "bundled:SmolLM2-135M-Instruct"
    if args.shape != "bundled":
        name = random_guard_model(args.shape, args.tokenizer, args.device)
    outputs = [OUTPUTS[i % len(OUTPUTS)] for i in range(args.outputs)]
    policy, placement = load_policy(), Placement(device=args.device)
    sizes = [int(b) for b in args.batches.split(",")]
    print(f"guard {name} on {args.device}, policy {policy.version}, {len(outputs)} outputs")
    base = throughput(LlamaGuard(policy, name, placement, sizes[0]), outputs, args.repeats, True)
    print(f"batch {sizes[0]:>3}, whole prompts (baseline): {base:8.2f} outputs/s")
    for size in sizes:
        rate = throughput(LlamaGuard(policy, name, placement, size), outputs, args.repeats)
        ratio = rate / base
        print(f"batch {size:>3}, shared prefix reused:    {rate:8.2f} outputs/s  ({ratio:.2f} x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
