"""`python manage.py apikey create --tenant T [--matter M ...] [--expires DAYS] [--name N]`
prints a new API key (shown this once); `python manage.py apikey revoke PREFIX` revokes one.
Both are audited (services.apikeys)."""

from __future__ import annotations

import getpass
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from docanalysis.db.tenancy import EVERY, tenant_scope
from docanalysis.services import apikeys
from docanalysis.services.errors import NotFound, Rejected
from docanalysis.services.views import Actor
from docanalysis.web.views.common import runtime


class Command(BaseCommand):
    help = "Create (printed once) or revoke a REST API key; audited."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="command", required=True)
        create = commands.add_parser("create", help="a key for a tenant, or some of its matters")
        create.add_argument("--tenant", required=True, help="created if it does not exist yet")
        create.add_argument("--matter", type=int, action="append", default=[], help="repeatable")
        create.add_argument("--expires", type=int, default=None, help="days until it expires")
        create.add_argument("--name", default="", help="what the key is for, e.g. the DMS")
        revoke = commands.add_parser("revoke", help="stop a key at once")
        revoke.add_argument("prefix", help="the key's prefix, dak_ and 8 characters")

    def handle(self, *args: Any, **options: Any) -> None:
        with tenant_scope(EVERY):  # an operator's command acts on every tenant
            self._handle(options)

    def _handle(self, options: dict[str, Any]) -> None:
        actor = Actor(user_id=None, identity=f"cli:{getpass.getuser()}")
        try:
            if options["command"] == "create":
                self._create(actor, options)
            else:
                apikeys.revoke_key(runtime(), actor, options["prefix"])
                self.stdout.write(f"revoked {options['prefix']}")
        except (Rejected, NotFound) as err:
            raise CommandError(err.reason) from None

    def _create(self, actor: Actor, options: dict[str, Any]) -> None:
        new = apikeys.create_key(
            runtime(),
            actor,
            options["tenant"],
            matter_ids=tuple(options["matter"]),
            expires_days=options["expires"],
            name=options["name"],
        )
        if new.tenant_created:
            self.stderr.write(f"created the tenant {new.tenant!r}, which did not exist yet")
        scope = f"matters {', '.join(map(str, new.matter_ids))}" if new.matter_ids else "tenant"
        expiry = new.expires_at.isoformat() if new.expires_at else "never"
        self.stderr.write(
            f"API key {new.prefix} for {scope} of {new.tenant!r}, expires {expiry}. "
            "It is shown once: store it now."
        )
        self.stdout.write(new.secret)
