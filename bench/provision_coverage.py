"""Provision coverage: how many CUAD expert clause spans fall inside the provisions we cite.

The model answers with provision numbers, so a clause is only retrievable if the lawyers' span
lies inside one provision or a run of at most two adjacent ones. This measures the share of
expert spans (spans_<split>.jsonl) that do, on the raw contract texts.

    .venv/bin/python bench/provision_coverage.py [--data DIR] [--split dev] [--json FILE]
        [--max-chars 2000] [--show N]
"""

from __future__ import annotations

import argparse
import bisect
import json
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from docanalysis.core.provisions import split_provisions
from docanalysis.core.types import ExtractedDocument, Page, Provision

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "cuad"
# At most this many adjacent provisions may hold one span: a clause read across one cut is
# still cited precisely; three or more provisions would mean we split inside the clause.
RUN = 2


@dataclass(frozen=True)
class Span:
    contract: str
    category: str
    start: int  # trimmed of the span's own leading and trailing whitespace
    end: int
    covered: bool


@dataclass
class Coverage:
    spans: list[Span] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)  # characters per provision, all contracts
    contracts: int = 0
    seconds: float = 0.0

    @property
    def share(self) -> float:
        return sum(s.covered for s in self.spans) / len(self.spans) if self.spans else 1.0

    def by_category(self) -> dict[str, tuple[int, int]]:
        """Category -> (covered, total)."""
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for span in self.spans:
            counts[span.category][0] += span.covered
            counts[span.category][1] += 1
        return {key: (c, t) for key, (c, t) in sorted(counts.items())}


def contracts(
    data: Path, split: str
) -> Iterator[tuple[str, str, dict[str, list[tuple[int, int]]]]]:
    """(name, text, category -> [(start, end)]) per contract of the split."""
    with (data / f"spans_{split}.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            # read_text's universal newlines give the text the offsets were computed on (the
            # line counts match `txt_chars`); extraction.normalize is not applied because it
            # strips trailing blanks in a few files and would shift every later offset.
            text = (data / record["txt"]).read_text(encoding="utf-8")
            labels = {
                category: [(s["start"], s["end"]) for s in label["spans"]]
                for category, label in record["labels"].items()
            }
            yield record["contract"], text, labels


def pdf_like(text: str, width: int = 100) -> str:
    """The text as a PDF extractor gives it: no blank lines, paragraphs wrapped at `width`.

    Only same-length substitutions (a newline for a space, a space for a newline), so the
    expert offsets stay valid. Tests that the splitter does not lean on the blank lines and
    one-line paragraphs of CUAD's text files, which real PDFs do not have.
    """
    chars = list(text)
    column = 0
    words = False  # whether the current output line has any
    for index, char in enumerate(text):
        if char == "\n" and not words:
            chars[index] = " "  # a blank line: the next line starts indented instead
        elif char == "\n" or (char == " " and column >= width and words):
            chars[index] = "\n"
            column, words = 0, False
        else:
            column += 1
            words = words or not char.isspace()
    return "".join(chars)


def one_page(text: str) -> ExtractedDocument:
    return ExtractedDocument(sha256="0" * 64, text=text, pages=(Page(1, 0, len(text)),))


def trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def is_covered(
    provisions: Sequence[Provision], starts: Sequence[int], start: int, end: int
) -> bool:
    """Whether [start, end) lies within provisions i..i+RUN-1 for the i that holds `start`.

    `starts` is [p.start for p in provisions]. A trimmed span starts on a non-space character
    and provisions cover every non-space character, so the last provision starting at or before
    `start` is the one that holds it.
    """
    index = bisect.bisect_right(starts, start) - 1
    if index < 0:
        return False
    last = min(index + RUN - 1, len(provisions) - 1)
    return end <= provisions[last].end


def measure(
    data: Path = DEFAULT_DATA, split: str = "dev", *, max_chars: int = 2000, pdf: bool = False
) -> Coverage:
    coverage = Coverage()
    began = time.perf_counter()
    for name, raw, labels in contracts(data, split):
        text = pdf_like(raw) if pdf else raw
        provisions = split_provisions(one_page(text), max_chars=max_chars)
        starts = [p.start for p in provisions]
        coverage.contracts += 1
        coverage.sizes.extend(p.end - p.start for p in provisions)
        for category, spans in labels.items():
            for raw_start, raw_end in spans:
                start, end = trim(text, raw_start, raw_end)
                if start == end:  # nothing but whitespace: nothing to cite
                    continue
                covered = is_covered(provisions, starts, start, end)
                coverage.spans.append(Span(name, category, start, end, covered))
    coverage.seconds = time.perf_counter() - began
    return coverage


def percentile(values: Sequence[int], share: float) -> int:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] if ordered else 0


def summary(coverage: Coverage) -> dict[str, object]:
    sizes = coverage.sizes
    return {
        "contracts": coverage.contracts,
        "spans": len(coverage.spans),
        "covered": sum(s.covered for s in coverage.spans),
        "coverage": round(coverage.share, 4),
        "provisions": len(sizes),
        "provision_chars": {
            "median": int(statistics.median(sizes)) if sizes else 0,
            "p90": percentile(sizes, 0.9),
            "max": max(sizes, default=0),
        },
        "seconds": round(coverage.seconds, 2),
        "categories": {
            key: {"covered": c, "spans": t, "coverage": round(c / t, 4)}
            for key, (c, t) in coverage.by_category().items()
        },
    }


def report(result: dict[str, object]) -> str:
    sizes = result["provision_chars"]
    assert isinstance(sizes, dict)
    lines = [
        f"contracts {result['contracts']}, expert spans {result['spans']}, "
        f"covered {result['covered']}: coverage {float(str(result['coverage'])):.2%}",
        f"provisions {result['provisions']}: chars median {sizes['median']}, "
        f"p90 {sizes['p90']}, max {sizes['max']}",
        f"runtime {result['seconds']} s",
        "per category (worst first):",
    ]
    categories = result["categories"]
    assert isinstance(categories, dict)
    for key, row in sorted(categories.items(), key=lambda item: item[1]["coverage"]):
        lines.append(f"  {row['coverage']:7.2%}  {row['covered']:5}/{row['spans']:<5} {key}")
    return "\n".join(lines)


def uncovered_sample(
    coverage: Coverage, data: Path, split: str, count: int, *, pdf: bool = False
) -> str:
    """The first `count` uncovered spans, with the provision cuts inside them marked '|'."""
    wanted = [s for s in coverage.spans if not s.covered][:count]
    names = {s.contract for s in wanted}
    out: list[str] = []
    for name, raw, _ in contracts(data, split):
        if name not in names:
            continue
        text = pdf_like(raw) if pdf else raw
        provisions = split_provisions(one_page(text))
        for span in (s for s in wanted if s.contract == name):
            cuts = sorted({p.start for p in provisions if span.start < p.start < span.end})
            marked, previous = "", span.start
            for cut in cuts:
                marked += text[previous:cut] + "|"
                previous = cut
            marked += text[previous : span.end]
            before = text[max(0, span.start - 80) : span.start]
            out.append(f"--- {span.category} in {name[:60]}\n{before!r}\n>>> {marked!r}")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the cuad/ folder")
    parser.add_argument("--split", default="dev", help="reads spans_<split>.jsonl")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--max-chars", type=int, default=2000, help="split_provisions limit")
    parser.add_argument(
        "--pdf-like", action="store_true", help="measure on the texts laid out as PDF lines"
    )
    parser.add_argument("--show", type=int, default=0, help="print N uncovered spans")
    args = parser.parse_args(argv)
    coverage = measure(args.data, args.split, max_chars=args.max_chars, pdf=args.pdf_like)
    result = summary(coverage)
    print(report(result))
    if args.show:
        print(uncovered_sample(coverage, args.data, args.split, args.show, pdf=args.pdf_like))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
