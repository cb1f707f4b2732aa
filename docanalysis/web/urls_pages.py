"""The original PDF's pages as images, with a clause's words highlighted."""

from django.urls import path

from docanalysis.web.views import pages

urlpatterns = [
    path(
        "documents/<int:document_id>/pages/<int:page>.png",
        pages.page_image,
        name="document-page-image",
    ),
    path(
        "documents/<int:document_id>/highlight.json",
        pages.highlight,
        name="document-highlight",
    ),
]
