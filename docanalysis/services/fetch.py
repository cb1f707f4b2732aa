"""Outgoing HTTP on a client's behalf, under the SSRF rules (core.ssrf): a document fetched by
URL, a webhook delivered.

Each request goes to the address the rules checked, never to the name again: the URL's host
is replaced by that address, and the name travels as the Host header and, for https, as the
TLS server name (SNI), against which the certificate is verified. Redirects are not followed
(a redirect could lead anywhere the rules refuse); proxies from the environment are not used.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

import httpx

from docanalysis.core.errors import DocAnalysisError
from docanalysis.core.ssrf import Resolver, Target, check_url, resolve_host
from docanalysis.services.errors import Rejected

CHUNK = 64 * 1024


class UrlUnreachable(DocAnalysisError):
    """The URL could not be fetched: no connection, a timeout, or an answer other than 2xx."""

    code = "url_unreachable"


@dataclass(frozen=True)
class FetchLimits:
    max_bytes: int
    timeout_s: float
    allow_private: bool


@dataclass(frozen=True)
class Fetched:
    filename: str  # from the URL's path; submit cleans it
    data: bytes


def fetch_document(url: str, limits: FetchLimits, resolve: Resolver = resolve_host) -> Fetched:
    """The bytes at `url` (GET), at most `limits.max_bytes` of them (Rejected too_large past
    that), within `limits.timeout_s` in all; UrlRefused or UrlUnreachable otherwise."""
    target = check_url(url, allow_private=limits.allow_private, resolve=resolve)
    deadline = time.monotonic() + limits.timeout_s
    try:
        # Not compressed: the limit counts the bytes that are stored.
        plain = {"Accept-Encoding": "identity"}
        with pinned(target, "GET", limits.timeout_s, plain) as response:
            if not response.is_success:
                raise UrlUnreachable(
                    f"the URL answered HTTP {response.status_code}{_hint(response)}"
                )
            data = _read_capped(response, limits.max_bytes, deadline)
    except httpx.TimeoutException:
        raise UrlUnreachable(f"the URL did not answer within {limits.timeout_s:g} s") from None
    except httpx.HTTPError as exc:
        raise UrlUnreachable(f"the URL could not be fetched: {_describe(exc)}") from None
    return Fetched(_filename(target.url), data)


@contextmanager
def pinned(
    target: Target,
    method: str,
    timeout_s: float,
    headers: Mapping[str, str] | None = None,
    content: bytes | None = None,
) -> Iterator[httpx.Response]:
    """The response (its body not read yet) of one request to the checked address."""
    url = httpx.URL(target.url).copy_with(host=target.address)
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    with httpx.Client(timeout=timeout_s, follow_redirects=False, trust_env=False) as client:
        request = client.build_request(
            method,
            url,
            headers={**(headers or {}), "Host": target.host_header},
            content=content,
            extensions=extensions,
        )
        response = client.send(request, stream=True)
        try:
            yield response
        finally:
            response.close()


def _read_capped(response: httpx.Response, max_bytes: int, deadline: float) -> bytes:
    """The body, refused as soon as it exceeds `max_bytes` (declared or counted) or the
    deadline passes: a slow or endless body cannot hold a worker."""
    limit_mb = max_bytes // (1024 * 1024)
    too_large = Rejected(f"the document is larger than the {limit_mb} MB limit", code="too_large")
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes(CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise too_large
        if time.monotonic() > deadline:
            raise httpx.ReadTimeout("the body took too long")
        chunks.append(chunk)
    return b"".join(chunks)


def _hint(response: httpx.Response) -> str:
    if response.is_redirect:
        return " (a redirect: redirects are not followed, send the final URL)"
    return ""


def _describe(exc: httpx.HTTPError) -> str:
    # httpx names the failure ("Connection refused", "certificate verify failed"); the
    # address is the checked one, so nothing private is told.
    return str(exc) or type(exc).__name__


def _filename(url: str) -> str:
    name = PurePosixPath(unquote(urlsplit(url).path)).name
    return name or "document.pdf"
