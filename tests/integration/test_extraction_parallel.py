"""Several sandboxed children reading one PDF's pages give the document one child gives, and
end in the same named failures; the greedy PDF meets its limit, not the machine (issue 9)."""

from __future__ import annotations

import resource
import signal
import subprocess
import time
from pathlib import Path

import pytest

from docanalysis import sandbox_parts
from docanalysis.config import load_settings
from docanalysis.core.errors import ExtractionError
from docanalysis.core.types import ExtractedDocument
from docanalysis.sandbox import extract_in_sandbox, outcome
from docanalysis.sandbox_parts import Limits, _run_parts

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
CUAD = SHARED_DATA / "cuad" / "pdfs"
PAPERS = SHARED_DATA / "pdfs" / "papers"
MALFORMED = SHARED_DATA / "pdfs" / "malformed"
GREEDY = MALFORMED / "pdfjs" / "bug1978317.pdf"  # ~12 s and ~430 MB for its one page
LIMITS = Limits(timeout_s=60, cpu_s=60, memory_mb=1024)

# CUAD contracts and papers of different makers and lengths (about 100 pages in all), and a
# page with hidden text.
REAL = (
    CUAD / "ATENTOSA_07_06_2020-EX-99.1-JOINT FILING AGREEMENT.PDF",
    CUAD / "FerroglobePlc_20150624_F-4A_EX-10.20_9154746_EX-10.20_Outsourcing Agreement.pdf",
    CUAD / "CardlyticsInc_20180112_S-1_EX-10.16_11002987_EX-10.16_Maintenance Agreement1.pdf",
    PAPERS / "TAMReview_chuttur2009.pdf",
    PAPERS / "ieee_requirements_prioritization.pdf",
    MALFORMED / "docling" / "invisible_text_layer.pdf",
)
UNEVEN = CUAD / "CHANGEPOINTCORP_03_08_2000-EX-10.6-LICENSE AND HOSTING AGREEMENT.PDF"


def sandboxed(
    path: Path, processes: int, *, timeout_s: int = 120, memory_mb: int = 1024, cpu_s: int = 0
) -> ExtractedDocument:
    return extract_in_sandbox(
        path.read_bytes(),
        timeout_s=timeout_s,
        memory_mb=memory_mb,
        cpu_s=cpu_s or None,
        max_pages=2000,
        processes=processes,
    )


def failure(path: Path, processes: int, **limits: int) -> ExtractionError:
    with pytest.raises(ExtractionError) as caught:
        sandboxed(path, processes, **limits)
    return caught.value


@pytest.mark.parametrize("path", REAL, ids=lambda p: p.name[:40])
def test_several_children_give_the_document_one_child_gives(path: Path) -> None:
    one = sandboxed(path, 1)

    shared = sandboxed(path, 2)  # this machine's cores

    assert shared.text == one.text
    assert shared.pages == one.pages
    assert shared.warnings == one.warnings
    assert shared == one


def test_more_children_than_cores_share_30_pages_unevenly() -> None:
    assert sandboxed(UNEVEN, 4) == sandboxed(UNEVEN, 1)


@pytest.mark.parametrize(
    ("relative", "code"),
    [
        ("pdfminer/aes-256-r6.pdf", "encrypted"),  # every child refuses it alike
        ("qpdf/bad1_not_a_pdf.pdf", "not_pdf"),
        ("qpdf/bad11.pdf", "malformed"),  # every page fails: decided by the parent
        ("ocrmypdf/enormous.pdf", "no_text"),  # a scan: decided by the parent
    ],
)
def test_several_children_fail_as_one_child_does(relative: str, code: str) -> None:
    one = failure(MALFORMED / relative, 1)

    shared = failure(MALFORMED / relative, 3)

    assert (shared.code, shared.reason) == (one.code, one.reason)
    assert shared.code == code


def resident_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_the_greedy_pdf_hits_a_tight_cpu_limit_promptly() -> None:
    # pypdf needs ~10 s of CPU for it (most of it to parse an object stream of 65,542
    # objects, the page's 32,768 link annotations, when it first resolves the catalog); with
    # 2 s each child dies by SIGXCPU, long before the wall clock. (One child:
    # test_malformed_pdfs.py.)
    before = resident_mb()
    started = time.monotonic()

    error = failure(GREEDY, 2, timeout_s=60, cpu_s=2)

    assert (error.code, error.reason) == (
        "timeout",
        "reading this PDF took longer than 2 seconds; it may be damaged or built to exhaust "
        "readers",
    )
    assert time.monotonic() - started < 15  # 2 s of CPU each, on a loaded 2-core machine
    assert resident_mb() - before < 50  # the parent never parsed it


def test_the_greedy_pdf_hits_a_small_memory_limit() -> None:
    # 120 MB is enough for a normal paper, not for the greedy PDF's 65,542 parsed objects.
    assert sandboxed(PAPERS / "wang_neumann_AVE2008.pdf", 2, memory_mb=120).pages
    before = resident_mb()
    started = time.monotonic()

    error = failure(GREEDY, 2, timeout_s=60, memory_mb=120)

    assert (error.code, error.reason) == (
        "too_complex",
        "reading this PDF needed more than 120 MB of memory; it may be damaged or built to "
        "exhaust readers",
    )
    assert time.monotonic() - started < 20
    assert resident_mb() - before < 50


def test_one_child_that_fails_ends_the_others_at_once() -> None:
    # Child 0 reads the greedy PDF (~10 s); child 1 cannot start (bad arguments: it exits 2,
    # which reads as a crash). The crash is the answer, and child 0 is not waited for.
    greedy = ["--cpu-s=60", "--memory-mb=1024", "--max-pages=10", "--part=0", "--parts=2"]
    started = time.monotonic()

    with pytest.raises(ExtractionError) as caught:
        _run_parts([greedy, ["--no-such-option"]], GREEDY.read_bytes(), LIMITS)

    assert (caught.value.code, caught.value.reason) == (
        "parser_crashed",
        "the PDF reader crashed on this file; it may be damaged",
    )
    assert time.monotonic() - started < 8


def test_the_wall_clock_stops_every_child() -> None:
    started = time.monotonic()

    error = failure(GREEDY, 2, timeout_s=2, cpu_s=60)

    assert (error.code, error.reason) == (
        "timeout",
        "reading this PDF took longer than 2 seconds; it may be damaged or built to exhaust"
        " readers",
    )
    assert time.monotonic() - started < 8


def test_children_are_spawned_where_the_zygote_cannot_fork(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = PAPERS / "wang_neumann_AVE2008.pdf"
    forked = sandboxed(path, 2)

    def broken() -> None:
        raise OSError("no zygote")

    monkeypatch.setattr(sandbox_parts, "_zygote", broken)

    assert sandboxed(path, 2) == forked


def test_the_number_of_children_is_a_setting() -> None:
    import os

    assert load_settings({}).extract_processes == len(os.sched_getaffinity(0))
    assert load_settings({"DOCANALYSIS_EXTRACT_PROCESSES": "3"}).extract_processes == 3
    assert load_settings({"DOCANALYSIS_EXTRACT_PROCESSES": "0"}).extract_processes == 1


def test_an_abort_at_the_memory_limit_reads_as_too_complex() -> None:
    # Under RLIMIT_AS the interpreter may fail inside its own error handling and abort; where
    # the allocation fails decides whether the greedy PDF ends this way or by a MemoryError.
    stderr = (
        b"Fatal Python error: _PyErr_NormalizeException: Cannot recover from MemoryErrors "
        b"while normalizing exceptions.\n"
    )
    done = subprocess.CompletedProcess(["child"], -signal.SIGABRT, b"", stderr)

    with pytest.raises(ExtractionError) as caught:
        outcome(done, cpu_s=60, memory_mb=200)

    assert caught.value.code == "too_complex"
