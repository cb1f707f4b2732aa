"""Run extract_pdf in a child process with time, CPU and memory limits.

A hostile PDF can make pypdf loop or allocate without bound (pdfjs/bug1978317.pdf: ~12 s and
~430 MB for one page). Only a separate process can be stopped safely, so the parent never
parses untrusted bytes itself.

The child is a fresh interpreter (`python -m docanalysis.sandbox`), never a fork: workers carry
torch and its threads, and forking a threaded process is unsafe. For the same reason the
limits are set by the child on itself, first thing, instead of through `preexec_fn` (which
forces a fork of the parent and is not thread-safe): no untrusted byte is parsed before they
apply.

Every way the child can end is one outcome (`outcome`): a document, a named failure it
reported itself, or a failure the parent reads from how it died: the wall clock (timeout), a
signal (SIGXCPU: the CPU limit; SIGKILL: the kernel's OOM killer; any other: the reader
crashed), an exit status, or output that is not our JSON (the reader crashed).
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
from typing import IO, TYPE_CHECKING, Any

from docanalysis.core.errors import ExtractionError
from docanalysis.core.extraction import extract_pdf, malformed_reason
from docanalysis.core.types import ExtractedDocument, Page

if TYPE_CHECKING:
    from docanalysis.config import Settings

# Exit status of a child that ran out of memory but could still say so.
_EXIT_OUT_OF_MEMORY = 3
_MIB = 1024 * 1024
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[1])

log = logging.getLogger(__name__)


def timeout_reason(seconds: int) -> str:
    unit = "second" if seconds == 1 else "seconds"
    return (
        f"reading this PDF took longer than {seconds} {unit}; "
        "it may be damaged or built to exhaust readers"
    )


def too_complex_reason(memory_mb: int) -> str:
    return (
        f"reading this PDF needed more than {memory_mb} MB of memory; "
        "it may be damaged or built to exhaust readers"
    )


def crashed_reason(signal_name: str = "") -> str:
    how = f" (signal {signal_name})" if signal_name else ""
    return f"the PDF reader crashed on this file{how}; it may be damaged"


def too_large_reason(max_bytes: int) -> str:
    return f"this file is larger than the {max_bytes // _MIB} MB limit"


def extract_with_settings(settings: Settings, data: bytes) -> ExtractedDocument:
    """extract_in_sandbox under the configured limits and hidden-text choice: what the
    workers, the CLI and the evaluation all read a PDF with."""
    return extract_in_sandbox(
        data,
        timeout_s=settings.extract_timeout_s,
        cpu_s=settings.extract_cpu_s,
        memory_mb=settings.extract_memory_mb,
        max_pages=settings.extract_max_pages,
        max_bytes=settings.max_upload_bytes,
        include_hidden=settings.include_hidden_text,
    )


def extract_in_sandbox(
    data: bytes,
    *,
    timeout_s: int,
    memory_mb: int,
    max_pages: int,
    include_hidden: bool = False,
    cpu_s: int | None = None,
    max_bytes: int | None = None,
) -> ExtractedDocument:
    """extract_pdf in a limited child. Raises ExtractionError with a user-facing reason and a
    stable code. `timeout_s` is wall-clock time, `cpu_s` the child's CPU time (default: the
    same), `memory_mb` its address space; `max_bytes` refuses a larger file without starting
    a child. Text a reader cannot see is left out unless `include_hidden` (see extract_pdf)."""
    if max_bytes is not None and len(data) > max_bytes:
        raise ExtractionError(too_large_reason(max_bytes), code="too_large")
    cpu = cpu_s or timeout_s
    command = [
        sys.executable,
        "-m",
        "docanalysis.sandbox",
        f"--cpu-s={cpu}",
        f"--memory-mb={memory_mb}",
        f"--max-pages={max_pages}",
    ]
    if include_hidden:
        command.append("--include-hidden")
    try:
        done = subprocess.run(
            command, input=data, capture_output=True, timeout=timeout_s, env=_child_env()
        )
    except subprocess.TimeoutExpired as exc:  # run() has already killed and reaped the child
        raise ExtractionError(timeout_reason(timeout_s), code="timeout") from exc
    return outcome(done, cpu_s=cpu, memory_mb=memory_mb)


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    # The child must import this package even where it is not installed (a source checkout).
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
    return env


def outcome(
    done: subprocess.CompletedProcess[bytes], *, cpu_s: int, memory_mb: int
) -> ExtractedDocument:
    """The document a finished child sent, or the ExtractionError its end means."""
    status = done.returncode
    if status < 0:
        raise _killed(-status, done.stderr, cpu_s=cpu_s, memory_mb=memory_mb)
    if status == _EXIT_OUT_OF_MEMORY:
        raise ExtractionError(too_complex_reason(memory_mb), code="too_complex")
    payload = _payload(done.stdout) if status == 0 else None
    if payload is None:
        # Our code in the child always answers in JSON: anything else is a crash (a fatal
        # error in the interpreter or a C extension). Details go to the log, never the user.
        log.warning("pdf sandbox failed: status %s, stderr %r", status, done.stderr[-2000:])
        raise ExtractionError(crashed_reason(), code="parser_crashed")
    if isinstance(payload, ExtractionError):
        raise payload
    return payload


def _killed(number: int, stderr: bytes, *, cpu_s: int, memory_mb: int) -> ExtractionError:
    """A child ended by a signal. SIGXCPU is its CPU limit; SIGKILL that the parent did not
    send (a timeout is raised before this) is the kernel's OOM killer, or the CPU hard limit
    one second after an ignored SIGXCPU; any other signal is a crash of the reader."""
    if number == signal.SIGXCPU:
        return ExtractionError(timeout_reason(cpu_s), code="timeout")
    if number == signal.SIGKILL:
        return ExtractionError(too_complex_reason(memory_mb), code="too_complex")
    name = _signal_name(number)
    log.warning("pdf sandbox killed by %s, stderr %r", name, stderr[-2000:])
    return ExtractionError(crashed_reason(name), code="parser_crashed")


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)  # a real-time or unnamed signal


def _payload(stdout: bytes) -> ExtractedDocument | ExtractionError | None:
    """What the child's JSON says, or None when it is not the child's JSON: the protocol is
    {"document": {...}} or {"error": {"code": str, "reason": str}}, nothing else."""
    try:
        data = json.loads(stdout)
        if not isinstance(data, dict):
            return None
        if set(data) == {"error"}:
            code, reason = data["error"]["code"], data["error"]["reason"]
            if isinstance(code, str) and isinstance(reason, str):
                return ExtractionError(reason, code=code)
        elif set(data) == {"document"}:
            return document_from_json(data["document"])
    except (ValueError, TypeError, KeyError):
        pass  # broken or half-written output; ValueError covers JSON and UTF-8 errors
    return None


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
        pages=tuple(Page(number=int(n), start=int(s), end=int(e)) for n, s, e in data["pages"]),
        warnings=tuple(str(w) for w in data["warnings"]),
    )


def _limit_self(cpu_s: int, memory_mb: int) -> None:
    import resource  # Unix only; imported here so the parent imports this module anywhere

    memory = memory_mb * _MIB
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    # SIGXCPU at the soft limit (its default action ends the process); SIGKILL one second on,
    # should anything ever ignore SIGXCPU.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    # A crash or SIGXCPU would otherwise dump a core of a process holding the upload.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _private_stdout() -> IO[str]:
    """The parent's pipe, for our JSON alone: anything else that writes to stdout, Python or
    C (a library's printf), goes to stderr instead and cannot corrupt the answer."""
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return out


def _child(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="docanalysis.sandbox")
    parser.add_argument("--cpu-s", type=int, required=True)
    parser.add_argument("--memory-mb", type=int, required=True)
    parser.add_argument("--max-pages", type=int, required=True)
    parser.add_argument("--include-hidden", action="store_true")
    args = parser.parse_args(argv)
    _limit_self(args.cpu_s, args.memory_mb)
    # pypdf logs a warning per oddity; a hostile file can produce millions of them.
    logging.getLogger("pypdf").setLevel(logging.CRITICAL)
    out = _private_stdout()
    try:
        data = sys.stdin.buffer.read()
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
