"""Canaries for the tenant-isolation test: tenants whose documents carry strings of their own,
the documents themselves (plain text and one-page PDFs), and the readers that turn what the
product hands out (JSON, CSV, XLSX, DOCX, PDF, ZIP, log files, Redis, the data folder) into
text to search for them.

A canary is placed where the keyword model (tests/support/fakes.py) cites it: at the start of
the provisions that hold "Dated:", "LLC" and "governed by", so that the findings quote it and
the clause values (the first 40 characters of a provision) carry it whole.
"""

from __future__ import annotations

import base64
import io
import json
import re
import uuid
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.pdfgen import one_page_pdf

PDF_TYPE = "application/pdf"
TEXT_TYPE = "text/plain"
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Doc:
    name: str
    canary: str  # this document's own
    data: bytes
    media_type: str


@dataclass
class Tenant:
    """A tenant of the test: its canary, its documents, and what the API gave it."""

    index: int
    name: str
    canary: str
    docs: tuple[Doc, ...]
    key: str = ""
    matter_ref: str = ""
    matter_id: int = 0
    document_ids: list[int] = field(default_factory=list)
    run_ids: list[int] = field(default_factory=list)

    @property
    def canaries(self) -> frozenset[str]:
        """The strings of its documents' text: never in a log, a key, a file name, an event."""
        return frozenset({self.canary, *(d.canary for d in self.docs)})

    @property
    def labels(self) -> frozenset[str]:
        """Its metadata (tenant, matter and file names): in its own exports, never another's."""
        return frozenset({self.name, self.matter_ref, *(d.name for d in self.docs)})


def make_tenants(count: int, docs_each: int, pdfs_each: int) -> list[Tenant]:
    return [_tenant(i, docs_each, pdfs_each) for i in range(count)]


def _tenant(index: int, docs_each: int, pdfs_each: int) -> Tenant:
    tag = uuid.uuid4().hex[:8]
    name = f"tenant{index}-{tag}"
    canary = f"CANARY-T{index}-{uuid.uuid4().hex[:16]}"
    docs = tuple(_doc(name, index, canary, n, n < pdfs_each) for n in range(docs_each))
    return Tenant(index, name, canary, docs, matter_ref=f"MATTER-{name}")


def _doc(tenant: str, index: int, tenant_canary: str, number: int, pdf: bool) -> Doc:
    own = f"DOCCANARY-T{index}D{number}-{uuid.uuid4().hex[:12]}"
    lines = contract_lines(tenant_canary, own, number)
    if pdf:
        return Doc(f"{tenant}-contract-{number}.pdf", own, pdf_of(lines), PDF_TYPE)
    text = "\n\n".join(lines) + "\n"
    return Doc(f"{tenant}-contract-{number}.txt", own, text.encode(), TEXT_TYPE)


def contract_lines(tenant_canary: str, own: str, number: int) -> list[str]:
    """A small contract: three provisions the keyword model cites, each opening with a canary,
    and one it does not cite."""
    return [
        "SUPPLY AGREEMENT",
        f"1. {tenant_canary} Dated: 1 March 2024.",
        f"2. {own} Alpha LLC and Beta Corp are the parties.",
        f"3. {tenant_canary} This agreement is governed by the laws of New York.",
        f"4. Schedule {number}. Reference {own} and {tenant_canary}.",
    ]


def pdf_of(lines: Iterable[str]) -> bytes:
    """A one-page PDF, a line of Helvetica 10 pt per line, a blank line between them."""
    shown = b" 0 -28 Td ".join(b"(" + _pdf_text(line) + b") Tj" for line in lines)
    return one_page_pdf(b"BT /F1 10 Tf 50 740 Td " + shown + b" ET")


def _pdf_text(line: str) -> bytes:
    escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return escaped.encode("latin-1")


# --- reading what the product hands out ---------------------------------------------------


def readable(data: bytes, kind: str) -> str:
    """The text of a response body or file: `kind` is json, csv, docx, xlsx, pdf or zip."""
    if kind == "docx":
        return _docx_text(data)
    if kind == "xlsx":
        return _xlsx_text(data)
    if kind == "pdf":
        return _pdf_text_of(data)
    if kind == "zip":
        return _zip_text(data)
    return data.decode("utf-8", errors="replace")


def _docx_text(data: bytes) -> str:
    import docx

    document = docx.Document(io.BytesIO(data))
    cells = [c.text for t in document.tables for r in t.rows for c in r.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def _xlsx_text(data: bytes) -> str:
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    values = [
        str(v)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
        for v in row
    ]
    return "\n".join([*book.sheetnames, *values])


def _pdf_text_of(data: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def _zip_text(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return "\n".join(
            f"{name}\n" + archive.read(name).decode("utf-8", errors="replace")
            for name in archive.namelist()
        )


def found_in(text: str, strings: Iterable[str]) -> set[str]:
    """Which of `strings` are in `text`, also where a line wrap cut one (a report wraps a long
    word inside it, at no hyphen): the strings hold no whitespace."""
    flat = _SPACE.sub("", text)
    return {s for s in strings if s in text or s in flat}


def celery_message_args(raw: bytes) -> tuple[object, object, str]:
    """(args, kwargs, the whole message as text) of a kombu message as Redis holds it: in a
    queue the message itself, in the `unacked` hash [message, exchange, routing key]."""
    message = json.loads(raw)
    if isinstance(message, list):
        message = message[0]
    body = message["body"]
    if message["properties"].get("body_encoding") == "base64":
        body = base64.b64decode(body).decode()
    args, kwargs, _ = json.loads(body)
    return args, kwargs, raw.decode() + body


def names_under(folder: Path) -> Iterator[str]:
    """The name of every file and folder under `folder`, relative to it."""
    for path in folder.rglob("*"):
        yield str(path.relative_to(folder))


__all__ = [
    "Doc",
    "Tenant",
    "celery_message_args",
    "contract_lines",
    "found_in",
    "make_tenants",
    "names_under",
    "pdf_of",
    "readable",
]
