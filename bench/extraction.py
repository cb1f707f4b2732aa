"""PDF text extraction in pages per second: the product's sandboxed path (its child processes
sharing the pages out, the content streams and fonts parsed once) against pypdf page by page in
one process (the way before issue 10), with pypdfium2 for reference; and the seconds the
product takes for the slowest CUAD contract (154 pages).

    .venv/bin/python bench/extraction.py                # fixed sample, 627 pages: ~1-3 min
    .venv/bin/python bench/extraction.py --all          # every CUAD PDF and paper: ~5-10 min
    .venv/bin/python bench/extraction.py --limit 3 --json rows.json

Each file is read by the three ways in turn (pypdf, the product, pypdfium2), so a load change on
the shared machine hits them alike; the figures are wall-clock pages per second over all the
files. The product runs as the workers run it (`extract_with_settings`, the default settings:
as many child processes as this process may use CPUs, unless DOCANALYSIS_EXTRACT_PROCESSES
says otherwise). The baseline is plain `PdfReader(...).pages[i].extract_text()`, in this
process: the product before the change can no longer be run, and it was slower than that
(it made more passes). tests/integration/test_extraction_parallel.py and
tests/unit/test_content_stream.py check that the product's text did not change.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pypdf
import pypdfium2 as pdfium

from docanalysis import sandbox_parts
from docanalysis.config import load_settings
from docanalysis.core.errors import ExtractionError
from docanalysis.sandbox import extract_with_settings

sys.path.insert(0, str(Path(__file__).resolve().parent))

from table import Row, format_table, write_rows  # noqa: E402

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CUAD = SHARED_DATA / "cuad" / "pdfs"
PAPERS = SHARED_DATA / "pdfs" / "papers"
CONTRACT_154 = CUAD / "CERES,INC_01_25_2012-EX-10.20-Collaboration Agreement.PDF"
# The default: contracts and papers of every maker and length in the data (627 pages), fast
# and slow ones for pypdf alike. The 154-page contract is measured on its own (plain pypdf
# needs 2-3 minutes for it).
SAMPLE = (
    "ATENTOSA_07_06_2020-EX-99.1-JOINT FILING AGREEMENT.PDF",
    "Array BioPharma Inc. - LICENSE, DEVELOPMENT AND COMMERCIALIZATION AGREEMENT.PDF",
    "BABCOCK_WILCOXENTERPRISES,INC_08_04_2015-EX-10.17-INTELLECTUAL PROPERTY AGREEMENT "
    "between THE BABCOCK _ WILCOX COMPANY and BABCOCK _ WILCOX ENTERPRISES, INC..PDF",
    "CHANGEPOINTCORP_03_08_2000-EX-10.6-LICENSE AND HOSTING AGREEMENT.PDF",
    "CardlyticsInc_20180112_S-1_EX-10.16_11002987_EX-10.16_Maintenance Agreement1.pdf",
    "DIVERSINETCORP_03_01_2012-EX-4-RESELLER AGREEMENT.PDF",
    "GULFSOUTHMEDICALSUPPLYINC_12_24_1997-EX-4-AFFILIATE AGREEMENT.PDF",
    "Monsanto Company - SECOND A_R EXCLUSIVE AGENCY AND MARKETING AGREEMENT .PDF",
    "PlayboyEnterprisesInc_20090220_10-QA_EX-10.2_4091580_EX-10.2_Content License "
    "Agreement_ Marketing Agreement_ Sales-Purchase Agreement1.pdf",
    "ZogenixInc_20190509_10-Q_EX-10.2_11663313_EX-10.2_Distributor Agreement.pdf",
    "GeoTopo_lecture_notes_117p.pdf",
    "TAMReview_chuttur2009.pdf",
    "arxiv_0807.3577_JCAP.pdf",
    "ieee_requirements_prioritization.pdf",
    "tracemonkey_pldi09.pdf",
)
GOAL_RATIO = 2.0
GOAL_CONTRACT_S = 30.0


@dataclass
class Tally:
    pages: int = 0
    seconds: float = 0.0  # wall clock, the best round of each file
    cpu_s: float = 0.0  # CPU in all rounds: this process, its children and the forked ones
    failed: int = 0

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0


def files(all_files: bool, limit: int | None) -> list[Path]:
    every = sorted(CUAD.glob("*.[pP][dD][fF]")) + sorted(PAPERS.glob("*.pdf"))
    chosen = every if all_files else [p for p in every if p.name in SAMPLE]
    return chosen[:limit] if limit else chosen


def pypdf_pages(data: bytes) -> int:
    """The baseline: pypdf, page by page, in this process."""
    reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
    count = len(reader.pages)
    for index in range(count):
        with contextlib.suppress(Exception):  # a broken page costs what it cost
            reader.pages[index].extract_text()
    return count


def pdfium_pages(data: bytes) -> int:
    document = pdfium.PdfDocument(data)
    try:
        for page in document:
            page.get_textpage().get_text_range()
        return len(document)
    finally:
        document.close()


def timed(read: Callable[[bytes], object], data: bytes) -> tuple[float, float, bool]:
    """Seconds to read `data`, the CPU seconds it took, whether it was read (the product may
    refuse it)."""
    cpu, started = cpu_s(), time.perf_counter()
    try:
        read(data)
    except ExtractionError as exc:
        print(f"    failed: {exc.code}: {exc.reason}", file=sys.stderr)
        return time.perf_counter() - started, cpu_s() - cpu, False
    return time.perf_counter() - started, cpu_s() - cpu, True


def cpu_s() -> float:
    """This process's CPU and its children's: spawned ones (RUSAGE_CHILDREN) and those the
    sandbox's zygote forked."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = time.process_time() + children.ru_utime + children.ru_stime
    return own + sandbox_parts.forked_cpu_s()


def measure(paths: list[Path], repeats: int) -> tuple[Tally, Tally, Tally]:
    """Each file read by the three ways in turn (the order rotating), `repeats` times; each
    way's best time per file counts, so a burst of load on the shared machine that hits one
    way in one round does not."""
    settings = load_settings()
    ways: list[Callable[[bytes], object]] = [
        pypdf_pages,
        lambda d: extract_with_settings(settings, d),
        pdfium_pages,
    ]
    tallies = (Tally(), Tally(), Tally())
    for path in paths:
        data = path.read_bytes()
        pages = len(pdfium.PdfDocument(data))
        best = [float("inf")] * len(ways)
        for turn in range(repeats):
            for i in [(turn + k) % len(ways) for k in range(len(ways))]:
                seconds, cpu, read = timed(ways[i], data)
                best[i] = min(best[i], seconds)
                tallies[i].cpu_s += cpu
                tallies[i].failed += not read
        for tally, seconds in zip(tallies, best, strict=True):
            tally.pages += pages
            tally.seconds += seconds
        print(f"  {pages:4d} pages  {path.name[:70]}", flush=True)
    return tallies


def contract_seconds() -> float:
    settings = load_settings()
    started = time.perf_counter()
    extract_with_settings(settings, CONTRACT_154.read_bytes())
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", action="store_true", help="every CUAD PDF and paper")
    parser.add_argument("--limit", type=int, default=None, help="only the first N files")
    parser.add_argument("--repeats", type=int, default=1, help="rounds; the best of them counts")
    parser.add_argument("--json", default="", help="write the rows here (bench/table.py)")
    args = parser.parse_args()
    logging.getLogger("pypdf").setLevel(logging.CRITICAL)  # as the sandbox child does

    paths = files(args.all, args.limit)
    processes = load_settings().extract_processes
    print(f"{len(paths)} files; the product with {processes} child process(es) per PDF")
    baseline, ours, reference = measure(paths, max(1, args.repeats))
    contract = contract_seconds()
    ratio = ours.pages_per_s / baseline.pages_per_s
    print(
        f"pypdf page by page: {baseline.pages_per_s:7.1f} pages/s ({baseline.seconds:.1f} s; "
        f"CPU {baseline.cpu_s:.1f} s)\n"
        f"product:            {ours.pages_per_s:7.1f} pages/s ({ours.seconds:.1f} s; "
        f"CPU {ours.cpu_s:.1f} s), "
        f"{ratio:.2f} x pypdf, {ours.pages_per_s / reference.pages_per_s:.2f} x pypdfium2"
        f"{f', {ours.failed} failed' if ours.failed else ''}\n"
        f"pypdfium2:          {reference.pages_per_s:7.1f} pages/s ({reference.seconds:.1f} s; "
        f"CPU {reference.cpu_s:.1f} s)\n"
        f"154-page contract:  {contract:.1f} s (the product)"
    )
    figure = "extraction pages/s (CUAD+papers)"
    rows = [
        Row(
            figure,
            "pages/s",
            ours.pages_per_s,
            baseline.pages_per_s,
            "pypdf page by page, 1 process",
            f">= {GOAL_RATIO:g} x",
            ratio >= GOAL_RATIO and not ours.failed,
        ),
        Row(figure, "pages/s", ours.pages_per_s, reference.pages_per_s, "pypdfium2"),
        Row(
            "154-page contract seconds",
            "s",
            contract,
            goal=f"< {GOAL_CONTRACT_S:g} s",
            met=contract < GOAL_CONTRACT_S,
        ),
    ]
    print(format_table(rows))
    if args.json:
        write_rows(args.json, rows)


if __name__ == "__main__":
    main()
