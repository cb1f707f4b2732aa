"""Tenant-wide roles over a real database: a grant or a revocation is a permission change,
audited in the same transaction; roles never reach across tenants."""

from __future__ import annotations

from pathlib import Path

import pytest

from docanalysis.db.audit import read_events
from docanalysis.db.engine import reading
from docanalysis.services import roles
from docanalysis.services.errors import Rejected
from docanalysis.services.runtime import Runtime
from docanalysis.services.views import Actor
from tests.integration.test_pipeline import runtime
from tests.support.fakes import FixedGuard

ADMIN = Actor(user_id=1, identity="ada <ada@firm.example>", request_id="req-7")


@pytest.fixture
def rt(db_url: str, tmp_path: Path) -> Runtime:
    return runtime(db_url, tmp_path, FixedGuard())


def test_granting_and_revoking_a_role_is_audited_once(rt: Runtime) -> None:
    assert roles.roles_of(rt, 5) == set()
    assert roles.grant_role(rt, ADMIN, 5, "olga", "compliance") is True
    assert roles.grant_role(rt, ADMIN, 5, "olga", "compliance") is False  # already held
    assert roles.roles_of(rt, 5) == {"compliance"}
    assert roles.revoke_role(rt, ADMIN, 5, "olga", "compliance") is True
    assert roles.revoke_role(rt, ADMIN, 5, "olga", "compliance") is False
    assert roles.roles_of(rt, 5) == set()
    with reading(rt.engine) as conn:
        events = read_events(conn)
    assert [(e.action, e.subject, e.actor, e.request_id, e.details) for e in events] == [
        (action, "user:5", ADMIN.identity, "req-7", {"role": "compliance", "username": "olga"})
        for action in ("user.role_granted", "user.role_revoked")
    ]


def test_roles_belong_to_one_tenant(rt: Runtime) -> None:
    roles.grant_role(rt, ADMIN, 5, "olga", "tenant-admin", tenant="acme")
    assert roles.roles_of(rt, 5, "acme") == {"tenant-admin"}
    assert roles.roles_of(rt, 5, "default") == set()


def test_an_unknown_role_is_refused_without_an_event(rt: Runtime) -> None:
    with pytest.raises(Rejected, match="unknown role 'auditor'"):
        roles.grant_role(rt, ADMIN, 5, "olga", "auditor")
    with reading(rt.engine) as conn:
        assert read_events(conn) == []
