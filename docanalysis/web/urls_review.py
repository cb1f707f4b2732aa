"""A reviewer's decisions on findings: confirm, reject, correct."""

from django.urls import path

from docanalysis.web.views import finding_review

urlpatterns = [
    path("findings/<int:finding_id>/review", finding_review.review, name="finding-review"),
    path(
        "documents/<int:document_id>/pages/<int:number>/text.json",
        finding_review.page_text,
        name="page-text",
    ),
]
