"""The authorization matrix: every endpoint that names an object, called by the key of its own
matter, a key of another matter of the same tenant, a key of another tenant, no key, and a
revoked key. Only the first reaches the object; keys outside its scope get 404 (never 403, and
nothing about the object), no key or a revoked one 401. Lists hold only what is in scope,
related objects (runs, deliveries) included."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from docanalysis.services import apikeys, webhooks
from docanalysis.services.matters import create_matter
from docanalysis.services.runtime import Runtime
from docanalysis.services.steps import run_to_end
from tests.integration.test_api import ADMIN, _client, _upload
from tests.integration.test_pipeline import ALICE, runtime
from tests.support.fakes import FixedGuard


@dataclass
class World:
    rt: Runtime
    document_id: int
    run_id: int
    endpoint_id: int
    delivery_id: int
    keys: dict[str, str | None]
    webhook_secret: str


@pytest.fixture
def world(
    django_ready: None, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    rt = runtime(db_url, tmp_path, FixedGuard())
    # The endpoint is on loopback (nothing listens there: deliveries just fail).
    rt.settings = dataclasses.replace(rt.settings, allow_private_urls=True)
    monkeypatch.setattr("docanalysis.web.views.common.get_runtime", lambda: rt)
    yield _build(rt)
    rt.engine.dispose()


def _build(rt: Runtime) -> World:
    own = create_matter(rt, ALICE, "Own", tenant="acme")
    other = create_matter(rt, ALICE, "Other", tenant="acme")
    tenant_key = apikeys.create_key(rt, ADMIN, "acme").secret
    revoked = apikeys.create_key(rt, ADMIN, "acme")
    apikeys.revoke_key(rt, ADMIN, revoked.prefix)
    keys: dict[str, str | None] = {
        "own matter": apikeys.create_key(rt, ADMIN, "acme", matter_ids=(own,)).secret,
        "other matter": apikeys.create_key(rt, ADMIN, "acme", matter_ids=(other,)).secret,
        "other tenant": apikeys.create_key(rt, ADMIN, "globex").secret,
        "anonymous": None,
        "revoked": revoked.secret,
        "tenant": tenant_key,
    }
    sent = _upload(_client(keys["own matter"]), own).json()
    registered = _client(tenant_key).post(
        "/api/v1/webhooks",
        {"url": "http://127.0.0.1:9/hooks", "events": ["analysis.completed"]},
        content_type="application/json",
    )
    assert registered.status_code == 201, registered.content
    run_to_end(rt, sent["run_id"])
    endpoint_id = registered.json()["id"]
    principal = apikeys.authenticate(rt, tenant_key)
    assert principal is not None
    page, _ = webhooks.deliveries_of(rt, principal, endpoint_id, 10, None)
    secret = registered.json()["secret"]
    return World(rt, sent["id"], sent["run_id"], endpoint_id, page[0].id, keys, secret)


# (method, path template, who reaches it besides the tenant-wide key)
OBJECTS = [
    ("get", "/api/v1/documents/{document}", "own matter"),
    ("get", "/api/v1/documents/{document}/results", "own matter"),
    ("get", "/api/v1/documents/{document}/text", "own matter"),
    ("get", "/api/v1/runs/{run}", "own matter"),
    ("get", "/api/v1/audit/export?document={document}", "own matter"),
    ("get", "/api/v1/webhooks/{endpoint}/deliveries", None),  # tenant-wide keys only
    ("post", "/api/v1/webhooks/deliveries/{delivery}/replay", None),
    ("delete", "/api/v1/webhooks/{endpoint}", None),
    ("delete", "/api/v1/documents/{document}", "own matter"),  # last: it removes the object
]
CALLERS = ("own matter", "other matter", "other tenant", "anonymous", "revoked")


def _call(world: World, caller: str, method: str, template: str) -> Any:
    path = template.format(
        document=world.document_id,
        run=world.run_id,
        endpoint=world.endpoint_id,
        delivery=world.delivery_id,
    )
    return getattr(_client(world.keys[caller]), method)(path)


def _expected(caller: str, allowed: str | None) -> int | None:
    """The status for a caller (None: the call succeeds, any 2xx)."""
    if caller in ("anonymous", "revoked"):
        return 401
    return None if caller == allowed else 404


def test_every_endpoint_by_every_caller(world: World) -> None:
    seen = []
    for method, template, allowed in OBJECTS:
        for caller in CALLERS:
            response = _call(world, caller, method, template)
            expected = _expected(caller, allowed)
            if expected is None:
                assert 200 <= response.status_code < 300, (method, template, caller)
            else:
                assert response.status_code == expected, (method, template, caller)
                body = response.json()["error"]
                assert body["code"] == ("unauthenticated" if expected == 401 else "not_found")
                assert str(world.document_id) not in body["message"]
            seen.append((method, template, caller, response.status_code))
        if allowed is None:  # the tenant-wide key reaches what no matter key does
            assert 200 <= _call(world, "tenant", method, template).status_code < 300
    assert len(seen) == len(OBJECTS) * len(CALLERS)


def test_lists_hold_only_what_is_in_scope(world: World) -> None:
    listed = {
        caller: _client(world.keys[caller]).get("/api/v1/documents")
        for caller in ("own matter", "other matter", "other tenant", "tenant")
    }
    ids = {caller: [d["id"] for d in r.json()["results"]] for caller, r in listed.items()}
    assert ids == {
        "own matter": [world.document_id],
        "other matter": [],
        "other tenant": [],
        "tenant": [world.document_id],
    }
    hooks = {
        caller: _client(world.keys[caller]).get("/api/v1/webhooks")
        for caller in ("tenant", "own matter", "other tenant")
    }
    assert [h["id"] for h in hooks["tenant"].json()["results"]] == [world.endpoint_id]
    assert hooks["own matter"].status_code == 404  # webhooks are the tenant's, not a matter's
    assert hooks["other tenant"].json()["results"] == []
    for caller in ("anonymous", "revoked"):
        assert _client(world.keys[caller]).get("/api/v1/documents").status_code == 401


def test_no_secret_reaches_the_audit_trail(world: World) -> None:
    from docanalysis.db.audit import read_events
    from docanalysis.db.engine import reading

    for method, template, _ in OBJECTS:  # every kind of call, so every kind of event
        _call(world, "tenant", method, template)
    with reading(world.rt.engine) as conn:
        trail = "\n".join(str(event.as_row()) for event in read_events(conn))
    secrets = [key for key in world.keys.values() if key] + [world.webhook_secret]
    # Not the keys, nor any 16 characters of their secret parts (prefixes are public).
    for secret in secrets:
        hidden = secret[13:] if secret.startswith("dak_") else secret
        pieces = {hidden[i : i + 16] for i in range(len(hidden) - 15)}
        assert not [p for p in pieces if p in trail], secret[:12]
    assert "api_key.created" in trail and "webhook.created" in trail
