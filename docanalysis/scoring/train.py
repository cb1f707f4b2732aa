"""Retrain the shipped clause scorer: `python -m docanalysis.scoring.train` (or `make scorer`).

Reads a CUAD-layout split (default: the dev split in ../shared/data/cuad), trains on every
contract of it, and writes the artifact (scorer.json, scorer.npz, vocabulary.json). Seeded and
deterministic: the same data gives the same artifact.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from collections.abc import Sequence
from multiprocessing import Pool
from pathlib import Path

from docanalysis.evaluation.cuad import Contract, categories, load_contracts
from docanalysis.scoring import ARTIFACT
from docanalysis.scoring.training import Example, prepare, train

VERSION = "1"


def _prepare(contract: Contract) -> Example:
    return prepare(contract.name, contract.txt.read_text(encoding="utf-8"), contract.spans)


def prepare_all(contracts: Sequence[Contract], processes: int = 2) -> list[Example]:
    """Cut and label every contract (the slow part), on `processes` cores."""
    if processes <= 1:
        return [_prepare(c) for c in contracts]
    with Pool(processes) as pool:
        return pool.map(_prepare, contracts, chunksize=4)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/cuad")
    parser.add_argument("--split", default="dev")
    parser.add_argument("--out", default=str(ARTIFACT))
    parser.add_argument("--limit", type=int, default=None, help="train on the first N only")
    args = parser.parse_args(argv)
    data = Path(args.data)
    names = categories(data, args.split)
    contracts = load_contracts(data, args.split)[: args.limit]
    started = time.monotonic()
    scorer = train(prepare_all(contracts), names)
    labels = (data / f"spans_{args.split}.jsonl").read_bytes()
    scorer.meta |= {
        "version": VERSION,
        "data": f"CUAD v1 ({args.split} split), The Atticus Project, CC BY 4.0",
        "labels_sha256": hashlib.sha256(labels).hexdigest(),
        "train_seconds": round(time.monotonic() - started),
    }
    scorer.save(Path(args.out))
    sys.stdout.write(
        f"trained on {len(contracts)} contracts in {scorer.meta['train_seconds']} s -> {args.out}\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
