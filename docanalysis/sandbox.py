"""Run extract_pdf in a child process with time and memory limits.

A hostile PDF can make pypdf loop or allocate without bound (pdfjs/bug1978317.pdf: ~30 s and
400+ MB for one page). Only a separate process can be stopped safely, so the parent never
parses untrusted bytes itself.

The child is a fresh interpreter (`python -m docanalysis.sandbox`), never a fork: workers carry
torch and its threads, and forking a threaded process is unsafe. For the same reason the
limits are set by the child on itself, first thing, instead of through `preexec_fn` (which
forces a fork of the parent and is not thread-safe): no untrusted byte is parsed before they
apply.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from docanalysis.core.errors import ExtractionError
from docanalysis.core.extraction import extract_pdf, malformed_reason
from docanalysis.core.types import ExtractedDocument, Page

# Exit status of a child that ran out of memory but could still say so.
_EXIT_OUT_OF_MEMORY = 3
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[1])

log = logging.getLogger(__name__)


def timeout_reason(seconds: int) -> str:
    return (
        f"reading this PDF took longer than {seconds} seconds; "
        "it may be damaged or built to exhaust readers"
    )


def too_complex_reason(memory_mb: int) -> str:
    return (
        f"reading this PDF needed more than {memory_mb} MB of memory; "
        "it may be damaged or built to exhaust readers"
    )


def extract_in_sandbox(
    data: bytes, *, timeout_s: int, memory_mb: int, max_pages: int, include_hidden: bool = False
) -> ExtractedDocument:
    """extract_pdf in a limited child. Raises ExtractionError with a user-facing reason.
    Text a reader cannot see is left out unless `include_hidden` (see extract_pdf)."""
    command = [
        sys.executable,
        "-m",
        "docanalysis.sandbox",
        f"--timeout-s={timeout_s}",
        f"--memory-mb={memory_mb}",
        f"--max-pages={max_pages}",
    ]
    if include_hidden:
        command.append("--include-hidden")
    try:
        done = subprocess.run(
            command,
            input=data,
            capture_output=True,
            timeout=timeout_s,
            env=_child_env(),
            check=False,
        )
    except subprocess.TimeoutExpired as exc:  # run() has already killed the child
        raise ExtractionError(timeout_reason(timeout_s), code="timeout") from exc
    return _result(done, timeout_s=timeout_s, memory_mb=memory_mb)


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    # The child must import this package even where it is not installed (a source checkout).
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
    return env


def _result(
    done: subprocess.CompletedProcess[bytes], *, timeout_s: int, memory_mb: int
) -> ExtractedDocument:
    status = done.returncode
    if status == -signal.SIGXCPU:
        raise ExtractionError(timeout_reason(timeout_s), code="timeout")
    if status == _EXIT_OUT_OF_MEMORY or status == -signal.SIGKILL:
        # SIGKILL that we did not send: the kernel's OOM killer.
        raise ExtractionError(too_complex_reason(memory_mb), code="too_complex")
    try:
        payload = json.loads(done.stdout)
    except ValueError:
        payload = None
    if status != 0 or not isinstance(payload, dict):
        # A crash in the reader (a signal, a C stack overflow): the PDF's fault, said plainly;
        # the details go to the log, never to the user.
        log.warning("pdf sandbox failed: status %s, stderr %r", status, done.stderr[-2000:])
        raise ExtractionError(malformed_reason("the reader stopped on it"), code="malformed")
    if "error" in payload:
        error = payload["error"]
        raise ExtractionError(str(error["reason"]), code=str(error["code"]))
    return document_from_json(payload["document"])


def document_to_json(document: ExtractedDocument) -> dict[str, Any]:
    return {
        "sha256": document.sha256,
        "text": document.text,
        "pages": [[p.number, p.start, p.end] for p in document.pages],
        "warnings": list(document.warnings),
    }


def document_from_json(data: dict[str, Any]) -> ExtractedDocument:
    return ExtractedDocument(
        sha256=str(data["sha256"]),
        text=str(data["text"]),
        pages=tuple(Page(number=n, start=s, end=e) for n, s, e in data["pages"]),
        warnings=tuple(str(w) for w in data["warnings"]),
    )


def _limit_self(timeout_s: int, memory_mb: int) -> None:
    import resource  # Unix only; imported here so the parent imports this module anywhere

    memory = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    # CPU time backs up the parent's wall-clock timeout; the hard limit (SIGKILL) one second on.
    resource.setrlimit(resource.RLIMIT_CPU, (timeout_s, timeout_s + 1))


def _child(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="docanalysis.sandbox")
    parser.add_argument("--timeout-s", type=int, required=True)
    parser.add_argument("--memory-mb", type=int, required=True)
    parser.add_argument("--max-pages", type=int, required=True)
    parser.add_argument("--include-hidden", action="store_true")
    args = parser.parse_args(argv)
    _limit_self(args.timeout_s, args.memory_mb)
    # pypdf logs a warning per oddity; a hostile file can produce millions of them.
    logging.getLogger("pypdf").setLevel(logging.CRITICAL)
    out = sys.stdout
    sys.stdout = sys.stderr  # nothing but our JSON may reach the parent's stdout
    data = sys.stdin.buffer.read()
    try:
        document = extract_pdf(data, max_pages=args.max_pages, include_hidden=args.include_hidden)
        payload: dict[str, Any] = {"document": document_to_json(document)}
    except ExtractionError as exc:
        payload = {"error": {"code": exc.code, "reason": exc.reason}}
    except MemoryError:
        return _EXIT_OUT_OF_MEMORY
    except Exception:  # extract_pdf maps pypdf failures; this is the last net
        log.exception("unexpected failure in the pdf sandbox")
        reason = malformed_reason("the reader stopped on it")
        payload = {"error": {"code": "malformed", "reason": reason}}
    try:
        json.dump(payload, out)
        out.flush()
    except MemoryError:
        return _EXIT_OUT_OF_MEMORY
    return 0


if __name__ == "__main__":
    sys.exit(_child())
