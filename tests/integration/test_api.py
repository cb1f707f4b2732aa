"""The REST API through Django's test client, against the real services on each dialect: API
keys, the error envelope, idempotent creates under concurrent retries, scope (404 outside it),
limits, and the documents' status, results and text."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select

from docanalysis.db.audit import read_events
from docanalysis.db.engine import reading
from docanalysis.db.tables import documents
from docanalysis.services import apikeys, retention
from docanalysis.services.matters import create_matter
from docanalysis.services.runtime import Runtime
from docanalysis.services.steps import run_to_end
from docanalysis.services.views import Actor
from tests.conftest import ONE_PAGE_CONTRACT, THREE_PAGE_CONTRACT
from tests.integration.test_pipeline import ALICE

ADMIN = Actor(user_id=None, identity="cli:admin")
PDF = ONE_PAGE_CONTRACT.read_bytes()


@pytest.fixture
def rt(views_rt: Runtime) -> Runtime:
    return views_rt


def _client(key: str | None = None) -> Any:
    from django.test import Client

    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
    return Client(**headers)


def _upload(client: Any, matter: str | int, data: bytes = PDF, **fields: Any) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    headers = {}
    if "idempotency_key" in fields:
        headers["HTTP_IDEMPOTENCY_KEY"] = fields.pop("idempotency_key")
    body = {"file": SimpleUploadedFile("contract.pdf", data), "matter": str(matter), **fields}
    return client.post("/api/v1/documents", body, **headers)


def _error(response: Any) -> tuple[int, str]:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details", "request_id"}
    assert body["error"]["request_id"] == response["X-Request-ID"]
    return response.status_code, body["error"]["code"]


def _count_documents(rt: Runtime) -> int:
    with reading(rt.engine) as conn:
        return int(conn.execute(select(func.count()).select_from(documents)).scalar_one())


def test_without_a_valid_key_every_call_is_401_in_the_envelope(rt: Runtime) -> None:
    revoked = apikeys.create_key(rt, ADMIN, "acme")
    apikeys.revoke_key(rt, ADMIN, revoked.prefix)
    for client in (_client(), _client("dak_aaaaaaaa_" + "A" * 43), _client(revoked.secret)):
        response = client.get("/api/v1/documents")
        assert _error(response) == (401, "unauthenticated")
        assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    basic = _client()
    response = basic.get("/api/v1/documents", HTTP_AUTHORIZATION="Basic YTpi")
    assert _error(response) == (401, "unauthenticated")


def test_a_browser_session_is_not_an_api_key_and_a_key_opens_no_page(rt: Runtime) -> None:
    from django.contrib.auth.models import User

    name = f"api-session-{rt.engine.dialect.name}"  # Django's tables outlive each test's DB
    user = User.objects.create_user(name, "s@firm.example", "pw-Long-enough-1")
    browser = _client()
    browser.force_login(user)
    assert _error(browser.get("/api/v1/documents")) == (401, "unauthenticated")
    key = apikeys.create_key(rt, ADMIN, "default").secret
    page = _client(key).get("/")
    assert (page.status_code, page["Location"]) == (302, "/login/?next=/")


def test_upload_poll_and_read_the_results_and_the_text(rt: Runtime) -> None:
    key = apikeys.create_key(rt, ADMIN, "acme").secret
    client = _client(key)
    accepted = _upload(client, "DMS-MATTER-7", THREE_PAGE_CONTRACT.read_bytes())
    assert accepted.status_code == 202
    body = accepted.json()
    assert accepted["Location"] == body["status_url"] == f"/api/v1/runs/{body['run_id']}"
    assert body["created"] is True
    queued = client.get(body["status_url"]).json()
    assert (queued["state"], queued["document_id"], queued["final"]) == (
        "queued",
        body["id"],
        False,
    )
    assert rt.queue.sent == [body["run_id"]]  # type: ignore[attr-defined]
    assert run_to_end(rt, body["run_id"]) == "done"

    done = client.get(body["status_url"]).json()
    assert (done["state"], done["final"]) == ("done", True)
    document = client.get(f"/api/v1/documents/{body['id']}").json()
    assert (document["name"], document["run"]["state"], document["pages"]) == (
        "contract.pdf",
        "done",
        3,
    )
    results = client.get(f"/api/v1/documents/{body['id']}/results").json()
    text = client.get(f"/api/v1/documents/{body['id']}/text").json()
    assert text["page_count"] == 3 and [p["number"] for p in text["pages"]] == [1, 2, 3]
    whole = "".join(p["text"] for p in text["pages"])
    for clause in results["clauses"]:
        assert clause["guard"]["status"] == "released"
        page = text["pages"][clause["page"] - 1]
        # The offsets are the source's: the clause's text is exactly that span of the text.
        assert page["start"] <= clause["start"] < clause["end"] <= page["end"]
        assert (
            whole[clause["start"] - text["pages"][0]["start"] :][: len(clause["text"])]
            == (clause["text"])
        )
    summary = results["summary"]
    assert summary["guard"]["status"] == "released" and summary["sentences"]
    cited = [c for sentence in summary["sentences"] for c in sentence["provisions"]]
    assert cited  # each sentence cites provisions, each with its place in the text
    for provision in cited:
        page = text["pages"][provision["page"] - 1]
        assert page["start"] <= provision["start"] < page["end"]  # it starts on its page
        assert provision["start"] < provision["end"] <= text["pages"][-1]["end"]
    second = client.get(f"/api/v1/documents/{body['id']}/text?first_page=2&last_page=2").json()
    assert [p["number"] for p in second["pages"]] == [2]


def test_a_review_posted_by_a_dms_is_in_the_results_beside_the_model_s_words(
    rt: Runtime,
) -> None:
    key = apikeys.create_key(rt, ADMIN, "acme")
    client = _client(key.secret)
    body = _upload(client, "DMS-MATTER-8", THREE_PAGE_CONTRACT.read_bytes()).json()
    assert run_to_end(rt, body["run_id"]) == "done"
    before = client.get(f"/api/v1/documents/{body['id']}/results").json()["clauses"]
    assert [c["review"] for c in before] == [None] * len(before)
    target = before[0]
    text = client.get(f"/api/v1/documents/{body['id']}/text?first_page=2&last_page=2").json()
    start = text["pages"][0]["start"] + 3
    decision = {"decision": "corrected", "value": "Corrected value", "start": start}
    posted = client.post(
        f"/api/v1/findings/{target['id']}/review",
        {**decision, "end": start + 40, "note": "wrong party"},
        content_type="application/json",
    )
    assert posted.status_code == 201, posted.json()
    quoted = text["pages"][0]["text"][3:43]
    assert {k: posted.json()[k] for k in ("decision", "value", "text", "page", "note")} == {
        "decision": "corrected",
        "value": "Corrected value",
        "text": quoted,
        "page": 2,
        "note": "wrong party",
    }

    after = client.get(f"/api/v1/documents/{body['id']}/results").json()["clauses"]
    clause = next(c for c in after if c["id"] == target["id"])
    assert (clause["text"], clause["value"]) == (target["text"], target["value"])
    assert (clause["review"]["text"], clause["review"]["reviewer"]) == (
        quoted,
        f"api-key:{key.prefix}",
    )


def test_a_review_that_cannot_stand_or_is_out_of_scope_is_refused(rt: Runtime) -> None:
    client = _client(apikeys.create_key(rt, ADMIN, "acme").secret)
    body = _upload(client, "DMS-MATTER-9", THREE_PAGE_CONTRACT.read_bytes()).json()
    assert run_to_end(rt, body["run_id"]) == "done"
    clause = client.get(f"/api/v1/documents/{body['id']}/results").json()["clauses"][0]
    url = f"/api/v1/findings/{clause['id']}/review"
    for wrong in (
        {"decision": "approved"},
        {"decision": "corrected"},
        {"decision": "corrected", "start": 10**7, "end": 10**7 + 5},
    ):
        refused = client.post(url, wrong, content_type="application/json")
        assert _error(refused) == (400, "invalid"), (wrong, refused.json())
    other = _client(apikeys.create_key(rt, ADMIN, "globex").secret)
    assert _error(other.post(url, {"decision": "confirmed"}, content_type="application/json")) == (
        404,
        "not_found",
    )
    missing = client.post(
        "/api/v1/findings/999999/review", {"decision": "confirmed"}, content_type="application/json"
    )
    assert _error(missing) == (404, "not_found")
    after = client.get(f"/api/v1/documents/{body['id']}/results").json()["clauses"][0]
    assert after["review"] is None


def test_twenty_concurrent_retries_create_one_document(rt: Runtime) -> None:
    key = apikeys.create_key(rt, ADMIN, "acme").secret

    def send(_: int) -> Any:
        return _upload(_client(key), "M-1", idempotency_key="retry-1", **_triple("v1"))

    with ThreadPoolExecutor(20) as pool:
        responses = list(pool.map(send, range(20)))
    assert {r.status_code for r in responses} == {202}
    assert len({r.json()["id"] for r in responses}) == 1
    assert sorted(r.json()["created"] for r in responses) == [False] * 19 + [True]
    assert _count_documents(rt) == 1
    assert len(rt.queue.sent) == 1  # type: ignore[attr-defined]


def _triple(version: str) -> dict[str, str]:
    return {"external_system": "imanage", "external_id": "DOC-42", "external_version": version}


def test_the_same_triple_is_the_same_document_and_a_reused_key_is_refused(rt: Runtime) -> None:
    key = apikeys.create_key(rt, ADMIN, "acme").secret
    client = _client(key)
    first = _upload(client, "M-1", **_triple("v1")).json()
    again = _upload(client, "M-1", idempotency_key="k-2", **_triple("v1")).json()
    assert (again["id"], again["created"]) == (first["id"], False)
    newer = _upload(client, "M-1", **_triple("v2")).json()
    assert newer["id"] != first["id"] and newer["created"] is True
    reused = _upload(client, "M-1", idempotency_key="k-2", **_triple("v3"))
    assert _error(reused) == (409, "idempotency_conflict")
    partial = _upload(client, "M-1", external_system="imanage")
    assert _error(partial) == (400, "invalid")
    assert _count_documents(rt) == 2


def test_limits_answer_413_and_415_and_store_nothing(rt: Runtime, settings: Any = None) -> None:
    from django.test import override_settings

    key = apikeys.create_key(rt, ADMIN, "acme").secret
    client = _client(key)
    not_pdf = _upload(client, "M-1", b"PK\x03\x04 a zip file, whatever its name says")
    assert _error(not_pdf) == (415, "unsupported_media_type")
    with override_settings(MAX_UPLOAD_BYTES=1024):
        too_large = _upload(client, "M-1", PDF + b"\n" * (2 * 1024 * 1024))
    assert _error(too_large) == (413, "too_large")
    assert _count_documents(rt) == 0
    assert not list((rt.settings.blob_dir).glob("*/*"))


ENDPOINTS = ("", "/results", "/text")


def test_outside_the_keys_scope_everything_is_404(rt: Runtime) -> None:
    mine = create_matter(rt, ALICE, "Mine", tenant="acme")
    theirs = create_matter(rt, ALICE, "Theirs", tenant="acme")
    tenant_key = apikeys.create_key(rt, ADMIN, "acme").secret
    matter_key = apikeys.create_key(rt, ADMIN, "acme", matter_ids=(mine,)).secret
    other_tenant = apikeys.create_key(rt, ADMIN, "globex").secret
    in_theirs = _upload(_client(tenant_key), theirs).json()
    in_mine = _upload(_client(tenant_key), mine, ONE_PAGE_CONTRACT.read_bytes() + b"\n").json()
    run_to_end(rt, in_theirs["run_id"])

    for key, document in ((matter_key, in_theirs), (other_tenant, in_mine)):
        client = _client(key)
        for suffix in ENDPOINTS:
            assert _error(client.get(f"/api/v1/documents/{document['id']}{suffix}")) == (
                404,
                "not_found",
            )
        assert _error(client.get(f"/api/v1/runs/{document['run_id']}")) == (404, "not_found")
        assert _error(client.delete(f"/api/v1/documents/{document['id']}")) == (404, "not_found")
    listed = _client(matter_key).get("/api/v1/documents").json()
    assert [d["id"] for d in listed["results"]] == [in_mine["id"]]
    assert _error(_upload(_client(matter_key), theirs)) == (404, "not_found")
    assert _error(_upload(_client(matter_key), "NEW-REF")) == (404, "not_found")
    assert _client(other_tenant).get("/api/v1/documents").json()["results"] == []


def test_delete_is_refused_under_legal_hold_then_purges(rt: Runtime) -> None:
    key = apikeys.create_key(rt, ADMIN, "acme").secret
    client = _client(key)
    sent = _upload(client, "HOLD-1").json()
    matter_id = client.get(f"/api/v1/documents/{sent['id']}").json()["matter_id"]
    retention.set_legal_hold(rt, ADMIN, matter_id, "preservation letter")
    assert _error(client.delete(f"/api/v1/documents/{sent['id']}")) == (409, "legal_hold")
    retention.lift_legal_hold(rt, ADMIN, matter_id)
    assert client.delete(f"/api/v1/documents/{sent['id']}").status_code == 204
    assert _error(client.get(f"/api/v1/documents/{sent['id']}")) == (404, "not_found")
    with reading(rt.engine) as conn:
        actions = [(e.action, e.actor) for e in read_events(conn)]
    prefix = key[:12]
    assert ("document.delete_refused", f"api-key:{prefix}") in actions
    assert ("document.deleted", f"api-key:{prefix}") in actions
    gone = _upload(client, "HOLD-1", **_triple("v1"))
    assert gone.status_code == 202  # no triple on the deleted one: a new document


def test_lists_page_with_a_cursor_and_filter(rt: Runtime) -> None:
    key = apikeys.create_key(rt, ADMIN, "acme").secret
    client = _client(key)
    sent = [_upload(client, "LIST", PDF + b"\n" * n).json()["id"] for n in range(3)]
    first = client.get("/api/v1/documents?limit=2").json()
    second = client.get(f"/api/v1/documents?limit=2&cursor={first['next_cursor']}").json()
    assert [d["id"] for d in first["results"] + second["results"]] == sent[::-1]
    assert second["next_cursor"] is None
    queued = client.get("/api/v1/documents?state=queued").json()["results"]
    assert len(queued) == 3
    assert _error(client.get("/api/v1/documents?state=nonsense")) == (400, "invalid")
    assert _error(client.get("/api/v1/documents?cursor=zzz")) == (400, "invalid")
    assert _error(client.get("/api/v1/documents?limit=0")) == (400, "invalid")


def test_unknown_paths_and_methods_answer_in_the_envelope(rt: Runtime) -> None:
    client = _client(apikeys.create_key(rt, ADMIN, "acme").secret)
    assert _error(client.get("/api/v1/nothing-here")) == (404, "not_found")
    assert _error(client.put("/api/v1/documents")) == (405, "method_not_allowed")


def test_the_schema_and_its_docs_are_served_without_a_key(rt: Runtime) -> None:
    schema = _client().get("/api/v1/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/api/v1/documents", "/api/v1/runs/{run_id}"} <= set(paths)
    assert schema.json()["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"
    docs = _client().get("/api/v1/docs/")
    assert docs.status_code == 200 and b"swagger-ui" in docs.content
    asset = _client().get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css")
    assert asset.status_code == 200


def test_each_key_has_its_own_rate_limit(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    from django.core.cache import cache
    from django.test import override_settings

    from docanalysis.api.auth import ApiKeyThrottle

    cache.clear()
    monkeypatch.setattr(ApiKeyThrottle, "timer", lambda self: 1_000_000.0)  # a stopped clock
    busy = _client(apikeys.create_key(rt, ADMIN, "acme").secret)
    calm = _client(apikeys.create_key(rt, ADMIN, "acme").secret)
    with override_settings(API_RATE="3/min"):
        assert [busy.get("/api/v1/documents").status_code for _ in range(3)] == [200] * 3
        limited = busy.get("/api/v1/documents")
        assert _error(limited) == (429, "rate_limited")
        assert limited["Retry-After"] == "60"  # the whole minute: no time has passed
        assert calm.get("/api/v1/documents").status_code == 200
