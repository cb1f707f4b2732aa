"""A document's analysis page, its live status (JSON), the
download of its original file, and its deletion.

The analysis page lists the clauses by category, filtered by the query string (a plain GET
form: it works without script), beside a viewer of the original page; "Show on page" links
carry the passage's offsets, so without script the page comes back with the viewer on that
page and the passage's lines highlighted (document.js does the same in place)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import groupby

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST

from docanalysis.services import matters, members, pages, queries, retention
from docanalysis.services.audit import record_download, record_view
from docanalysis.services.errors import NotFound
from docanalysis.services.runtime import Runtime
from docanalysis.services.views import DocumentAnalysis, FindingView, MatterView
from docanalysis.web.views.common import actor_for, attachment, runtime, status_payload

STATUS_FILTERS = {
    "all": "All",
    "shown": "Shown (released or flagged)",
    "held": "Held for review",
    "flagged": "Flagged for review",
    "reviewed": "Reviewed",
    "unreviewed": "Not reviewed",
}
CONFIDENCE_FILTERS = {"": "Any", "0.5": "0.5 or higher", "0.8": "0.8 or higher"}
_LEAST_CONFIDENCE = {"0.5": 0.5, "0.8": 0.8}
# What a clause's normalized value is, by its category's kind of value.
VALUE_LABELS = {
    "date": "Date",
    "duration": "Duration",
    "jurisdiction": "Governing law",
    "parties": "Parties",
    "yes_no": "Answer",
}
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# "page 3: ...", "window 2 of 4 (page 3): ...", "page 3 could not be read": one page named.
_PAGE = re.compile(r"\bpage (\d+)\b")
_QUOTED = re.compile(r'"[^"]*"')


@dataclass(frozen=True)
class ClauseFilter:
    """Which clauses the page lists: a category key ("" for all), a least confidence (None for
    any) and one of STATUS_FILTERS."""

    category: str = ""
    min_confidence: float | None = None
    status: str = "all"

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> ClauseFilter:
        """The filter a query string asks for; what is not a valid choice is no filter."""
        status = query.get("status", "all")
        return cls(
            category=query.get("category", ""),
            min_confidence=_LEAST_CONFIDENCE.get(query.get("confidence", "")),
            status=status if status in STATUS_FILTERS else "all",
        )

    @property
    def confidence_choice(self) -> str:
        """The least confidence as the form's choice ("" for any)."""
        return "" if self.min_confidence is None else f"{self.min_confidence:g}"

    def query(self) -> str:
        """This filter as a query string, to keep it in the page's other links."""
        params = {
            "category": self.category,
            "confidence": self.confidence_choice,
            "status": "" if self.status == "all" else self.status,
        }
        return urlencode({k: v for k, v in params.items() if v})


def filter_clauses(clauses: Iterable[FindingView], chosen: ClauseFilter) -> list[FindingView]:
    """The clauses the filter keeps, in their order. A clause without a confidence (not judged
    by the scorer) is kept only when no least confidence is asked."""
    return [c for c in clauses if _keeps(chosen, c)]


def _keeps(chosen: ClauseFilter, clause: FindingView) -> bool:
    if chosen.category and clause.category != chosen.category:
        return False
    if chosen.min_confidence is not None and (
        clause.confidence is None or clause.confidence < chosen.min_confidence
    ):
        return False
    return {
        "all": True,
        "shown": clause.shown,
        "held": clause.status == "held",
        "flagged": clause.status == "flagged",
        "reviewed": clause.review is not None,
        "unreviewed": clause.review is None,
    }[chosen.status]


def page_warnings(warnings: Iterable[str]) -> dict[int, list[str]]:
    """The warnings that name one page, by that page."""
    by_page: dict[int, list[str]] = {}
    for warning in warnings:
        page = warning_page(warning)
        if page is not None:
            by_page.setdefault(page, []).append(warning)
    return by_page


def warning_page(warning: str) -> int | None:
    """The one page a warning is about, if it names one. What it quotes from the document is
    not read: a quote may say "page 9" itself."""
    found = _PAGE.search(_QUOTED.sub("", warning))
    return int(found.group(1)) if found else None


@dataclass(frozen=True)
class ClauseRow:
    """A clause as listed: the finding, what its value is, and the warnings about its page."""

    clause: FindingView
    value_label: str = "Value"
    value_date: str = ""  # the value, where it is a date (YYYY-MM-DD): shown as a <time>
    warnings: tuple[str, ...] = ()
    # A reviewer's correction to another passage: its page, start and end (None: no such).
    corrected: tuple[int, int, int] | None = None


@dataclass(frozen=True)
class Viewer:
    """The page viewer as the server draws it: which page, and a passage's lines on it when a
    "Show on page" link asked for one (document.js redraws it in place)."""

    total: int  # pages
    page: int
    highlight: pages.Highlight | None = None
    note: str = ""

    @property
    def rects(self) -> list[tuple[float, float, float, float]]:
        """The highlight's boxes as SVG rectangles: x, y, width, height (fractions)."""
        boxes = self.highlight.boxes if self.highlight else ()
        return [(x0, y0, round(x1 - x0, 5), round(y1 - y0, 5)) for x0, y0, x1, y1 in boxes]

    @property
    def previous(self) -> int | None:
        return self.page - 1 if self.page > 1 else None

    @property
    def next(self) -> int | None:
        return self.page + 1 if self.page < self.total else None


@require_GET
def detail(request: HttpRequest, document_id: int) -> HttpResponse:
    try:
        analysis = queries.document_analysis(runtime(), request.user.pk, document_id)
    except NotFound:
        raise Http404("No such document.") from None
    return _render_document(request, analysis)


def _render_document(
    request: HttpRequest,
    analysis: DocumentAnalysis,
    errors: tuple[str, ...] = (),
    status: int = 200,
) -> HttpResponse:
    """The analysis page; every rendering of it shows the analysis, so each one is audited."""
    rt = runtime()
    record_view(rt, actor_for(request), analysis.document, "analysis")
    chosen = ClauseFilter.from_query(request.GET)
    shown = filter_clauses(analysis.clauses, chosen)
    context = {
        "analysis": analysis,
        "doc": analysis.document,
        "groups": _groups(_rows(rt, shown, analysis.warnings)),
        "matter": _matter(rt, request.user.pk, analysis.document.matter_id),
        "errors": errors,
        "filter": chosen,
        "filter_query": chosen.query(),
        "categories": _categories(analysis.clauses),
        "status_filters": STATUS_FILTERS.items(),
        "confidence_filters": CONFIDENCE_FILTERS.items(),
        "shown_count": len(shown),
        "reviewed_count": sum(c.review is not None for c in analysis.clauses),
        "viewer": _viewer(rt, request, analysis) if analysis.document.status.final else None,
        "warnings": [(w, warning_page(w)) for w in analysis.warnings],
        # The review forms: for editors and admins of the matter.
        "can_review": members.may(rt, actor_for(request), analysis.document.matter_id, "editor"),
        "review_categories": sorted(rt.category_names.items(), key=lambda item: item[1]),
    }
    return render(request, "web/document.html", context, status=status)


def _matter(rt: Runtime, user_id: int, matter_id: int) -> MatterView | None:
    """The document's matter with its legal hold (None if membership ended meanwhile)."""
    return next((m for m in matters.matters_for_user(rt, user_id) if m.id == matter_id), None)


@require_GET
def provision(request: HttpRequest, document_id: int, number: int) -> HttpResponse:
    """A provision the summary cites, in the source's own words, with its page."""
    try:
        found = queries.provision(runtime(), request.user.pk, document_id, number)
    except NotFound:
        raise Http404("No such provision.") from None
    return render(request, "web/provision.html", {"p": found})


def _groups(rows: list[ClauseRow]) -> list[tuple[str, list[ClauseRow]]]:
    """Clauses grouped by category name, groups in the order their first clause appears."""
    order: dict[str, int] = {}
    for row in rows:
        order.setdefault(_name(row.clause), len(order))
    ranked = sorted(rows, key=lambda r: order[_name(r.clause)])
    return [(name, list(items)) for name, items in groupby(ranked, key=lambda r: _name(r.clause))]


def _name(clause: FindingView) -> str:
    return clause.category_name or clause.category


def _rows(rt: Runtime, clauses: list[FindingView], warnings: Iterable[str]) -> list[ClauseRow]:
    kinds = {c.key: c.value_kind for c in rt.taxonomy}
    about_page = page_warnings(warnings)
    return [
        ClauseRow(
            clause=c,
            value_label=VALUE_LABELS.get(kinds.get(c.category, "text"), "Value"),
            value_date=c.value if _ISO_DATE.fullmatch(c.value) else "",
            warnings=tuple(about_page.get(c.page or 0, ())),
            corrected=_corrected_span(c),
        )
        for c in clauses
    ]


def _corrected_span(clause: FindingView) -> tuple[int, int, int] | None:
    r = clause.review
    if r is None or r.decision != "corrected":
        return None
    if r.page is None or r.start is None or r.end is None:
        return None  # a correction of the value or category only
    return None if (r.start, r.end) == (clause.start, clause.end) else (r.page, r.start, r.end)


def _categories(clauses: Iterable[FindingView]) -> list[tuple[str, str, int]]:
    """(key, name, how many clauses) of each category found, by name: the filter's choices."""
    counts: dict[tuple[str, str], int] = {}
    for c in clauses:
        counts[(c.category, _name(c))] = counts.get((c.category, _name(c)), 0) + 1
    return sorted(((k, n, count) for (k, n), count in counts.items()), key=lambda t: t[1])


def _viewer(rt: Runtime, request: HttpRequest, analysis: DocumentAnalysis) -> Viewer | None:
    """The page viewer, on ?page= (or the page of the passage at ?start=&end=); None where the
    document has no page images (a text file, or a PDF that could not be read)."""
    user_id, document_id = request.user.pk, analysis.document.id
    try:
        count = pages.page_count(rt, user_id, document_id)
    except NotFound:
        return None
    if not count:
        return None
    page = min(max(_int(request.GET, "page") or 1, 1), count)
    start, end = _int(request.GET, "start"), _int(request.GET, "end")
    if start is None or end is None:
        return Viewer(count, page)
    try:
        found = pages.highlight_boxes(rt, user_id, document_id, start, end)
    except (NotFound, pages.OutOfRange, pages.Unrenderable):
        return Viewer(count, page, note="The passage could not be shown on the page.")
    if not found.boxes:
        note = f"Page {found.page}; the passage's words could not be located on the image."
        return Viewer(count, found.page, found, note)
    return Viewer(count, found.page, found, f"Page {found.page}, passage highlighted.")


def _int(query: QueryDict, name: str) -> int | None:
    try:
        return int(query.get(name, ""))
    except ValueError:
        return None


@require_GET
def status(request: HttpRequest, document_id: int) -> JsonResponse:
    try:
        run = queries.document_status(runtime(), request.user.pk, document_id)
    except NotFound:
        return JsonResponse({"error": "No such document."}, status=404)
    response = JsonResponse(status_payload(run))
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def original(request: HttpRequest, document_id: int) -> HttpResponse:
    """The file as uploaded, as an attachment: never rendered inline, whatever it holds."""
    rt = runtime()
    try:
        found = queries.original_file(rt, request.user.pk, document_id)
    except NotFound:
        raise Http404("No such document.") from None
    record_download(rt, actor_for(request), found.document_id, found.matter_id, found.sha256)
    return attachment(found.data, found.media_type, found.name)


@require_POST
def delete(request: HttpRequest, document_id: int) -> HttpResponse:
    rt = runtime()
    try:
        analysis = queries.document_analysis(rt, request.user.pk, document_id)
    except NotFound:
        raise Http404("No such document.") from None
    try:
        retention.delete_document(rt, actor_for(request), document_id)
    except NotFound:  # deleted by someone else since
        raise Http404("No such document.") from None
    except retention.OnLegalHold as e:
        return _render_document(request, analysis, (e.reason,), status=409)
    doc = analysis.document
    messages.success(request, f"{doc.name} was deleted.")
    return redirect("matter", matter_id=doc.matter_id)
