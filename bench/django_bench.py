"""The web benchmarks' Django: the product's settings on a scratch database and data folder, its
URLs plus one reference view served beside them (api_upload.py, api_reads.py)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def configure(
    data_dir: Path, database_url: str, urlconf: str, *, redis_url: str = "", migrate: bool = False
) -> None:
    """Django set up as the product runs it (no API rate limit in the way), its URLs taken from
    the module `urlconf` (whose `urlpatterns` `mount` fills)."""
    os.environ.update(
        DOCANALYSIS_DATA_DIR=str(data_dir),
        DATABASE_URL=database_url,
        DOCANALYSIS_API_RATE="1000000/min",
        DJANGO_SETTINGS_MODULE="docanalysis.settings",
    )
    if redis_url:  # the production profile's broker: the rate limit then counts in Redis
        os.environ["CELERY_BROKER_URL"] = redis_url
    import django
    from django.conf import settings

    if migrate:
        from docanalysis.db.migrate import upgrade_database

        upgrade_database(database_url)
    django.setup()
    settings.ROOT_URLCONF = urlconf


def mount(urlpatterns: list[Any], route: str, reference_view: Any) -> None:
    """The product's URLs, and the reference view at `route` (no sign-in)."""
    from django.contrib.auth.decorators import login_not_required
    from django.urls import include, path

    urlpatterns[:] = [
        path(route, login_not_required(reference_view)),
        path("", include("docanalysis.web.urls")),
    ]
