"""GET /api/v1/documents/{id}/report.docx|.pdf and /api/v1/matters/{id}/grid.csv|.xlsx: the
browser's reports for a key's documents and matters, each export audited (report.exported)."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.views import APIView

from docanalysis.api.views import ERRORS, actor_of, principal_of
from docanalysis.services import api_queries, reports
from docanalysis.web.views.common import attachment, runtime


def _files(*formats: str) -> dict[tuple[int, str], OpenApiResponse]:
    file = OpenApiResponse(OpenApiTypes.BINARY, description="The file, as an attachment.")
    return {(200, reports.MEDIA_TYPES[f].split(";")[0]): file for f in formats}


class DocumentReportView(APIView):
    fmt = "pdf"  # as_view(fmt=...)

    @extend_schema(responses={**_files(*reports.REPORT_FORMATS), **ERRORS})
    def get(self, request: Request, document_id: int) -> HttpResponse:
        """The document's report: summary, clauses with pages and quotes, model and guard."""
        rt = runtime()
        api_queries.document(rt, principal_of(request), document_id)  # in scope, or 404
        return _attachment(reports.document_report(rt, actor_of(request), document_id, self.fmt))


class MatterGridView(APIView):
    fmt = "csv"

    @extend_schema(
        parameters=[OpenApiParameter("category", OpenApiTypes.STR, many=True)],
        responses={**_files(*reports.GRID_FORMATS), **ERRORS},
    )
    def get(self, request: Request, matter_id: int) -> HttpResponse:
        """The review grid: a row per document, a column per category (default: the commonest)."""
        rt = runtime()
        reports.require_api_matter(rt, principal_of(request), matter_id)
        asked = request.query_params.getlist("category")[:100]
        found = reports.grid_export(rt, actor_of(request), matter_id, asked, self.fmt)
        return _attachment(found)


def _attachment(export: reports.Export) -> HttpResponse:
    return attachment(export.data, export.media_type, export.filename)
