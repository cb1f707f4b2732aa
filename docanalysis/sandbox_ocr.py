"""Scans: the pages without a usable text layer are OCRed in a sandboxed child of their own.

Reading the text layer comes first, as for any PDF (one child, or several: sandbox_parts.py).
Where some pages need OCR (core/ocr_pages.py), the first child answers with the pages it read
instead of a document, and the parent starts one more child (`--ocr-pages`) under the same
memory limit, with a wall clock and CPU time that grow with the pages to recognize
(DOCANALYSIS_OCR_PAGE_S each): OCR takes seconds a page where reading a text layer takes
milliseconds, and only the parent knows, by then, how many pages that is. Tesseract and
Ghostscript run as that child's own children, so its limits bind them too (rlimits are
inherited). The OCR child answers with the OCRed pages' text, read back by our extraction from
OCRmyPDF's output, and their confidences; the parent joins them with the born-digital pages.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from docanalysis.core.errors import ExtractionError
from docanalysis.core.extraction import (
    PageFailure,
    PageRead,
    document_from_pages,
    open_pdf,
    read_pages,
)
from docanalysis.core.hidden_text import PageText
from docanalysis.core.ocr_pages import mark_ocr, ocr_note, pages_to_ocr
from docanalysis.core.types import ExtractedDocument

REASON_OCR_NO_TEXT = "this PDF is a scan, and OCR found no text on most of its pages"


@dataclass(frozen=True)
class OcrOptions:
    """How scans are read: Tesseract language codes joined by "+", seconds allowed per page
    (wall clock and CPU), and OCR processes for one document."""

    languages: str = "eng"
    page_s: int = 60
    jobs: int = 1


@dataclass(frozen=True)
class Budget:
    """The limits of the text-layer read, which the OCR child extends."""

    timeout_s: int
    cpu_s: int
    memory_mb: int
    max_pages: int


def page_texts(pages: Sequence[PageRead]) -> list[str | None]:
    return [page.text if isinstance(page, PageText) else None for page in pages]


def wants_ocr(pages: Sequence[PageRead]) -> bool:
    return bool(pages_to_ocr(page_texts(pages)))


def finish(
    data: bytes,
    pages: Sequence[PageRead],
    *,
    budget: Budget,
    include_hidden: bool,
    ocr: OcrOptions | None,
) -> ExtractedDocument:
    """The document of the pages read, with the pages that need it OCRed (unless `ocr` is
    None: then a scan fails as `no_text`, as it did before OCR)."""
    sha256 = hashlib.sha256(data).hexdigest()
    indices = pages_to_ocr(page_texts(pages)) if ocr is not None else []
    if not indices or ocr is None:
        return document_from_pages(sha256, pages, included=include_hidden)
    recognized, confidences, ocr_pdf = _ocr_child(data, indices, budget, ocr)
    joined = [
        _join(page, recognized.get(index) if index in confidences else None)
        for index, page in enumerate(pages)
    ]
    try:
        document = document_from_pages(sha256, joined, included=include_hidden)
    except ExtractionError as exc:
        if exc.code == "no_text":
            raise ExtractionError(REASON_OCR_NO_TEXT, code="no_text") from exc
        raise
    # The pages OCR read (the OCR child leaves out blank ones).
    document = mark_ocr(document, {index + 1: score for index, score in confidences.items()})
    if not confidences:  # every page sent was blank: nothing was OCRed
        return document
    # Said where a lawyer reads the run's warnings (result view, results JSON), not only in
    # the pages' records: a finding on these pages rests on OCR's reading of an image.
    return replace(document, warnings=(ocr_note(document), *document.warnings), ocr_pdf=ocr_pdf)


def _join(layer: PageRead, ocr: PageRead | None) -> PageRead:
    """The OCR text where OCR read the page; the hidden text found in its original layer stays
    reported (it is never read into the analysis, OCR or not)."""
    if ocr is None or isinstance(ocr, PageFailure) or isinstance(layer, PageFailure):
        return layer
    return PageText(ocr.text, layer.hidden)


def _ocr_child(
    data: bytes, indices: list[int], budget: Budget, ocr: OcrOptions
) -> tuple[dict[int, PageRead], dict[int, float | None], bytes]:
    """The OCR child's pages, their confidences, and OCRmyPDF's output PDF, which the child
    writes into a folder of the parent's (not into its JSON answer: it can be megabytes)."""
    with tempfile.TemporaryDirectory(prefix="docanalysis-ocr-out-") as folder:
        output = Path(folder) / "ocr.pdf"
        pages, confidences = _run_ocr_child(data, indices, budget, ocr, output)
        try:
            return pages, confidences, output.read_bytes()
        except OSError as exc:  # it answered, so it wrote the file: anything else is a crash
            from docanalysis.sandbox import crashed_reason

            raise ExtractionError(crashed_reason(), code="parser_crashed") from exc


def _run_ocr_child(
    data: bytes, indices: list[int], budget: Budget, ocr: OcrOptions, output: Path
) -> tuple[dict[int, PageRead], dict[int, float | None]]:
    from docanalysis.sandbox import (
        Part,
        child_answer,
        child_command,
        child_env,
        crashed,
        timeout_reason,
    )

    extra = ocr.page_s * len(indices)
    timeout_s, cpu_s = budget.timeout_s + extra, budget.cpu_s + extra
    command = [
        *child_command(cpu_s=cpu_s, memory_mb=budget.memory_mb, max_pages=budget.max_pages),
        f"--ocr-pages={','.join(map(str, indices))}",
        f"--ocr-languages={ocr.languages}",
        f"--jobs={ocr.jobs}",
        f"--ocr-output={output}",
    ]
    try:
        done = subprocess.run(
            command, input=data, capture_output=True, timeout=timeout_s, env=child_env()
        )
    except subprocess.TimeoutExpired as exc:
        raise ExtractionError(timeout_reason(timeout_s), code="timeout") from exc
    answer = child_answer(done, cpu_s=cpu_s, memory_mb=budget.memory_mb)
    if not isinstance(answer, Part) or set(answer.pages) != set(indices):
        raise crashed(done)
    return answer.pages, dict(answer.confidences)


def ocr_part(data: bytes, args: argparse.Namespace) -> dict[str, Any]:
    """In the OCR child: OCR the pages `--ocr-pages` names, read them back from OCRmyPDF's
    output with our extraction, and answer with them and their confidences."""
    from docanalysis.ocr import recognize
    from docanalysis.sandbox import part_to_json

    indices = [int(number) for number in args.ocr_pages.split(",")]
    # The same refusals as the text-layer read.
    original, count = open_pdf(data, max_pages=args.max_pages)
    drawn = [index for index in indices if not blank(original.pages[index])]
    pages: dict[int, PageRead] = {index: PageText("", ()) for index in indices}
    confidences: dict[int, float | None] = {}
    result = data
    if drawn:
        recognized = recognize(data, drawn, languages=args.ocr_languages, jobs=args.jobs)
        reader, count = open_pdf(recognized.pdf, max_pages=args.max_pages)
        # The text layer of these pages is OCRmyPDF's invisible one, made by Tesseract from
        # the rendered image ("force" mode draws the page's old text into the image or drops
        # it): all of it is text a reader sees. Not left to the OCR-layer rule (pdf_scan.py),
        # which wants the image to cover half the page, and a page turned upright can be
        # letterboxed.
        pages.update(zip(drawn, read_pages(reader, drawn, include_hidden=True), strict=True))
        confidences = {index: recognized.confidences.get(index) for index in drawn}
        result = recognized.pdf
    part = part_to_json(count, indices, [pages[index] for index in indices])
    Path(args.ocr_output).write_bytes(result)
    # Only the pages OCR read have a confidence: a blank page was not OCRed.
    part["confidences"] = [[index, score] for index, score in confidences.items()]
    return part


# Below this many bytes of content, a page with no image and no text operator draws at most a
# few lines or boxes (a separator page, a signature block's rules): nothing for OCR to read.
# Text drawn as outlines (no fonts) takes far more, and is OCRed.
_BLANK_CONTENT_BYTES = 4096
_TEXT_OPERATOR = re.compile(rb"(?:^|[\s\]>)])(?:Tj|TJ)(?:$|[\s\[</(])")
_INLINE_IMAGE = re.compile(rb"(?:^|\s)BI(?:$|\s)")


def blank(page: Any) -> bool:
    """Whether a page has nothing OCR could read: no image, no text, little drawing. Damaged
    resources or content count as not blank (OCR then decides)."""
    try:
        content = page.get_contents()
        data = b"" if content is None else content.get_data()
        resources = page.get("/Resources")
        images = _has_image(resources.get_object() if resources is not None else None, depth=0)
    except MemoryError:
        raise
    except Exception:  # a damaged page: not known to be blank
        return False
    if images or _INLINE_IMAGE.search(data) or _TEXT_OPERATOR.search(data):
        return False
    return len(data) < _BLANK_CONTENT_BYTES


def _has_image(resources: Any, depth: int) -> bool:
    """An image XObject in these resources or those of the forms they hold (a few levels)."""
    if resources is None or depth > 4 or "/XObject" not in resources:
        return False
    for xobject in resources["/XObject"].get_object().values():
        stream = xobject.get_object()
        subtype = stream.get("/Subtype")
        if subtype == "/Image":
            return True
        inner = stream.get("/Resources")
        if subtype == "/Form" and _has_image(inner and inner.get_object(), depth + 1):
            return True
    return False
