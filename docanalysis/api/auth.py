"""`Authorization: Bearer <API key>`: the only way to call the API."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from docanalysis.services.apikeys import ApiPrincipal, authenticate_request
from docanalysis.web.views.common import runtime


class ApiCaller:
    """The request's user: an API key, never a person (is_authenticated for DRF's checks)."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, principal: ApiPrincipal) -> None:
        self.principal = principal


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[ApiCaller, ApiPrincipal] | None:
        header = get_authorization_header(request).decode("latin-1").split()
        if not header:
            return None
        if len(header) != 2 or header[0].lower() != "bearer":
            raise exceptions.AuthenticationFailed(
                "send the API key as: Authorization: Bearer <key>"
            )
        # The key's row is read in its tenant's scope (row-level security), found by prefix;
        # the request goes on in that scope.
        principal = authenticate_request(runtime(), header[1])
        if principal is None:  # malformed, unknown, revoked, expired: told apart nowhere
            raise exceptions.AuthenticationFailed("the API key is not valid")
        return ApiCaller(principal), principal

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class ApiKeySchema(OpenApiAuthenticationExtension):
    target_class = ApiKeyAuthentication
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "An API key: dak_..."}


class ApiKeyThrottle(SimpleRateThrottle):
    """DOCANALYSIS_API_RATE requests per API key (429 with Retry-After beyond it). Requests
    without a valid key are refused before they count."""

    scope = "api_key"

    def get_rate(self) -> str:
        return str(settings.API_RATE)

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        principal = request.auth
        if not isinstance(principal, ApiPrincipal):
            return None
        return f"throttle-api-key-{principal.key_id}"
