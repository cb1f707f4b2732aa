"""`docanalysis eval cuad`: measure an engine on a CUAD split, print the table, write the JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from docanalysis.core.errors import DocAnalysisError

COLUMNS = ("aupr", "prec_at_80_recall", "prec_at_90_recall", "precision", "recall")
HEADINGS = ("AUPR", "P@80R", "P@90R", "Prec", "Recall")


def add_parser(sub: Any) -> None:
    """The `eval` command and its `cuad` benchmark, on the CLI's subparsers."""
    p = sub.add_parser("eval", help="measure clause quality on a benchmark (CUAD)")
    bench = p.add_subparsers(dest="benchmark", required=True)
    c = bench.add_parser("cuad", help="CUAD's metric on a split of ../shared/data/cuad's layout")
    c.add_argument("--data", required=True, help="the folder holding the split's files")
    c.add_argument("--split", required=True, help="the split name, e.g. dev")
    c.add_argument("--engine", choices=("scorer", "llm", "fused", "baseline"), default="scorer")
    c.add_argument("--source", choices=("pdf", "txt"), default="txt")
    c.add_argument("--limit", type=int, default=None, help="evaluate the first N contracts")
    c.add_argument("--candidates", type=int, default=20, help="at most K per question")
    c.add_argument(
        "--train-limit", type=int, default=None, help="baseline, scorer: train on the first N only"
    )
    c.add_argument("--out", required=True, help="the figures, as JSON")
    c.add_argument("--predictions", default=None, help="also the raw predictions, CUAD format")
    c.set_defaults(func=cmd_eval_cuad)


def cmd_eval_cuad(args: argparse.Namespace) -> int:
    from docanalysis.evaluation.cuad import Options, evaluate

    if args.candidates < 1:
        raise DocAnalysisError("--candidates must be at least 1")
    options = Options(
        data=Path(args.data),
        split=args.split,
        engine=args.engine,
        source=args.source,
        limit=args.limit,
        candidates=args.candidates,
        train_limit=args.train_limit,
    )
    figures, predictions = evaluate(options)
    _write(args.out, figures)
    if args.predictions:
        _write(args.predictions, predictions)
    sys.stdout.write(table(figures))
    return 0


def _write(path: str, payload: object) -> None:
    try:
        Path(path).write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n")
    except OSError as err:
        raise DocAnalysisError(f"cannot write {path}: {err.strerror}") from None


def _row(label: str, scores: dict[str, float]) -> str:
    return f"{label[:34]:<34}" + "".join(f"{scores[k]:>8.3f}" for k in COLUMNS) + "\n"


def table(figures: dict[str, Any]) -> str:
    """Per category, then the overall line and the product's own figures."""
    lines = [f"{'category':<34}" + "".join(f"{h:>8}" for h in HEADINGS) + "\n"]
    lines += [_row(name, s) for name, s in figures["categories"].items()]
    lines.append(_row("OVERALL", figures["overall"]))
    lines.append(
        f"engine {figures['engine']} · source {figures['source']} · "
        f"{figures['contracts']} contracts · {figures['candidates']} candidates · "
        f"grounding {figures['grounding_rate']:.3f} · "
        f"{figures['seconds_per_page']:.3f} s/page (training {figures['train_seconds']:.0f} s)\n"
    )
    lines += [f"NOT READ: {name}: {why}\n" for name, why in figures["failures"].items()]
    return "".join(lines)
