"""Word files and ZIP archives made by the tests: known clauses, known folders, known attacks."""

from __future__ import annotations

import io
import stat
import zipfile

GOVERNING_LAW = "This Agreement shall be governed by the laws of the State of New York."
TERMINATION = "Either party may terminate this Agreement upon thirty days' written notice."
PAYMENT = "The Customer shall pay each invoice within forty-five days of its date."


def contract_docx() -> bytes:
    """A short agreement: a title, two numbered sections with their clauses, and a table."""
    import docx

    document = docx.Document()
    document.add_heading("Master Services Agreement", level=0)
    document.add_paragraph("This Agreement is made between Alpha Corp and Beta LLC.")
    document.add_heading("1. Payment", level=1)
    document.add_paragraph(PAYMENT)
    document.add_heading("2. Termination", level=1)
    document.add_paragraph("The term of this Agreement is two years.")
    document.add_paragraph(TERMINATION)
    document.add_heading("3. Governing Law", level=1)
    document.add_paragraph(GOVERNING_LAW)
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "Alpha Corp"
    table.cell(0, 1).text = "Beta LLC"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def make_zip(members: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def symlink_zip(name: str, target: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        info = zipfile.ZipInfo(name)
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, target)
    return out.getvalue()


def bomb_zip(name: str = "bomb.txt", size: int = 50 * 1024 * 1024) -> bytes:
    """One member of `size` zero bytes: it compresses about a thousand times."""
    return make_zip({name: b"\0" * size})
