"""A reviewer's decision on a clause, from the document page: confirm, reject, or correct its
category, its value or its span (the words on the page). The page text a reviewer chooses
words from comes from `page_text`."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from docanalysis.services import queries
from docanalysis.services.corrections import Decision, review_finding
from docanalysis.services.errors import NotFound, Rejected
from docanalysis.web.views.common import actor_for, runtime

DONE = {"confirmed": "Confirmed.", "rejected": "Rejected.", "corrected": "Correction saved."}


@require_POST
def review(request: HttpRequest, finding_id: int) -> HttpResponse:
    document_id = _int(request.POST.get("document"))
    try:
        asked = _decision(request)
        document_id, _ = review_finding(runtime(), actor_for(request), finding_id, asked)
    except NotFound:
        raise Http404("No such clause.") from None
    except Rejected as e:
        if document_id is None:
            raise Http404("No such clause.") from None
        messages.error(request, f"Not saved: {e.reason}.")
    else:
        messages.success(request, DONE[asked.decision])
    return redirect(reverse("document", args=[document_id]) + f"#finding-{finding_id}")


def _decision(request: HttpRequest) -> Decision:
    """The decision as posted; fields left out (or blank, for the category) are unchanged."""
    post = request.POST
    start, end = post.get("start", "").strip(), post.get("end", "").strip()
    if (start or end) and (_int(start) is None or _int(end) is None):
        raise Rejected("the span's first and end characters are whole numbers", code="invalid")
    return Decision(
        decision=post.get("decision", ""),
        category=post.get("category") or None,
        value=post.get("value"),
        start=_int(start),
        end=_int(end),
        note=post.get("note", ""),
    )


def _int(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else None


@require_GET
def page_text(request: HttpRequest, document_id: int, number: int) -> JsonResponse:
    try:
        count, page = queries.page_text(runtime(), request.user.pk, document_id, number)
    except NotFound:
        return JsonResponse({"error": "No such page."}, status=404)
    response = JsonResponse(
        {"page": page.number, "pages": count, "start": page.start, "text": page.text}
    )
    response["Cache-Control"] = "private, no-store"
    return response
