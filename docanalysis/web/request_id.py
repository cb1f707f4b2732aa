"""Every request gets an id (the caller's X-Request-ID when it is a plain token, else a new
one), echoed in the response and copied into the audit events the request writes, so that an
event can be traced to the proxy's and the server's logs."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

HEADER = "X-Request-ID"
_PLAIN = re.compile(r"[A-Za-z0-9._-]{1,64}")


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get(HEADER, "")
        # A caller's id is kept only if it cannot smuggle anything into logs or audit rows.
        request.request_id = given if _PLAIN.fullmatch(given) else uuid.uuid4().hex
        response = self.get_response(request)
        response[HEADER] = request.request_id
        return response
