"""/api/v1/: the endpoints, the OpenAPI schema and its browsable docs. None of it needs a
browser session (LoginRequiredMiddleware stands aside); the endpoints need an API key."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.urls import path, re_path, register_converter
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from docanalysis.api import audit, errors, reports, reviews, views, webhooks
from docanalysis.db.tables import MAX_ID


class IdConverter:
    """An object id: 1 to 2**63 - 1 (a bigint). Anything else names nothing: the catch-all
    answers 404, never a database error."""

    regex = "[1-9][0-9]{0,18}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_ID:
            raise ValueError(value)  # Django tries the next pattern
        return number

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(IdConverter, "id")


def _open(view: Any) -> Any:
    return login_not_required(view)


urlpatterns = [
    path("documents", _open(views.DocumentsView.as_view()), name="api-documents"),
    path("documents/<id:document_id>", _open(views.DocumentView.as_view()), name="api-document"),
    path(
        "documents/<id:document_id>/results",
        _open(views.ResultsView.as_view()),
        name="api-results",
    ),
    path("documents/<id:document_id>/text", _open(views.TextView.as_view()), name="api-text"),
    path("runs/<id:run_id>", _open(views.RunView.as_view()), name="api-run"),
    path(
        "findings/<id:finding_id>/review",
        _open(reviews.ReviewView.as_view()),
        name="api-finding-review",
    ),
    *(
        path(
            f"documents/<id:document_id>/report.{fmt}",
            _open(reports.DocumentReportView.as_view(fmt=fmt)),
            name=f"api-document-report-{fmt}",
        )
        for fmt in ("docx", "pdf")
    ),
    *(
        path(
            f"matters/<id:matter_id>/grid.{fmt}",
            _open(reports.MatterGridView.as_view(fmt=fmt)),
            name=f"api-matter-grid-{fmt}",
        )
        for fmt in ("csv", "xlsx")
    ),
    path("audit/export", _open(audit.AuditExportView.as_view()), name="api-audit-export"),
    path("webhooks", _open(webhooks.WebhooksView.as_view()), name="api-webhooks"),
    path("webhooks/<id:endpoint_id>", _open(webhooks.WebhookView.as_view()), name="api-webhook"),
    path(
        "webhooks/<id:endpoint_id>/deliveries",
        _open(webhooks.DeliveriesView.as_view()),
        name="api-webhook-deliveries",
    ),
    path(
        "webhooks/deliveries/<id:delivery_id>/replay",
        _open(webhooks.ReplayView.as_view()),
        name="api-webhook-replay",
    ),
    path("schema/", _open(SpectacularAPIView.as_view()), name="api-schema"),
    # The split view serves Swagger UI's init script as a file (?script=): the
    # Content-Security-Policy lets no inline script run (docanalysis.web.security).
    path(
        "docs/",
        _open(
            SpectacularSwaggerSplitView.as_view(
                url_name="api-schema", template_name="web/api_docs.html"
            )
        ),
        name="api-docs",
    ),
    # No session, so no CSRF to check: an unknown path answers 404 whatever the method.
    re_path(r"^(?P<path>.*)$", _open(csrf_exempt(errors.not_found))),
]
