"""Uploading documents into a matter: the form (several files; the page comes back) and the
browser's one-file-per-request uploads (upload.js; JSON comes back, so each file has its own
progress and its own outcome). A .zip is a bulk upload: all its documents, or none
(services/bulk.py)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.files.uploadedfile import UploadedFile
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from docanalysis.services import bulk, submit
from docanalysis.services.errors import NotFound, Rejected
from docanalysis.services.views import Submitted
from docanalysis.web import upload_limits
from docanalysis.web.views.common import actor_for, runtime
from docanalysis.web.views.matters import render_matter

# A refusal's HTTP status by its code; any other refusal is a 400.
JSON_STATUS = {
    "too_large": 413,
    "unsupported_media_type": 415,
    "password_required": 422,
    "password_wrong": 422,
    "forbidden": 403,
}
# The form has one password field for all its files: say where to type it.
FORM_PASSWORD_HINT = {
    "password_required": " in the PDF password field and upload it again",
    "password_wrong": "; type it again in the PDF password field",
}


# "password": kept out of Django's error reports and their logged request bodies.
@sensitive_post_parameters("password")
@require_POST
def upload(request: HttpRequest, matter_id: int) -> HttpResponse:
    wants_json = "application/json" in request.headers.get("Accept", "")
    # A file over the limit stopped the body's reading at that byte: nothing of it is kept.
    too_large = upload_limits.parse(request)
    if too_large is not None and wants_json:
        return _refusal(too_large.code, too_large.reason, 413)
    if too_large is not None:
        return render_matter(request, matter_id, (too_large.reason,), 413)
    if wants_json:
        return _upload_one(request, matter_id)
    return _upload_form(request, matter_id)


def _upload_one(request: HttpRequest, matter_id: int) -> JsonResponse:
    """One file (upload.js sends each in its own request) with its outcome as JSON."""
    files = request.FILES.getlist("files")
    if len(files) != 1:
        return _refusal("one_file", "Send exactly one file per request.", 400)
    name = files[0].name or "document.pdf"
    if bulk.is_archive(name):
        return _upload_archive(request, matter_id, name, files[0])
    try:
        done = _submit(request, matter_id, name, files[0])
    except submit.AlreadyInMatter as e:
        return JsonResponse(
            {
                "duplicate": True,
                "document_id": e.document_id,
                "url": reverse("document", args=[e.document_id]),
                "message": f"{e.reason}: open it",
            }
        )
    except NotFound:
        return _refusal("not_found", "No such matter.", 404)
    except Rejected as e:
        return _refusal(e.code, e.reason, JSON_STATUS.get(e.code, 400))
    url = reverse("document", args=[done.document_id])
    return JsonResponse({"document_id": done.document_id, "name": name, "url": url}, status=201)


def _upload_archive(
    request: HttpRequest, matter_id: int, name: str, f: UploadedFile
) -> JsonResponse:
    """A bulk upload as one request: every document it holds (201), or the reasons for none."""
    try:
        done = _submit_archive(request, matter_id, name, f)
    except NotFound:
        return _refusal("not_found", "No such matter.", 404)
    except Rejected as e:
        return _refusal(e.code, e.reason, JSON_STATUS.get(e.code, 400))
    documents = [
        {
            "document_id": d.submitted.document_id,
            "name": d.name,
            "path": d.path,
            "url": reverse("document", args=[d.submitted.document_id]),
        }
        for d in done
    ]
    body = {
        "documents": documents,
        "message": _archive_message(name, len(done)),
        "url": reverse("matter", args=[matter_id]),
    }
    return JsonResponse(body, status=201)


def _archive_message(name: str, count: int) -> str:
    return (
        f"{name}: {count} document{'s' if count != 1 else ''} uploaded; the analysis has started."
    )


def _submit_archive(
    request: HttpRequest, matter_id: int, name: str, f: UploadedFile
) -> list[bulk.SubmittedMember]:
    return bulk.submit_archive(runtime(), actor_for(request), matter_id, name, _read(f))


def _refusal(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": code, "message": message}, status=status)


def _upload_form(request: HttpRequest, matter_id: int) -> HttpResponse:
    """The form without JavaScript: every file of the post, each refusal listed on the page."""
    files = request.FILES.getlist("files")
    if not files:
        return render_matter(request, matter_id, ("Choose one or more files to upload.",), 400)
    errors: list[str] = []
    duplicates: list[tuple[str, int]] = []
    for f in files:
        name = f.name or "document.pdf"
        try:
            success = _submit_one_of_form(request, matter_id, name, f)
        except submit.AlreadyInMatter as e:
            duplicates.append((name, e.document_id))
        except Rejected as e:
            errors.append(e.reason + FORM_PASSWORD_HINT.get(e.code, ""))
        except NotFound:
            raise Http404("No such matter.") from None
        else:
            messages.success(request, success)
    if errors or duplicates:
        # Rendered, not redirected: the refusals and the links to the documents already here.
        return render_matter(request, matter_id, tuple(errors), 400 if errors else 200, duplicates)
    return redirect("matter", matter_id=matter_id)


def _submit_one_of_form(request: HttpRequest, matter_id: int, name: str, f: UploadedFile) -> str:
    """Submit a file of the form (an archive: all its documents); what to tell the user."""
    if bulk.is_archive(name):
        return _archive_message(name, len(_submit_archive(request, matter_id, name, f)))
    _submit(request, matter_id, name, f)
    return f"{name} uploaded; the analysis has started."


def _submit(request: HttpRequest, matter_id: int, name: str, f: UploadedFile) -> Submitted:
    # The password (optional) opens a password-protected PDF once; it goes no further.
    return submit.submit_document(
        runtime(),
        actor_for(request),
        matter_id,
        name,
        _read(f),
        refuse_duplicate=True,
        ask_password=True,
        password=request.POST.get("password") or None,
    )


def _read(f: UploadedFile) -> bytes:
    """The file's bytes; a file over the limit is cut one byte past it, so the service rejects
    it as too large without the whole of it in memory."""
    limit = settings.MAX_UPLOAD_BYTES
    if f.size is not None and f.size > limit:
        return f.read(limit + 1)
    return f.read()
