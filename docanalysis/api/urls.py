"""/api/v1/: the endpoints, the OpenAPI schema and its browsable docs. None of it needs a
browser session (LoginRequiredMiddleware stands aside); the endpoints need an API key."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from docanalysis.api import audit, errors, views


def _open(view: Any) -> Any:
    return login_not_required(view)


urlpatterns = [
    path("documents", _open(views.DocumentsView.as_view()), name="api-documents"),
    path("documents/<int:document_id>", _open(views.DocumentView.as_view()), name="api-document"),
    path(
        "documents/<int:document_id>/results",
        _open(views.ResultsView.as_view()),
        name="api-results",
    ),
    path("documents/<int:document_id>/text", _open(views.TextView.as_view()), name="api-text"),
    path("runs/<int:run_id>", _open(views.RunView.as_view()), name="api-run"),
    path("audit/export", _open(audit.AuditExportView.as_view()), name="api-audit-export"),
    path("schema/", _open(SpectacularAPIView.as_view()), name="api-schema"),
    path(
        "docs/",
        _open(SpectacularSwaggerView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
    re_path(r"^(?P<path>.*)$", _open(errors.not_found)),
]
