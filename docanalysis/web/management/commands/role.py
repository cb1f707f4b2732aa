"""`python manage.py role grant|revoke --user NAME --role compliance|tenant-admin [--tenant T]`:
give or take a tenant-wide role; audited as a permission change (services.roles)."""

from __future__ import annotations

import getpass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from docanalysis.db.tables import TENANT_ROLES
from docanalysis.db.tenancy import EVERY, tenant_scope
from docanalysis.services import roles
from docanalysis.services.errors import Rejected
from docanalysis.services.matters import DEFAULT_TENANT
from docanalysis.services.views import Actor
from docanalysis.web.views.common import runtime


class Command(BaseCommand):
    help = "Grant or revoke a tenant-wide role (compliance, tenant-admin); audited."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=("grant", "revoke"))
        parser.add_argument("--user", required=True, help="the user's login name")
        parser.add_argument("--role", required=True, choices=TENANT_ROLES)
        parser.add_argument("--tenant", default=DEFAULT_TENANT)

    def handle(self, *args: Any, **options: Any) -> None:
        with tenant_scope(EVERY):  # an operator's command acts on every tenant
            self._handle(options)

    def _handle(self, options: dict[str, Any]) -> None:
        name, role, tenant = options["user"], options["role"], options["tenant"]
        try:
            user = get_user_model().objects.get(username=name)
        except get_user_model().DoesNotExist:
            raise CommandError(f"no user named {name!r}") from None
        change = roles.grant_role if options["action"] == "grant" else roles.revoke_role
        actor = Actor(user_id=None, identity=f"cli:{getpass.getuser()}")
        try:
            changed = change(runtime(), actor, user.pk, name, role, tenant)
        except Rejected as err:
            raise CommandError(err.reason) from None
        verb = "now holds" if options["action"] == "grant" else "no longer holds"
        if not changed:
            verb = "already holds" if options["action"] == "grant" else "did not hold"
        self.stdout.write(f"{name} {verb} the role {role} in tenant {tenant!r}")
