"""/api/v1/ endpoints. Each view reads its input, calls one service, and renders the result;
errors become the envelope in api.errors. Objects outside the key's scope are 404."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from docanalysis.api import params
from docanalysis.api import serializers as s
from docanalysis.api.errors import envelope
from docanalysis.services import api_documents, api_queries, bulk, fetch, retention
from docanalysis.services.apikeys import ApiPrincipal
from docanalysis.services.errors import Rejected
from docanalysis.services.submit import unlock, validate_upload
from docanalysis.services.views import Actor
from docanalysis.web import upload_limits
from docanalysis.web.views.common import runtime

ERRORS = {
    code: OpenApiResponse(s.ErrorSerializer, description=text)
    for code, text in (
        (400, "The request is not valid."),
        (401, "No API key, or one that is not valid (revoked, expired, unknown)."),
        (404, "No such object, or not in the key's scope."),
    )
}
FORM_OVERHEAD = 1024 * 1024  # the multipart envelope and the text fields around the file
# A password-protected PDF's refusals: the client can fix them by sending (another) password.
PASSWORD_CODES = ("password_required", "password_wrong")
# Response serializers built once and reused by every request to render: building one
# deep-copies its declared fields, nested ones included (measured: 6 ms of a results
# request, 2 of a document's), while rendering (to_representation) only reads them.
_DOCUMENT = s.DocumentSerializer()
_RESULTS = s.ResultsSerializer()
_RUN = s.RunStatusSerializer()
# The encryption dictionary's key. Searched with re, not `in`: bytes.find skips ahead by a
# filter that runs of "0" (xref tables, padding) defeat, 5x slower on a 1 MB file of them.
_ENCRYPT = re.compile(rb"/Encrypt")


def principal_of(request: Request) -> ApiPrincipal:
    principal = request.auth
    assert isinstance(principal, ApiPrincipal)  # IsAuthenticated ran before the view
    return principal


def actor_of(request: Request) -> Actor:
    raw = request._request
    return Actor(
        user_id=None,
        identity=principal_of(request).identity,
        request_id=getattr(raw, "request_id", ""),
        client_address=raw.META.get("REMOTE_ADDR", ""),
    )


# "password": kept out of Django's error reports and their logged request bodies.
@method_decorator(sensitive_post_parameters("password"), name="dispatch")
class DocumentsView(APIView):
    parser_classes = [MultiPartParser, JSONParser]

    @extend_schema(
        operation_id="documents_create",
        request={"multipart/form-data": s.UploadRequest, "application/json": s.UrlUploadRequest},
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="Retries with the same key get the first answer back.",
            )
        ],
        responses={
            202: OpenApiResponse(
                s.AcceptedOrBulkSerializer,
                description="The document, accepted; for a .zip, every document it holds "
                "(all or none: a refused archive is a 400 bad_archive naming each file).",
            ),
            409: OpenApiResponse(s.ErrorSerializer, description="Idempotency-Key reused."),
            413: OpenApiResponse(s.ErrorSerializer, description="Larger than the limit."),
            415: OpenApiResponse(
                s.ErrorSerializer, description="Not a PDF, a Word file (.docx) or a .txt."
            ),
            422: OpenApiResponse(
                s.ErrorSerializer,
                description="A password-protected PDF: password_required (send `password`) "
                "or password_wrong.",
            ),
            **ERRORS,
            400: OpenApiResponse(
                s.ErrorSerializer,
                description="The request is not valid; or (a URL) url_refused: the server does "
                "not fetch it (scheme, user:password@, a private address), url_unreachable: no "
                "connection, a timeout or an answer other than 2xx.",
            ),
        },
    )
    def post(self, request: Request) -> Response:
        """Send a document (a multipart upload, or JSON naming a URL the server fetches); its
        analysis starts. Idempotent (see Idempotency-Key and the external_system /
        external_id / external_version triple)."""
        _refuse_oversized(request)
        by_url = request.content_type.split(";")[0].strip() == "application/json"
        fields, (filename, data) = self._fetched(request) if by_url else self._uploaded(request)
        if bulk.is_archive(filename):
            return _archive(request, fields["matter"], filename, data)
        if not by_url:
            try:
                data = _unlocked(filename, data, fields.get("password") or None)
            except Rejected as e:
                if e.code not in PASSWORD_CODES:
                    raise
                body = envelope(request._request, e.code, e.reason)
                return Response(body, status=status.HTTP_422_UNPROCESSABLE_ENTITY)
        upload = api_documents.ApiUpload(
            filename=filename,
            data=data,
            matter=fields["matter"],
            external_system=fields.get("external_system") or None,  # blank: not given
            external_id=fields.get("external_id") or None,
            external_version=fields.get("external_version") or None,
            idempotency_key=request.headers.get("Idempotency-Key"),
        )
        done = api_documents.submit(runtime(), principal_of(request), actor_of(request), upload)
        status_url = reverse("api-run", args=[done.run_id])
        body = {
            "id": done.document_id,
            "run_id": done.run_id,
            "created": done.created,
            "status_url": status_url,
        }
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": status_url})

    def _uploaded(self, request: Request) -> tuple[dict[str, Any], tuple[str, bytes]]:
        """The form's fields and its file, read under the streaming upload limit."""
        request.data  # noqa: B018 (parses the body; a file over the limit stops it)
        too_large = upload_limits.refusal(request._request)
        if too_large is not None:
            raise too_large
        form = s.UploadRequest(data=request.data)
        form.is_valid(raise_exception=True)
        fields = dict(form.validated_data)
        return fields, (fields["file"].name or "document.pdf", fields["file"].read())

    def _fetched(self, request: Request) -> tuple[dict[str, Any], tuple[str, bytes]]:
        """The JSON body's fields and the document its URL names, fetched under the SSRF
        rules, the upload limit and the fetch timeout."""
        form = s.UrlUploadRequest(data=request.data)
        form.is_valid(raise_exception=True)
        app = runtime().settings
        limits = fetch.FetchLimits(
            max_bytes=settings.MAX_UPLOAD_BYTES,
            timeout_s=app.fetch_timeout_s,
            allow_private=app.allow_private_urls,
        )
        fetched = fetch.fetch_document(form.validated_data["url"], limits)
        return dict(form.validated_data), (fetched.filename, fetched.data)

    @extend_schema(
        operation_id="documents_list",
        parameters=[params.DocumentListParams],
        responses={200: s.DocumentPageSerializer, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        """The documents in the key's scope, newest first, a page at a time."""
        query = params.read(params.DocumentListParams, request)
        flt = api_queries.DocumentFilter(
            matter_id=query.get("matter"),
            state=query.get("state"),
            external_system=query.get("external_system") or None,
            external_id=query.get("external_id") or None,
            created_after=query.get("created_after"),
            created_before=query.get("created_before"),
        )
        page, following = api_queries.list_documents(
            runtime(), principal_of(request), flt, query.get("cursor"), query["limit"]
        )
        body = {"results": s.DocumentSerializer(page, many=True).data, "next_cursor": following}
        return Response(body)


def _archive(request: Request, matter: str, filename: str, data: bytes) -> Response:
    """A .zip: every document it holds, into `matter` or the matters its metadata.csv names
    (within the key's scope), or none of them. Idempotency-Key does not apply to archives."""
    principal, actor = principal_of(request), actor_of(request)

    def open_matter(conn: Any, ref: int | str) -> Any:
        return api_documents.matter_in_scope(conn, principal, actor, str(ref))

    done = bulk.submit_archive(runtime(), actor, matter, filename, data, open_matter)
    documents = [
        {
            "id": d.submitted.document_id,
            "run_id": d.submitted.run_id,
            "created": True,
            "status_url": reverse("api-run", args=[d.submitted.run_id]),
            "name": d.name,
            "path": d.path,
            "matter_id": d.matter_id,
        }
        for d in done
    ]
    return Response({"documents": documents}, status=status.HTTP_202_ACCEPTED)


def _unlocked(filename: str, data: bytes, password: str | None) -> bytes:
    """The bytes to store: a PDF that opens only with a password is decrypted with the one
    sent (422 password_required without one, password_wrong if it does not open it). The
    password is used here once; it is not part of the upload, its idempotency hash, a log or
    the audit trail."""
    if password is None and _ENCRYPT.search(data) is None:
        return data  # no encryption dictionary: not protected, and pypdf need not open it here
    name, media_type = validate_upload(filename, data, settings.MAX_UPLOAD_BYTES)
    unlocked, _ = unlock(name, media_type, data, password, ask_password=True)
    return unlocked


def _refuse_oversized(request: Request) -> None:
    """413 from the declared length, before a byte of the body is read or spooled to disk."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > settings.MAX_UPLOAD_BYTES + FORM_OVERHEAD:
        limit_mb = settings.MAX_UPLOAD_BYTES // (1024 * 1024)
        raise Rejected(f"the request is larger than the {limit_mb} MB limit", code="too_large")


class DocumentView(APIView):
    @extend_schema(operation_id="documents_read", responses={200: s.DocumentSerializer, **ERRORS})
    def get(self, request: Request, document_id: int) -> Response:
        found = api_queries.document(runtime(), principal_of(request), document_id)
        return Response(_DOCUMENT.to_representation(found))

    @extend_schema(
        operation_id="documents_delete",
        responses={
            204: None,
            409: OpenApiResponse(s.ErrorSerializer, description="The matter is on legal hold."),
            **ERRORS,
        },
    )
    def delete(self, request: Request, document_id: int) -> Response:
        """Purge the document's file, text and results (refused under legal hold)."""
        rt, principal = runtime(), principal_of(request)
        api_queries.document(rt, principal, document_id)  # in scope, or 404
        retention.delete_document(rt, actor_of(request), document_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ResultsView(APIView):
    @extend_schema(operation_id="documents_results", responses={200: s.ResultsSerializer, **ERRORS})
    def get(self, request: Request, document_id: int) -> Response:
        """The summary and clauses with page and offsets, each with its guard verdict; the
        text of what the guard holds is empty."""
        found = api_queries.results(runtime(), principal_of(request), document_id)
        return Response(_RESULTS.to_representation(found))


class TextView(APIView):
    @extend_schema(
        operation_id="documents_text",
        parameters=[params.TextParams],
        responses={200: s.TextSerializer, **ERRORS},
    )
    def get(self, request: Request, document_id: int) -> Response:
        """The extracted text by page, with each page's offsets in the whole text."""
        query = params.read(params.TextParams, request)
        count, pages = api_queries.text(
            runtime(),
            principal_of(request),
            document_id,
            query["first_page"],
            query.get("last_page"),
        )
        body = {
            "document_id": document_id,
            "page_count": count,
            "pages": s.PageTextSerializer(pages, many=True).data,
        }
        return Response(body)


class RunView(APIView):
    @extend_schema(operation_id="runs_read", responses={200: s.RunSerializer, **ERRORS})
    def get(self, request: Request, run_id: int) -> Response:
        """A run's state (queued ... done, failed, held), stage and progress."""
        document_id, run = api_queries.run(runtime(), principal_of(request), run_id)
        return Response({**_RUN.to_representation(run), "document_id": document_id})
