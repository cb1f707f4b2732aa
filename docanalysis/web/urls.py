"""URL map of the browser UI. Every page but sign-in and the static files requires login
(LoginRequiredMiddleware)."""

from pathlib import Path

import drf_spectacular_sidecar
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path, re_path
from django.views.static import serve

from docanalysis.web.views import (
    apikeys,
    auth,
    compliance,
    documents,
    health,
    holds,
    matters,
    members,
    review,
)

STATIC_ROOT = Path(__file__).resolve().parent / "static"
SIDECAR_ROOT = Path(drf_spectacular_sidecar.__file__).resolve().parent / "static"

urlpatterns = [
    path("login/", auth.SignInView.as_view(), name="login"),
    path("logout/", auth.SignOutView.as_view(), name="logout"),
    path("healthz", health.healthz, name="healthz"),
    path("", matters.home, name="home"),
    path("matters/new/", matters.create, name="matter-create"),
    path("matters/<int:matter_id>/", matters.detail, name="matter"),
    path("matters/<int:matter_id>/members/", members.add, name="member-add"),
    path(
        "matters/<int:matter_id>/members/<int:user_id>/role",
        members.change_role,
        name="member-role",
    ),
    path(
        "matters/<int:matter_id>/members/<int:user_id>/remove",
        members.remove,
        name="member-remove",
    ),
    path("documents/<int:document_id>/", documents.detail, name="document"),
    path(
        "documents/<int:document_id>/provisions/<int:number>/",
        documents.provision,
        name="provision",
    ),
    path("documents/<int:document_id>/status.json", documents.status, name="document-status"),
    path("documents/<int:document_id>/original", documents.original, name="document-original"),
    path("documents/<int:document_id>/delete", documents.delete, name="document-delete"),
    path("admin/api-keys/", apikeys.keys, name="api-keys"),
    path("admin/api-keys/new", apikeys.create, name="api-key-create"),
    path("admin/api-keys/<str:prefix>/revoke", apikeys.revoke, name="api-key-revoke"),
    path("compliance/", compliance.events, name="compliance"),
    path("compliance/events/<int:seq>/", compliance.event, name="compliance-event"),
    path("compliance/export", compliance.export, name="compliance-export"),
    path("compliance/holds/", holds.holds, name="compliance-holds"),
    path("compliance/holds/<int:matter_id>/set", holds.set_hold, name="legal-hold-set"),
    path("compliance/holds/<int:matter_id>/lift", holds.lift_hold, name="legal-hold-lift"),
    path("compliance/review/", review.held, name="compliance-review"),
    path("compliance/review/<int:finding_id>/release", review.release, name="finding-release"),
    # One URL module per feature: uploads, the document's pages, review, the grid and exports.
    path("", include("docanalysis.web.urls_uploads")),
    path("", include("docanalysis.web.urls_pages")),
    path("", include("docanalysis.web.urls_review")),
    path("", include("docanalysis.web.urls_exports")),
    path("api/v1/", include("docanalysis.api.urls")),
    # The API docs' Swagger UI files, from the sidecar package (no CDN).
    re_path(
        r"^static/(?P<path>drf_spectacular_sidecar/.+)$",
        login_not_required(serve),
        {"document_root": SIDECAR_ROOT},
    ),
    # Two small files; served here so the embedded profile needs no separate web server.
    re_path(
        r"^static/(?P<path>.+)$",
        login_not_required(serve),
        {"document_root": STATIC_ROOT},
        name="static",
    ),
]
