"""Documents by URL: POST /api/v1/documents with a JSON body naming a URL the server fetches,
from a real HTTP server on 127.0.0.1 (private addresses allowed for these tests), under the
upload limit, and refused by the SSRF rules when private addresses are not allowed."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from docanalysis.db.audit import read_events
from docanalysis.db.engine import reading
from docanalysis.services import apikeys, fetch
from docanalysis.services.errors import Rejected
from docanalysis.services.runtime import Runtime
from docanalysis.services.steps import run_to_end
from tests.conftest import ONE_PAGE_CONTRACT
from tests.integration.test_api import ADMIN, _client, _count_documents, _error
from tests.support.http_server import Answer, LocalServer, local_server, self_signed

PDF = ONE_PAGE_CONTRACT.read_bytes()


@pytest.fixture
def rt(views_rt: Runtime) -> Runtime:
    views_rt.settings = dataclasses.replace(views_rt.settings, allow_private_urls=True)
    return views_rt


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with local_server() as running:
        running.answers.update(
            {
                "/dms/contract.pdf": Answer(200, PDF, {"Content-Type": "application/pdf"}),
                "/dms/notes.bin": Answer(200, b"PK\x03\x04 a zip, whatever it claims"),
                "/dms/moved.pdf": Answer(302, b"", {"Location": "/dms/contract.pdf"}),
            }
        )
        yield running


def _send(key: str, body: dict[str, Any], **headers: str) -> Any:
    return _client(key).post(
        "/api/v1/documents", json.dumps(body), content_type="application/json", **headers
    )


def test_a_pdf_by_url_is_fetched_submitted_and_analyzed(rt: Runtime, server: LocalServer) -> None:
    key = apikeys.create_key(rt, ADMIN, "acme").secret
    url = server.url("/dms/contract.pdf")
    accepted = _send(
        key,
        {"url": url, "matter": "M-URL", "external_system": "imanage", "external_id": "D-1"}
        | {"external_version": "1"},
    )
    assert accepted.status_code == 202, accepted.content
    body = accepted.json()
    assert body["created"] is True and accepted["Location"] == body["status_url"]
    seen = server.received("/dms/contract.pdf")
    assert [(s.method, s.headers["host"]) for s in seen] == [("GET", url.split("/")[2])]
    assert run_to_end(rt, body["run_id"]) == "done"
    document = _client(key).get(f"/api/v1/documents/{body['id']}").json()
    assert (document["name"], document["size_bytes"], document["external_id"]) == (
        "contract.pdf",
        len(PDF),
        "D-1",
    )
    again = _send(
        key,
        {"url": url, "matter": "M-URL", "external_system": "imanage", "external_id": "D-1"}
        | {"external_version": "1"},
    )
    assert (again.status_code, again.json()["id"], again.json()["created"]) == (
        202,
        body["id"],
        False,
    )


def test_what_is_not_a_pdf_too_large_or_not_there_is_refused_and_nothing_stored(
    rt: Runtime, server: LocalServer
) -> None:
    from django.test import override_settings

    key = apikeys.create_key(rt, ADMIN, "acme").secret
    not_pdf = _send(key, {"url": server.url("/dms/notes.bin"), "matter": "M-1"})
    assert _error(not_pdf) == (415, "unsupported_media_type")
    missing = _send(key, {"url": server.url("/dms/gone.pdf"), "matter": "M-1"})
    assert _error(missing) == (400, "url_unreachable")
    assert missing.json()["error"]["message"] == "the URL answered HTTP 404"
    moved = _send(key, {"url": server.url("/dms/moved.pdf"), "matter": "M-1"})
    assert _error(moved) == (400, "url_unreachable")
    assert "redirects are not followed" in moved.json()["error"]["message"]
    server.answers["/dms/big.pdf"] = Answer(200, PDF + b"\n" * 4096)
    server.answers["/dms/endless.pdf"] = Answer(200, PDF, stream_extra=50 * 1024 * 1024)
    with override_settings(MAX_UPLOAD_BYTES=len(PDF) + 1024):
        declared = _send(key, {"url": server.url("/dms/big.pdf"), "matter": "M-1"})
        endless = _send(key, {"url": server.url("/dms/endless.pdf"), "matter": "M-1"})
    assert _error(declared) == (413, "too_large")
    assert _error(endless) == (413, "too_large")  # no Content-Length: counted while read
    assert _count_documents(rt) == 0
    assert not list(rt.settings.blob_dir.glob("*/*"))


def test_an_unreachable_host_and_a_bad_body_answer_400(rt: Runtime, server: LocalServer) -> None:
    key = apikeys.create_key(rt, ADMIN, "acme").secret
    closed = _send(key, {"url": "http://127.0.0.1:9/contract.pdf", "matter": "M-1"})
    assert _error(closed) == (400, "url_unreachable")
    no_url = _send(key, {"matter": "M-1"})
    assert _error(no_url) == (400, "invalid")
    assert set(no_url.json()["error"]["details"]) == {"url"}
    assert _count_documents(rt) == 0


def test_without_allow_private_a_loopback_url_is_refused_and_never_fetched(
    rt: Runtime, server: LocalServer
) -> None:
    rt.settings = dataclasses.replace(rt.settings, allow_private_urls=False)
    key = apikeys.create_key(rt, ADMIN, "acme").secret
    for url in (
        server.url("/dms/contract.pdf"),
        server.url("/dms/contract.pdf").replace("127.0.0.1", "localhost"),
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:127.0.0.1]/dms/contract.pdf",
        "ftp://127.0.0.1/contract.pdf",
        "http://user:secret@example.com/contract.pdf",
    ):
        refused = _send(key, {"url": url, "matter": "M-1"})
        assert _error(refused) == (400, "url_refused"), url
    assert server.seen == []
    assert _count_documents(rt) == 0
    with reading(rt.engine) as conn:
        assert [e.action for e in read_events(conn)] == ["api_key.created"]


def test_the_request_goes_to_the_checked_address_with_the_urls_host_name(
    server: LocalServer,
) -> None:
    # The name resolves once, for the check; the connection goes to that address and the
    # name travels as the Host header (and, for https, as the TLS server name).
    asked: list[tuple[str, int]] = []

    def resolve(host: str, port: int) -> list[str]:
        asked.append((host, port))
        return ["127.0.0.1"]

    port = int(server.base_url.rsplit(":", 1)[1])
    url = f"http://dms.example.test:{port}/dms/contract.pdf"
    limits = fetch.FetchLimits(max_bytes=len(PDF), timeout_s=5, allow_private=True)
    fetched = fetch.fetch_document(url, limits, resolve=resolve)
    assert (fetched.filename, fetched.data) == ("contract.pdf", PDF)
    assert asked == [("dms.example.test", port)]
    [seen] = server.received("/dms/contract.pdf")
    assert seen.headers["host"] == f"dms.example.test:{port}"
    assert seen.headers["accept-encoding"] == "identity"
    with pytest.raises(Rejected) as too_large:
        fetch.fetch_document(url, dataclasses.replace(limits, max_bytes=len(PDF) - 1), resolve)
    assert too_large.value.code == "too_large"


def test_https_goes_to_the_checked_address_with_sni_and_a_verified_certificate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server_tls, client_tls, asked = self_signed("dms.example.test")
    real_client = httpx.Client
    # The client trusts the test's certificate (and nothing else); the code is as deployed.
    monkeypatch.setattr(httpx, "Client", lambda **kw: real_client(verify=client_tls, **kw))
    limits = fetch.FetchLimits(max_bytes=len(PDF), timeout_s=5, allow_private=True)
    with local_server(server_tls) as server:
        server.answers["/c.pdf"] = Answer(200, PDF)
        port = int(server.base_url.rsplit(":", 1)[1])
        fetched = fetch.fetch_document(
            f"https://dms.example.test:{port}/c.pdf", limits, lambda host, port: ["127.0.0.1"]
        )
        assert fetched.data == PDF
        assert asked == ["dms.example.test"]
        assert server.received("/c.pdf")[0].headers["host"] == f"dms.example.test:{port}"
        with pytest.raises(fetch.UrlUnreachable, match="not valid for 'other.example.test'"):
            fetch.fetch_document(
                f"https://other.example.test:{port}/c.pdf", limits, lambda h, p: ["127.0.0.1"]
            )


def test_the_schema_documents_both_bodies(rt: Runtime) -> None:
    schema = _client().get("/api/v1/schema/?format=json").json()
    content = schema["paths"]["/api/v1/documents"]["post"]["requestBody"]["content"]
    assert set(content) == {"multipart/form-data", "application/json"}
    ref = content["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert set(schema["components"]["schemas"][ref]["required"]) == {"url", "matter"}
