"""The matter's review grid, and the reports: DOCX, PDF, CSV, XLSX."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
