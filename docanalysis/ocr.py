"""OCR of a scan's pages with Tesseract through OCRmyPDF: the adapter the sandbox child calls.

Only inside the extraction child (docanalysis/sandbox.py), never in a worker: OCRmyPDF parses
the untrusted PDF (pikepdf), Ghostscript renders it and Tesseract reads the images, and all
three inherit the child's memory and CPU limits. Heavy imports stay inside the functions.

OCRmyPDF's two-step API (`_pdf_to_hocr`, then `_hocr_to_ocr_pdf`) is used, not `ocr()`: the
first step leaves each page's hOCR in a folder we own, and hOCR carries the word confidences
(x_wconf) that the result view and the findings' confidence need; `ocr()` keeps them in a
temporary folder it deletes. The PDF of the second step holds the straightened page images
with an invisible text layer at the words' positions; our own extraction reads it back, so a
scan's pages and offsets are made the way every other PDF's are.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from docanalysis.core.errors import ExtractionError
from docanalysis.core.ocr_pages import hocr_confidence

ROTATE_THRESHOLD = 2.0
INSTALL_HINT = (
    "the server's administrator can install it with `make install` "
    "(Debian packages tesseract-ocr, tesseract-ocr-eng and ghostscript, "
    "and the Python package ocrmypdf)"
)


def unavailable_reason(missing: str) -> str:
    return f"this PDF is a scan and needs OCR, which is not available here ({missing}); " + (
        INSTALL_HINT
    )


def failed_reason(detail: str) -> str:
    return f"this PDF is a scan, and OCR could not read it ({detail})"


@dataclass(frozen=True)
class Recognized:
    """OCRmyPDF's output PDF (every page; the OCRed ones straightened, with a text layer) and
    each OCRed page's mean word confidence, by 0-based page index."""

    pdf: bytes
    confidences: dict[int, float | None]


def missing_tools() -> list[str]:
    """What OCR needs and this machine lacks: programs on PATH, and the Python package."""
    missing = [name for name in ("tesseract", "gs") if shutil.which(name) is None]
    try:
        import ocrmypdf  # noqa: F401
    except ImportError:
        missing.append("the ocrmypdf package")
    return missing


def recognize(data: bytes, indices: Sequence[int], *, languages: str, jobs: int) -> Recognized:
    """OCR the pages at these 0-based indices of the PDF `data`; the others are left as they
    are. Raises ExtractionError: `ocr_unavailable` (something to install), `ocr_failed`."""
    missing = missing_tools()
    if missing:
        raise ExtractionError(unavailable_reason(", ".join(missing)), code="ocr_unavailable")
    from ocrmypdf.exceptions import ExitCodeException, MissingDependencyError

    logging.getLogger("ocrmypdf").setLevel(logging.ERROR)  # per-page chatter, not failures
    with tempfile.TemporaryDirectory(prefix="docanalysis-ocr-") as tmp:
        try:
            return _run(Path(tmp), data, indices, languages=languages, jobs=jobs)
        except MissingDependencyError as exc:  # e.g. no language data for DOCANALYSIS_OCR_LANGUAGES
            detail = _first_line(exc) or "a component is missing"
            raise ExtractionError(unavailable_reason(detail), code="ocr_unavailable") from exc
        except ExitCodeException as exc:
            raise ExtractionError(failed_reason(_first_line(exc)), code="ocr_failed") from exc


def _run(
    tmp: Path, data: bytes, indices: Sequence[int], *, languages: str, jobs: int
) -> Recognized:
    from ocrmypdf.api import _hocr_to_ocr_pdf, _pdf_to_hocr

    source, work, output = tmp / "in.pdf", tmp / "work", tmp / "out.pdf"
    source.write_bytes(data)
    work.mkdir()
    _pdf_to_hocr(
        source,
        work,
        language=languages.split("+"),
        pages=",".join(str(index + 1) for index in indices),
        mode="force",  # these pages' text layer is empty or garbage: replace it
        rotate_pages=True,
        # Tesseract's orientation confidence for a page of three lines is about 2.5, under
        # OCRmyPDF's default threshold (14), so a sparse page turned on its side stayed turned.
        rotate_pages_threshold=ROTATE_THRESHOLD,
        deskew=True,
        jobs=jobs,
        progress_bar=False,
    )
    # "pdf", not the default PDF/A: converting to PDF/A costs a Ghostscript pass per file.
    _hocr_to_ocr_pdf(work, output, output_type="pdf", optimize=0, jobs=jobs, progress_bar=False)
    confidences = {index: _confidence(work, index) for index in indices}
    return Recognized(output.read_bytes(), confidences)


def _confidence(work: Path, index: int) -> float | None:
    hocr = work / f"{index + 1:06d}_ocr_hocr.hocr"
    return hocr_confidence(hocr.read_text(encoding="utf-8")) if hocr.exists() else None


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0][:200] if lines else ""
