"""`make bench`: every benchmark, one after another, and one table of their figures.

Each benchmark is its own script (see bench/README.md): it runs its reference in the same
process or run and writes its rows with `--json`. This runs each in a child process with a
time limit, so one that fails or overruns is reported and the rest still run, then prints
figure, ours, reference, ratio, goal and whether it is met. Exit status 1 if a benchmark failed
or a goal is not met.

    .venv/bin/python bench/run_all.py                  # all of them (under 15 minutes here)
    .venv/bin/python bench/run_all.py extraction audit_chain --json figures.json
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.table import Row, format_table, read_rows, write_rows  # noqa: E402

BENCH = Path(__file__).resolve().parent
# name: seconds it may take on the 2-core development machine (its default run, and a margin)
SUITE = {
    "extraction": 240,
    "windowing": 180,
    "pipeline_cpu": 240,
    "api_upload": 180,
    "api_reads": 180,
    "audit_chain": 120,
    "guard_throughput": 180,
    "memory": 180,
}


def run_one(name: str, limit_s: int, folder: Path) -> tuple[list[Row], str]:
    """The benchmark's rows, and "" or why it gave none."""
    out = folder / f"{name}.json"
    command = [sys.executable, str(BENCH / f"{name}.py"), "--json", str(out)]
    started = time.monotonic()
    try:
        done = subprocess.run(command, cwd=BENCH.parent, timeout=limit_s, check=False)
    except subprocess.TimeoutExpired:
        return [], f"ran past {limit_s} s"
    print(f"-- {name}: {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    if done.returncode != 0 or not out.is_file():
        return [], f"exit status {done.returncode}"
    return read_rows(out), ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"some of: {', '.join(SUITE)} (default: all)")
    parser.add_argument("--json", help="also write every row to this file")
    args = parser.parse_args(argv)
    unknown = set(args.names) - set(SUITE)
    if unknown:
        parser.error(f"no benchmark named {', '.join(sorted(unknown))}")
    rows: list[Row] = []
    failed: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="bench-") as folder:
        for name in args.names or list(SUITE):
            print(f"-- {name} ...", file=sys.stderr, flush=True)
            found, why = run_one(name, SUITE[name], Path(folder))
            rows += found
            if why:
                failed[name] = why
    print(format_table(rows))
    for name, why in failed.items():
        print(f"FAILED {name}: {why}")
    if args.json:
        write_rows(args.json, rows)
    return 1 if failed or any(row.met is False for row in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
