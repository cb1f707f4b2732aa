"""The figures every benchmark reports, in one shape, so `make bench` can print them as a table.

A benchmark measures the product (`ours`) and a reference run in the same process or run
(`reference`: the fastest known way to do the same work, or the bare minimum around it), so
the ratio holds on a noisy shared machine where absolute figures do not. `goal` says what the
ratio (or the figure, where there is no reference) must reach, in words.

A script writes its rows with `--json FILE`; bench/run_all.py collects them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Row:
    figure: str  # what was measured, e.g. "extraction, CUAD PDFs"
    unit: str  # e.g. "pages/s", "events/s", "ms p95"
    ours: float
    reference: float | None = None  # the reference's figure in the same unit, if any
    reference_name: str = ""  # e.g. "pypdfium2", "bare DRF view"
    goal: str = ""  # e.g. ">= 0.5 x reference", "< 50 ms"
    met: bool | None = None  # whether the goal is met; None where there is no goal

    @property
    def ratio(self) -> float | None:
        if self.reference in (None, 0):
            return None
        return self.ours / self.reference  # type: ignore[operator]


def write_rows(path: str | Path, rows: Sequence[Row]) -> None:
    """Write `rows` as JSON to `path` (what run_all.py reads)."""
    payload = [{**asdict(row), "ratio": row.ratio} for row in rows]
    Path(path).write_text(json.dumps({"rows": payload}, indent=2) + "\n", encoding="utf-8")


def read_rows(path: str | Path) -> list[Row]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return [Row(**{k: v for k, v in row.items() if k != "ratio"}) for row in data["rows"]]


def format_table(rows: Sequence[Row]) -> str:
    """A plain-text table: figure, ours, reference, ratio, goal, met."""
    header = ("figure", "unit", "ours", "reference", "ratio", "goal", "met")
    lines = [header] + [
        (
            row.figure,
            row.unit,
            _number(row.ours),
            f"{_number(row.reference)} ({row.reference_name})" if row.reference is not None else "",
            f"{row.ratio:.2f} x" if row.ratio is not None else "",
            row.goal,
            {True: "yes", False: "NO", None: ""}[row.met],
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    padded = ("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines)
    return "\n".join(text.rstrip() for text in padded)


def _number(value: float | None) -> str:
    if value is None:
        return ""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"
