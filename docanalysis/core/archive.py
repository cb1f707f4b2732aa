"""ZIP archives read without trusting them: the bulk upload's archive and a Word file (itself a
ZIP) pass the same checks before a byte is decompressed, and every member is read under a cap.

A ZIP's directory declares each member's sizes, but a hostile archive can lie; the checks use
the declared sizes to refuse early, and `read_member` stops at the declared size whatever the
stream says, so a bomb costs at most the limits, never the worker's memory.
"""

from __future__ import annotations

import io
import re
import stat
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from docanalysis.core.errors import DocAnalysisError

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a local file header, or an empty archive
_CHUNK = 64 * 1024
_DRIVE = re.compile(r"^[A-Za-z]:")


class ArchiveError(DocAnalysisError):
    """The archive is refused; `reason` names the member and what is wrong with it."""

    code = "bad_archive"


@dataclass(frozen=True)
class ArchiveLimits:
    """How much an archive may expand to. A ratio of 100 already flags a bomb: office files
    and PDFs compress 2-10 times, text up to about 20; bombs compress thousands of times."""

    max_members: int = 1000
    max_total_bytes: int = 1024 * 1024 * 1024
    max_ratio: float = 100.0
    # A member this small is never a bomb, whatever its ratio (a page of spaces compresses well).
    ratio_floor_bytes: int = 1024 * 1024


def limits_for_upload(max_upload_bytes: int) -> ArchiveLimits:
    """What an uploaded archive (a bulk upload, a Word file) may expand to: 4 times the upload
    limit in all (it is held in memory while read), 500 files, a ratio of 100 per file."""
    return ArchiveLimits(max_members=500, max_total_bytes=4 * max_upload_bytes)


def _at(label: str) -> str:
    """What a member's reason starts with: the archive's label, if the reader needs it."""
    return f"{label}: " if label else ""


def is_zip(data: bytes) -> bool:
    return data[:4] in ZIP_MAGIC


def open_zip(data: bytes, label: str) -> zipfile.ZipFile:
    """The archive, or ArchiveError when it is not one (damaged, truncated)."""
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        raise ArchiveError(f"{label} is damaged or not a ZIP archive", code="corrupt") from None


def check_members(
    infos: Iterable[zipfile.ZipInfo], limits: ArchiveLimits, label: str
) -> list[zipfile.ZipInfo]:
    """The archive's files (folders left out), or ArchiveError for the first member that is
    unsafe or over the limits: the reason names it."""
    files = [info for info in infos if not info.is_dir()]
    if len(files) > limits.max_members:
        raise ArchiveError(
            f"{label or 'it'} holds {len(files)} files; the limit is {limits.max_members}",
            code="too_many_files",
        )
    total = 0
    for info in files:
        check_name(info.filename, label)
        _check_kind(info, label)
        _check_ratio(info, limits, label)
        total += info.file_size
    if total > limits.max_total_bytes:
        limit_mb = limits.max_total_bytes // (1024 * 1024)
        raise ArchiveError(
            f"{label or 'it'} would expand to more than {limit_mb} MB; "
            "split it into smaller archives",
            code="too_large",
        )
    return files


def check_name(name: str, label: str) -> None:
    """Refuse names that would climb out of a folder or that mean another place on another
    system: absolute paths, drive letters, `..` parts, backslashes (a Windows separator, the
    usual way to smuggle `..\\`), control characters."""
    parts = name.split("/")
    bad = (
        name.startswith("/")
        or "\\" in name
        or _DRIVE.match(name) is not None
        or any(part in ("..", ".") for part in parts)
        or any(ord(c) < 32 for c in name)
    )
    if bad:
        raise ArchiveError(
            f"{_at(label)}the member {name!r} has an unsafe path (absolute, '..' or backslashes)",
            code="unsafe_path",
        )


def _check_kind(info: zipfile.ZipInfo, label: str) -> None:
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise ArchiveError(f"{_at(label)}{info.filename} is a symbolic link", code="unsafe_path")
    if info.flag_bits & 0x1:
        raise ArchiveError(
            f"{_at(label)}{info.filename} is password-protected; add it without a password",
            code="encrypted",
        )


def _check_ratio(info: zipfile.ZipInfo, limits: ArchiveLimits, label: str) -> None:
    if info.file_size <= limits.ratio_floor_bytes:
        return
    ratio = info.file_size / max(info.compress_size, 1)
    if ratio > limits.max_ratio:
        raise ArchiveError(
            f"{_at(label)}{info.filename} expands {ratio:.0f} times (a ZIP bomb?); "
            f"the limit is {limits.max_ratio:.0f}",
            code="zip_bomb",
        )


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, label: str) -> bytes:
    """The member's bytes, never more than its declared size (checked by check_members): a
    member whose stream runs past it is a lie, refused before it fills memory."""
    out = bytearray()
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(_CHUNK):
                out += chunk
                if len(out) > info.file_size:
                    raise ArchiveError(
                        f"{_at(label)}{info.filename} is larger than its archive says",
                        code="zip_bomb",
                    )
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError) as e:
        raise ArchiveError(
            f"{_at(label)}{info.filename} is damaged and cannot be read ({type(e).__name__})",
            code="corrupt",
        ) from None
    return bytes(out)
