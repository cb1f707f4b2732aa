"""The CUAD benchmark harness: read a split, run an engine, score it exactly as CUAD does.

A split NAME in a folder DIR is three files (paths inside them are relative to DIR):
`spans_NAME.jsonl` (each contract, its text file and the gold clause pieces with offsets),
`master_clauses_NAME.csv` (the lawyers' labels; its header names the categories) and
`eval_NAME.tsv` (the contracts that also have a PDF, for `--source pdf`).
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docanalysis.core.errors import DocAnalysisError
from docanalysis.evaluation import metrics

ENGINES = ("baseline", "scorer", "llm", "fused")
SOURCES = ("txt", "pdf")
# (text, probability, start, end): a finding, its offsets into the text the engine was given.
Finding = tuple[str, float, int, int]
Found = dict[str, list[Finding]]


@dataclass(frozen=True)
class Contract:
    name: str
    txt: Path
    pdf: Path | None
    pages: int
    spans: Mapping[str, Sequence[tuple[int, int]]]


@dataclass(frozen=True)
class Options:
    data: Path
    split: str
    engine: str = "baseline"
    source: str = "txt"
    limit: int | None = None
    candidates: int = 20
    # Baseline and scorer: train on the first N contracts of the split (a quick smoke run).
    train_limit: int | None = None


@dataclass
class Outcome:
    """What the engine returned, per contract, and the texts it was given."""

    found: dict[str, Found] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0  # reading or extraction plus scoring; training excluded
    train_seconds: float = 0.0
    # Contracts whose source could not be read: scored with no findings (their answers all
    # count as missed), and named in the report.
    failures: dict[str, str] = field(default_factory=dict)


def categories(data: Path, split: str) -> list[str]:
    """The category names, in the order of the master clauses' header."""
    path = data / f"master_clauses_{split}.csv"
    with path.open(newline="", encoding="utf-8-sig") as handle:
        header = next(csv.reader(handle))
    labels = [h for h in header[1:] if not h.endswith("-Answer")]
    return labels


def load_contracts(data: Path, split: str) -> list[Contract]:
    pdfs = _pdf_paths(data, split)
    contracts = []
    with (data / f"spans_{split}.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            spans = {
                name: tuple((s["start"], s["end"]) for s in label["spans"])
                for name, label in row["labels"].items()
            }
            name = row["contract"]
            contracts.append(
                Contract(name, data / row["txt"], pdfs.get(name), int(row["pdf_pages"]), spans)
            )
    return contracts


def _pdf_paths(data: Path, split: str) -> dict[str, Path]:
    path = data / f"eval_{split}.tsv"
    if not path.exists():
        return {}
    with path.open(newline="", encoding="utf-8") as handle:
        return {
            row["contract"]: data / row["pdf"] for row in csv.DictReader(handle, delimiter="\t")
        }


def selected(contracts: Sequence[Contract], options: Options) -> list[Contract]:
    """The contracts to evaluate: all (txt) or those with a PDF (pdf), the first `limit`."""
    chosen = [c for c in contracts if options.source == "txt" or c.pdf is not None]
    return chosen[: options.limit] if options.limit is not None else chosen


def question_id(contract: str, category: str) -> str:
    return f"{contract}{metrics.ID_SEPARATOR}{category}"


def gold_answers(contracts: Sequence[Contract], names: Sequence[str]) -> dict[str, list[str]]:
    """Every question's gold answers: the contract text's own words at each labelled piece."""
    answers = {}
    for contract in contracts:
        text = contract.txt.read_text(encoding="utf-8")
        for category in names:
            spans = contract.spans.get(category, ())
            answers[question_id(contract.name, category)] = [text[s:e] for s, e in spans]
    return answers


def read_source(contract: Contract, source: str) -> str:
    """The text an engine starts from: the .txt file, or the PDF read through the product."""
    if source == "txt":
        return contract.txt.read_text(encoding="utf-8")
    from docanalysis.config import load_settings
    from docanalysis.sandbox import extract_with_settings

    assert contract.pdf is not None  # selected() keeps only contracts with a PDF
    return extract_with_settings(load_settings(), contract.pdf.read_bytes()).text


def read_or_record(contract: Contract, source: str, outcome: Outcome) -> str | None:
    """The source text, or None after recording why it could not be read (a PDF the
    product's extraction rejects or times out on must not stop a long run)."""
    try:
        return read_source(contract, source)
    except DocAnalysisError as err:
        outcome.failures[contract.name] = err.reason
        outcome.found[contract.name] = {}
        outcome.texts[contract.name] = ""
        return None


def predictions(outcome: Outcome, names: Sequence[str]) -> dict[str, list[tuple[str, float]]]:
    return {
        question_id(contract, category): [(f[0], f[1]) for f in found.get(category, [])]
        for contract, found in outcome.found.items()
        for category in names
    }


def grounding_rate(outcome: Outcome) -> float:
    """The share of findings whose text is the source's text at their offsets."""
    total = grounded = 0
    for contract, found in outcome.found.items():
        text = outcome.texts[contract]
        for findings in found.values():
            for quote, _, start, end in findings:
                total += 1
                grounded += text[start:end] == quote
    return grounded / total if total else 1.0


def report(
    options: Options, contracts: Sequence[Contract], names: Sequence[str], outcome: Outcome
) -> dict[str, Any]:
    answers = gold_answers(contracts, names)
    predicted = predictions(outcome, names)
    pages = sum(c.pages for c in contracts)
    return {
        "overall": metrics.score(answers, predicted).as_dict(),
        "categories": {
            name: scores.as_dict()
            for name, scores in metrics.score_by_category(answers, predicted).items()
        },
        "grounding_rate": grounding_rate(outcome),
        "seconds_per_page": outcome.seconds / pages if pages else 0.0,
        "train_seconds": outcome.train_seconds,
        "contracts": len(contracts),
        "pages": pages,
        "failures": outcome.failures,
        "engine": options.engine,
        "source": options.source,
        "candidates": options.candidates,
    }


def cuad_predictions(outcome: Outcome, names: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """CUAD's own nbest format, so its evaluate.py can score the run independently."""
    return {
        qid: [{"text": text, "probability": probability} for text, probability in found]
        for qid, found in predictions(outcome, names).items()
    }


Engine = Callable[[Options, Sequence[Contract], Sequence[Contract], Sequence[str]], Outcome]


def evaluate(options: Options) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """Run one engine on one split; the report and the predictions in CUAD's format."""
    from docanalysis.evaluation.engines import engine_named

    if not (options.data / f"spans_{options.split}.jsonl").exists():
        raise DocAnalysisError(f"no split {options.split!r} in {options.data}")
    names = categories(options.data, options.split)
    pool = load_contracts(options.data, options.split)
    chosen = selected(pool, options)
    outcome = engine_named(options.engine)(options, chosen, pool, names)
    return report(options, chosen, names, outcome), cuad_predictions(outcome, names)


def timed(clock: Callable[[], float] = time.perf_counter) -> Callable[[], float]:
    """A stopwatch: each call returns the seconds since it was made."""
    started = clock()
    return lambda: clock() - started
