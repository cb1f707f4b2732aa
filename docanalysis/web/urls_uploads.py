"""Uploads into a matter (the form, and the browser's one-file-per-request uploads)."""

from django.urls import path

from docanalysis.web.views import uploads

urlpatterns = [
    path("matters/<int:matter_id>/documents/", uploads.upload, name="document-upload"),
]
