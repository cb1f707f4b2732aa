"""Production settings: the base settings served over HTTPS behind a proxy that terminates TLS
(DJANGO_SETTINGS_MODULE=docanalysis.settings.production). The embedded profile
(`docanalysis serve` on plain HTTP) keeps docanalysis.settings, where Secure cookies would never
come back from the browser.

Two variables tune the proxy in front:
- DOCANALYSIS_PROXY_SSL_HEADER: the header and value by which the proxy says the browser used
  HTTPS (default `X-Forwarded-Proto: https`; `off` when no proxy sets it). The proxy must
  overwrite that header on every request, or a client could claim HTTPS for itself.
- DOCANALYSIS_SSL_REDIRECT: `1` (default) sends plain-HTTP requests to HTTPS; `0` where the
  proxy already redirects. /healthz is exempt: the container's health check calls it over HTTP.
"""

from __future__ import annotations

import os

from docanalysis.settings import *  # noqa: F403

# Debug pages show settings and source: never in production, whatever DOCANALYSIS_DEBUG says.
DEBUG = False


def proxy_ssl_header(raw: str) -> tuple[str, str] | None:
    """`X-Forwarded-Proto: https` -> ("HTTP_X_FORWARDED_PROTO", "https"); `off` -> None."""
    if raw.strip().lower() == "off":
        return None
    name, sep, value = raw.partition(":")
    if not sep or not name.strip() or not value.strip():
        raise ValueError(f"DOCANALYSIS_PROXY_SSL_HEADER={raw!r}: write it as 'Header-Name: value'")
    return "HTTP_" + name.strip().upper().replace("-", "_"), value.strip()


def _flag(name: str, default: str) -> bool:
    raw = os.environ.get(name) or default
    if raw not in ("0", "1"):
        raise ValueError(f"{name} must be 0 or 1, got {raw!r}")
    return raw == "1"


SECURE_PROXY_SSL_HEADER = proxy_ssl_header(
    os.environ.get("DOCANALYSIS_PROXY_SSL_HEADER") or "X-Forwarded-Proto: https"
)
SECURE_SSL_REDIRECT = _flag("DOCANALYSIS_SSL_REDIRECT", "1")
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = 31_536_000  # one year
SECURE_HSTS_INCLUDE_SUBDOMAINS = True

SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# Joining the browsers' HSTS preload list binds the firm's whole domain to HTTPS for good: the
# firm's decision (SECURE_HSTS_PRELOAD = True), not a default of this app.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
