"""Password-protected PDFs in the core: which need a password, and the decrypted copy."""

from __future__ import annotations

import io
from pathlib import Path

import pypdf
import pytest

from docanalysis.core.decrypt import (
    REASON_DAMAGED,
    REASON_WRONG_PASSWORD,
    DecryptionError,
    decrypt_pdf,
    needs_password,
)
from docanalysis.core.extraction import extract_pdf
from tests.conftest import ONE_PAGE_CONTRACT

PERMISSION_ONLY = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "data"
    / "pdfs"
    / "malformed"
    / "pypdf"
    / "r2-owner-password.pdf"
)
USER_PASSWORD, OWNER_PASSWORD = "Tr0ub4dor&3", "owner-only-9"


def encrypted(source: bytes, algorithm: str = "AES-256") -> bytes:
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(source)))
    writer.encrypt(user_password=USER_PASSWORD, owner_password=OWNER_PASSWORD, algorithm=algorithm)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture(scope="module")
def original() -> bytes:
    return ONE_PAGE_CONTRACT.read_bytes()


@pytest.mark.parametrize("algorithm", ["AES-256", "AES-128", "RC4-128"])
def test_the_right_password_gives_a_copy_that_reads_like_the_original(
    original: bytes, algorithm: str
) -> None:
    locked = encrypted(original, algorithm)

    opened = decrypt_pdf(locked, USER_PASSWORD)

    assert not pypdf.PdfReader(io.BytesIO(opened)).is_encrypted
    assert not needs_password(opened)
    assert extract_pdf(opened).text == extract_pdf(original).text
    assert USER_PASSWORD.encode() not in opened


def test_the_owner_password_opens_it_too(original: bytes) -> None:
    opened = decrypt_pdf(encrypted(original), OWNER_PASSWORD)

    assert extract_pdf(opened).text == extract_pdf(original).text


def test_the_copy_is_the_same_bytes_each_time(original: bytes) -> None:
    # Duplicates are recognised by the stored file's hash: the same upload must store the same.
    locked = encrypted(original)

    assert decrypt_pdf(locked, USER_PASSWORD) == decrypt_pdf(locked, USER_PASSWORD)


def test_a_wrong_password_is_refused_without_repeating_it(original: bytes) -> None:
    with pytest.raises(DecryptionError) as caught:
        decrypt_pdf(encrypted(original), "not-the-password")

    assert caught.value.code == "password_wrong"
    assert caught.value.reason == REASON_WRONG_PASSWORD == "the password is not correct"
    assert "not-the-password" not in str(caught.value)
    assert caught.value.__cause__ is None


@pytest.mark.parametrize(
    "data",
    [b"%PDF-1.7\n garbage \x00\xff" * 20, b"not a pdf at all", b""],
    ids=["garbage-after-header", "no-header", "empty"],
)
def test_garbage_is_refused_with_a_plain_reason(data: bytes) -> None:
    with pytest.raises(DecryptionError) as caught:
        decrypt_pdf(data, USER_PASSWORD)

    assert caught.value.code == "malformed"
    assert caught.value.reason == REASON_DAMAGED
    assert caught.value.__cause__ is None  # pypdf's internals stay out of the error


def test_a_pdf_without_a_password_comes_back_as_it_is(original: bytes) -> None:
    assert decrypt_pdf(original, USER_PASSWORD) is original


def test_which_pdfs_need_a_password(original: bytes) -> None:
    assert needs_password(encrypted(original)) is True
    assert needs_password(original) is False
    # Permission-only encryption: the empty user password opens it; it is read as it is.
    assert needs_password(PERMISSION_ONLY.read_bytes()) is False
    # Damaged files are not asked about: their analysis reports the damage.
    assert needs_password(b"%PDF-1.7\n garbage") is False
