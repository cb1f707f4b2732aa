"""Webhook signatures: what we send, and what a receiver checks (docs/api_webhooks.md).

``X-Docanalysis-Signature: v1=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>``, with the
timestamp (unix seconds) in ``X-Docanalysis-Timestamp``. Signing the timestamp with the body
lets a receiver refuse a captured request replayed later: it accepts only timestamps within
a few minutes of its own clock. Several ``v1=`` values separated by commas are accepted, so
a secret can be rotated without a gap.
"""

from __future__ import annotations

import hashlib
import hmac

VERSION = "v1"
TOLERANCE_S = 300


def _as_bytes(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def sign(secret: str, timestamp: int, body: str | bytes) -> str:
    """The signature header's value for `body` sent at `timestamp`."""
    message = str(int(timestamp)).encode("ascii") + b"." + _as_bytes(body)
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()
    return f"{VERSION}={digest}"


def verify(
    secret: str,
    header: str,
    timestamp: str | int,
    body: str | bytes,
    now: float,
    tolerance_s: int = TOLERANCE_S,
) -> bool:
    """Whether `header` signs `body` at `timestamp` with `secret`, and `timestamp` lies within
    `tolerance_s` of `now`. Compared in constant time."""
    try:
        sent_at = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(now - sent_at) > tolerance_s:
        return False
    expected = sign(secret, sent_at, body)
    offered = [part.strip() for part in header.split(",")]
    # Every candidate is compared (no early exit), so timing tells nothing about which failed.
    matches = [hmac.compare_digest(expected, candidate) for candidate in offered]
    return any(matches)
