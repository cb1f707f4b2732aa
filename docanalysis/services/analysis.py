"""The model step: one structured call per window, then the reduce, the merge and the grounding."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from docanalysis.core.errors import ModelOutputError
from docanalysis.core.fusion import Scored, fuse
from docanalysis.core.grounding import merge_and_ground
from docanalysis.core.ocr_pages import discount_for_ocr
from docanalysis.core.parsing import parse_summary_output, parse_window_output
from docanalysis.core.prompts import (
    messages_sha256,
    prompt_template_hash,
    window_messages,
    window_schema,
)
from docanalysis.core.provisions import split_provisions
from docanalysis.core.summaries import (
    clean_sentences,
    ground_summary,
    reduce_messages,
    reduce_schema,
)
from docanalysis.core.types import (
    ClauseRef,
    ExtractedDocument,
    GroundedClause,
    GroundingReport,
    Provision,
    SummarySentence,
    WindowAnalysis,
)
from docanalysis.db import repositories as repo
from docanalysis.db.engine import reading, transaction
from docanalysis.services.pipeline import (
    Progress,
    claim,
    load_document,
    no_progress,
    run_event,
    sha256_text,
    still,
)
from docanalysis.services.runtime import Runtime

Row = dict[str, Any]


def analyze(rt: Runtime, run_id: int, progress: Progress = no_progress) -> bool:
    """analyzing -> guarding. Windows already analyzed (before a crash) are not redone."""
    run = claim(rt, run_id, ("analyzing",), "analyzing")
    if run is None:
        return False
    started = time.monotonic()
    with reading(rt.engine) as conn:
        doc = load_document(conn, int(run.document_id))
        windows = list(repo.windows_of(conn, run_id))
    provisions = split_provisions(doc)
    identity = rt.model.identity
    with transaction(rt.engine) as conn:
        repo.update_run(conn, run_id, model_id=identity.id, model_revision=identity.revision)
    for done, window in enumerate(windows):
        progress("analyzing", done, len(windows))
        if window.output_raw is None:
            part = provisions[window.first_provision - 1 : window.last_provision]
            if not _analyze_window(rt, run, doc, part, window):
                return False  # the run ended meanwhile (its document was deleted)
        with transaction(rt.engine) as conn:
            repo.update_run(conn, run_id, stage_done=done + 1)
    progress("analyzing", len(windows), len(windows))
    if not _conclude(rt, run, doc, provisions):
        return False
    with transaction(rt.engine) as conn:
        repo.merge_usage(conn, run_id, seconds={"analyzing": round(time.monotonic() - started, 3)})
    return True


def _analyze_window(
    rt: Runtime, run: Any, doc: ExtractedDocument, provisions: Sequence[Provision], window: Any
) -> bool:
    numbers = [p.number for p in provisions]
    keys = [c.key for c in rt.taxonomy]
    started = time.monotonic()
    messages = window_messages(doc.text, provisions, rt.taxonomy)
    completion = rt.model.complete_json(
        messages, window_schema(numbers, rt.taxonomy), rt.settings.output_tokens
    )
    seconds = round(time.monotonic() - started, 3)
    try:
        result = parse_window_output(completion.text, numbers, keys)
        problem = ""
    except ModelOutputError as err:
        # Recorded with the raw text for audit; the window contributes nothing unverified.
        result, problem = WindowAnalysis((), ()), err.reason
    usage = completion.usage
    with transaction(rt.engine) as conn:
        if not still(conn, int(run.id), "analyzing"):
            return False
        repo.save_window_output(
            conn,
            int(window.id),
            output_raw=completion.text,
            summary=" ".join(s.text for s in result.summary),
            sentences=[{"text": s.text, "provisions": list(s.provisions)} for s in result.summary],
            clauses=[
                {"category": c.category, "provisions": list(c.provisions), "value": c.value}
                for c in result.clauses
            ],
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            seconds=seconds,
        )
        repo.merge_usage(
            conn,
            int(run.id),
            add={
                "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens,
                "calls": 1,
            },
        )
        run_event(
            conn,
            run,
            "window.analyzed",
            window=int(window.index),
            model_id=rt.model.identity.id,
            model_revision=rt.model.identity.revision,
            prompt_template_sha256=prompt_template_hash(),
            prompt_sha256=messages_sha256(messages),
            input_sha256=window.input_sha256,
            output_sha256=sha256_text(completion.text),
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            seconds=seconds,
            problem=problem,
        )
    return True


def _stored_analysis(window: Any) -> WindowAnalysis:
    sentences = tuple(
        SummarySentence(s["text"], tuple(s["provisions"])) for s in (window.sentences or [])
    )
    clauses = tuple(
        ClauseRef(c["category"], tuple(c["provisions"]), c.get("value", ""))
        for c in (window.clauses or [])
    )
    return WindowAnalysis(sentences, clauses)


def _document_summary(
    rt: Runtime, run_id: int, parts: list[tuple[SummarySentence, ...]]
) -> tuple[SummarySentence, ...]:
    """Map-reduce: one window's summary as it is; several are combined by one more call."""
    parts = [p for p in parts if p]
    if len(parts) <= 1:
        return clean_sentences(parts[0]) if parts else ()
    cited = sorted({n for part in parts for s in part for n in s.provisions})
    completion = rt.model.complete_json(
        reduce_messages(parts), reduce_schema(cited), rt.settings.output_tokens
    )
    with transaction(rt.engine) as conn:
        repo.merge_usage(
            conn,
            run_id,
            add={
                "prompt_tokens": completion.usage.prompt_tokens,
                "completion_tokens": completion.usage.completion_tokens,
                "calls": 1,
            },
        )
    try:
        return clean_sentences(parse_summary_output(completion.text))
    except ModelOutputError:
        return clean_sentences(tuple(s for part in parts for s in part))  # the parts instead


def _conclude(
    rt: Runtime, run: Any, doc: ExtractedDocument, provisions: tuple[Provision, ...]
) -> bool:
    """Reduce, merge, ground, and record the findings (once) for the guard to screen. False if
    the run ended meanwhile."""
    run_id = int(run.id)
    with reading(rt.engine) as conn:
        recorded = repo.count_findings(conn, run_id) > 0
        windows = list(repo.windows_of(conn, run_id))
    if not recorded:
        results = [
            # ._mapping: a column named "index" reads as tuple.index to a type checker
            (
                w._mapping["index"],
                range(w.first_provision, w.last_provision + 1),
                _stored_analysis(w),
            )
            for w in windows
        ]
        summary = ground_summary(
            _document_summary(rt, run_id, [r[2].summary for r in results]),
            {p.number for p in provisions},
        )
        proposed, report = merge_and_ground(
            results, doc.text, provisions, [c.key for c in rt.taxonomy]
        )
        clauses = fuse(
            proposed, _scored(rt, doc.text), doc.text, provisions, rt.settings.model_weight
        )
        # A clause read by OCR is only as sure as the OCR (core/ocr_pages.py).
        clauses = discount_for_ocr(clauses, doc.pages)
        with transaction(rt.engine) as conn:
            if not still(conn, run_id, "analyzing"):
                return False
            repo.add_findings(conn, _finding_rows(run_id, summary, clauses, provisions))
            repo.update_run(
                conn, run_id, dropped_refs=len(report.dropped), grounding=_report_json(report)
            )
            run_event(
                conn,
                run,
                "run.analyzed",
                clauses=len(clauses),
                proposed=report.proposed,
                verified=report.verified,
                dropped_refs=len(report.dropped),
                summary_sha256=sha256_text(" ".join(s.text for s in summary)),
                scorer=_scorer_identity(rt),
                bases=dict(Counter(c.basis for c in clauses)),
                model_weight=rt.settings.model_weight,
            )
    with transaction(rt.engine) as conn:
        if not still(conn, run_id, "analyzing"):
            return False
        total = repo.count_findings(conn, run_id)
        repo.update_run(conn, run_id, state="guarding", stage_done=0, stage_total=total)
    return True


def _scorer_identity(rt: Runtime) -> str:
    """Which scorer judged the clauses (its version and training labels' hash), for audit."""
    if rt.scorer is None:
        return "off"
    meta = rt.scorer.meta
    return f"clause-scorer v{meta.get('version', '?')} labels {meta.get('labels_sha256', '?')[:12]}"


def _scored(rt: Runtime, text: str) -> dict[str, list[Scored]]:
    """The clause scorer's passages per category key, for the categories it was trained on
    (none when the scorer is switched off)."""
    if rt.scorer is None:
        return {}
    keys = {c.name: c.key for c in rt.taxonomy}
    ranked = rt.scorer.score(text, list(keys))
    return {
        keys[name]: [Scored(p.start, p.end, p.probability) for p in passages]
        for name, passages in ranked.items()
    }


def _report_json(report: GroundingReport) -> dict[str, Any]:
    return {
        "proposed": report.proposed,
        "verified": report.verified,
        "dropped": [
            {
                "window": d.window,
                "category": d.category,
                "provision": d.provision,
                "value": d.value,
                "why": d.why,
            }
            for d in report.dropped
        ],
    }


def _citations(
    summary: Sequence[SummarySentence], provisions: Sequence[Provision]
) -> list[dict[str, Any]]:
    """Each summary sentence with the provisions it cites, located (page and offsets)."""
    by_number = {p.number: p for p in provisions}
    return [
        {
            "text": s.text,
            "provisions": [
                {
                    "n": n,
                    "page": by_number[n].page,
                    "start": by_number[n].start,
                    "end": by_number[n].end,
                }
                for n in s.provisions
            ],
        }
        for s in summary
    ]


def _finding_rows(
    run_id: int,
    summary: Sequence[SummarySentence],
    clauses: Sequence[GroundedClause],
    provisions: Sequence[Provision],
) -> list[Row]:
    # Every row names every column: an executemany takes its columns from the first row.
    blank = {
        "category": "",
        "page": None,
        "start": None,
        "end": None,
        "provision": None,
        "windows": None,
        "support": None,
        "citations": None,
        "confidence": None,
        "basis": None,
        "basis_reason": None,
    }
    rows: list[Row] = [
        {
            **blank,
            "ordinal": 0,
            "kind": "summary",
            "text": " ".join(s.text for s in summary),
            "value": "",
            "citations": _citations(summary, provisions),
        }
    ]
    rows += [
        {
            **blank,
            "ordinal": i,
            "kind": "clause",
            "category": c.category,
            "text": c.text,
            "page": c.page,
            "start": c.start,
            "end": c.end,
            "provision": c.provision,
            "value": c.value,
            "windows": list(c.windows),
            "support": c.support,
            "confidence": c.confidence,
            "basis": c.basis or None,
            "basis_reason": c.reason or None,
        }
        for i, c in enumerate(clauses, 1)
    ]
    return [{**row, "run_id": run_id, "status": "pending"} for row in rows]
