"""A document's original pages as images, and where a passage of its text is drawn on its page:
what the document view shows beside the clauses.

Our offsets index pypdf's text; pdfium renders the page and knows where each of its characters
is drawn, so a passage is found again in pdfium's reading of the page (core/text_align.py).
Both read the untrusted PDF, so pdfium runs in a child process with time and memory limits, as
extraction does (docanalysis/sandbox.py): a hostile file can exhaust a renderer, never the web
server. Results are cached on disk by the file's sha256, so a page is rendered once, for
whoever views it. A file's images must not outlive it: forget_pages removes them, for the code
that removes the file, and a request that finds the file gone removes them too.

The child is `python -m docanalysis.services.pages`: this module imports only the standard
library and the core at the top, so the child starts in a fraction of a second; the database
is imported by the functions that need it.
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import json
import logging
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docanalysis.core.errors import DocAnalysisError
from docanalysis.core.text_align import Box, line_boxes, locate
from docanalysis.services.errors import NotFound

if TYPE_CHECKING:
    from docanalysis.services.runtime import Runtime

PDF = "application/pdf"
# Scales a client may ask for; asked scales are rounded to a step, so the cache stays small.
MIN_SCALE, MAX_SCALE, SCALE_STEP = 0.5, 4.0, 0.25
# A page may be 200 inches wide: however big it is, its image stays under these.
MAX_SIDE_PX = 4096
MAX_PIXELS = 12_000_000
CHILD_TIMEOUT_S = 20
_NO_SUCH_PAGE = 4  # the child's exit status for a page number the PDF does not have
_OUT_OF_MEMORY = 3
_UNREADABLE = 5
# Page-to-image coordinates are whole device units; this many per point keeps them exact.
_UNITS_PER_POINT = 100
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])

log = logging.getLogger(__name__)


class Unrenderable(DocAnalysisError):
    """pdfium could not render or read this page (damaged, too complex, too slow)."""

    code = "unrenderable"


class OutOfRange(DocAnalysisError):
    """Offsets that are not a passage of the document's text, or a scale not offered."""

    code = "out_of_range"


@dataclass(frozen=True)
class Highlight:
    """Where a passage is drawn: its page, and one box per line in fractions of the page as
    shown (rotated, cropped), origin at the top left."""

    page: int
    boxes: tuple[Box, ...]
    width: float  # the page as shown, in points
    height: float


def page_image(
    rt: Runtime, user_id: int | None, document_id: int, page: int, scale: float
) -> bytes:
    """Page `page` (from 1) of the document's PDF as a PNG, at about `scale` pixels per point
    (rounded to a step, and less where the page is huge). NotFound: not the user's document,
    not a PDF, or no such page."""
    sha256, count = _visible_pdf(rt, user_id, document_id)
    if count is not None and not 1 <= page <= count:  # known without starting a renderer
        raise NotFound(f"this document has no page {page}")
    step = quantize_scale(scale)
    path = _cache_dir(rt, sha256) / f"page-{page}@{step:g}.png"
    return _cached(rt, sha256, path, {"op": "render", "page": page, "scale": step})


def highlight_boxes(
    rt: Runtime, user_id: int | None, document_id: int, start: int, end: int
) -> Highlight:
    """Where the document's text[start:end] is drawn on the page it starts on (a passage that
    runs on is cut at the page's end). No boxes where pdfium's reading does not have it."""
    sha256, text, pages = _text_of(rt, user_id, document_id)
    if not 0 <= start < end <= len(text):
        raise OutOfRange(f"characters {start}-{end} are not in this document's text")
    at = next((p for p in pages if p[1] <= start < p[2]), None)
    if at is None:
        raise OutOfRange(f"character {start} is on no page of this document")
    number, page_start, page_end = at
    request = {
        "op": "locate",
        "page": number,
        "source": text[page_start:page_end],
        "start": start - page_start,
        "end": min(end, page_end) - page_start,
    }
    key = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()[:32]
    found = json.loads(_cached(rt, sha256, _cache_dir(rt, sha256) / f"at-{key}.json", request))
    boxes = tuple((b[0], b[1], b[2], b[3]) for b in found["boxes"])
    return Highlight(number, boxes, float(found["width"]), float(found["height"]))


def page_count(rt: Runtime, user_id: int | None, document_id: int) -> int:
    """How many page images the document has: its pages for a PDF that was read, else 0."""
    from docanalysis.db.engine import reading
    from docanalysis.services.queries import visible_document

    with reading(rt.engine) as conn:
        doc = visible_document(conn, user_id, document_id)
    return int(doc.pages or 0) if doc.media_type == PDF else 0


def forget_pages(rt: Runtime, sha256: str) -> None:
    """Remove the cached images of a file, and its OCR output (a copy of its content): call
    it where the file itself is removed."""
    shutil.rmtree(_cache_dir(rt, sha256), ignore_errors=True)
    ocr_pdf_path(rt, sha256).unlink(missing_ok=True)


def ocr_pdf_path(rt: Runtime, sha256: str) -> Path:
    """Where a scan's OCR output is kept, by the sha256 of the file as uploaded: the PDF the
    viewer shows for it (core/types.ExtractedDocument.ocr_pdf)."""
    return rt.settings.data_dir / "ocr" / sha256[:2] / f"{sha256}.pdf"


def store_ocr_pdf(rt: Runtime, sha256: str, data: bytes) -> None:
    """Keep a scan's OCR output for the viewer: its pages are straightened and carry their
    text where the words are drawn, so page images and highlights agree with the text."""
    path = ocr_pdf_path(rt, sha256)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def quantize_scale(scale: float) -> float:
    """The scale a page is rendered at for an asked one; OutOfRange if not offered."""
    if not math.isfinite(scale) or not MIN_SCALE <= scale <= MAX_SCALE:
        raise OutOfRange(f"the scale must be between {MIN_SCALE} and {MAX_SCALE}")
    return round(scale / SCALE_STEP) * SCALE_STEP


def _visible_pdf(rt: Runtime, user_id: int | None, document_id: int) -> tuple[str, int | None]:
    """The sha256 of a PDF the user may see, and its pages (None until it has been read)."""
    from docanalysis.db.engine import reading
    from docanalysis.services.queries import visible_document

    with reading(rt.engine) as conn:
        doc = visible_document(conn, user_id, document_id)
    if doc.media_type != PDF:
        raise NotFound("this document has no pages to show")
    return str(doc.sha256), None if doc.pages is None else int(doc.pages)


def _text_of(
    rt: Runtime, user_id: int | None, document_id: int
) -> tuple[str, str, list[tuple[int, int, int]]]:
    """The sha256 of a PDF the user may see, its text and its pages (number, start, end)."""
    from docanalysis.db import repositories as repo
    from docanalysis.db.engine import reading
    from docanalysis.services.queries import visible_document

    with reading(rt.engine) as conn:
        doc = visible_document(conn, user_id, document_id)
        stored = repo.document_text(conn, document_id)
    if doc.media_type != PDF or stored is None:
        raise NotFound("this document has no pages to show")
    pages = [(int(p["number"]), int(p["start"]), int(p["end"])) for p in stored.pages]
    return str(doc.sha256), str(stored.text), pages


def _cache_dir(rt: Runtime, sha256: str) -> Path:
    return rt.settings.data_dir / "page-cache" / sha256[:2] / sha256


def _cached(rt: Runtime, sha256: str, path: Path, request: dict[str, Any]) -> bytes:
    """The cached result, or the child's, stored first. The file must still be there: a
    deleted document's images are never served, and go with it."""
    blob = rt.blobs.path(sha256)
    if not blob.exists():
        forget_pages(rt, sha256)
        raise NotFound("no such document")
    # A scan is shown as OCR made it (straightened, its text where the words are); "ocr-"
    # keeps those results apart from any made from the upload before its OCR was stored.
    ocr = ocr_pdf_path(rt, sha256)
    if ocr.exists():
        blob, path = ocr, path.with_name(f"ocr-{path.name}")
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    result = _in_child(rt, blob.read_bytes(), request)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename: a reader never sees half a file, and two renders of a page agree.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(result)
    os.replace(tmp, path)
    return result


def _in_child(rt: Runtime, data: bytes, request: dict[str, Any]) -> bytes:
    memory_mb = rt.settings.extract_memory_mb
    command = [
        sys.executable,
        "-m",
        "docanalysis.services.pages",
        f"--timeout-s={CHILD_TIMEOUT_S}",
        f"--memory-mb={memory_mb}",
    ]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
    stdin = json.dumps(request).encode() + b"\n" + data
    try:
        done = subprocess.run(
            command, input=stdin, capture_output=True, timeout=CHILD_TIMEOUT_S, env=env
        )
    except subprocess.TimeoutExpired:
        raise Unrenderable("this page took too long to render") from None
    if done.returncode == _NO_SUCH_PAGE:
        raise NotFound(f"this document has no page {request['page']}")
    if done.returncode != 0:
        log.warning("page renderer failed: status %s, %r", done.returncode, done.stderr[-2000:])
        raise Unrenderable("this page could not be rendered")
    return done.stdout


# The child: everything below runs in `python -m docanalysis.services.pages`.


def _limit_self(timeout_s: int, memory_mb: int) -> None:
    import resource  # Unix only; the parent never calls this

    memory = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (timeout_s, timeout_s + 1))


def _child(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="docanalysis.services.pages")
    parser.add_argument("--timeout-s", type=int, required=True)
    parser.add_argument("--memory-mb", type=int, required=True)
    args = parser.parse_args(argv)
    _limit_self(args.timeout_s, args.memory_mb)  # before a byte of the PDF is read
    import pypdfium2 as pdfium

    header, _, data = sys.stdin.buffer.read().partition(b"\n")
    request = json.loads(header)
    work: Callable[[Any, dict[str, Any]], bytes] = _render if request["op"] == "render" else _find
    try:
        pdf = pdfium.PdfDocument(data)
        if not 1 <= int(request["page"]) <= len(pdf):
            return _NO_SUCH_PAGE
        result = work(pdf[int(request["page"]) - 1], request)
    except MemoryError:
        return _OUT_OF_MEMORY
    except pdfium.PdfiumError as exc:  # damaged, or locked with a password: one line, no trace
        print(f"pdfium: {exc}", file=sys.stderr)
        return _UNREADABLE
    sys.stdout.buffer.write(result)
    sys.stdout.flush()
    return 0


def _render(page: Any, request: dict[str, Any]) -> bytes:
    width, height = page.get_size()
    scale = min(
        float(request["scale"]),
        MAX_SIDE_PX / max(width, height, 1.0),
        math.sqrt(MAX_PIXELS / max(width * height, 1.0)),
    )
    bitmap = page.render(scale=scale, rev_byteorder=True)  # RGB, 3 bytes a pixel
    return png_rgb(bitmap.width, bitmap.height, bitmap.stride, bytes(bitmap.buffer))


def png_rgb(width: int, height: int, stride: int, pixels: bytes) -> bytes:
    """An 8-bit RGB PNG of rows `stride` bytes apart (the renderer pads them)."""
    rows = b"".join(b"\x00" + pixels[y * stride : y * stride + width * 3] for y in range(height))

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 6))
        + chunk(b"IEND", b"")
    )


def _find(page: Any, request: dict[str, Any]) -> bytes:
    """The passage's lines on the page, as JSON: boxes in fractions of the page as shown."""
    import pypdfium2.raw as pdfium_c

    textpage = page.get_textpage()
    # One character per index, as pdfium counts them (get_text_range may not keep to that).
    chars = "".join(
        chr(pdfium_c.FPDFText_GetUnicode(textpage, i)) for i in range(textpage.count_chars())
    )
    found = locate(str(request["source"]), int(request["start"]), int(request["end"]), chars)
    width, height = page.get_size()
    boxes: list[Box] = []
    if found is not None:
        count = textpage.count_rects(found.start, found.end - found.start)
        shown = [_shown(page, textpage.get_rect(i), width, height) for i in range(count)]
        boxes = [_fraction(_padded(box), width, height) for box in line_boxes(shown)]
    return json.dumps({"boxes": boxes, "width": width, "height": height}).encode()


def _shown(page: Any, rect: tuple[float, float, float, float], width: float, height: float) -> Box:
    """A rectangle in PDF user space (origin bottom left, before /Rotate and the crop box) as
    drawn in the page's image, in points from its top left: pdfium's own transformation, the
    one its renderer applies, so rotated and cropped pages agree with the image."""
    import pypdfium2.raw as pdfium_c

    size_x, size_y = round(width * _UNITS_PER_POINT), round(height * _UNITS_PER_POINT)
    xs, ys = [], []
    for x, y in ((rect[0], rect[1]), (rect[2], rect[3])):
        dx, dy = ctypes.c_int(), ctypes.c_int()
        pdfium_c.FPDF_PageToDevice(page, 0, 0, size_x, size_y, 0, x, y, dx, dy)
        xs.append(dx.value / _UNITS_PER_POINT)
        ys.append(dy.value / _UNITS_PER_POINT)
    return (min(xs), min(ys), max(xs), max(ys))


def _padded(box: Box) -> Box:
    """pdfium's boxes are tight around the glyphs; a highlight also covers the descenders
    and accents of the line, and does not touch its letters. The margin follows the line's
    thickness, whichever way the line runs on a rotated page."""
    pad = max(1.0, 0.15 * min(box[2] - box[0], box[3] - box[1]))
    return (box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad)


def _fraction(box: Box, width: float, height: float) -> Box:
    x0, y0, x1, y1 = box
    return (_unit(x0 / width), _unit(y0 / height), _unit(x1 / width), _unit(y1 / height))


def _unit(value: float) -> float:
    """Within the page: text may be drawn off it."""
    return round(min(max(value, 0.0), 1.0), 5)


if __name__ == "__main__":
    sys.exit(_child())
