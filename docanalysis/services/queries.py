"""Read-side use cases: what a member of a matter may see, as plain values."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, func, select

from docanalysis.core.docx_text import DOCX
from docanalysis.db import repositories as repo
from docanalysis.db.engine import reading
from docanalysis.db.repositories import Record
from docanalysis.db.tables import FINAL_STATES, analysis_runs, documents
from docanalysis.services.corrections import latest_review_of, with_latest_review
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
    "extracting": "Reading the document",  # a PDF, a Word file or a text file
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
    return view_of(doc, repo.latest_run(conn, int(doc.id)))


def document_views(conn: Connection, docs: Sequence[Record]) -> list[DocumentView]:
    """The views of many documents, their latest runs read in one query (not one each)."""
    runs = latest_runs(conn, [int(d.id) for d in docs])
    return [view_of(d, runs.get(int(d.id))) for d in docs]


def latest_runs(conn: Connection, document_ids: Sequence[int]) -> dict[int, Record]:
    """Each document's latest run, by document id."""
    if not document_ids:
        return {}
    newest = (
        select(func.max(analysis_runs.c.id))
        .where(analysis_runs.c.document_id.in_(document_ids))
        .group_by(analysis_runs.c.document_id)
    )
    rows = conn.execute(select(analysis_runs).where(analysis_runs.c.id.in_(newest)))
    return {int(r.document_id): r for r in rows}


# The latest run's columns beside a document's, prefixed: one query reads both.
_RUN_PREFIX = "run__"
_newest = analysis_runs.alias("newest")
_LATEST_RUN = (
    select(func.max(_newest.c.id))
    .where(_newest.c.document_id == documents.c.id)
    .correlate(documents)
    .scalar_subquery()
)


def document_with_run(conn: Connection, document_id: int) -> tuple[Record | None, Any]:
    """(the document, its latest run) in one round trip; (None, None) if there is no such
    document, (the document, None) if it has no run. The run has a run row's attributes."""
    columns = [c.label(_RUN_PREFIX + c.name) for c in analysis_runs.c]
    query = (
        select(documents, *columns)
        .select_from(documents)
        .outerjoin(analysis_runs, analysis_runs.c.id == _LATEST_RUN)
        .where(documents.c.id == document_id)
    )
    row = conn.execute(query).first()
    if row is None:
        return None, None
    run = {c.name: row._mapping[_RUN_PREFIX + c.name] for c in analysis_runs.c}
    return row, None if run["id"] is None else SimpleNamespace(**run)


def view_of(doc: Record, run: Record | None) -> DocumentView:
    """The document as shown, with the state of `run`, its latest."""
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
        media_type=doc.media_type,
        source_path=doc.source_path,
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
        return document_views(conn, repo.documents_of_matter(conn, matter_id))


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


def _reviewed_view(row: Record, names: dict[str, str]) -> FindingView:
    view = _finding_view(row, names)
    if view.kind != "clause":
        return view  # reviewers decide on clauses only
    return replace(view, review=latest_review_of(row, names))


def document_analysis(rt: Runtime, user_id: int | None, document_id: int) -> DocumentAnalysis:
    with reading(rt.engine) as conn:
        return analysis_of(conn, visible_document(conn, user_id, document_id), rt.category_names)


def analysis_of(
    conn: Connection, doc: Record, names: dict[str, str], run: Any = None
) -> DocumentAnalysis:
    """The results of a document the caller may see, from its latest run (`run`, if the
    caller has read it: see document_with_run): the run's findings with their verdicts and
    the clauses' latest reviews, in one query whatever their number."""
    run = run or repo.latest_run(conn, int(doc.id))
    view = view_of(doc, run)
    assert run is not None
    query = with_latest_review(repo.findings_query(int(run.id)))
    rows = [_reviewed_view(r, names) for r in conn.execute(query)]
    rows = located(rows, paragraph_labels(conn, doc))
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


def paragraph_labels(conn: Connection, doc: Record) -> dict[int, str]:
    """A Word file's citation label by paragraph ("page") number; {} for other documents,
    whose pages are cited by number (their text is not read for this)."""
    if doc.media_type != DOCX:
        return {}
    stored = repo.document_text(conn, int(doc.id))
    pages = stored.pages if stored is not None else []
    return {int(p["number"]): str(p.get("label", "")) for p in pages}


def located(rows: list[FindingView], labels: dict[int, str]) -> list[FindingView]:
    """The findings with their Word citations ("§ 3. Termination, ¶ 2"), where there are."""
    if not labels:
        return rows
    return [
        replace(
            f,
            location=labels.get(f.page, "") if f.page is not None else "",
            sentences=tuple(
                replace(
                    s,
                    provisions=tuple(
                        replace(p, location=labels.get(p.page, "")) for p in s.provisions
                    ),
                )
                for s in f.sentences
            ),
        )
        for f in rows
    ]


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
        location=next((pg.label for pg in extracted.pages if pg.number == p.page), ""),
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
        PageText(p.number, p.start, p.end, extracted.text[p.start : p.end], p.ocr, p.ocr_confidence)
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
