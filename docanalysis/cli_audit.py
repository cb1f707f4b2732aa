"""`docanalysis audit verify|checkpoint|export|verify-export`: the audit trail from a shell.

verify walks the chain (and, where a signed checkpoint exists, checks that the chain still
reaches it with the signed hash); checkpoint signs the current head with the key kept outside
the database (DOCANALYSIS_AUDIT_KEY); export writes a package a third party verifies with
standard tools; verify-export checks one and names the first problem.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from docanalysis.config import Settings, load_settings

CLI_ACTOR = "cli"


def cmd_verify(args: argparse.Namespace) -> int:
    from docanalysis.db.audit_parallel import verify_chain_fast
    from docanalysis.db.engine import make_engine

    settings = load_settings()
    checkpoint = _latest_checkpoint(settings)
    head = (int(checkpoint["seq"]), str(checkpoint["hash"])) if checkpoint else None
    engine = make_engine(settings.database_url)
    # A long chain on PostgreSQL is read by as many processes as this one may use CPUs.
    processes = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    try:
        stats = verify_chain_fast(engine, args.tenant, expected_head=head, processes=processes)
    finally:
        engine.dispose()
    check = stats.check
    scope = f" of tenant {args.tenant}" if args.tenant is not None else ""
    against = f", up to the signed checkpoint at event {head[0]}" if head else ""
    if check.ok:
        print(f"audit chain verified: {check.count} events{scope}{against}")
        return 0
    kind = f" ({check.kind})" if check.kind else ""
    print(
        f"audit chain BROKEN at event {check.first_bad_seq}{kind}: {check.problem}",
        file=sys.stderr,
    )
    return 1


def cmd_checkpoint(args: argparse.Namespace) -> int:
    from docanalysis.audit_signing import checkpoints_path, load_or_create_key
    from docanalysis.db.engine import make_engine
    from docanalysis.services.audit_export import AuditChainError, record_checkpoint

    settings = load_settings()
    key = load_or_create_key(settings.audit_key)
    engine = make_engine(settings.database_url)
    try:
        checkpoint = record_checkpoint(engine, key, checkpoints_path(settings.audit_key))
    except AuditChainError as err:
        print(f"docanalysis: no checkpoint signed: {err}", file=sys.stderr)
        return 1
    if checkpoint is None:
        print("the audit trail is empty: nothing to sign")
    else:
        print(f"signed checkpoint: event {checkpoint['seq']}, hash {checkpoint['hash']}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from docanalysis.audit_signing import checkpoints_path, load_or_create_key
    from docanalysis.db.engine import make_engine
    from docanalysis.services.audit_export import export_audit

    settings = load_settings()
    summary = export_audit(
        make_engine(settings.database_url),
        Path(args.out),
        key=load_or_create_key(settings.audit_key),
        actor=CLI_ACTOR,
        tenant_id=args.tenant,
        matter_id=args.matter,
        subject=f"document:{args.document}" if args.document is not None else None,
        since=args.since,
        until=args.until,
        checkpoint_file=checkpoints_path(settings.audit_key),
    )
    print(
        f"{summary.path}: {summary.events} events, sha256 {summary.zip_sha256}"
        + "".join(f"\nwarning: {p}" for p in summary.problems)
    )
    return 0


def cmd_verify_export(args: argparse.Namespace) -> int:
    from docanalysis.services.audit_export import verify_export

    trusted = Path(args.public_key).read_text() if args.public_key else None
    check = verify_export(Path(args.file), trusted_public_key=trusted)
    if check.ok:
        print(f"{args.file}: verified, {check.events} events")
        for note in check.notes:
            print(f"note: {note}")
        return 0
    print(f"{args.file}: NOT verified: {check.problem}", file=sys.stderr)
    return 1


def _latest_checkpoint(settings: Settings) -> dict[str, Any] | None:
    from docanalysis.audit_signing import (
        checkpoints_path,
        latest_checkpoint,
        load_or_create_key,
        public_key_pem,
    )

    if not settings.audit_key.exists():
        return None  # never signed here: the chain alone is checked
    key = load_or_create_key(settings.audit_key)
    return latest_checkpoint(checkpoints_path(settings.audit_key), public_key_pem(key))


def _when(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs a time zone, e.g. 2026-11-27T00:00Z")
    return value


def add_parser(sub: Any) -> None:
    audit = sub.add_parser("audit", help="verify, sign, export the audit trail")
    commands = audit.add_subparsers(dest="audit_command", required=True)
    p = commands.add_parser("verify", help="walk the chain; name the first bad event")
    p.add_argument("--tenant", type=int, default=None, help="only this tenant's events")
    p.set_defaults(func=cmd_verify)
    p = commands.add_parser("checkpoint", help="sign the chain's head (run it periodically)")
    p.set_defaults(func=cmd_checkpoint)
    p = commands.add_parser("export", help="a package a third party can verify")
    p.add_argument("--out", required=True, help="the ZIP file to write")
    p.add_argument("--tenant", type=int, default=None)
    p.add_argument("--matter", type=int, default=None)
    p.add_argument("--document", type=int, default=None)
    p.add_argument("--since", type=_when, default=None, help="ISO time, inclusive")
    p.add_argument("--until", type=_when, default=None, help="ISO time, exclusive")
    p.set_defaults(func=cmd_export)
    p = commands.add_parser("verify-export", help="check an export; name the first problem")
    p.add_argument("file")
    p.add_argument("--public-key", default="", help="PEM file of the key you trust")
    p.set_defaults(func=cmd_verify_export)
