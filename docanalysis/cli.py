"""The command line: `docanalysis extract|plan|analyze|migrate|serve|audit|eval|hold|retention`.

extract and analyze need no server; analyze records its run and audit events in the configured
database like the web does. stdout carries only the result; progress and errors go to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from docanalysis.config import load_settings
from docanalysis.core.errors import DocAnalysisError
from docanalysis.core.types import Page
from docanalysis.db.tenancy import EVERY, tenant_scope


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as err:
        raise DocAnalysisError(f"cannot read {path}: {err.strerror}", code="unreadable") from None


def _page_json(page: Page) -> dict[str, object]:
    """A page's offsets, and how its text was obtained: OCR (a scan), with its confidence."""
    row: dict[str, object] = {"number": page.number, "start": page.start, "end": page.end}
    row["ocr"] = page.ocr
    if page.ocr:
        row["ocr_confidence"] = page.ocr_confidence
    return row


def cmd_extract(args: argparse.Namespace) -> int:
    from docanalysis.sandbox import extract_with_settings

    doc = extract_with_settings(load_settings(), _read(args.file))
    if args.format == "json":
        pages = [_page_json(p) for p in doc.pages]
        payload = {"sha256": doc.sha256, "text": doc.text, "pages": pages}
        if doc.warnings:
            payload["warnings"] = list(doc.warnings)
        json.dump(payload, sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(doc.text + "\n")
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    from docanalysis.cli_analyze import analyze_file

    return analyze_file(args.file, args.format)


def cmd_plan(args: argparse.Namespace) -> int:
    from docanalysis.cli_plan import plan_file

    return plan_file(args.file, args.window_tokens)


def cmd_migrate(args: argparse.Namespace) -> int:
    from docanalysis.serving import migrate_all

    migrate_all(load_settings())
    print("database migrated (domain schema and Django's tables)", file=sys.stderr)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from docanalysis.serving import serve

    return serve(load_settings(), args.host, args.port, workers=args.workers)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="docanalysis", description=__doc__)
    sub = root.add_subparsers(dest="command", required=True)
    p = sub.add_parser("extract", help="print a PDF's text and its pages as offsets")
    p.add_argument("file")
    p.add_argument("--format", choices=("json", "text"), default="json")
    p.set_defaults(func=cmd_extract)
    p = sub.add_parser(
        "analyze", help="summary and cited clauses of a PDF, .docx or .txt, no server"
    )
    p.add_argument("file")
    p.add_argument("--format", choices=("json", "markdown"), default="json")
    p.set_defaults(func=cmd_analyze)
    p = sub.add_parser("plan", help="provisions, windows and projected usage; no model call")
    p.add_argument("file", help="a PDF or a plain-text (.txt) file")
    p.add_argument(
        "--window-tokens",
        type=int,
        default=None,
        help="window size in tokens (default: the model's context, at most 128K)",
    )
    p.add_argument("--format", choices=("json",), default="json")
    p.set_defaults(func=cmd_plan)
    p = sub.add_parser("migrate", help="migrate both schemas (Alembic's and Django's)")
    p.set_defaults(func=cmd_migrate)
    p = sub.add_parser("serve", help="start the web server and a worker")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=2, help="web server processes")
    p.set_defaults(func=cmd_serve)
    from docanalysis.cli_eval import add_parser as add_eval_parser

    add_eval_parser(sub)
    from docanalysis.cli_audit import add_parser as add_audit_parser
    from docanalysis.cli_audit import cmd_verify as cmd_verify_audit

    add_audit_parser(sub)
    from docanalysis.cli_retention import add_parser as add_retention_parser

    add_retention_parser(sub)
    p = sub.add_parser("verify-audit", help="the same as `audit verify`")
    p.set_defaults(func=cmd_verify_audit, tenant=None)
    return root


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    try:
        # An operator's command acts on every tenant; migrate, before there are any tables.
        with tenant_scope(frozenset() if args.func is cmd_migrate else EVERY):
            code = args.func(args)
    except DocAnalysisError as err:
        print(f"docanalysis: {err.reason}", file=sys.stderr)
        code = 1
    except ValueError as err:  # bad settings
        print(f"docanalysis: {err}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        code = 130
    raise SystemExit(code)
