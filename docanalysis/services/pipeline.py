"""The analysis pipeline as idempotent steps over a run id.

Each step re-reads the run, acts only if the run is in the state the step handles, and records
its progress and audit events in the database. Re-running a step after a crash produces the
same rows, never duplicates: the queue is not the source of truth, the run row is.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from typing import Any

from docanalysis.config import Settings
from docanalysis.core.errors import ExtractionError
from docanalysis.core.types import ExtractedDocument, Page
from docanalysis.db import repositories as repo
from docanalysis.db.audit import append_event
from docanalysis.db.engine import reading, transaction
from docanalysis.db.tables import FINAL_STATES
from docanalysis.services.runtime import Runtime
from docanalysis.services.webhooks import announce_run

Progress = Callable[[str, int, int], None]
SYSTEM = "system"


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_QUOTED = re.compile(r'"[^"]*"')


def without_quotes(warning: str) -> str:
    """A warning fit for the audit trail: what it quotes from the document (hidden text, an
    injected instruction) replaced by the quote's sha256. Audit rows carry no document text;
    the run's own warnings keep the quote for the people allowed to read the document."""
    return _QUOTED.sub(lambda m: f"<quote sha256:{sha256_text(m.group(0)[1:-1])[:16]}>", warning)


def no_progress(stage: str, done: int, total: int) -> None:
    """The default progress callback: nobody is watching."""


def run_event(conn: Any, run: Any, action: str, **details: Any) -> None:
    """An audit event about a run, attributed to the system, scoped to the run's matter."""
    doc = repo.document(conn, int(run.document_id))
    append_event(
        conn,
        action=action,
        subject=f"run:{run.id}",
        actor=SYSTEM,
        tenant_id=None if doc is None else int(doc.tenant_id),
        matter_id=None if doc is None else int(doc.matter_id),
        details={"document_id": int(run.document_id), **details},
    )


def claim(rt: Runtime, run_id: int, states: tuple[str, ...], new_state: str) -> Any | None:
    """The run, moved to `new_state`, if it is in one of `states`; None otherwise."""
    with transaction(rt.engine) as conn:
        run = repo.run(conn, run_id, lock=True)
        if run is None or run.state not in states:
            return None
        if run.state != new_state:
            repo.update_run(conn, run_id, state=new_state, stage_done=0, stage_total=0)
        return repo.run(conn, run_id)


def still(conn: Any, run_id: int, state: str) -> bool:
    """Whether the run is still in `state`, checked under its lock (PostgreSQL; SQLite's write
    transaction already excludes others) before a step writes its results: a delete that ended
    the run meanwhile wins, and the step's results are dropped."""
    run = repo.run(conn, run_id, lock=True)
    return run is not None and run.state == state


def fail(rt: Runtime, run_id: int, reason: str, code: str) -> None:
    """End the run as failed with a reason a lawyer understands. A final run stays final."""
    with transaction(rt.engine) as conn:
        run = repo.run(conn, run_id, lock=True)
        if run is None or run.state in FINAL_STATES:
            return
        _record_failure(conn, run, reason, code)


def _record_failure(conn: Any, run: Any, reason: str, code: str, **details: Any) -> None:
    """The locked, unfinished run ended as failed, its audit event and its webhook."""
    repo.update_run(
        conn, int(run.id), state="failed", reason=reason, reason_code=code, finished_at=repo.now()
    )
    run_event(conn, run, "run.failed", reason=reason, code=code, stage=run.state, **details)
    announce_run(conn, int(run.id))  # analysis.failed, with the commit


POISON_REASON = "the analysis crashed its worker {n} times; it was stopped"


def begin_attempt(rt: Runtime, run_id: int, state: str, limit: int) -> bool:
    """Count a delivery of the step for `state` before it runs, committed on its own, so that
    the delivery that follows a crash (the worker process killed: out of memory, a segfault in
    a parser or a driver) finds it counted. The count goes back to 0 when a step ends
    (end_attempt), so it counts crashes in a row, whichever steps they hit. After `limit` of
    them the run fails as "poison" instead of being redelivered forever. True when the step may
    run; False when the run is gone, in another state, or has just failed."""
    with transaction(rt.engine) as conn:
        run = repo.run(conn, run_id, lock=True)
        if run is None or run.state != state:
            return False
        if run.attempts >= limit:
            reason = POISON_REASON.format(n=run.attempts)
            _record_failure(conn, run, reason, "poison", attempts=int(run.attempts))
            return False
        repo.update_run(conn, run_id, attempts=run.attempts + 1)
    return True


def end_attempt(rt: Runtime, run_id: int) -> None:
    """The step ended in this process (moved the run on, failed it, or handed it to a retry):
    none of the deliveries counted so far crashed a worker."""
    with transaction(rt.engine) as conn:
        repo.update_run(conn, run_id, attempts=0)


def load_document(conn: Any, document_id: int) -> ExtractedDocument:
    doc = repo.document(conn, document_id)
    stored = repo.document_text(conn, document_id)
    if doc is None or stored is None:
        raise LookupError(f"document {document_id} has no extracted text")
    pages = tuple(
        Page(
            p["number"],
            p["start"],
            p["end"],
            label=p.get("label", ""),
            ocr=bool(p.get("ocr", False)),
            ocr_confidence=p.get("ocr_confidence"),
        )
        for p in stored.pages
    )
    return ExtractedDocument(doc.sha256, stored.text, pages, tuple(stored.warnings))


def read_document(settings: Settings, data: bytes, media_type: str) -> ExtractedDocument:
    """The document's text and pages. PDFs are read in a sandboxed child process (time,
    memory and page limits): a hostile file can exhaust a reader, never the worker. A Word
    file's archive is checked for size and expansion before python-docx reads it in-process
    (see core/docx_text.py); its "pages" are its paragraphs."""
    from docanalysis.core.archive import limits_for_upload
    from docanalysis.core.docx_text import DOCX, read_docx
    from docanalysis.core.extraction import extract_text
    from docanalysis.sandbox import extract_with_settings

    if media_type == "text/plain":
        return extract_text(data)
    if media_type == DOCX:
        return read_docx(data, limits_for_upload(settings.max_upload_bytes))
    return extract_with_settings(settings, data)


def extract(rt: Runtime, run_id: int) -> bool:
    """queued -> extracting -> windowing. True when the run moved on."""
    run = claim(rt, run_id, ("queued", "extracting"), "extracting")
    if run is None:
        return False
    started = time.monotonic()
    with reading(rt.engine) as conn:
        doc = repo.document(conn, int(run.document_id))
    if doc is None:  # the run's document row is gone: nothing left to analyze
        fail(rt, run_id, "the document was removed before it could be analyzed", "missing")
        return False
    try:
        extracted = read_document(rt.settings, rt.blobs.get(doc.sha256), doc.media_type)
    except ExtractionError as err:
        fail(rt, run_id, err.reason, err.code)
        return False
    if extracted.ocr_pdf is not None:  # a scan: the viewer shows OCR's straightened pages
        from docanalysis.services.pages import store_ocr_pdf

        store_ocr_pdf(rt, doc.sha256, extracted.ocr_pdf)
    pages = [stored_page(p) for p in extracted.pages]
    with transaction(rt.engine) as conn:
        if not still(conn, run_id, "extracting"):
            return False
        repo.save_document_text(conn, int(doc.id), extracted.text, pages, list(extracted.warnings))
        # A Word file has paragraphs, not pages: its page count stays unknown.
        count = None if extracted.by_paragraph else len(pages)
        repo.update_document(conn, int(doc.id), pages=count, chars=len(extracted.text))
        repo.update_run(conn, run_id, state="windowing", warnings=list(extracted.warnings))
        repo.merge_usage(conn, run_id, seconds={"extracting": round(time.monotonic() - started, 3)})
        run_event(
            conn,
            run,
            "run.extracted",
            pages=len(pages),
            chars=len(extracted.text),
            text_sha256=sha256_text(extracted.text),
            warnings=[without_quotes(w) for w in extracted.warnings],
        )
    return True


def stored_page(page: Page) -> dict[str, Any]:
    """A page as document_texts.pages keeps it; a Word paragraph with its citation label."""
    row: dict[str, Any] = {"number": page.number, "start": page.start, "end": page.end}
    if page.label:
        row["label"] = page.label
    if page.ocr:  # a scanned page: read by OCR, with Tesseract's mean word confidence
        row["ocr"] = True
        row["ocr_confidence"] = page.ocr_confidence
    return row


def window_tokens(rt: Runtime) -> int:
    """A window's whole size: the model's context, capped at 128K (and by the settings)."""
    return min(rt.settings.max_window_tokens, rt.model.identity.context_length)


def plan(rt: Runtime, run_id: int) -> bool:
    """windowing -> analyzing: cut the text into windows and record them (once)."""
    from docanalysis.core.provisions import render_provisions
    from docanalysis.services.injection import record_injection_screen, screen_for_injection
    from docanalysis.services.planning import plan_document, window_provisions

    run = claim(rt, run_id, ("windowing",), "windowing")
    if run is None:
        return False
    started = time.monotonic()
    with reading(rt.engine) as conn:
        doc = load_document(conn, int(run.document_id))
        planned = bool(repo.windows_of(conn, run_id))
    if not doc.text.strip():
        fail(rt, run_id, "this document has no readable text to analyze", "no_text")
        return False
    result = plan_document(
        doc,
        rt.model,
        rt.taxonomy,
        window_tokens=window_tokens(rt),
        output_tokens=rt.settings.output_tokens,
        overlap=rt.settings.window_overlap,
    )
    rows = [
        {
            "run_id": run_id,
            "index": w.index,
            "first_provision": w.first,
            "last_provision": w.last,
            "start": w.start,
            "end": w.end,
            "tokens": w.tokens,
            "input_sha256": sha256_text(
                render_provisions(doc.text, window_provisions(result.provisions, w))
            ),
        }
        for w in ([] if planned else result.windows)
    ]
    # Once, with the new rows (a re-run finds them planned); before the transaction, since a
    # model-based screen can take seconds per window.
    screen = screen_for_injection(rt, doc, result.windows) if rows else None
    with transaction(rt.engine) as conn:
        if not still(conn, run_id, "windowing"):
            return False
        repo.add_windows(conn, rows)
        total = len(repo.windows_of(conn, run_id))
        repo.update_run(conn, run_id, state="analyzing", stage_done=0, stage_total=total)
        repo.merge_usage(
            conn,
            run_id,
            document_tokens=result.usage.document_tokens,
            seconds={"windowing": round(time.monotonic() - started, 3)},
        )
        if rows:
            run_event(
                conn,
                run,
                "run.windowed",
                provisions=len(result.provisions),
                windows=len(rows),
                tokens=[r["tokens"] for r in rows],
                document_tokens=result.usage.document_tokens,
                window_tokens=window_tokens(rt),
            )
        if screen is not None:
            record_injection_screen(conn, run, screen)
    return True
