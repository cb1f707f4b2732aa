"""A reviewer's decisions on findings: confirm, reject, correct."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
