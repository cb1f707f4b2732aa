"""Security headers Django 5.2 does not send by itself: a Content-Security-Policy that lets a
page run only the app's own script and style files, and a Permissions-Policy that turns off
browser features the app never uses. (nosniff, Referrer-Policy and X-Frame-Options come from
Django's SecurityMiddleware and XFrameOptionsMiddleware, set in docanalysis.settings.)

The policy forbids inline scripts, `on...=` handlers and `style="..."` attributes, so an
injected snippet that slipped past escaping still cannot run; templates keep behaviour in
static/web/*.js and looks in static/web/*.css (tests/integration/test_web_security.py checks).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

CSP_HEADER = "Content-Security-Policy"
PERMISSIONS_HEADER = "Permissions-Policy"

DEFAULT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
DEFAULT_PERMISSIONS = "camera=(), geolocation=(), microphone=(), payment=(), usb=()"


def _is_html(response: HttpResponse) -> bool:
    # Only documents need the policy; a PDF or a page image under it could trip the browser's
    # own viewer (object-src 'none'), and JSON or JavaScript runs nothing of its own.
    return response.get("Content-Type", "").startswith("text/html")


class ContentSecurityPolicyMiddleware:
    """Adds CONTENT_SECURITY_POLICY and PERMISSIONS_POLICY (settings) to every HTML response
    that has none yet, so a view that needs another policy can set its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.csp: str = getattr(settings, "CONTENT_SECURITY_POLICY", DEFAULT_CSP)
        self.permissions: str = getattr(settings, "PERMISSIONS_POLICY", DEFAULT_PERMISSIONS)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if _is_html(response):
            if self.csp and CSP_HEADER not in response:
                response[CSP_HEADER] = self.csp
            if self.permissions and PERMISSIONS_HEADER not in response:
                response[PERMISSIONS_HEADER] = self.permissions
        return response
