"""Webhook signatures: exact values, tampering, the replay window, rotation."""

from __future__ import annotations

import hashlib
import hmac

from docanalysis.core.webhook_signing import sign, verify

SECRET = "whsec-test-0123456789"
BODY = b'{"event":"analysis.completed","event_id":"abc"}'
AT = 1_800_000_000


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), f"{AT}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, AT, BODY) == f"v1={expected}"
    assert sign(SECRET, AT, BODY.decode()) == sign(SECRET, AT, BODY)


def test_a_fresh_untouched_request_verifies() -> None:
    header = sign(SECRET, AT, BODY)
    assert verify(SECRET, header, str(AT), BODY, now=AT + 299)
    assert verify(SECRET, header, AT, BODY, now=AT - 10)  # a receiver's clock a little behind


def test_a_changed_body_timestamp_or_secret_fails() -> None:
    header = sign(SECRET, AT, BODY)
    assert not verify(SECRET, header, AT, BODY.replace(b"abc", b"abd"), now=AT)
    assert not verify(SECRET, header, AT + 1, BODY, now=AT)
    assert not verify("another-secret", header, AT, BODY, now=AT)
    assert not verify(SECRET, header.upper(), AT, BODY, now=AT)
    assert not verify(SECRET, "", AT, BODY, now=AT)
    assert not verify(SECRET, header, "not-a-number", BODY, now=AT)


def test_a_stale_request_fails_even_with_its_true_signature() -> None:
    header = sign(SECRET, AT, BODY)
    assert not verify(SECRET, header, AT, BODY, now=AT + 301)
    assert verify(SECRET, header, AT, BODY, now=AT + 600, tolerance_s=900)


def test_any_of_several_signatures_may_match_while_a_secret_is_rotated() -> None:
    header = f"{sign('old-secret', AT, BODY)}, {sign(SECRET, AT, BODY)}"
    assert verify(SECRET, header, AT, BODY, now=AT)
    assert verify("old-secret", header, AT, BODY, now=AT)
