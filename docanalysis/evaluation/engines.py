"""The engines the harness can measure. Each takes the options, the contracts to evaluate, the
whole split (the baseline's training pool) and the category names, and returns an Outcome."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from docanalysis.core.errors import DocAnalysisError
from docanalysis.evaluation import baseline
from docanalysis.evaluation.cuad import (
    Contract,
    Engine,
    Finding,
    Found,
    Options,
    Outcome,
    read_or_record,
    timed,
)


def engine_named(name: str) -> Engine:
    engines: dict[str, Engine] = {
        "baseline": run_baseline,
        "scorer": run_scorer,
        "llm": run_llm,
        "fused": run_fused,
    }
    if name not in engines:
        raise DocAnalysisError(f"unknown engine {name!r}; one of {', '.join(engines)}")
    return engines[name]


def _labelled(contract: Contract) -> baseline.LabelledContract:
    text = contract.txt.read_text(encoding="utf-8")
    return baseline.LabelledContract(contract.name, text, contract.spans)


def run_baseline(
    options: Options, chosen: Sequence[Contract], pool: Sequence[Contract], names: Sequence[str]
) -> Outcome:
    """Cross-validated by contract: each contract is scored by a model trained on the other
    folds. Training always reads the .txt (the labels' offsets are into it); scoring reads the
    chosen source, so `--source pdf` measures what extraction costs."""
    everyone = [c.name for c in pool]
    trainable = list(pool[: options.train_limit] if options.train_limit else pool)
    outcome = Outcome()
    for fold in sorted({baseline.fold_of(c.name, everyone) for c in chosen}):
        stopwatch = timed()
        training = [_labelled(c) for c in trainable if baseline.fold_of(c.name, everyone) != fold]
        model = baseline.train(training, names)
        outcome.train_seconds += stopwatch()
        for contract in chosen:
            if baseline.fold_of(contract.name, everyone) == fold:
                stopwatch = timed()
                text = read_or_record(contract, options.source, outcome)
                if text is None:
                    continue
                outcome.found[contract.name] = baseline.candidates(
                    model, text, names, options.candidates
                )
                outcome.texts[contract.name] = text
                outcome.seconds += stopwatch()
    return outcome


def _top(findings: Sequence[Finding], k: int) -> list[Finding]:
    return sorted(findings, key=lambda f: -f[1])[:k]


def run_scorer(
    options: Options, chosen: Sequence[Contract], pool: Sequence[Contract], names: Sequence[str]
) -> Outcome:
    """The clause scorer, at most K passages per question.

    The shipped scorer is used on contracts it never saw. Where any chosen contract is one it
    was trained on (CUAD's dev split), the scorer is instead retrained per fold, by contract,
    on the other folds only, exactly as `make scorer` trains it: no contract is scored by a
    model that saw its labels."""
    shipped = _shipped_scorer()
    if shipped is not None and not _seen(shipped, chosen):
        return _score_with(options, chosen, names, lambda _contract: shipped)
    return _cross_validated(options, chosen, pool, names)


def _shipped_scorer() -> Any:
    from docanalysis.scoring import load_scorer

    try:
        return load_scorer()
    except FileNotFoundError:
        return None


def _seen(scorer: Any, chosen: Sequence[Contract]) -> bool:
    from docanalysis.scoring.training import text_id

    trained_on = set(scorer.meta.get("trained_on", ()))
    return any(text_id(c.txt.read_text(encoding="utf-8")) in trained_on for c in chosen)


def _cross_validated(
    options: Options, chosen: Sequence[Contract], pool: Sequence[Contract], names: Sequence[str]
) -> Outcome:
    from docanalysis.scoring.train import prepare_all
    from docanalysis.scoring.training import train

    everyone = [c.name for c in pool]
    trainable = list(pool[: options.train_limit] if options.train_limit else pool)
    stopwatch = timed()
    examples = prepare_all(trainable)
    models = {}
    for fold in sorted({baseline.fold_of(c.name, everyone) for c in chosen}):
        inside = [e for e in examples if baseline.fold_of(e.name, everyone) != fold]
        models[fold] = train(inside, names)
    outcome = _score_with(
        options, chosen, names, lambda c: models[baseline.fold_of(c.name, everyone)]
    )
    outcome.train_seconds = stopwatch() - outcome.seconds
    return outcome


def _score_with(
    options: Options, chosen: Sequence[Contract], names: Sequence[str], scorer_for: Any
) -> Outcome:
    outcome = Outcome()
    for contract in chosen:
        stopwatch = timed()
        text = read_or_record(contract, options.source, outcome)
        if text is None:
            continue
        ranked = scorer_for(contract).score(text, names, options.candidates)
        outcome.found[contract.name] = {
            n: [(p.text, p.probability, p.start, p.end) for p in ranked.get(n, [])] for n in names
        }
        outcome.texts[contract.name] = text
        outcome.seconds += stopwatch()
    return outcome


def run_llm(
    options: Options, chosen: Sequence[Contract], pool: Sequence[Contract], names: Sequence[str]
) -> Outcome:
    """The product's own pipeline on the configured (by default embedded) model, in this
    process, on a throwaway SQLite database: submit, run to the end, keep the released clauses.
    Slow on CPU (a minute or two per contract): use --limit."""
    outcome = Outcome()
    with tempfile.TemporaryDirectory(prefix="docanalysis-eval-") as data_dir:
        runtime = _throwaway_runtime(Path(data_dir))
        for contract in chosen:
            stopwatch = timed()
            text, found = _analyze(runtime, contract, options.source)
            outcome.found[contract.name] = {
                n: _top(found.get(n, []), options.candidates) for n in names
            }
            outcome.texts[contract.name] = text
            outcome.seconds += stopwatch()
    return outcome


def _throwaway_runtime(data_dir: Path) -> Any:
    from docanalysis.config import load_settings
    from docanalysis.db.migrate import upgrade_database
    from docanalysis.services.runtime import build_runtime
    from workers.queue import InProcessQueue

    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    # The model's own findings: the fused engine adds the scorer's with the same rule.
    env |= {"DOCANALYSIS_DATA_DIR": str(data_dir), "DOCANALYSIS_SCORER": "off"}
    settings = load_settings(env)
    upgrade_database(settings.database_url)
    return build_runtime(settings, queue=InProcessQueue())


def _analyze(runtime: Any, contract: Contract, source: str) -> tuple[str, Found]:
    """One contract through the pipeline: the text the product read, and its clauses."""
    from docanalysis.services.matters import ensure_matter
    from docanalysis.services.pipeline import read_document
    from docanalysis.services.queries import document_analysis
    from docanalysis.services.steps import run_to_end
    from docanalysis.services.submit import submit_document
    from docanalysis.services.views import Actor

    path = contract.txt if source == "txt" else contract.pdf
    assert path is not None  # selected() keeps only contracts with a PDF for --source pdf
    data = path.read_bytes()
    actor = Actor(user_id=None, identity="eval:cuad")
    matter_id = ensure_matter(runtime, actor, "CUAD evaluation")
    submitted = submit_document(runtime, actor, matter_id, path.name, data)
    run_to_end(runtime, submitted.run_id)
    analysis = document_analysis(runtime, None, submitted.document_id)
    media_type = "text/plain" if source == "txt" else "application/pdf"
    text = read_document(runtime.settings, data, media_type).text
    found: Found = {}
    for clause in analysis.clauses:
        if clause.shown and clause.start is not None and clause.end is not None:
            finding = (clause.text, _confidence(clause.support), clause.start, clause.end)
            found.setdefault(clause.category_name, []).append(finding)
    return text, found


def _confidence(support: int | None) -> float:
    # The pipeline gives no probability: a clause is released or not. More windows proposing
    # it raise it a little, so ties break toward the better-supported clause.
    return 1.0 if not support else min(1.0, 0.9 + 0.05 * support)


def run_fused(
    options: Options, chosen: Sequence[Contract], pool: Sequence[Contract], names: Sequence[str]
) -> Outcome:
    """The model's clauses (the pipeline with its scorer off) fused with the scorer's passages
    (shipped or cross-validated, as for `scorer`) by the product's own rule (core/fusion.py),
    ranked by the fused confidence."""
    scored = run_scorer(options, chosen, pool, names)
    proposed = run_llm(options, chosen, pool, names)
    fused = fuse_outcomes(scored, proposed, names, options.candidates, _model_weight())
    fused.train_seconds = scored.train_seconds
    return fused


def _model_weight() -> float:
    from docanalysis.config import load_settings

    return load_settings().model_weight


def fuse_outcomes(
    scored: Outcome, proposed: Outcome, names: Sequence[str], k: int, weight: float
) -> Outcome:
    """Per contract, the two engines' findings fused; both read the same source text."""
    from docanalysis.core.fusion import Scored, fuse
    from docanalysis.core.types import GroundedClause, Provision

    fused = Outcome(
        seconds=scored.seconds + proposed.seconds,
        failures=proposed.failures | scored.failures,
    )
    for contract, text in scored.texts.items():
        whole = [Provision(number=1, start=0, end=len(text), page=1)]
        clauses = [
            GroundedClause(category=n, provision=1, text=f[0], page=1, start=f[2], end=f[3])
            for n, found in proposed.found.get(contract, {}).items()
            for f in found
        ]
        passages = {
            n: [Scored(f[2], f[3], f[1]) for f in found]
            for n, found in scored.found.get(contract, {}).items()
        }
        judged = fuse(clauses, passages, text, whole, weight)
        fused.found[contract] = {
            n: _top(
                [(c.text, c.confidence or 0.0, c.start, c.end) for c in judged if c.category == n],
                k,
            )
            for n in names
        }
        fused.texts[contract] = text
    return fused
