"""PostgreSQL login roles of a test's own: how the application's role is reached in tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import make_url

from docanalysis.db.engine import make_engine, transaction

# What a deployment grants the application's login (deploy/postgres-init.sh): membership of
# docanalysis_app (migration 0006), nothing else.
APP_LOGIN = "CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS IN ROLE docanalysis_app"


@contextmanager
def login_role(url: str, prefix: str, *grants: str) -> Iterator[str]:
    """`url` reached as a new login role that owns nothing, set up by `grants` ({role} in each
    is the role's name); dropped afterwards."""
    role = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = make_engine(url)
    try:
        with transaction(admin) as conn:
            for grant in grants:
                conn.execute(text(grant.format(role=role)))
        yield make_url(url).set(username=role).render_as_string(hide_password=False)
    finally:
        with transaction(admin) as conn:
            conn.execute(text(f"DROP OWNED BY {role}"))
            conn.execute(text(f"DROP ROLE {role}"))
        admin.dispose()
