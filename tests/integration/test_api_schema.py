"""Schemathesis against the served schema, on loopback: the API, served by a real WSGI server
on 127.0.0.1, answers every generated request without a server error and within its own
schema (status codes, content types, bodies)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from docanalysis.services import apikeys
from docanalysis.services.matters import create_matter
from docanalysis.services.submit import submit_document
from docanalysis.services.views import Actor
from tests.conftest import ONE_PAGE_CONTRACT
from tests.integration.test_pipeline import ALICE, runtime
from tests.support.fakes import FixedGuard


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def served(
    django_ready: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """(base URL, API key) of the API served on an ephemeral loopback port."""
    from django.core.wsgi import get_wsgi_application
    from django.test import override_settings

    from docanalysis.db.migrate import upgrade_database

    data = tmp_path_factory.mktemp("api-schema")
    url = f"sqlite:///{data / 'api.sqlite3'}"
    upgrade_database(url)
    rt = runtime(url, Path(data), FixedGuard())
    matter_id = create_matter(rt, ALICE, "Schema", tenant="acme")
    submit_document(rt, ALICE, matter_id, "c.pdf", ONE_PAGE_CONTRACT.read_bytes())
    key = apikeys.create_key(rt, Actor(None, "test"), "acme").secret
    server: WSGIServer = make_server("127.0.0.1", 0, get_wsgi_application(), handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    with pytest.MonkeyPatch.context() as mp, override_settings(API_RATE="100000/min"):
        mp.setattr("docanalysis.web.views.common.get_runtime", lambda: rt)
        thread.start()
        yield f"http://127.0.0.1:{server.server_port}", key
        server.shutdown()
    rt.engine.dispose()


def test_the_api_keeps_to_its_schema(served: tuple[str, str]) -> None:
    base, key = served
    schema = schemathesis.openapi.from_url(f"{base}/api/v1/schema/?format=json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8  # every endpoint is in the schema
    for operation in operations:
        _check(operation, base, {"Authorization": f"Bearer {key}"})


# What a schema cannot say, so a request it allows may rightly be refused: an upload must be a
# PDF by its content (415), and a URL must not name a private address (400 url_refused).
CONTENT_RULES = {("POST", "/api/v1/documents"), ("POST", "/api/v1/webhooks")}


def _check(operation: Any, base: str, headers: dict[str, str]) -> None:
    excluded = []
    if (operation.method.upper(), operation.path) in CONTENT_RULES:
        excluded.append(positive_data_acceptance)

    @given(case=operation.as_strategy())
    @settings(
        max_examples=25,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(base_url=base, headers=headers, excluded_checks=excluded)

    run()
