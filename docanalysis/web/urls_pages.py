"""The original PDF's pages as images, with a clause's words highlighted."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
