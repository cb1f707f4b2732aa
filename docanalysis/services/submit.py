"""submit_document: accept an upload, record it, and start its analysis after the commit."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from sqlalchemy import Connection

from docanalysis.core.archive import ArchiveError, ArchiveLimits, is_zip, limits_for_upload
from docanalysis.core.decrypt import DecryptionError, decrypt_pdf, needs_password
from docanalysis.core.docx_text import DOCX, REASON_MACROS, check_docx
from docanalysis.db import repositories as repo
from docanalysis.db.engine import transaction
from docanalysis.services.audit import record
from docanalysis.services.blobs import Staged
from docanalysis.services.errors import NotFound, Rejected
from docanalysis.services.members import require
from docanalysis.services.runtime import Runtime
from docanalysis.services.views import Actor, Submitted

PDF_MAGIC = b"%PDF-"
# What may come before the header (docs/uploads.md): PDF whitespace and a UTF-8 byte-order
# mark, within the first kilobyte (where readers look for the header). Other leading bytes
# (mail headers, HTML, a fuzzer's junk) are refused: a file that is something else first is
# not stored as a PDF, and serving it back later must never hand a browser a polyglot.
HEADER_WINDOW = 1024
_LEADING_OK = frozenset(b"\x00\t\n\x0c\r ")
_BOM = b"\xef\xbb\xbf"
# Removed from names: control characters, and the direction marks and overrides that make
# "invoice\u202efdp.exe" read "invoiceexe.pdf" on screen.
_UNSAFE_NAME_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
MAX_NAME_CHARS = 500  # documents.original_name


PDF = "application/pdf"
TEXT = "text/plain"
# The names a ZIP-based upload may carry, and what each becomes (docs/uploads.md).
WORD_SUFFIXES = (".docx",)
MACRO_SUFFIXES = (".docm", ".dotm")
ARCHIVE_SUFFIXES = (".zip",)
NOT_WORD = "{name} is not a Word document: it is damaged; save it again from Word as .docx"


def validate_upload(filename: str, data: bytes, max_bytes: int) -> tuple[str, str]:
    """The cleaned file name and its media type, or Rejected with a sentence the user can act
    on. PDFs are recognised by their header (see `pdf_header_offset`), not the extension; a
    plain-text file by its .txt name and UTF-8 content; a Word file by its ZIP content with a
    Word main part and its .docx name (see `word_type`)."""
    name = clean_name(filename)
    if not data:
        raise Rejected(f"{name} is empty", code="empty")
    if len(data) > max_bytes:
        limit_mb = max_bytes // (1024 * 1024)
        raise Rejected(f"{name} is larger than the {limit_mb} MB limit", code="too_large")
    if pdf_header_offset(data) is not None:
        return name, PDF
    if is_zip(data) and not name.lower().endswith(".pdf"):  # a .pdf is judged as a PDF
        return name, word_type(name, data, limits_for_upload(max_bytes))
    if name.lower().endswith(".txt"):
        try:
            data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise Rejected(f"{name} is not UTF-8 text", code="unsupported_media_type") from None
        return name, TEXT
    if PDF_MAGIC in data[:HEADER_WINDOW]:
        raise Rejected(
            f"{name} is not a PDF: other data comes before its PDF header; save it again "
            "as a PDF from the program that made it",
            code="unsupported_media_type",
        )
    if name.lower().endswith(".pdf"):  # what the user meant it to be: say what it is not
        raise Rejected(f"{name} is not a PDF", code="unsupported_media_type")
    raise Rejected(
        f"{name} is not a PDF, a Word document (.docx) or a UTF-8 text file (.txt)",
        code="unsupported_media_type",
    )


def word_type(name: str, data: bytes, limits: ArchiveLimits | None = None) -> str:
    """DOCX for a safe Word file named .docx; Rejected for any other ZIP, with what to do: a
    macro-enabled file, an archive (the browser and the API take it as a bulk upload before
    this; the CLI analyzes one document), anything else."""
    lower = name.lower()
    if lower.endswith(MACRO_SUFFIXES):
        raise Rejected(f"{name}: {REASON_MACROS}", code="macros")
    if lower.endswith(ARCHIVE_SUFFIXES):
        raise Rejected(
            f"{name} is an archive: upload it in the browser or through the API, which import "
            "each of its documents",
            code="archive",
        )
    if not lower.endswith(WORD_SUFFIXES):
        raise Rejected(
            f"{name} is not a PDF, a Word document (.docx) or a UTF-8 text file (.txt)",
            code="unsupported_media_type",
        )
    try:
        check_docx(data, name, limits or ArchiveLimits())
    except ArchiveError as e:
        if e.code == "corrupt":
            raise Rejected(NOT_WORD.format(name=name), code="unsupported_media_type") from None
        raise Rejected(e.reason, code=e.code) from None
    return DOCX


def pdf_header_offset(data: bytes) -> int | None:
    """Where `%PDF-` starts, if only whitespace or a byte-order mark precedes it within the
    first kilobyte; None otherwise."""
    offset = data.find(PDF_MAGIC, 0, HEADER_WINDOW)
    if offset < 0:
        return None
    lead = data[:offset]
    lead = lead[len(_BOM) :] if lead.startswith(_BOM) else lead
    return offset if all(byte in _LEADING_OK for byte in lead) else None


def clean_name(filename: str) -> str:
    """The name to show and keep as metadata, never a path (files are stored by sha256): no
    folders, no control or direction characters, at most MAX_NAME_CHARS with the extension
    kept."""
    name = PurePath(filename.replace("\\", "/")).name
    name = _UNSAFE_NAME_CHARS.sub("", name).strip()
    if name in ("", ".", ".."):
        return "document.pdf"
    if len(name) <= MAX_NAME_CHARS:
        return name
    stem, dot, extension = name.rpartition(".")
    if not dot or len(extension) > 10:
        return name[:MAX_NAME_CHARS]
    return stem[: MAX_NAME_CHARS - len(extension) - 1] + "." + extension


class AlreadyInMatter(Rejected):
    """The same file (by content, whatever its name) is already a document of this matter."""

    code = "duplicate"

    def __init__(self, reason: str, document_id: int) -> None:
        super().__init__(reason)
        self.document_id = document_id


def submit_document(
    rt: Runtime,
    actor: Actor,
    matter_id: int,
    filename: str,
    data: bytes,
    *,
    refuse_duplicate: bool = False,
    ask_password: bool = False,
    password: str | None = None,
) -> Submitted:
    """An upload into a matter the actor belongs to. With `refuse_duplicate` (the browser), a
    file the matter already has is not analyzed twice: AlreadyInMatter names the document. The
    CLI analyzes what it is given, again if asked. A PDF that opens only with a password is
    stored decrypted when `password` opens it (see `unlock`)."""
    name, media_type = validate_upload(filename, data, rt.settings.max_upload_bytes)
    data, decrypted = unlock(name, media_type, data, password, ask_password=ask_password)
    sha256 = hashlib.sha256(data).hexdigest()
    # Written and fsynced before the transaction, so no lock waits on the disk (blobs.py).
    with rt.blobs.staging(data, sha256) as staged, transaction(rt.engine) as conn:
        found = repo.matter(conn, matter_id)
        if found is None:
            raise NotFound("no such matter")
        require(conn, actor, matter_id, "editor")
        if refuse_duplicate:
            repo.lock_name(conn, f"matter-file:{matter_id}:{sha256}")  # two tabs, one upload
            existing = repo.document_with_file(conn, matter_id, sha256)
            if existing is not None:
                raise AlreadyInMatter(f"{name} is already in this matter", existing)
        upload = Upload(name, media_type, data, sha256, decrypted, staged)
        submitted = create_document(conn, rt, actor, found, upload)
    rt.queue.enqueue_run(submitted.run_id)  # after commit: the worker must find the rows
    return submitted


def unlock(
    name: str, media_type: str, data: bytes, password: str | None, *, ask_password: bool
) -> tuple[bytes, bool]:
    """The bytes to store, and whether they are a decrypted copy. A PDF that opens only with a
    password is decrypted with `password`; without one, `ask_password` (the browser, which
    can ask) refuses it as password_required, else it is stored as given and its analysis says
    it is password-protected (the CLI, which cannot ask). The password is used here once: it
    is not stored, logged, audited or put in a reason."""
    if media_type != PDF or not (password or ask_password) or not needs_password(data):
        return data, False
    if not password:
        raise Rejected(
            f"{name} is password-protected: enter its password", code="password_required"
        )
    try:
        return decrypt_pdf(data, password), True
    except DecryptionError as e:
        raise Rejected(f"{name}: {e.reason}", code=e.code) from None


@dataclass(frozen=True)
class Upload:
    """A validated file: its cleaned name, media type, bytes and their sha256; `decrypted`: the
    bytes are a copy of a password-protected PDF without its password; `staged`: the bytes
    already written to disk by BlobStore.staging (None: create_document writes them)."""

    name: str
    media_type: str
    data: bytes
    sha256: str
    decrypted: bool = False
    staged: Staged | None = None


def create_document(
    conn: Connection,
    rt: Runtime,
    actor: Actor,
    matter: repo.Record,
    upload: Upload,
    **external: str | None,
) -> Submitted:
    """Store the file, the document, its run and the audit event in the caller's transaction
    (the caller enqueues the run after the commit). `external`: a REST client's
    external_system, external_id, external_version; a bulk upload's source_path (the file's
    place in its archive) and the external ids of its metadata.csv."""
    # Stored under the file's lock, before the commit (a committed row always has its bytes):
    # a delete of the last other document with this file cannot remove it in between.
    repo.lock_blob(conn, upload.sha256)
    if upload.staged is not None:
        rt.blobs.publish(upload.staged)
    else:
        rt.blobs.put(upload.data, upload.sha256)
    tenant_id, matter_id = int(matter.tenant_id), int(matter.id)
    document_id = repo.create_document(
        conn,
        tenant_id=tenant_id,
        matter_id=matter_id,
        sha256=upload.sha256,
        original_name=upload.name,
        size_bytes=len(upload.data),
        media_type=upload.media_type,
        uploaded_by=actor.user_id,
        **external,
    )
    run_id = repo.create_run(conn, document_id)
    details: dict[str, Any] = {key: value for key, value in external.items() if value is not None}
    if upload.decrypted:
        details["decrypted"] = True  # the stored file is the unlocked copy, not the upload
    record(
        conn,
        actor,
        "document.uploaded",
        f"document:{document_id}",
        tenant_id=tenant_id,
        matter_id=matter_id,
        sha256=upload.sha256,
        name=upload.name,
        size_bytes=len(upload.data),
        run_id=run_id,
        **details,
    )
    return Submitted(document_id=document_id, run_id=run_id)
