"""The upload limit, enforced while the request body streams in.

Django reads a multipart body whole before a view runs, spilling files over 2.5 MB to a
temporary file: a 2 GB upload would be written to disk only to be refused afterwards. This
handler, first in FILE_UPLOAD_HANDLERS, counts each file's bytes as they arrive and stops
reading at the first chunk past MAX_UPLOAD_BYTES: the rest of the body is never read, and the
partial temporary file is closed, which deletes it. The views ask `refusal` and answer 413.

The handler stops the upload (StopUpload) instead of raising: Django's CSRF middleware parses
the body before any view, and an exception there would be a 500, not a refusal.
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest

from docanalysis.services.errors import Rejected
from docanalysis.services.submit import clean_name

_MIB = 1024 * 1024


class SizeLimitUploadHandler(FileUploadHandler):
    """Passes each chunk on to the next handler until a file exceeds MAX_UPLOAD_BYTES."""

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.refusal: Rejected | None = None

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        limit = int(settings.MAX_UPLOAD_BYTES)
        if start + len(raw_data) > limit:
            name = clean_name(self.file_name or "")
            reason = f"{name} is larger than the {limit // _MIB} MB limit"
            self.refusal = Rejected(reason, code="too_large")
            # connection_reset: Django must not read (exhaust) the rest of the body.
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler (memory or temporary file) keeps the file


def refusal(request: HttpRequest) -> Rejected | None:
    """Why the request's upload was stopped, if it was: read after the body is parsed."""
    for handler in request.upload_handlers:
        if isinstance(handler, SizeLimitUploadHandler) and handler.refusal is not None:
            return handler.refusal
    return None


def parse(request: HttpRequest) -> Rejected | None:
    """Parse the body (if nothing has yet) under the limit; the refusal, if any."""
    len(request.FILES)  # the parse happens on first access
    return refusal(request)
