"""The model step: one structured call per window, then the reduce and the grounding."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from docanalysis.core.errors import ModelOutputError
from docanalysis.core.grounding import ground
from docanalysis.core.parsing import parse_window_output
from docanalysis.core.prompts import prompt_template_hash, window_messages, window_schema
from docanalysis.core.provisions import split_provisions
from docanalysis.core.summaries import clean_summary, reduce_messages, reduce_schema
from docanalysis.core.taxonomy import DEFAULT_CATEGORIES
from docanalysis.core.types import ClauseRef, ExtractedDocument, GroundedClause, Provision
from docanalysis.db import repositories as repo
from docanalysis.db.engine import reading, transaction
from docanalysis.services.pipeline import (
    Progress,
    claim,
    load_document,
    no_progress,
    run_event,
    sha256_text,
)
from docanalysis.services.runtime import Runtime

CATEGORY_KEYS = [c.key for c in DEFAULT_CATEGORIES]
Row = dict[str, Any]


def analyze(rt: Runtime, run_id: int, progress: Progress = no_progress) -> bool:
    """analyzing -> guarding. Windows already analyzed (before a crash) are not redone."""
    run = claim(rt, run_id, ("analyzing",), "analyzing")
    if run is None:
        return False
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
            _analyze_window(
                rt, run, doc, provisions[window.first_provision - 1 : window.last_provision], window
            )
        with transaction(rt.engine) as conn:
            repo.update_run(conn, run_id, stage_done=done + 1)
    progress("analyzing", len(windows), len(windows))
    _conclude(rt, run, doc, provisions)
    return True


def _analyze_window(
    rt: Runtime, run: Any, doc: ExtractedDocument, provisions: Sequence[Provision], window: Any
) -> None:
    numbers = [p.number for p in provisions]
    messages = window_messages(doc.text, provisions, DEFAULT_CATEGORIES)
    schema = window_schema(numbers, DEFAULT_CATEGORIES)
    started = time.monotonic()
    completion = rt.model.complete_json(messages, schema, rt.settings.output_tokens)
    seconds = round(time.monotonic() - started, 3)
    try:
        result = parse_window_output(completion.text, numbers, CATEGORY_KEYS)
        summary, clauses, problem = result.summary, result.clauses, ""
    except ModelOutputError as err:
        # Recorded with the raw text for audit; the window contributes nothing unverified.
        summary, clauses, problem = "", (), err.reason
    with transaction(rt.engine) as conn:
        repo.save_window_output(
            conn,
            int(window.id),
            output_raw=completion.text,
            summary=summary,
            clauses=[
                {"category": c.category, "provision": c.provision, "value": c.value}
                for c in clauses
            ],
        )
        run_event(
            conn,
            run,
            "window.analyzed",
            window=int(window.index),
            model_id=rt.model.identity.id,
            model_revision=rt.model.identity.revision,
            prompt_template_sha256=prompt_template_hash(),
            input_sha256=window.input_sha256,
            output_sha256=sha256_text(completion.text),
            prompt_tokens=completion.usage.prompt_tokens,
            completion_tokens=completion.usage.completion_tokens,
            seconds=seconds,
            problem=problem,
        )


def _document_summary(rt: Runtime, parts: list[str]) -> str:
    parts = [p for p in parts if p.strip()]
    if len(parts) <= 1:
        return clean_summary(parts[0]) if parts else ""
    completion = rt.model.complete_json(
        reduce_messages(parts), reduce_schema(), rt.settings.output_tokens
    )
    try:
        return clean_summary(str(json.loads(completion.text)["summary"]))
    except (ValueError, KeyError, TypeError):
        return "\n\n".join(clean_summary(p) for p in parts)  # the parts, rather than nothing


def _finding_rows(run_id: int, summary: str, clauses: Sequence[GroundedClause]) -> list[Row]:
    # Every row names every column: an executemany takes its columns from the first row.
    blank = {"category": "", "page": None, "start": None, "end": None, "provision": None}
    rows: list[Row] = [{**blank, "ordinal": 0, "kind": "summary", "text": summary, "value": ""}]
    rows += [
        {
            "ordinal": i,
            "kind": "clause",
            "category": c.category,
            "text": c.text,
            "page": c.page,
            "start": c.start,
            "end": c.end,
            "provision": c.provision,
            "value": c.value,
        }
        for i, c in enumerate(clauses, 1)
    ]
    return [{**row, "run_id": run_id, "status": "pending"} for row in rows]


def _conclude(
    rt: Runtime, run: Any, doc: ExtractedDocument, provisions: tuple[Provision, ...]
) -> None:
    """Reduce, ground, and record the findings (once) for the guard to screen."""
    run_id = int(run.id)
    with reading(rt.engine) as conn:
        recorded = repo.count_findings(conn, run_id) > 0
        windows = list(repo.windows_of(conn, run_id))
    if not recorded:
        summary = _document_summary(rt, [w.summary or "" for w in windows])
        refs = [
            ClauseRef(c["category"], int(c["provision"]), c.get("value", ""))
            for w in windows
            for c in (w.clauses or [])
        ]
        clauses, dropped = ground(refs, doc.text, provisions, CATEGORY_KEYS)
        with transaction(rt.engine) as conn:
            repo.add_findings(conn, _finding_rows(run_id, summary, clauses))
            repo.update_run(conn, run_id, dropped_refs=dropped)
            run_event(
                conn,
                run,
                "run.analyzed",
                clauses=len(clauses),
                dropped_refs=dropped,
                summary_sha256=sha256_text(summary),
            )
    with transaction(rt.engine) as conn:
        total = repo.count_findings(conn, run_id)
        repo.update_run(conn, run_id, state="guarding", stage_done=0, stage_total=total)
