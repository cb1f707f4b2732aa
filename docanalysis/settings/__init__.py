"""Django settings, derived from docanalysis.config.load_settings() (environment variables).

Django owns only its contrib tables (auth, sessions, contenttypes) in the same database as the
SQLAlchemy domain tables; the web app defines no models and reaches domain data through
docanalysis.services only.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from docanalysis.config import Settings, load_settings
from docanalysis.db.tables import MAX_ID

APP = load_settings()


def django_database(url: str) -> dict[str, object]:
    """Translate a SQLAlchemy URL into Django's DATABASES["default"]."""
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme == "sqlite":
        path = url.split(":///", 1)[1] if ":///" in url else ""
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": path.split("?", 1)[0] or ":memory:",
            # The worker writes through SQLAlchemy at the same time; wait instead of failing.
            "OPTIONS": {"timeout": 30},
        }
    if scheme in ("postgresql", "postgres"):
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "OPTIONS": dict(parse_qsl(parts.query)),
        }
    raise ValueError(f"DATABASE_URL: unsupported database {parts.scheme!r} (sqlite or postgresql)")


def secret_key(configured: str, data_dir: Path) -> str:
    """The configured key, or a random one created once in data_dir/secret_key (mode 0600)."""
    if configured:
        return configured
    path = data_dir / "secret_key"
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        key = secrets.token_urlsafe(50)
        f.write(key)
    return key


BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = secret_key(APP.secret_key, APP.data_dir)
DEBUG = APP.debug
ALLOWED_HOSTS = list(APP.allowed_hosts)

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "docanalysis.web",
]

MIDDLEWARE = [
    "docanalysis.web.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Outside the rest, so that the answers they give early (a refused host, a failed CSRF
    # check) get the policy and the frame ban too.
    "docanalysis.web.security.ContentSecurityPolicyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "docanalysis.web.db_unavailable.DatabaseUnavailableMiddleware",  # 503 while the DB is down
    "docanalysis.web.tenant_scope.TenantScopeMiddleware",  # row-level security's tenants
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "docanalysis.web.urls"
WSGI_APPLICATION = "docanalysis.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "docanalysis.web.views.compliance.nav",
            ],
        },
    },
]

DATABASES = {"default": django_database(APP.database_url)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

# Served by docanalysis.web.urls from the app's static folder (two small files, no CDN).
STATIC_URL = "/static/"

# A request may carry several PDFs, each up to max_upload_bytes; the services reject a larger
# file with a sentence for the user. Files above 2.5 MB spill to a temporary file, not memory.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024  # form fields other than files
FILE_UPLOAD_MAX_MEMORY_SIZE = min(APP.max_upload_bytes, 2_621_440)
DATA_UPLOAD_MAX_NUMBER_FILES = 50
MAX_UPLOAD_BYTES = APP.max_upload_bytes
# The limit holds while the body streams in (docanalysis.web.upload_limits): a file over it
# stops the upload at that byte, and its partial temporary file is deleted at once.
FILE_UPLOAD_HANDLERS = [
    "docanalysis.web.upload_limits.SizeLimitUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# The REST API (/api/v1/): API keys only. A browser session never authenticates an API call
# (no SessionAuthentication), and an API key never a page (Django's auth knows nothing of it).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["docanalysis.api.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "docanalysis.api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["docanalysis.api.auth.ApiKeyThrottle"],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "docanalysis API",
    "DESCRIPTION": "Send documents, follow their analysis, read the results (docs/api.md).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # docanalysis.api.urls.IdConverter
    "PATH_CONVERTER_OVERRIDES": {"id": {"type": "integer", "minimum": 1, "maximum": MAX_ID}},
}

API_RATE = APP.api_rate


def _cache(app: Settings) -> dict[str, object]:
    """Shared by every web process, so a key's rate limit is one count: Redis where the broker
    is Redis, files under the data dir on the embedded profile."""
    if app.broker_url.startswith(("redis://", "rediss://")):
        backend = {"BACKEND": "django.core.cache.backends.redis.RedisCache"}
        return {**backend, "LOCATION": app.broker_url, "KEY_PREFIX": "docanalysis"}
    folder = app.data_dir / "cache"
    return {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(folder),
    }


CACHES = {"default": _cache(APP)}

# Browser hardening on every profile. Cookies are marked Secure only in
# docanalysis.settings.production: the embedded profile serves plain HTTP on localhost, where a
# browser would never send a Secure cookie back and nobody could sign in.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# docanalysis.web.security: only the app's own files run or style a page (no inline script,
# handler or style attribute), nothing is framed, forms post only here.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
PERMISSIONS_POLICY = "camera=(), geolocation=(), microphone=(), payment=(), usb=()"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "INFO" if DEBUG else "WARNING"},
}
