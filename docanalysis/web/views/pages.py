"""The original PDF's pages as images, and where a passage of its text is drawn on its page
(JSON), for the document view's page viewer. Each image is not audited: the document view that
shows it is, and it shows nothing a member could not download."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from docanalysis.services import pages
from docanalysis.services.errors import NotFound
from docanalysis.web.views.common import runtime

DEFAULT_SCALE = 2.0  # sharp on high-density screens and at 200% zoom
# A page's image never changes (documents are content-addressed); an hour in the user's own
# browser cache keeps paging back and forth cheap, and nothing is kept by shared caches.
CACHE_CONTROL = "private, max-age=3600"


@require_GET
def page_image(request: HttpRequest, document_id: int, page: int) -> HttpResponse:
    try:
        scale = float(request.GET.get("scale", DEFAULT_SCALE))
        pages.quantize_scale(scale)
    except (ValueError, pages.OutOfRange):
        return _plain(f"The scale must be between {pages.MIN_SCALE} and {pages.MAX_SCALE}.", 400)
    if page < 1:
        return _plain("Pages are numbered from 1.", 400)
    try:
        png = pages.page_image(runtime(), request.user.pk, document_id, page, scale)
    except NotFound:
        raise Http404("No such page.") from None
    except pages.Unrenderable as e:
        return _plain(f"This page could not be shown: {e.reason}.", 422)
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = CACHE_CONTROL
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
def highlight(request: HttpRequest, document_id: int) -> JsonResponse:
    """{"page", "boxes": [[x0, y0, x1, y1], ...] (fractions of the page, from its top left),
    "width", "height" (the page in points)} for the passage at ?start=&end= of the text."""
    offsets = _offsets(request)
    if offsets is None:
        return _error("start and end must be character offsets, start before end.", 400)
    try:
        found = pages.highlight_boxes(runtime(), request.user.pk, document_id, *offsets)
    except NotFound:
        return _error("No such document.", 404)
    except pages.OutOfRange as e:
        return _error(f"{e.reason}.", 400)
    except pages.Unrenderable as e:
        return _error(f"This page could not be read: {e.reason}.", 422)
    response = JsonResponse(
        {
            "page": found.page,
            "boxes": [list(box) for box in found.boxes],
            "width": found.width,
            "height": found.height,
        }
    )
    response["Cache-Control"] = "private, no-cache"
    return response


def _offsets(request: HttpRequest) -> tuple[int, int] | None:
    try:
        start, end = int(request.GET["start"]), int(request.GET["end"])
    except (KeyError, ValueError):
        return None
    return (start, end) if 0 <= start < end else None


def _plain(message: str, status: int) -> HttpResponse:
    response = HttpResponse(message, content_type="text/plain; charset=utf-8", status=status)
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)
