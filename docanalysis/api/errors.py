"""One error envelope for every API error:
``{"error": {"code", "message", "details", "request_id"}}``, with stable codes."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from docanalysis.core.errors import DocAnalysisError
from docanalysis.web.db_unavailable import MESSAGE as UNAVAILABLE_MESSAGE
from docanalysis.web.db_unavailable import RETRY_AFTER_S, is_unavailable

# A service's error code -> the HTTP status it answers with.
STATUS_FOR_CODE = {
    "not_found": status.HTTP_404_NOT_FOUND,
    "too_large": status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    "unsupported_media_type": status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    "idempotency_conflict": status.HTTP_409_CONFLICT,
    "conflict": status.HTTP_409_CONFLICT,
    "legal_hold": status.HTTP_409_CONFLICT,
    "gone": status.HTTP_410_GONE,
    "url_refused": status.HTTP_400_BAD_REQUEST,
    "url_unreachable": status.HTTP_400_BAD_REQUEST,
}
# DRF's exceptions -> our codes (the rest keep DRF's default code).
CODE_FOR_EXCEPTION: dict[type[exceptions.APIException], str] = {
    exceptions.NotAuthenticated: "unauthenticated",
    exceptions.AuthenticationFailed: "unauthenticated",
    exceptions.ValidationError: "invalid",
    exceptions.ParseError: "invalid",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "rate_limited",
    exceptions.NotAcceptable: "not_acceptable",
}


def envelope(request: HttpRequest | None, code: str, message: str, details: Any = None) -> dict:
    request_id = getattr(request, "request_id", "") if request is not None else ""
    return {
        "error": {
            "code": code,
            "message": message,
            "details": details if details is not None else {},
            "request_id": request_id,
        }
    }


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    request = context.get("request")
    raw = getattr(request, "_request", request)
    if isinstance(exc, DocAnalysisError):
        code = exc.code
        return Response(envelope(raw, code, exc.reason), status=STATUS_FOR_CODE.get(code, 400))
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if is_unavailable(exc):  # the database is down or restarting: nothing was saved
        set_rollback()
        body = envelope(raw, "unavailable", UNAVAILABLE_MESSAGE)
        return Response(body, status=503, headers={"Retry-After": str(RETRY_AFTER_S)})
    if not isinstance(exc, exceptions.APIException):
        return None  # a bug: Django's 500 handler logs it (no details leak)
    set_rollback()
    return _api_exception(raw, exc)


def _api_exception(request: HttpRequest | None, exc: exceptions.APIException) -> Response:
    code = CODE_FOR_EXCEPTION.get(type(exc)) or str(exc.default_code)
    details: Any = None
    if isinstance(exc, exceptions.ValidationError):
        details, message = exc.detail, "the request is not valid: see details"
    else:
        message = str(exc.detail)
    headers: dict[str, str] = {}
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        headers["Retry-After"] = str(max(1, round(exc.wait)))
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        headers["WWW-Authenticate"] = auth_header
    return Response(
        envelope(request, code, message, details), status=exc.status_code, headers=headers
    )


def not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Any /api/ path no view answers: the envelope, not an HTML page."""
    return JsonResponse(envelope(request, "not_found", "no such endpoint"), status=404)
