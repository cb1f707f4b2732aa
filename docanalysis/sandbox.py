"""Run extract_pdf in a child process with time, CPU and memory limits.

A hostile PDF can make pypdf loop or allocate without bound (pdfjs/bug1978317.pdf: ~12 s and
~430 MB for one page). Only a separate process can be stopped safely, so the parent never
parses untrusted bytes itself.

The child is a fresh interpreter (`python -m docanalysis.sandbox`), never a fork of the worker:
workers carry torch and its threads, and forking a threaded process is unsafe. (Where several
children share a PDF's pages, sandbox_parts.py forks them from a fresh interpreter of its
own.) For the same reason the limits are set by the child on itself, first thing, instead of
through `preexec_fn` (which forces a fork of the parent and is not thread-safe): no untrusted
byte is parsed before they apply.

Every way the child can end is one outcome (`outcome`): a document, a named failure it
reported itself, or a failure the parent reads from how it died: the wall clock (timeout), a
signal (SIGXCPU: the CPU limit; SIGKILL: the kernel's OOM killer; any other: the reader
crashed), an exit status, or output that is not our JSON (the reader crashed).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

from docanalysis.core.errors import ExtractionError
from docanalysis.core.extraction import (
    PageFailure,
    PageRead,
    document_from_pages,
    extract_pdf,
    malformed_reason,
    open_pdf,
    read_pages,
)
from docanalysis.core.hidden_text import HiddenText, PageText
from docanalysis.core.types import ExtractedDocument, Page

if TYPE_CHECKING:
    from docanalysis.config import Settings
    from docanalysis.sandbox_ocr import OcrOptions

# Exit status of a child that ran out of memory but could still say so.
_EXIT_OUT_OF_MEMORY = 3
_MIB = 1024 * 1024
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[1])
T = TypeVar("T")

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
    workers, the CLI and the evaluation all read a PDF with. Scans are OCRed unless
    DOCANALYSIS_OCR=0 (sandbox_ocr.py)."""
    from docanalysis.sandbox_ocr import OcrOptions

    ocr = None
    if settings.ocr:
        ocr = OcrOptions(settings.ocr_languages, settings.ocr_page_s, settings.extract_processes)
    return extract_in_sandbox(
        data,
        timeout_s=settings.extract_timeout_s,
        cpu_s=settings.extract_cpu_s,
        memory_mb=settings.extract_memory_mb,
        max_pages=settings.extract_max_pages,
        max_bytes=settings.max_upload_bytes,
        include_hidden=settings.include_hidden_text,
        processes=settings.extract_processes,
        ocr=ocr,
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
    processes: int = 1,
    ocr: OcrOptions | None = None,
) -> ExtractedDocument:
    """extract_pdf in a limited child. Raises ExtractionError with a user-facing reason and a
    stable code. `timeout_s` is wall-clock time, `cpu_s` the child's CPU time (default: the
    same), `memory_mb` its address space; `max_bytes` refuses a larger file without starting
    a child. Text a reader cannot see is left out unless `include_hidden` (see extract_pdf).
    With `processes` above 1, that many children share the pages out (sandbox_parts.py),
    each under the same limits, all under the one wall clock. With `ocr`, the pages without
    a usable text layer are then OCRed in one more child (sandbox_ocr.py)."""
    if max_bytes is not None and len(data) > max_bytes:
        raise ExtractionError(too_large_reason(max_bytes), code="too_large")
    cpu = cpu_s or timeout_s
    command = child_command(cpu_s=cpu, memory_mb=memory_mb, max_pages=max_pages)
    if include_hidden:
        command.append("--include-hidden")
    from docanalysis.sandbox_ocr import Budget, finish

    budget = Budget(timeout_s, cpu, memory_mb, max_pages)
    if processes > 1:
        from docanalysis.sandbox_parts import Limits, extract_in_parts

        limits = Limits(timeout_s=timeout_s, cpu_s=cpu, memory_mb=memory_mb)
        pages = extract_in_parts(data, command[3:], processes, limits)
        return finish(data, pages, budget=budget, include_hidden=include_hidden, ocr=ocr)
    if ocr is not None:
        command.append("--ocr")  # a scan answers with its pages, to be OCRed (sandbox_ocr.py)
    try:
        done = subprocess.run(
            command, input=data, capture_output=True, timeout=timeout_s, env=child_env()
        )
    except subprocess.TimeoutExpired as exc:  # run() has already killed and reaped the child
        raise ExtractionError(timeout_reason(timeout_s), code="timeout") from exc
    answer = child_answer(done, cpu_s=cpu, memory_mb=memory_mb)
    if isinstance(answer, Part) and ocr is not None:
        pages = [answer.pages[index] for index in range(answer.count)]
        return finish(data, pages, budget=budget, include_hidden=include_hidden, ocr=ocr)
    if not isinstance(answer, ExtractedDocument):
        raise crashed(done)
    return answer


@dataclass(frozen=True)
class Part:
    """What one of several children read (sandbox_parts.py): the page count, its pages;
    from the OCR child (sandbox_ocr.py), also each page's OCR confidence."""

    count: int
    pages: dict[int, PageRead]
    confidences: dict[int, float | None] = field(default_factory=dict)


def child_command(*, cpu_s: int, memory_mb: int, max_pages: int) -> list[str]:
    """The command line of a sandboxed child with these limits (child_main reads it)."""
    return [
        sys.executable,
        "-m",
        "docanalysis.sandbox",
        f"--cpu-s={cpu_s}",
        f"--memory-mb={memory_mb}",
        f"--max-pages={max_pages}",
    ]


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    # The child must import this package even where it is not installed (a source checkout).
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
    return env


def outcome(
    done: subprocess.CompletedProcess[bytes], *, cpu_s: int, memory_mb: int
) -> ExtractedDocument:
    """The document a finished child sent, or the ExtractionError its end means."""
    answer = child_answer(done, cpu_s=cpu_s, memory_mb=memory_mb)
    if not isinstance(answer, ExtractedDocument):
        raise crashed(done)
    return answer


def child_answer(
    done: subprocess.CompletedProcess[bytes], *, cpu_s: int, memory_mb: int
) -> ExtractedDocument | Part:
    """What a finished child sent (a document, or a part), or the ExtractionError its end
    means."""
    status = done.returncode
    if status < 0:
        raise _killed(-status, done.stderr, cpu_s=cpu_s, memory_mb=memory_mb)
    if status == _EXIT_OUT_OF_MEMORY:
        raise ExtractionError(too_complex_reason(memory_mb), code="too_complex")
    payload = _payload(done.stdout) if status == 0 else None
    if payload is None:
        raise crashed(done)
    if isinstance(payload, ExtractionError):
        raise payload
    return payload


def crashed(done: subprocess.CompletedProcess[bytes]) -> ExtractionError:
    """Our code in the child always answers in its JSON: anything else is a crash (a fatal
    error in the interpreter or a C extension). Details go to the log, never the user."""
    log.warning("pdf sandbox failed: status %s, stderr %r", done.returncode, done.stderr[-2000:])
    return ExtractionError(crashed_reason(), code="parser_crashed")


def _killed(number: int, stderr: bytes, *, cpu_s: int, memory_mb: int) -> ExtractionError:
    """A child ended by a signal. SIGXCPU is its CPU limit; SIGKILL that the parent did not
    send (a timeout is raised before this) is the kernel's OOM killer, or the CPU hard limit
    one second after an ignored SIGXCPU; SIGABRT with a MemoryError is the interpreter giving
    up at the memory limit ("Cannot recover from MemoryErrors while normalizing exceptions":
    where the allocation fails decides it, so the same file can end either way); any other
    signal is a crash of the reader."""
    if number == signal.SIGXCPU:
        return ExtractionError(timeout_reason(cpu_s), code="timeout")
    out_of_memory = number == signal.SIGABRT and b"MemoryError" in stderr
    if number == signal.SIGKILL or out_of_memory:
        return ExtractionError(too_complex_reason(memory_mb), code="too_complex")
    name = _signal_name(number)
    log.warning("pdf sandbox killed by %s, stderr %r", name, stderr[-2000:])
    return ExtractionError(crashed_reason(name), code="parser_crashed")


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)  # a real-time or unnamed signal


def _payload(stdout: bytes) -> ExtractedDocument | Part | ExtractionError | None:
    """What the child's JSON says, or None when it is not the child's JSON: the protocol is
    {"document": {...}}, {"part": {...}} or {"error": {"code": str, "reason": str}}."""
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
        elif set(data) == {"part"}:
            return _part_from_json(data["part"])
    except (ValueError, TypeError, KeyError):
        pass  # broken or half-written output; ValueError covers JSON and UTF-8 errors
    return None


def part_to_json(count: int, numbers: Sequence[int], pages: list[PageRead]) -> dict[str, Any]:
    return {
        "count": count,
        "pages": [[n, _page_to_json(page)] for n, page in zip(numbers, pages, strict=True)],
    }


def _page_to_json(page: PageRead) -> dict[str, Any]:
    if isinstance(page, PageFailure):
        return {"failed": page.detail}
    hidden = [[piece.reason, piece.passages, piece.text] for piece in page.hidden]
    return {"text": page.text, "hidden": hidden}


def _part_from_json(data: dict[str, Any]) -> Part:
    """Strict: any other shape raises, and the child counts as crashed."""
    pages: dict[int, PageRead] = {}
    for number, page in data["pages"]:
        if set(page) == {"failed"}:
            pages[_exact(number, int)] = PageFailure(_exact(page["failed"], str))
        else:
            hidden = tuple(
                HiddenText(_exact(r, str), _exact(n, int), _exact(t, str))
                for r, n, t in page["hidden"]
            )
            pages[_exact(number, int)] = PageText(_exact(page["text"], str), hidden)
    confidences = {
        _exact(number, int): None if score is None else float(_exact(score, float))
        for number, score in data.get("confidences", [])
    }
    return Part(_exact(data["count"], int), pages, confidences)


def _exact(value: Any, kind: type[T]) -> T:
    if type(value) is not kind:
        raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
    return value


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


def child_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="docanalysis.sandbox")
    parser.add_argument("--cpu-s", type=int, required=True)
    parser.add_argument("--memory-mb", type=int, required=True)
    parser.add_argument("--max-pages", type=int, required=True)
    parser.add_argument("--include-hidden", action="store_true")
    parser.add_argument("--part", type=int, default=0)  # pages part, part + parts, ...
    parser.add_argument("--parts", type=int, default=1)  # 1: the whole document
    # OCR (sandbox_ocr.py): --ocr, a scan answers with its pages instead of a document;
    # --ocr-pages, OCR these 0-based pages ("0,3") and answer with them.
    parser.add_argument("--ocr", action="store_true")
    parser.add_argument("--ocr-pages", default=None)
    parser.add_argument("--ocr-languages", default="eng")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--ocr-output", default="")  # where the OCR child puts OCRmyPDF's PDF
    args = parser.parse_args(argv)
    _limit_self(args.cpu_s, args.memory_mb)
    # pypdf logs a warning per oddity; a hostile file can produce millions of them.
    logging.getLogger("pypdf").setLevel(logging.CRITICAL)
    out = _private_stdout()
    payload: dict[str, Any]
    try:
        payload = _read(sys.stdin.buffer.read(), args)
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


def _read(data: bytes, args: argparse.Namespace) -> dict[str, Any]:
    """The child's answer: the document, or (one of several children, or a scan to OCR) its
    part of the pages, or (the OCR child) the OCRed pages."""
    if args.ocr_pages:
        from docanalysis.sandbox_ocr import ocr_part

        return {"part": ocr_part(data, args)}
    if args.parts <= 1 and not args.ocr:
        document = extract_pdf(data, max_pages=args.max_pages, include_hidden=args.include_hidden)
        return {"document": document_to_json(document)}
    reader, count = open_pdf(data, max_pages=args.max_pages)
    numbers = range(args.part, count, args.parts)
    pages = read_pages(reader, numbers, include_hidden=args.include_hidden)
    if args.parts <= 1:
        from docanalysis.sandbox_ocr import wants_ocr

        if not wants_ocr(pages):  # born-digital: the document, as without --ocr
            sha256 = hashlib.sha256(data).hexdigest()
            document = document_from_pages(sha256, pages, included=args.include_hidden)
            return {"document": document_to_json(document)}
    return {"part": part_to_json(count, numbers, pages)}


if __name__ == "__main__":
    if sys.argv[1:2] == ["--zygote"]:  # sandbox_parts.py: forks the children of a document
        from docanalysis.sandbox_parts import serve

        sys.exit(serve(int(sys.argv[2])))
    sys.exit(child_main())
