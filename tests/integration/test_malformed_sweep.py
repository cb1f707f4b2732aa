"""Every file under ../shared/data/pdfs/malformed through the sandbox, with the product's default
limits: each ends in a defined outcome ("text:<pages>" or "failed:<code>") within its limits,
with a plain reason, and the parent never parses or grows. The outcomes are compared with the
committed baseline (tests/expected/malformed_outcomes.json), so that a pypdf upgrade or a new
limit that changes any of them shows up here, file by file.

Regenerate the baseline after a change you mean (then commit it, saying why):
    DOCANALYSIS_UPDATE_BASELINE=1 .venv/bin/python -m pytest \
        tests/integration/test_malformed_sweep.py
"""

from __future__ import annotations

import json
import os
import resource
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pypdf
import pytest

from docanalysis.config import Settings, load_settings
from docanalysis.core.errors import ExtractionError
from docanalysis.sandbox import extract_in_sandbox

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
MALFORMED = SHARED_DATA / "pdfs" / "malformed"
BASELINE = Path(__file__).resolve().parents[1] / "expected" / "malformed_outcomes.json"
UPDATE_VARIABLE = "DOCANALYSIS_UPDATE_BASELINE"
# The product's defaults, whatever this machine's environment sets.
DEFAULTS = load_settings({})
# Each sandbox call is its own child process: two at a time keep a 2-core CI machine usable.
WORKERS = 2
# Starting the child, and the parent noticing its end, on a loaded machine.
SLACK_S = 5
# The parent reads each file (1.5 MB at most) and the children's JSON, never a PDF: hundreds of
# MB more would mean it parsed one itself (bug1978317.pdf needs ~430 MB).
PARENT_GROWTH_MB = 100

# Every reason a user may see from extraction, by its start (N and M vary).
REASON_STARTS = (
    "this file is not a PDF",
    "this file is empty",
    "this file is larger than the ",
    "this PDF has no pages",
    "this PDF has ",  # ... N pages; the limit is M
    "this PDF is password-protected: remove the password and upload it again",
    "this PDF has no text layer: it is a scan or an image; run OCR on it and upload the result",
    "this PDF is damaged and cannot be read (",
    "the PDF reader crashed on this file",
    "reading this PDF took longer than ",
    "reading this PDF needed more than ",
)
PYTHONISMS = ("Traceback", "Error", "Exception", "NoneType", "object has no attribute", 'File "')


@dataclass(frozen=True)
class Swept:
    relative: str
    outcome: str  # "text:<pages>" or "failed:<code>"
    reason: str  # the failure's reason; "" for text
    seconds: float


@dataclass(frozen=True)
class Sweep:
    files: tuple[Swept, ...]
    parent_growth_mb: float  # resident memory of this process, after minus before
    parent_peak_growth_mb: float  # its peak (ru_maxrss), after minus before

    def outcomes(self) -> dict[str, str]:
        return {swept.relative: swept.outcome for swept in self.files}


def sweep_one(path: Path, limits: Settings = DEFAULTS) -> Swept:
    relative = path.relative_to(MALFORMED).as_posix()
    started = time.monotonic()
    try:
        document = extract_in_sandbox(
            path.read_bytes(),
            timeout_s=limits.extract_timeout_s,
            cpu_s=limits.extract_cpu_s,
            memory_mb=limits.extract_memory_mb,
            max_pages=limits.extract_max_pages,
            max_bytes=limits.max_upload_bytes,
            include_hidden=limits.include_hidden_text,
        )
    except ExtractionError as exc:
        return Swept(relative, f"failed:{exc.code}", exc.reason, time.monotonic() - started)
    return Swept(relative, f"text:{len(document.pages)}", "", time.monotonic() - started)


def resident_mb() -> float:
    """This process's resident memory now (VmRSS), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return peak_mb()  # no /proc


def peak_mb() -> float:
    """This process's peak resident memory (children not included), in MB (Linux: KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.fixture(scope="module")
def sweep() -> Sweep:
    files = sorted(p for p in MALFORMED.rglob("*") if p.is_file())
    before, peak_before = resident_mb(), peak_mb()
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        swept = tuple(pool.map(sweep_one, files))
    result = Sweep(swept, resident_mb() - before, peak_mb() - peak_before)
    print(summary(result))  # shown with -s
    return result


def kind(outcome: str) -> str:
    """ "text" for any text, else the failure with its code: the summary's rows."""
    return "text" if outcome.startswith("text:") else outcome


def summary(sweep: Sweep) -> str:
    counts = Counter(kind(swept.outcome) for swept in sweep.files)
    slowest = max(sweep.files, key=lambda swept: swept.seconds)
    lines = [
        f"\nmalformed-PDF sweep: {len(sweep.files)} files, default limits "
        f"({DEFAULTS.extract_timeout_s} s wall, {DEFAULTS.extract_cpu_s} s CPU, "
        f"{DEFAULTS.extract_memory_mb} MB, {DEFAULTS.extract_max_pages} pages)",
        *(f"  {count:3d}  {outcome}" for outcome, count in counts.most_common()),
        f"  slowest: {slowest.relative} ({slowest.outcome}) {slowest.seconds:.1f} s",
        f"  parent: resident {sweep.parent_growth_mb:+.1f} MB, "
        f"peak {sweep.parent_peak_growth_mb:+.1f} MB",
    ]
    return "\n".join(lines)


def baseline_document(sweep: Sweep) -> dict[str, object]:
    return {
        "about": "tests/integration/test_malformed_sweep.py: each file's outcome under the "
        "product's default limits; regenerate with DOCANALYSIS_UPDATE_BASELINE=1",
        "pypdf": pypdf.__version__,
        "outcomes": sweep.outcomes(),
    }


def changes(expected: dict[str, str], found: dict[str, str]) -> list[str]:
    return [
        f"  {name}: {expected.get(name, '(not in the baseline)')} -> "
        f"{found.get(name, '(file gone)')}"
        for name in sorted(expected.keys() | found.keys())
        if expected.get(name) != found.get(name)
    ]


def test_outcomes_match_the_committed_baseline(sweep: Sweep) -> None:
    if os.environ.get(UPDATE_VARIABLE) == "1":
        text = json.dumps(baseline_document(sweep), indent=2, sort_keys=True) + "\n"
        BASELINE.write_text(text, encoding="utf-8")
    committed = json.loads(BASELINE.read_text(encoding="utf-8"))

    changed = changes(committed["outcomes"], sweep.outcomes())

    assert not changed, (
        f"{len(changed)} malformed-PDF outcome(s) changed (baseline: pypdf "
        f"{committed['pypdf']}, now {pypdf.__version__}):\n" + "\n".join(changed) + "\n"
        f"If the change is meant, regenerate and commit the baseline:\n"
        f"  {UPDATE_VARIABLE}=1 .venv/bin/python -m pytest tests/integration/{Path(__file__).name}"
    )


def test_the_sweep_covers_every_file_there(sweep: Sweep) -> None:
    assert len(sweep.files) == 60  # MANIFEST.tsv lists 60 malformed files
    assert all(s.outcome.startswith(("text:", "failed:")) for s in sweep.files)


def test_every_file_ends_within_its_limits(sweep: Sweep) -> None:
    limit = DEFAULTS.extract_timeout_s + SLACK_S
    late = [f"{s.relative}: {s.seconds:.1f} s" for s in sweep.files if s.seconds >= limit]

    assert not late, f"past the {DEFAULTS.extract_timeout_s} s limit (+{SLACK_S} s): {late}"


def test_every_failure_says_why_in_plain_words(sweep: Sweep) -> None:
    for swept in sweep.files:
        if swept.outcome.startswith("failed:"):
            assert swept.reason.startswith(REASON_STARTS), (swept.relative, swept.reason)
            assert not any(word in swept.reason for word in PYTHONISMS), swept


def test_the_parent_never_grows_with_what_it_sweeps(sweep: Sweep) -> None:
    # bug1978317.pdf alone needs ~430 MB in its child; the parent must not see any of it.
    assert sweep.parent_growth_mb < PARENT_GROWTH_MB, summary(sweep)
    assert sweep.parent_peak_growth_mb < PARENT_GROWTH_MB, summary(sweep)
