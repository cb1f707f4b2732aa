"""Browser-facing security through Django's test client: the Content-Security-Policy and the
other headers, CSRF on forms (with the product's own page when it fails), error pages that are
product pages (never a debug page or a traceback), another user's matter and document answered
with 404, the production settings (Secure cookies, HSTS), and templates free of inline script,
handlers and style attributes (which the policy would refuse)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.http import HttpRequest, HttpResponse
from django.urls import path

from docanalysis.services.runtime import Runtime
from tests.conftest import ONE_PAGE_CONTRACT, REPO
from tests.support.web import _client, _matter, _single_document, _upload, _user

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
PERMISSIONS = "camera=(), geolocation=(), microphone=(), payment=(), usb=()"
TEMPLATES = REPO / "docanalysis" / "web" / "templates"
DEBUG_PAGE_MARKERS = ("Traceback", "Request Method:", "DEBUG = True", "CSRF verification failed")


def _boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug in a view")


# This module doubles as a URLconf for the 500 test: one view that fails.
urlpatterns = [path("boom/", _boom)]


def _assert_hardened(response: HttpResponse) -> None:
    assert response["Content-Security-Policy"] == CSP
    assert response["Permissions-Policy"] == PERMISSIONS
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"


def _assert_product_page(response: HttpResponse, heading: str) -> None:
    text = response.content.decode()
    assert f"<h1>{heading}</h1>" in text
    assert '<main id="content" tabindex="-1">' in text
    for marker in DEBUG_PAGE_MARKERS:
        assert marker not in text, f"{marker!r} shown to the user"
    _assert_hardened(response)


# -- headers ---------------------------------------------------------------------------------


def test_every_html_page_carries_the_policy_and_the_hardening_headers(web: Runtime) -> None:
    from django.test import Client

    _assert_hardened(Client().get("/login/"))
    client = _client(_user("alice"))
    matter_id = _matter(client, "Headers")
    for url in ("/", f"/matters/{matter_id}/", "/no-such-page/"):
        response = client.get(url)
        assert response["Content-Type"] == "text/html; charset=utf-8", url
        _assert_hardened(response)


def test_json_gets_nosniff_and_no_page_policy(web: Runtime) -> None:
    from django.test import Client

    response = Client().get("/healthz")
    assert response["Content-Type"] == "application/json"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" not in response


def test_api_docs_run_only_script_files(web: Runtime) -> None:
    from django.test import Client

    page = Client().get("/api/v1/docs/")
    assert page.status_code == 200
    _assert_hardened(page)
    text = page.content.decode()
    assert '<html lang="en">' in text
    assert re.findall(r"<script[^>]*>", text) == [
        '<script src="/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js">',
        '<script src="/static/drf_spectacular_sidecar/swagger-ui-dist/'
        'swagger-ui-standalone-preset.js">',
        '<script src="/api/v1/docs/?script=">',
    ]
    assert "<style" not in text
    script = Client().get("/api/v1/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"] == "application/javascript"
    assert b"SwaggerUIBundle" in script.content


def test_the_session_cookie_is_http_only_and_same_site_on_the_embedded_profile(
    web: Runtime,
) -> None:
    from django.test import Client

    user = _user("alice")
    client = Client()
    client.post("/login/", {"username": user.username, "password": "pw-Long-enough-1"})
    cookie = client.cookies["sessionid"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["secure"] == ""  # plain HTTP on localhost: a Secure cookie would never return


# -- CSRF ------------------------------------------------------------------------------------


def test_a_form_posted_without_its_token_is_refused_with_a_plain_page(web: Runtime) -> None:
    from django.test import Client

    user = _user("alice")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    refused = client.post("/matters/new/", {"name": f"No token {user.username}"})
    assert refused.status_code == 403
    assert [t.name for t in refused.templates][:1] == ["403_csrf.html"]
    _assert_product_page(refused, "This form has expired")
    assert "Nothing was changed." in refused.content.decode()
    assert f"No token {user.username}" not in client.get("/").content.decode()
    anonymous = Client(enforce_csrf_checks=True).post("/login/", {"username": user.username})
    assert anonymous.status_code == 403


def test_the_same_form_with_its_token_is_accepted(web: Runtime) -> None:
    from django.test import Client

    user = _user("alice")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    home = client.get("/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', home)
    assert token is not None
    name = f"With token {user.username}"
    created = client.post("/matters/new/", {"name": name, "csrfmiddlewaretoken": token[1]})
    assert created.status_code == 302
    assert name in client.get("/").content.decode()


# -- who sees what -----------------------------------------------------------------------------


def test_another_users_matter_and_document_answer_not_found(web: Runtime) -> None:
    alice, bob = _user("alice"), _user("bob")
    owner = _client(alice)
    matter_id = _matter(owner, f"Private {alice.username}")
    assert _upload(owner, matter_id, "contract.pdf", ONE_PAGE_CONTRACT.read_bytes()).status_code
    doc = _single_document(web, alice, matter_id)
    assert owner.get(f"/documents/{doc.id}/").status_code == 200
    stranger = _client(bob)
    for url in (
        f"/matters/{matter_id}/",
        f"/documents/{doc.id}/",
        f"/documents/{doc.id}/status.json",
        f"/documents/{doc.id}/original",
        f"/documents/{doc.id}/provisions/1/",
    ):
        assert stranger.get(url).status_code == 404, url
    page = stranger.get(f"/matters/{matter_id}/")
    _assert_product_page(page, "Not found")
    assert f"Private {alice.username}" not in page.content.decode()
    assert f"Private {alice.username}" not in stranger.get("/").content.decode()
    assert stranger.post(f"/documents/{doc.id}/delete").status_code == 404
    assert owner.get(f"/documents/{doc.id}/").status_code == 200  # still there


# -- error pages ---------------------------------------------------------------------------------


def test_an_unknown_page_is_the_products_not_found_page(web: Runtime) -> None:
    response = _client(_user("alice")).get("/no-such-page/")
    assert response.status_code == 404
    _assert_product_page(response, "Not found")


def test_a_failing_view_shows_the_products_error_page_not_a_traceback(web: Runtime) -> None:
    from django.test import Client, override_settings

    with override_settings(ROOT_URLCONF=__name__):
        response = Client(raise_request_exception=False).get("/boom/")
    assert response.status_code == 500
    _assert_product_page(response, "Something went wrong")
    assert "a bug in a view" not in response.content.decode()


def test_a_request_for_an_unknown_host_is_a_plain_bad_request_page(web: Runtime) -> None:
    from django.test import Client

    response = Client(HTTP_HOST="evil.example").get("/login/")
    assert response.status_code == 400
    _assert_product_page(response, "Bad request")
    assert "evil.example" not in response.content.decode()


# -- production settings ---------------------------------------------------------------------


def _settings_in_child(module: str, tmp_path: Path, **env: str) -> dict[str, object]:
    """Named settings of a settings module, imported in a fresh interpreter (this process has
    its Django settings configured already, and they must stay as they are)."""
    names = [
        "DEBUG",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SESSION_COOKIE_HTTPONLY",
        "SESSION_COOKIE_SAMESITE",
        "CSRF_COOKIE_SAMESITE",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_SSL_REDIRECT",
        "SECURE_PROXY_SSL_HEADER",
        "SECURE_REDIRECT_EXEMPT",
        "SECURE_CONTENT_TYPE_NOSNIFF",
        "X_FRAME_OPTIONS",
        "CONTENT_SECURITY_POLICY",
        "MIDDLEWARE",
    ]
    code = (
        f"import importlib, json; s = importlib.import_module({module!r}); "
        f"print(json.dumps({{n: getattr(s, n, None) for n in {names!r}}}))"
    )
    child_env = {**_base_env(tmp_path), **env}
    done = subprocess.run(
        [sys.executable, "-c", code], env=child_env, cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    values: dict[str, object] = json.loads(done.stdout)
    return values


def _base_env(tmp_path: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("DOCANALYSIS_", "DJANGO_"))}
    return {
        **keep,
        "DOCANALYSIS_DATA_DIR": str(tmp_path),
        "DOCANALYSIS_SECRET_KEY": "production-test-" + "k3y-w1th-many-d1fferent-chars" * 2,
        "DOCANALYSIS_ALLOWED_HOSTS": "docs.firm.example",
    }


def test_production_settings_mark_cookies_secure_and_ask_for_https(tmp_path: Path) -> None:
    prod = _settings_in_child("docanalysis.settings.production", tmp_path, DOCANALYSIS_DEBUG="1")
    assert prod["DEBUG"] is False  # never debug pages in production, whatever the variable
    assert prod["SESSION_COOKIE_SECURE"] is True
    assert prod["CSRF_COOKIE_SECURE"] is True
    assert prod["SESSION_COOKIE_HTTPONLY"] is True
    assert prod["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert prod["CSRF_COOKIE_SAMESITE"] == "Lax"
    assert prod["SECURE_HSTS_SECONDS"] == 31_536_000
    assert prod["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert prod["SECURE_SSL_REDIRECT"] is True
    assert prod["SECURE_REDIRECT_EXEMPT"] == [r"^healthz$"]
    assert prod["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert prod["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert prod["X_FRAME_OPTIONS"] == "DENY"
    assert prod["CONTENT_SECURITY_POLICY"] == CSP
    middleware = prod["MIDDLEWARE"]
    assert isinstance(middleware, list)
    assert "docanalysis.web.security.ContentSecurityPolicyMiddleware" in middleware
    assert "django.middleware.csrf.CsrfViewMiddleware" in middleware


def test_the_proxy_in_front_can_be_described(tmp_path: Path) -> None:
    tuned = _settings_in_child(
        "docanalysis.settings.production",
        tmp_path,
        DOCANALYSIS_PROXY_SSL_HEADER="X-Forwarded-Ssl: on",
        DOCANALYSIS_SSL_REDIRECT="0",
    )
    assert tuned["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_SSL", "on"]
    assert tuned["SECURE_SSL_REDIRECT"] is False
    off = _settings_in_child(
        "docanalysis.settings.production", tmp_path, DOCANALYSIS_PROXY_SSL_HEADER="off"
    )
    assert off["SECURE_PROXY_SSL_HEADER"] is None
    bad = subprocess.run(
        [sys.executable, "-c", "import docanalysis.settings.production"],
        env={**_base_env(tmp_path), "DOCANALYSIS_PROXY_SSL_HEADER": "https"},
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert "DOCANALYSIS_PROXY_SSL_HEADER='https': write it as 'Header-Name: value'" in bad.stderr


def test_the_embedded_profile_keeps_cookies_usable_over_plain_http(tmp_path: Path) -> None:
    embedded = _settings_in_child("docanalysis.settings", tmp_path)
    assert embedded["SESSION_COOKIE_SECURE"] is None  # Django's default: False
    assert embedded["SECURE_SSL_REDIRECT"] is None
    assert embedded["SESSION_COOKIE_HTTPONLY"] is True
    assert embedded["CONTENT_SECURITY_POLICY"] == CSP


def test_djangos_deployment_check_passes_on_the_production_settings(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env={**_base_env(tmp_path), "DJANGO_SETTINGS_MODULE": "docanalysis.settings.production"},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


# -- templates -------------------------------------------------------------------------------

INLINE = {
    "inline <script>": re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.I),
    "<style> element": re.compile(r"<style\b", re.I),
    "on...= handler": re.compile(r"\son[a-z]+\s*=", re.I),
    "style attribute": re.compile(r"\sstyle\s*=", re.I),
}


def _inline_code(template: Path) -> list[str]:
    found = []
    for number, line in enumerate(template.read_text().splitlines(), start=1):
        for what, pattern in INLINE.items():
            if pattern.search(line):
                found.append(f"{template.relative_to(REPO)}:{number}: {what}: {line.strip()}")
    return found


def test_no_template_has_inline_script_handlers_or_style_attributes() -> None:
    """The policy (script-src 'self'; style-src 'self') would refuse them in the browser."""
    templates = sorted(TEMPLATES.rglob("*.html"))
    assert len(templates) > 10
    found = [hit for template in templates for hit in _inline_code(template)]
    assert not found, "move these into static/web/*.js or *.css:\n" + "\n".join(found)


@pytest.mark.parametrize(
    ("line", "what"),
    [
        ("<script>alert(1)</script>", "inline <script>"),
        ('<script type="module">go()</script>', "inline <script>"),
        ('<button type="button" onclick="go()">', "on...= handler"),
        ('<p style="color: red">', "style attribute"),
        ("<style>p { color: red }</style>", "<style> element"),
        ('<script src="/static/web/live.js" defer></script>', None),
        ('<a class="stylish" href="/online">', None),
    ],
)
def test_the_template_check_tells_inline_code_from_files(line: str, what: str | None) -> None:
    assert [name for name, pattern in INLINE.items() if pattern.search(line)] == (
        [what] if what else []
    )
