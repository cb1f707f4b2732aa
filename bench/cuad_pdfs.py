"""Long real documents for the benchmarks: CUAD's contract PDFs joined into one PDF.

Pages are taken from the PDFs in name order, cycling through them until there are enough, so
any length is a mix of real contracts. One PDF is left out: pypdf needs about a second of CPU
per page for it (150 s for its 154 pages), which would swamp every figure and the time limit
of a benchmark; it is a case for the extraction work, not for the steps measured here.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

from pypdf import PdfReader, PdfWriter

REPO = Path(__file__).resolve().parents[1]
CUAD_PDFS = REPO.parent / "shared" / "data" / "cuad" / "pdfs"
SLOW_PDFS = frozenset({"CERES,INC_01_25_2012-EX-10.20-Collaboration Agreement.PDF"})


def cuad_pdfs(folder: Path = CUAD_PDFS) -> list[Path]:
    return sorted(
        p for p in folder.iterdir() if p.suffix.lower() == ".pdf" and p.name not in SLOW_PDFS
    )


def _pages(folder: Path) -> Iterator[tuple[PdfReader, int]]:
    """(reader, page index) over every page of every PDF, in order, forever."""
    readers = [PdfReader(path) for path in cuad_pdfs(folder)]
    while True:
        for reader in readers:
            for index in range(len(reader.pages)):
                yield reader, index


def joined_pdf(pages: int, *, every: int = 1, folder: Path = CUAD_PDFS) -> bytes:
    """One PDF of `pages` pages: every `every`-th page of the CUAD PDFs joined in order.

    `every` > 1 samples the same mix of contracts as a longer document would hold: the first
    `pages` * `every` pages, one in `every`.
    """
    writer = PdfWriter()
    source = _pages(folder)
    for taken in range(pages * every):
        reader, index = next(source)
        if taken % every == 0:
            writer.add_page(reader.pages[index])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
