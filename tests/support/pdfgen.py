"""Write small, valid PDFs from raw content streams, for tests that need exact operators.

One page, Helvetica as /F1 (a standard font: no embedding needed), a correct xref table.
Objects: 1 catalog, 2 page tree, 3 page, 4 font (`FONT_REF`), 5 content, 6... XObjects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from docanalysis.pdf_report import pdf_file

FONT_REF = "4 0 R"
LETTER = (0, 0, 612, 792)


def one_page_pdf(
    content: bytes,
    *,
    media_box: Sequence[float] = LETTER,
    crop_box: Sequence[float] | None = None,
    xobjects: Mapping[str, bytes] | None = None,
    ext_gstates: str = "",
) -> bytes:
    """A one-page PDF drawing `content`. `xobjects` maps resource names (without the slash)
    to object bodies (see image_xobject, form_xobject); `ext_gstates` is the body of the
    /ExtGState resource dictionary, e.g. "/GS1 << /ca 0 >>"."""
    xobjects = dict(xobjects or {})
    names = {name: 6 + index for index, name in enumerate(xobjects)}
    resources = f"/Font << /F1 {FONT_REF} >>"
    if names:
        resources += " /XObject << " + " ".join(f"/{n} {i} 0 R" for n, i in names.items()) + " >>"
    if ext_gstates:
        resources += f" /ExtGState << {ext_gstates} >>"
    page = f"<< /Type /Page /Parent 2 0 R /MediaBox {_array(media_box)}"
    if crop_box is not None:
        page += f" /CropBox {_array(crop_box)}"
    page += f" /Resources << {resources} >> /Contents 5 0 R >>"
    bodies = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        page.encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        stream(b"", content),
        *xobjects.values(),
    ]
    return pdf_file(bodies)


def stream(dictionary: bytes, data: bytes) -> bytes:
    """A stream object body: `dictionary` is the inside of << >> without /Length."""
    return b"<< " + dictionary + b" /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


def image_xobject(width: int = 2, height: int = 2) -> bytes:
    """A grey image (a stand-in for a scanned page), drawn where `cm` puts the unit square."""
    pixels = b"\x80" * (width * height)
    return stream(
        b"/Type /XObject /Subtype /Image /Width %d /Height %d " % (width, height)
        + b"/ColorSpace /DeviceGray /BitsPerComponent 8",
        pixels,
    )


def form_xobject(content: bytes, *, matrix: Sequence[float] = (1, 0, 0, 1, 0, 0)) -> bytes:
    """A form XObject with Helvetica as /F1, its own /Matrix."""
    head = (
        "/Type /XObject /Subtype /Form /BBox [-10000 -10000 10000 10000] "
        f"/Matrix {_array(matrix)} /Resources << /Font << /F1 {FONT_REF} >> >>"
    )
    return stream(head.encode(), content)


def _array(values: Sequence[float]) -> str:
    return "[" + " ".join(f"{v:g}" for v in values) + "]"
