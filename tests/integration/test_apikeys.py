"""API keys over a real database (SQLite and PostgreSQL): shown once, stored as a hash, scoped,
expiring, revocable at once; created and revoked with an audit event that never holds the key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from docanalysis.db import repositories as repo
from docanalysis.db.audit import read_events
from docanalysis.db.engine import reading
from docanalysis.db.tables import api_keys
from docanalysis.services import apikeys
from docanalysis.services.errors import NotFound, Rejected
from docanalysis.services.matters import create_matter
from docanalysis.services.runtime import Runtime
from docanalysis.services.views import Actor
from tests.integration.test_pipeline import ALICE, runtime
from tests.support.fakes import FixedGuard

ADMIN = Actor(user_id=1, identity="ada <ada@firm.example>")


@pytest.fixture
def rt(db_url: str, tmp_path: Path) -> Runtime:
    return runtime(db_url, tmp_path, FixedGuard())


def test_a_key_is_shown_once_stored_as_a_hash_and_audited_without_it(rt: Runtime) -> None:
    new = apikeys.create_key(rt, ADMIN, "acme", name="iManage  connector", expires_days=30)
    assert new.tenant_created is True
    assert apikeys.KEY_PATTERN.fullmatch(new.secret)
    assert new.secret.startswith(new.prefix + "_") and len(new.prefix) == 12
    with reading(rt.engine) as conn:
        row = conn.execute(select(api_keys)).one()
        (event,) = read_events(conn)
    assert new.secret not in str(tuple(row))  # only its hash
    assert (row.prefix, row.name, row.created_by) == (
        new.prefix,
        "iManage connector",
        ADMIN.identity,
    )
    assert (event.action, event.subject, event.actor) == (
        "api_key.created",
        f"api_key:{new.prefix}",
        ADMIN.identity,
    )
    assert new.secret not in str(event.as_row()) and new.secret[13:] not in str(event.as_row())
    assert event.details["tenant_created"] is True and event.details["matters"] == []
    again = apikeys.create_key(rt, ADMIN, "acme")
    assert again.tenant_created is False and again.prefix != new.prefix


def test_authenticate_accepts_only_the_whole_live_key(rt: Runtime) -> None:
    new = apikeys.create_key(rt, ADMIN, "acme", expires_days=1)
    principal = apikeys.authenticate(rt, new.secret)
    assert principal is not None
    assert (principal.prefix, principal.matter_ids, principal.identity) == (
        new.prefix,
        None,
        f"api-key:{new.prefix}",
    )
    wrong = new.secret[:-1] + ("A" if new.secret[-1] != "A" else "B")
    for presented in (wrong, new.prefix, "", "Bearer " + new.secret, new.secret + "x"):
        assert apikeys.authenticate(rt, presented) is None, presented
    later = repo.now() + timedelta(days=1, seconds=1)
    assert apikeys.authenticate(rt, new.secret, at=later) is None  # expired


def test_a_revoked_key_stops_at_once_and_revocation_is_audited(rt: Runtime) -> None:
    new = apikeys.create_key(rt, ADMIN, "acme")
    apikeys.revoke_key(rt, ADMIN, new.prefix)
    assert apikeys.authenticate(rt, new.secret) is None
    with pytest.raises(Rejected, match="already revoked"):
        apikeys.revoke_key(rt, ADMIN, new.prefix)
    with pytest.raises(NotFound):
        apikeys.revoke_key(rt, ADMIN, "dak_aaaaaaaa")
    with reading(rt.engine) as conn:
        revoked = read_events(conn)[-1]
    assert (revoked.action, revoked.subject) == ("api_key.revoked", f"api_key:{new.prefix}")


def test_a_key_scoped_to_matters_may_use_only_those(rt: Runtime) -> None:
    first = create_matter(rt, ALICE, "First", tenant="acme")
    second = create_matter(rt, ALICE, "Second", tenant="acme")
    other = create_matter(rt, ALICE, "Elsewhere", tenant="globex")
    new = apikeys.create_key(rt, ADMIN, "acme", matter_ids=(first,))
    principal = apikeys.authenticate(rt, new.secret)
    assert principal is not None and principal.matter_ids == frozenset({first})
    assert (principal.may_use(first), principal.may_use(second)) == (True, False)
    with pytest.raises(Rejected, match=f"matter {other} is not a matter of this tenant"):
        apikeys.create_key(rt, ADMIN, "acme", matter_ids=(other,))
    with pytest.raises(Rejected, match="expires after 1 to"):
        apikeys.create_key(rt, ADMIN, "acme", expires_days=0)
    with pytest.raises(NotFound):  # a tenant admin revokes only their tenant's keys
        tenant = apikeys.authenticate(rt, apikeys.create_key(rt, ADMIN, "globex").secret)
        assert tenant is not None
        apikeys.revoke_key(rt, ADMIN, new.prefix, tenant_id=tenant.tenant_id)
