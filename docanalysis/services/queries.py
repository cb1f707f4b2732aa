"""Read-side use cases: what a member of a matter may see, as plain values."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import Connection

from docanalysis.db import repositories as repo
from docanalysis.db.engine import reading
from docanalysis.db.repositories import Record
from docanalysis.db.tables import FINAL_STATES
from docanalysis.services.corrections import latest_reviews
from docanalysis.services.errors import NotFound
from docanalysis.services.runtime import Runtime
from docanalysis.services.views import (
    SHOWN,
    CitedProvision,
    DocumentAnalysis,
    DocumentView,
    FindingView,
    OriginalFile,
    PageText,
    ProvisionView,
    RunStatus,
    SummaryLine,
)

STATE_LABELS = {
    "queued": "Waiting to start",
    "extracting": "Reading the PDF",
    "windowing": "Preparing the text",
    "analyzing": "Analyzing",
    "guarding": "Screening the results",
    "done": "Done",
    "failed": "Failed",
    "held": "Held for review",
}


def status_label(state: str, done: int, total: int) -> str:
    label = STATE_LABELS.get(state, state)
    if state == "analyzing" and total:
        return f"Analyzing part {min(done + 1, total)} of {total}"
    if state == "guarding" and total:
        return f"Screening the results ({done} of {total})"
    return label


def run_status(run: Record) -> RunStatus:
    state = str(run.state)
    return RunStatus(
        run_id=int(run.id),
        state=state,
        label=status_label(state, int(run.stage_done), int(run.stage_total)),
        reason=str(run.reason),
        stage_done=int(run.stage_done),
        stage_total=int(run.stage_total),
        final=state in FINAL_STATES,
        updated_at=run.updated_at,
    )


def document_view(conn: Connection, doc: Record) -> DocumentView:
    run = repo.latest_run(conn, int(doc.id))
    if run is None:  # every document is created with its run; absent only if rows were removed
        raise NotFound("no analysis for this document")
    return DocumentView(
        id=int(doc.id),
        matter_id=int(doc.matter_id),
        name=doc.original_name,
        sha256=doc.sha256,
        size_bytes=int(doc.size_bytes),
        pages=doc.pages,
        chars=doc.chars,
        uploaded_at=doc.created_at,
        status=run_status(run),
    )


def visible_document(conn: Connection, user_id: int | None, document_id: int) -> Record:
    """The document, if `user_id` may see it (None: a local, trusted caller such as the CLI)."""
    doc = repo.document(conn, document_id)
    if (
        doc is None
        or doc.purged_at is not None  # deleted, or its retention ran out
        or (user_id is not None and not repo.is_member(conn, int(doc.matter_id), user_id))
    ):
        raise NotFound("no such document")
    return doc


def documents_in_matter(rt: Runtime, user_id: int, matter_id: int) -> list[DocumentView]:
    with reading(rt.engine) as conn:
        if not repo.is_member(conn, matter_id, user_id):
            raise NotFound("no such matter")
        return [document_view(conn, d) for d in repo.documents_of_matter(conn, matter_id)]


def document_status(rt: Runtime, user_id: int | None, document_id: int) -> RunStatus:
    with reading(rt.engine) as conn:
        return document_view(conn, visible_document(conn, user_id, document_id)).status


def _sentences(citations: Any) -> tuple[SummaryLine, ...]:
    return tuple(
        SummaryLine(c["text"], tuple(CitedProvision(**p) for p in c["provisions"]))
        for c in (citations or [])
    )


def _finding_view(row: Record, names: dict[str, str]) -> FindingView:
    released = row.status in SHOWN
    return FindingView(
        kind=row.kind,
        category=row.category,
        category_name=names.get(row.category, row.category),
        # What the guard has not released is never shown, only that it is held.
        text=row.text if released else "",
        page=row.page,
        start=row.start,
        end=row.end,
        value=row.value if released else "",
        status=row.status,
        verdict=row.verdict or "",
        guard_categories=tuple(row.guard_categories or ()),
        guard_model=row.guard_model or "",
        sentences=_sentences(row.citations) if released else (),
        windows=tuple(row.windows or ()),
        support=row.support,
        confidence=row.confidence,
        basis=row.basis or "",
        basis_reason=row.basis_reason or "",
        guard_policy_version=row.guard_policy_version or "",
        guard_policy_sha256=row.guard_policy_sha256 or "",
        guard_reason=row.guard_reason or "",
        released_by=row.released_by,
        release_reason=row.release_reason,
        id=int(row.id),
    )


def document_analysis(rt: Runtime, user_id: int | None, document_id: int) -> DocumentAnalysis:
    with reading(rt.engine) as conn:
        doc = visible_document(conn, user_id, document_id)
        view = document_view(conn, doc)
        run = repo.run(conn, view.status.run_id)
        assert run is not None
        names = rt.category_names
        rows = [_finding_view(r, names) for r in repo.findings_of(conn, int(run.id))]
        reviews = latest_reviews(conn, (f.id for f in rows if f.kind == "clause"), names)
    rows = [replace(f, review=reviews.get(f.id)) for f in rows]
    summaries = [f for f in rows if f.kind == "summary"]
    return DocumentAnalysis(
        document=view,
        model_id=run.model_id,
        model_revision=run.model_revision,
        summary=summaries[0] if summaries else None,
        clauses=tuple(f for f in rows if f.kind == "clause"),
        warnings=tuple(run.warnings or ()),
        dropped_refs=int(run.dropped_refs),
        usage=dict(run.usage or {}),
        grounding=dict(run.grounding or {}),
    )


def provision(rt: Runtime, user_id: int | None, document_id: int, number: int) -> ProvisionView:
    """Provision `number` of the document, as the model saw it numbered (NotFound otherwise)."""
    from docanalysis.core.provisions import split_provisions
    from docanalysis.services.pipeline import load_document

    with reading(rt.engine) as conn:
        doc = visible_document(conn, user_id, document_id)
        try:
            extracted = load_document(conn, document_id)
        except LookupError:
            raise NotFound("this document has no text yet") from None
    provisions = split_provisions(extracted)
    if not 1 <= number <= len(provisions):
        raise NotFound(f"this document has no provision {number}")
    p = provisions[number - 1]
    return ProvisionView(
        document_id,
        doc.original_name,
        p.number,
        p.page,
        p.start,
        p.end,
        extracted.text[p.start : p.end],
    )


def original_file(rt: Runtime, user_id: int | None, document_id: int) -> OriginalFile:
    """The uploaded file of a document the user may see. NotFound also when a delete has just
    removed the file."""
    with reading(rt.engine) as conn:
        doc = visible_document(conn, user_id, document_id)
    try:
        data = rt.blobs.get(doc.sha256)
    except FileNotFoundError:
        raise NotFound("no such document") from None
    return OriginalFile(
        int(doc.id), int(doc.matter_id), doc.original_name, doc.media_type, doc.sha256, data
    )


def text_pages(
    conn: Connection, document_id: int, first: int, last: int | None
) -> tuple[int, list[PageText]]:
    """(page count, the pages first..last) of a document's extracted text, with their offsets
    in the whole text (the offsets the results cite). Pages outside the document, or a last
    page before the first: no pages, not an error. The caller has checked who may read it."""
    from docanalysis.services.pipeline import load_document

    try:
        extracted = load_document(conn, document_id)
    except LookupError:
        raise NotFound("the text is not extracted yet: see the run's state") from None
    count = len(extracted.pages)
    last = count if last is None else last
    pages = [
        PageText(p.number, p.start, p.end, extracted.text[p.start : p.end])
        for p in extracted.pages
        if first <= p.number <= last
    ]
    return count, pages


def page_text(
    rt: Runtime, user_id: int | None, document_id: int, number: int
) -> tuple[int, PageText]:
    """(page count, page `number`) of a document the user may see: where a reviewer chooses
    other words for a clause."""
    with reading(rt.engine) as conn:
        visible_document(conn, user_id, document_id)
        count, pages = text_pages(conn, document_id, number, number)
    if not pages:
        raise NotFound(f"this document has no page {number}")
    return count, pages[0]
