"""Uploading PDFs into a matter."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.files.uploadedfile import UploadedFile
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from docanalysis.services import submit
from docanalysis.services.errors import NotFound, Rejected
from docanalysis.web.views.common import actor_for, runtime
from docanalysis.web.views.matters import render_matter


@require_POST
def upload(request: HttpRequest, matter_id: int) -> HttpResponse:
    files = request.FILES.getlist("files")
    if not files:
        return render_matter(request, matter_id, ("Choose one or more PDF files to upload.",), 400)
    rt, actor = runtime(), actor_for(request)
    errors: list[str] = []
    duplicates: list[tuple[str, int]] = []
    for f in files:
        name = f.name or "document.pdf"
        try:
            submit.submit_document(rt, actor, matter_id, name, _read(f), refuse_duplicate=True)
        except submit.AlreadyInMatter as e:
            duplicates.append((name, e.document_id))
        except Rejected as e:
            errors.append(e.reason)
        except NotFound:
            raise Http404("No such matter.") from None
        else:
            messages.success(request, f"{name} uploaded; the analysis has started.")
    if errors or duplicates:
        # Rendered, not redirected: the refusals and the links to the documents already here.
        return render_matter(request, matter_id, tuple(errors), 400 if errors else 200, duplicates)
    return redirect("matter", matter_id=matter_id)


def _read(f: UploadedFile) -> bytes:
    """The file's bytes; a file over the limit is cut one byte past it, so the service rejects
    it as too large without the whole of it in memory."""
    limit = settings.MAX_UPLOAD_BYTES
    if f.size is not None and f.size > limit:
        return f.read(limit + 1)
    return f.read()
