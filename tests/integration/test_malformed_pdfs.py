"""Hostile and broken PDFs through the sandbox: named failures, the time, CPU and memory budgets
met for real, a child that dies by a signal. Every malformed file under the default limits:
test_malformed_sweep.py."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from docanalysis.core.errors import ExtractionError
from docanalysis.core.types import ExtractedDocument
from docanalysis.sandbox import extract_in_sandbox, outcome

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
PDFS = SHARED_DATA / "pdfs"
MALFORMED = PDFS / "malformed"

# Every reason a user may see from extraction (N and M vary).
REASON_PATTERNS = (
    "this file is not a PDF",
    "this file is empty",
    "this PDF has no pages",
    "this PDF is password-protected: remove the password and upload it again",
    "this PDF has no text layer: it is a scan or an image; run OCR on it and upload the result",
    "this PDF is damaged and cannot be read (",
    "reading this PDF took longer than 20 seconds; it may be damaged or built to exhaust readers",
    "reading this PDF needed more than 1024 MB of memory; "
    "it may be damaged or built to exhaust readers",
)


def sandboxed(
    path: Path, *, timeout_s: int = 20, memory_mb: int = 1024, cpu_s: int | None = None
) -> ExtractedDocument:
    return extract_in_sandbox(
        path.read_bytes(), timeout_s=timeout_s, memory_mb=memory_mb, max_pages=2000, cpu_s=cpu_s
    )


def failure(path: Path, **limits: int) -> ExtractionError:
    with pytest.raises(ExtractionError) as caught:
        sandboxed(path, **limits)
    return caught.value


@pytest.mark.parametrize(
    ("relative", "code"),
    [
        ("pdfminer/aes-256-r6.pdf", "encrypted"),
        ("sample-files/libreoffice-writer-password.pdf", "encrypted"),
        ("pdfplumber/empty_0_bytes.pdf", "empty"),
        ("qpdf/bad1_not_a_pdf.pdf", "not_pdf"),
        ("ocrmypdf/invalid.pdf", "malformed"),
        ("qpdf/bad11.pdf", "malformed"),  # pypdf raises a plain TypeError
        ("qpdf/pages-loop.pdf", "malformed"),
        ("qpdf/deep-pages.pdf", "malformed"),
    ],
)
def test_specific_failures(relative: str, code: str) -> None:
    error = failure(MALFORMED / relative)

    assert error.code == code
    assert error.reason.startswith(REASON_PATTERNS)


def test_truncated_file_is_reported_as_damaged() -> None:
    error = failure(MALFORMED / "ocrmypdf" / "invalid.pdf")

    assert error.reason == (
        "this PDF is damaged and cannot be read "
        "(its table of contents (cross-reference table) is broken)"
    )


def test_permission_only_encryption_is_read() -> None:
    doc = sandboxed(MALFORMED / "pypdf" / "r2-owner-password.pdf")

    assert doc.text == "pdf encryption test\npassword: asdfzxcv"


def test_the_slow_pdf_is_stopped_within_the_time_budget() -> None:
    started = time.monotonic()

    error = failure(MALFORMED / "pdfjs" / "bug1978317.pdf", timeout_s=5)

    elapsed = time.monotonic() - started
    assert error.code in ("timeout", "too_complex")
    assert error.reason in (
        "reading this PDF took longer than 5 seconds; "
        "it may be damaged or built to exhaust readers",
        "reading this PDF needed more than 1024 MB of memory; "
        "it may be damaged or built to exhaust readers",
    )
    assert elapsed < 8


def test_the_memory_budget_stops_the_greedy_pdf() -> None:
    # pypdf needs 400+ MB for this page; with 200 MB it must fail as "too complex", fast.
    error = failure(MALFORMED / "pdfjs" / "bug1978317.pdf", timeout_s=20, memory_mb=200)

    assert error.code == "too_complex"
    assert error.reason == (
        "reading this PDF needed more than 200 MB of memory; "
        "it may be damaged or built to exhaust readers"
    )


def test_the_cpu_limit_kills_the_child_by_sigxcpu_and_reads_as_too_slow() -> None:
    # Wall clock far away: only the child's own RLIMIT_CPU (1 s) can stop it, by SIGXCPU.
    started = time.monotonic()

    error = failure(MALFORMED / "pdfjs" / "bug1978317.pdf", timeout_s=60, cpu_s=1)

    assert (error.code, error.reason) == (
        "timeout",
        "reading this PDF took longer than 1 second; it may be damaged or built to exhaust readers",
    )
    assert time.monotonic() - started < 10


def test_a_real_child_killed_by_sigsegv_is_a_named_crash() -> None:
    # A real process that dies by the signal, read the way the sandbox reads its child.
    crash = (
        "import os, resource, signal; resource.setrlimit(resource.RLIMIT_CORE, (0, 0)); "
        "os.kill(os.getpid(), signal.SIGSEGV)"
    )
    done = subprocess.run([sys.executable, "-c", crash], capture_output=True, check=False)
    assert done.returncode == -signal.SIGSEGV

    with pytest.raises(ExtractionError) as caught:
        outcome(done, cpu_s=20, memory_mb=1024)

    assert (caught.value.code, caught.value.reason) == (
        "parser_crashed",
        "the PDF reader crashed on this file (signal SIGSEGV); it may be damaged",
    )


@pytest.mark.parametrize(
    "name",
    [
        "c02-22_public_domain_scan.pdf",
        "linn_scanned_manual_page.pdf",
        "skew_scan.pdf",
        "multipage_public_domain_scan.pdf",
        "ocr_test_rotated_90.pdf",
    ],
)
def test_scans_without_text_say_so(name: str) -> None:
    error = failure(PDFS / "scanned" / name)

    assert error.code == "no_text"
    assert error.reason == (
        "this PDF has no text layer: it is a scan or an image; run OCR on it and upload the result"
    )


def test_scan_with_ocr_layer_yields_text() -> None:
    doc = sandboxed(PDFS / "scanned" / "vicksburg_scan_with_ocr_layer.pdf")

    assert len(doc.pages) == 6
    assert doc.text.startswith("THE   SIEGE   OF  VICKSBURG. 49\n")
