"""How the sandbox reads a finished child: its JSON, its exit status, the signal that ended it.
The children here are described, not run (tests/integration/test_malformed_pdfs.py runs real
ones into their limits)."""

from __future__ import annotations

import json
import signal
import subprocess
import zlib

import pytest
from pypdf.errors import LimitReachedError, PdfReadError, PdfStreamError

from docanalysis.core import extraction
from docanalysis.core.errors import ExtractionError
from docanalysis.core.types import ExtractedDocument, Page
from docanalysis.sandbox import document_to_json, extract_in_sandbox, outcome

LIMITS = {"cpu_s": 30, "memory_mb": 512}
DOCUMENT = ExtractedDocument("ab" * 32, "Hello\n\nworld", (Page(1, 0, 7), Page(2, 7, 12)), ())


def ended(status: int, stdout: bytes = b"", stderr: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.CompletedProcess(["child"], status, stdout, stderr)


def failure(done: subprocess.CompletedProcess) -> tuple[str, str]:
    with pytest.raises(ExtractionError) as caught:
        outcome(done, **LIMITS)
    return caught.value.code, caught.value.reason


def test_a_document_comes_back_whole() -> None:
    stdout = json.dumps({"document": document_to_json(DOCUMENT)}).encode()

    assert outcome(ended(0, stdout), **LIMITS) == DOCUMENT


def test_a_failure_the_child_reported_keeps_its_code_and_reason() -> None:
    stdout = json.dumps({"error": {"code": "encrypted", "reason": "this PDF is ..."}}).encode()

    assert failure(ended(0, stdout)) == ("encrypted", "this PDF is ...")


@pytest.mark.parametrize(
    ("number", "name"),
    [
        (signal.SIGSEGV, "SIGSEGV"),
        (signal.SIGABRT, "SIGABRT"),
        (signal.SIGBUS, "SIGBUS"),
        (signal.SIGILL, "SIGILL"),
        (signal.SIGFPE, "SIGFPE"),
    ],
)
def test_a_child_killed_by_a_signal_is_a_crash_that_names_it(number: int, name: str) -> None:
    assert failure(ended(-number, stderr=b"Fatal Python error")) == (
        "parser_crashed",
        f"the PDF reader crashed on this file (signal {name}); it may be damaged",
    )


def test_returncode_minus_11_is_sigsegv() -> None:
    assert failure(ended(-11)) == (
        "parser_crashed",
        "the PDF reader crashed on this file (signal SIGSEGV); it may be damaged",
    )


def test_the_cpu_limit_is_too_slow_and_the_oom_killer_too_complex() -> None:
    assert failure(ended(-signal.SIGXCPU)) == (
        "timeout",
        "reading this PDF took longer than 30 seconds; "
        "it may be damaged or built to exhaust readers",
    )
    assert failure(ended(-signal.SIGKILL)) == (
        "too_complex",
        "reading this PDF needed more than 512 MB of memory; "
        "it may be damaged or built to exhaust readers",
    )
    assert failure(ended(3))[0] == "too_complex"  # a MemoryError the child could still report


@pytest.mark.parametrize(
    ("status", "stdout"),
    [
        (0, b""),
        (0, b"not json"),
        (0, b'{"document": {"sha256": "ab", "text": "x"'),  # cut off
        (0, b"\xff\xfe{}"),
        (0, b"[]"),
        (0, b'"error"'),
        (0, b"{}"),
        (0, b'{"document": {"sha256": "ab"}}'),
        (0, b'{"document": {"sha256": "ab", "text": "", "pages": [[1, 2]], "warnings": []}}'),
        (0, b'{"error": {"code": 7, "reason": "x"}}'),
        (0, b'{"error": "x"}'),
        (0, b'{"error": {"code": "x", "reason": "y"}, "document": {}}'),
        (1, json.dumps({"document": document_to_json(DOCUMENT)}).encode()),
        (2, b""),
    ],
)
def test_anything_but_the_childs_json_is_a_crash(status: int, stdout: bytes) -> None:
    assert failure(ended(status, stdout)) == (
        "parser_crashed",
        "the PDF reader crashed on this file; it may be damaged",
    )


def test_a_file_over_the_size_cap_is_refused_without_a_child(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_child(*args: object, **kwargs: object) -> None:
        raise AssertionError("a child was started")

    monkeypatch.setattr(subprocess, "run", no_child)

    with pytest.raises(ExtractionError) as caught:
        extract_in_sandbox(
            b"%PDF-" + b"0" * (2 * 1024 * 1024),
            timeout_s=5,
            memory_mb=256,
            max_pages=10,
            max_bytes=2 * 1024 * 1024,
        )

    assert (caught.value.code, caught.value.reason) == (
        "too_large",
        "this file is larger than the 2 MB limit",
    )


@pytest.mark.parametrize(
    "raised",
    [
        TypeError("'NoneType' object is not subscriptable"),
        AttributeError("'NullObject' object has no attribute 'get_object'"),
        AssertionError(),
        KeyError("/Root"),
        ValueError("invalid literal for int() with base 10: b'x'"),
        IndexError("list index out of range"),
        ZeroDivisionError("division by zero"),
        UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
        OverflowError("cannot fit 'int' into an index-sized integer"),
        RecursionError("maximum recursion depth exceeded"),
        zlib.error("Error -3 while decompressing data"),
        PdfReadError("Could not read Boolean object"),
        PdfStreamError("Stream has ended unexpectedly"),
        LimitReachedError("Reached maximum number of tokens."),
    ],
    ids=lambda exc: type(exc).__name__,
)
def test_whatever_pypdf_raises_is_a_damaged_file_in_plain_words(
    raised: Exception, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What the child runs: any exception from pypdf becomes "malformed" with a fixed phrase.
    def reader(*args: object, **kwargs: object) -> None:
        raise raised

    monkeypatch.setattr(extraction.pypdf, "PdfReader", reader)

    with pytest.raises(ExtractionError) as caught:
        extraction.extract_pdf(b"%PDF-1.7\n")

    assert caught.value.code == "malformed"
    assert caught.value.reason.startswith("this PDF is damaged and cannot be read (")
    assert not any(word in caught.value.reason for word in ("Error", "NoneType", "'", "/Root"))


def test_running_out_of_memory_is_left_to_the_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    # Reported by the child's exit status as too complex, not as a damaged file.
    def reader(*args: object, **kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr(extraction.pypdf, "PdfReader", reader)

    with pytest.raises(MemoryError):
        extraction.extract_pdf(b"%PDF-1.7\n")
