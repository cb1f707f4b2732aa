"""GET /api/v1/audit/export: the audit trail of the key's tenant, a matter or a document, and a
time range, as the verifiable ZIP the CLI and the compliance view produce (docs/audit.md).
A key scoped to matters exports only theirs, and must name one (or one of its documents)."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.views import APIView

from docanalysis.api import params
from docanalysis.api.views import ERRORS, principal_of
from docanalysis.audit_signing import checkpoints_path, load_or_create_key
from docanalysis.db import repositories as repo
from docanalysis.db.engine import reading
from docanalysis.services.api_queries import scoped_document
from docanalysis.services.apikeys import ApiPrincipal
from docanalysis.services.audit_export import export_audit
from docanalysis.services.errors import NotFound
from docanalysis.services.runtime import Runtime
from docanalysis.web.views.common import runtime


class AuditExportView(APIView):
    @extend_schema(
        operation_id="audit_export",
        parameters=[params.AuditExportParams],
        responses={
            (200, "application/zip"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The export: verify it as its README says."
            ),
            **ERRORS,
        },
    )
    def get(self, request: Request) -> HttpResponse:
        query = params.read(params.AuditExportParams, request)
        rt, principal = runtime(), principal_of(request)
        matter_id, document_id = query.get("matter"), query.get("document")
        matter_id = _scope(rt, principal, matter_id, document_id)
        key_path = rt.settings.audit_key
        with tempfile.TemporaryDirectory(prefix="docanalysis-export-") as work:
            summary = export_audit(
                rt.engine,
                Path(work) / "export.zip",
                key=load_or_create_key(key_path),
                actor=principal.identity,
                tenant_id=principal.tenant_id,
                matter_id=matter_id,
                subject=f"document:{document_id}" if document_id is not None else None,
                since=query.get("since"),
                until=query.get("until"),
                checkpoint_file=checkpoints_path(key_path),
            )
            data = summary.path.read_bytes()
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        response = HttpResponse(data, content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="audit-export-{stamp}.zip"'
        response["Cache-Control"] = "no-store"
        return response


def _scope(
    rt: Runtime, principal: ApiPrincipal, matter_id: int | None, document_id: int | None
) -> int | None:
    """The matter the export is limited to; 404 for one outside the key's scope."""
    with reading(rt.engine) as conn:
        if document_id is not None:
            doc = scoped_document(conn, principal, document_id)
            if matter_id is not None and matter_id != int(doc.matter_id):
                raise NotFound("no such document in this matter")
            return int(doc.matter_id)
        if matter_id is not None:
            found = repo.matter(conn, matter_id)
            if found is None or int(found.tenant_id) != principal.tenant_id:
                raise NotFound("no such matter")
            if not principal.may_use(matter_id):
                raise NotFound("no such matter")
            return matter_id
    if principal.matter_ids is not None:
        raise ValidationError({"matter": ["a key scoped to matters exports one of them: name it"]})
    return None
