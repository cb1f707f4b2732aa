"""Password-protected PDFs: whether a PDF needs its password, and a decrypted copy of it.

The password is an argument and nothing else: it is not kept, logged or put in an error.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import TypeVar

import pypdf
from pypdf import PasswordType

from docanalysis.core.errors import DocAnalysisError

REASON_WRONG_PASSWORD = "the password is not correct"
REASON_DAMAGED = "this PDF is damaged and its password protection cannot be removed"

T = TypeVar("T")


class DecryptionError(DocAnalysisError):
    """The PDF could not be decrypted: `password_wrong`, or `malformed`."""

    code = "decryption_failed"


def needs_password(data: bytes) -> bool:
    """True for a PDF that opens only with a password. Permission-only encryption (the empty
    user password opens it) does not count: extraction reads those as they are. A file pypdf
    cannot open is not asked about either: its analysis reports the damage with its reason."""
    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
        return bool(reader.is_encrypted) and reader.decrypt("") == PasswordType.NOT_DECRYPTED
    except MemoryError:
        raise
    except (Exception, RecursionError):
        return False


def decrypt_pdf(data: bytes, password: str) -> bytes:
    """A copy of the PDF without its encryption, opened with `password` (the user or the owner
    password). A PDF that is not encrypted comes back as it is."""
    reader = _guard(lambda: pypdf.PdfReader(io.BytesIO(data), strict=False))
    if not _guard(lambda: reader.is_encrypted):
        return data
    if _guard(lambda: reader.decrypt(password)) == PasswordType.NOT_DECRYPTED:
        raise DecryptionError(REASON_WRONG_PASSWORD, code="password_wrong")
    return _guard(lambda: _write(reader))


def _write(reader: pypdf.PdfReader) -> bytes:
    # clone_from copies every object through the decrypting reader; the writer has no
    # encryption of its own, so the copy opens without a password.
    writer = pypdf.PdfWriter(clone_from=reader)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _guard(step: Callable[[], T]) -> T:
    """Run a pypdf step; any failure on a hostile or broken file becomes one plain reason.

    pypdf raises its own errors but also TypeError, KeyError, zlib.error and RecursionError;
    its messages carry bytes reprs, not for users. `from None`: nothing of the file's
    internals (nor the password pypdf was given) travels on in the traceback.
    """
    try:
        return step()
    except (DecryptionError, MemoryError):
        raise
    except (Exception, RecursionError):
        raise DecryptionError(REASON_DAMAGED, code="malformed") from None
