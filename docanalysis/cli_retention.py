"""`docanalysis hold set|lift` and `docanalysis retention set|purge`: legal hold and retention
from the command line, audited like the browser's actions (the actor is "cli:<OS user>")."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from docanalysis.config import load_settings
from docanalysis.services.runtime import Runtime
from docanalysis.services.views import Actor


def _runtime() -> Runtime:
    from docanalysis.services.runtime import build_runtime
    from workers.queue import InProcessQueue

    return build_runtime(load_settings(), queue=InProcessQueue())


def _actor() -> Actor:
    return Actor(user_id=None, identity=f"cli:{getpass.getuser()}")


def cmd_hold_set(args: argparse.Namespace) -> int:
    from docanalysis.services.retention import set_legal_hold

    set_legal_hold(_runtime(), _actor(), args.matter, args.reason)
    print(f"matter {args.matter} is under legal hold: nothing in it can be deleted")
    return 0


def cmd_hold_lift(args: argparse.Namespace) -> int:
    from docanalysis.services.retention import lift_legal_hold

    lift_legal_hold(_runtime(), _actor(), args.matter, args.reason)
    print(f"legal hold lifted on matter {args.matter}")
    return 0


def cmd_retention_set(args: argparse.Namespace) -> int:
    from docanalysis.services.retention import set_retention

    days = None if args.keep else args.days
    set_retention(_runtime(), _actor(), days, tenant=args.tenant, matter_id=args.matter)
    scope = f"matter {args.matter}" if args.matter is not None else f"tenant {args.tenant!r}"
    kept = "kept until deleted" if days is None else f"purged {days} days after upload"
    print(f"documents of {scope} are {kept}")
    return 0


def cmd_retention_purge(args: argparse.Namespace) -> int:
    from docanalysis.services.retention import purge_expired

    report = purge_expired(_runtime())
    print(f"purged {len(report.purged)} documents whose retention period ended")
    for matter_id, documents in sorted(report.held.items()):
        print(
            f"matter {matter_id} is under legal hold: {len(documents)} expired documents kept",
            file=sys.stderr,
        )
    return 0


def add_parser(sub: Any) -> None:
    hold = sub.add_parser("hold", help="put a matter under legal hold, or lift it")
    commands = hold.add_subparsers(dest="hold_command", required=True)
    p = commands.add_parser("set", help="nothing in the matter may be deleted or purged")
    p.add_argument("--matter", type=int, required=True)
    p.add_argument("--reason", required=True, help="why (an auditor reads it)")
    p.set_defaults(func=cmd_hold_set)
    p = commands.add_parser("lift", help="end the hold")
    p.add_argument("--matter", type=int, required=True)
    p.add_argument("--reason", default="")
    p.set_defaults(func=cmd_hold_lift)

    retention = sub.add_parser("retention", help="retention periods and the purge")
    commands = retention.add_subparsers(dest="retention_command", required=True)
    p = commands.add_parser("set", help="how long documents are kept after upload")
    period = p.add_mutually_exclusive_group(required=True)
    period.add_argument("--days", type=int)
    period.add_argument("--keep", action="store_true", help="no period: keep until deleted")
    scope = p.add_mutually_exclusive_group()
    scope.add_argument("--tenant", default="default", help="the tenant's default period")
    scope.add_argument("--matter", type=int, default=None, help="this matter's own period")
    p.set_defaults(func=cmd_retention_set)
    p = commands.add_parser("purge", help="purge documents whose period ended (not on hold)")
    p.set_defaults(func=cmd_retention_purge)
