"""ZIP archives read without trusting them: unsafe names, links, bombs and lies refused with a
reason naming the member; metadata.csv parsed with each problem named by its line."""

from __future__ import annotations

import io
import zipfile

import pytest

from docanalysis.core.archive import (
    ArchiveError,
    ArchiveLimits,
    check_members,
    check_name,
    open_zip,
    read_member,
)
from docanalysis.services.bulk import parse_metadata
from tests.support.docgen import bomb_zip, make_zip, symlink_zip


@pytest.mark.parametrize(
    "name",
    [
        "/etc/passwd",
        "../up.pdf",
        "a/../../up.pdf",
        "a/./b.pdf",
        "C:evil.pdf",
        "a\\..\\b.pdf",
        "tab\there.pdf",
    ],
)
def test_names_that_leave_the_folder_are_refused(name: str) -> None:
    with pytest.raises(ArchiveError) as caught:
        check_name(name, "x.zip")

    assert caught.value.code == "unsafe_path"
    assert caught.value.reason == (
        f"x.zip: the member {name!r} has an unsafe path (absolute, '..' or backslashes)"
    )


@pytest.mark.parametrize(
    "name", ["a.pdf", "Data room/Leases/lease 1.pdf", "..hidden.pdf", "é/ü.txt"]
)
def test_ordinary_names_pass(name: str) -> None:
    check_name(name, "x.zip")


def _infos(data: bytes) -> list[zipfile.ZipInfo]:
    return zipfile.ZipFile(io.BytesIO(data)).infolist()


def test_a_bomb_is_refused_by_its_declared_ratio_before_it_is_read() -> None:
    with pytest.raises(ArchiveError) as caught:
        check_members(_infos(bomb_zip(size=20 * 1024 * 1024)), ArchiveLimits(), "")

    assert caught.value.code == "zip_bomb"
    assert caught.value.reason.startswith("bomb.txt expands ")


def test_small_members_are_never_bombs_and_folders_are_left_out() -> None:
    data = make_zip({"folder/": b"", "folder/spaces.txt": b" " * 500_000})

    files = check_members(_infos(data), ArchiveLimits(), "")

    assert [f.filename for f in files] == ["folder/spaces.txt"]


@pytest.mark.parametrize(
    ("limits", "code", "reason"),
    [
        (ArchiveLimits(max_members=1), "too_many_files", "it holds 2 files; the limit is 1"),
        (
            ArchiveLimits(max_total_bytes=1024 * 1024),
            "too_large",
            "it would expand to more than 1 MB; split it into smaller archives",
        ),
    ],
)
def test_count_and_total_size_are_limited(limits: ArchiveLimits, code: str, reason: str) -> None:
    data = make_zip({"a.txt": b"a" * 600_000, "b.txt": b"b" * 600_000})

    with pytest.raises(ArchiveError) as caught:
        check_members(_infos(data), limits, "")

    assert (caught.value.code, caught.value.reason) == (code, reason)


def test_a_symbolic_link_is_refused() -> None:
    with pytest.raises(ArchiveError) as caught:
        check_members(_infos(symlink_zip("link.pdf", "/etc/passwd")), ArchiveLimits(), "")

    assert (caught.value.code, caught.value.reason) == (
        "unsafe_path",
        "link.pdf is a symbolic link",
    )


def test_a_member_whose_size_is_a_lie_is_refused_when_read() -> None:
    data = bytearray(make_zip({"a.txt": b"x" * 1000}, compression=zipfile.ZIP_STORED))
    # Declare 10 bytes in the central directory: the reader stops there and the CRC fails.
    archive = open_zip(bytes(data), "x.zip")
    info = archive.infolist()[0]
    info.file_size = 10

    with pytest.raises(ArchiveError) as caught:
        read_member(archive, info, "x.zip")

    assert caught.value.code == "corrupt"
    assert caught.value.reason == "x.zip: a.txt is damaged and cannot be read (BadZipFile)"


def test_metadata_rows_by_path_and_each_problem_by_line() -> None:
    csv = (
        b"path,external_id,matter\n"
        b"a.pdf,A-1,\n"
        b"b.pdf,B-1,seven\n"
        b"a.pdf,A-2,\n"
        b"c.pdf,C-1,\n"
        b"b.pdf,B-1,3,extra\n"
    )

    rows, problems = parse_metadata(csv, {"a.pdf", "b.pdf"})

    assert rows == {"a.pdf": {"path": "a.pdf", "external_id": "A-1", "matter": ""}}
    assert problems == [
        "metadata.csv line 3: the matter 'seven' is not a matter number",
        "metadata.csv line 4: 'a.pdf' is listed twice",
        "metadata.csv line 5: there is no file 'c.pdf' in the archive",
        "metadata.csv line 6: it has more values than the header has columns",
    ]


def test_metadata_that_is_not_utf8_is_named() -> None:
    assert parse_metadata(b"path\n\xff.pdf\n", {"x"}) == ({}, ["metadata.csv is not UTF-8 text"])
