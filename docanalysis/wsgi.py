"""WSGI entry point for the web tier (gunicorn docanalysis.wsgi:application)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "docanalysis.settings")

application = get_wsgi_application()
