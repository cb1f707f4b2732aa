"""submit_archive: a ZIP of documents (a data room, a DMS export) becomes one document per file.

All or nothing: the archive and every file in it are checked before anything is stored, and
the documents are created in one transaction, so a refused archive leaves no row and a
half-imported data room cannot happen. Each file becomes a document exactly as if it had been
uploaded alone (the same checks, its own "document.uploaded" audit event and run, enqueued after
the commit), with its place in the archive ("Data room/Leases/lease-1.pdf") kept as its
`source_path`. An optional `metadata.csv` at the archive's root gives files an external id and
another matter (docs/uploads.md).
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection

from docanalysis.core.archive import (
    ArchiveError,
    ArchiveLimits,
    check_members,
    limits_for_upload,
    open_zip,
)
from docanalysis.core.archive import read_member as read_zip_member
from docanalysis.db import repositories as repo
from docanalysis.db.engine import transaction
from docanalysis.services.audit import record
from docanalysis.services.errors import NotFound, Rejected
from docanalysis.services.members import require
from docanalysis.services.runtime import Runtime
from docanalysis.services.submit import ARCHIVE_SUFFIXES, Upload, create_document, validate_upload
from docanalysis.services.views import Actor, Submitted

METADATA_FILE = "metadata.csv"
METADATA_COLUMNS = ("path", "external_id", "external_system", "matter")
# What file managers add to archives; never a document, so left out rather than refused.
_IGNORED_PARTS = ("__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini")
MAX_SOURCE_PATH = 1000  # documents.source_path
MAX_PROBLEMS = 20  # listed in one refusal; the rest are counted


class ArchiveRejected(Rejected):
    """The archive is refused, nothing stored; `problems` names each file and what is wrong."""

    code = "bad_archive"

    def __init__(self, name: str, problems: list[str]) -> None:
        shown = problems[:MAX_PROBLEMS]
        more = len(problems) - len(shown)
        tail = f" (and {more} more)" if more else ""
        super().__init__(f"{name} was not imported: " + "; ".join(shown) + tail)
        self.problems = tuple(problems)


@dataclass(frozen=True)
class Member:
    """A file of the archive, checked as an upload: where it was, and what it becomes."""

    path: str
    upload: Upload
    external_id: str | None = None
    external_system: str | None = None
    matter: int | None = None  # None: the matter the archive was uploaded into


@dataclass(frozen=True)
class SubmittedMember:
    path: str
    name: str
    matter_id: int
    submitted: Submitted


def is_archive(filename: str) -> bool:
    return filename.lower().endswith(ARCHIVE_SUFFIXES)


# Finds a matter the caller may add documents to, in the transaction: NotFound or Rejected
# otherwise. A person's role (editor_matter) or an API key's scope (api/views.py).
OpenMatter = Callable[[Connection, "int | str"], repo.Record]


def editor_matter(actor: Actor) -> OpenMatter:
    """The matters `actor` may add documents to: those where they are an editor or more."""

    def open_matter(conn: Connection, ref: int | str) -> repo.Record:
        matter_id = int(ref) if str(ref).isdigit() else 0
        found = repo.matter(conn, matter_id) if matter_id else None
        if found is None:
            raise NotFound("no such matter")
        require(conn, actor, matter_id, "editor")
        return found

    return open_matter


def submit_archive(
    rt: Runtime,
    actor: Actor,
    matter: int | str,
    filename: str,
    data: bytes,
    open_matter: OpenMatter | None = None,
) -> list[SubmittedMember]:
    """Every file of the archive as a document, or ArchiveRejected (or NotFound, Forbidden
    for `matter`) with nothing stored. The runs are enqueued after the commit. `open_matter`:
    which matters the caller may add to (by default, the actor's as an editor)."""
    open_matter = open_matter or editor_matter(actor)
    name = filename.rsplit("/", 1)[-1] or "archive.zip"
    members = expand_archive(name, data, rt.settings.max_upload_bytes)
    with ExitStack() as stack:
        staged = [
            replace(m, upload=replace(m.upload, staged=stack.enter_context(_stage(rt, m))))
            for m in members
        ]
        with transaction(rt.engine) as conn:
            try:
                matters = _matters(conn, open_matter, matter, staged)
                done = _create_all(conn, rt, actor, matters, staged, _archive_event(name, data))
            except ArchiveRejected as e:
                raise ArchiveRejected(name, list(e.problems)) from None
    for item in done:
        rt.queue.enqueue_run(item.submitted.run_id)
    return done


def _stage(rt: Runtime, member: Member) -> Any:
    return rt.blobs.staging(member.upload.data, member.upload.sha256)


def _archive_event(name: str, data: bytes) -> dict[str, Any]:
    return {"archive": name, "archive_sha256": hashlib.sha256(data).hexdigest()}


def _create_all(
    conn: Connection,
    rt: Runtime,
    actor: Actor,
    matters: dict[int | None, repo.Record],
    members: list[Member],
    archive: dict[str, Any],
) -> list[SubmittedMember]:
    """The documents, into `matters` (None: the archive's own), all found and allowed before
    (a refusal comes before any file is published). Created in the order of their files'
    sha256, so two archives sharing files take the files' locks in the same order (no
    deadlock); returned in the archive's order."""
    done: dict[str, SubmittedMember] = {}
    for m in sorted(members, key=lambda m: (m.upload.sha256, m.path)):
        matter = matters[m.matter]
        extra = {"external_id": m.external_id, "external_system": m.external_system}
        submitted = create_document(conn, rt, actor, matter, m.upload, source_path=m.path, **extra)
        done[m.path] = SubmittedMember(m.path, m.upload.name, int(matter.id), submitted)
    in_order = [done[m.path] for m in members]
    home = matters[None]
    record(
        conn,
        actor,
        "documents.bulk_uploaded",
        f"matter:{home.id}",
        tenant_id=int(home.tenant_id),
        matter_id=int(home.id),
        documents=[item.submitted.document_id for item in in_order],
        **archive,
    )
    return in_order


def _matters(
    conn: Connection, open_matter: OpenMatter, default: int | str, members: list[Member]
) -> dict[int | None, repo.Record]:
    """The matters the documents go to (None: the archive's own), each one the caller may add
    documents to. A matter named in metadata.csv that does not exist or is not theirs is
    refused alike (whether it exists is not theirs to learn)."""
    matters: dict[int | None, repo.Record] = {None: open_matter(conn, default)}
    for matter_id in sorted({m.matter for m in members if m.matter is not None}):
        try:
            matters[matter_id] = open_matter(conn, matter_id)
        except (NotFound, Rejected):
            reason = f"{METADATA_FILE}: you cannot add documents to matter {matter_id}"
            raise ArchiveRejected("the archive", [reason]) from None
    return matters


def expand_archive(name: str, data: bytes, max_upload_bytes: int) -> list[Member]:
    """The archive's documents, each checked like a single upload and given its metadata;
    ArchiveRejected naming every file that fails (or the archive, when it is unsafe)."""
    limits = limits_for_upload(max_upload_bytes)
    try:
        files = _read_files(name, data, limits)
    except ArchiveError as e:
        raise ArchiveRejected(name, [e.reason]) from None
    metadata = files.pop(METADATA_FILE, None)
    members, problems = _check_files(files, max_upload_bytes)
    rows, more = parse_metadata(metadata, set(files)) if metadata is not None else ({}, [])
    problems += more
    if not members and not problems:
        problems.append("it holds no documents")
    if problems:
        raise ArchiveRejected(name, problems)
    return [_with_metadata(m, rows.get(m.path)) for m in members]


def _read_files(name: str, data: bytes, limits: ArchiveLimits) -> dict[str, bytes]:
    """Path -> bytes for every file that is not a file manager's leftover."""
    with open_zip(data, name) as archive:
        infos = check_members(archive.infolist(), limits, "")
        wanted = [i for i in infos if not _ignored(i.filename)]
        if len({i.filename for i in wanted}) != len(wanted):
            raise ArchiveError("it holds two files with the same path", code="duplicate")
        return {i.filename: read_zip_member(archive, i, "") for i in wanted}


def _ignored(path: str) -> bool:
    return any(part in _IGNORED_PARTS or part.startswith("._") for part in path.split("/"))


def _check_files(files: dict[str, bytes], max_upload_bytes: int) -> tuple[list[Member], list[str]]:
    members, problems = [], []
    for path, data in files.items():
        if len(path) > MAX_SOURCE_PATH:
            problems.append(f"{path[:80]}...: its path is longer than {MAX_SOURCE_PATH} characters")
            continue
        try:
            if is_archive(path):
                raise Rejected(
                    "an archive inside the archive; add its files to the outer archive instead",
                    code="nested_archive",
                )
            name, media_type = validate_upload(path, data, max_upload_bytes)
        except Rejected as e:
            problems.append(f"{path}: {e.reason}")
            continue
        sha256 = hashlib.sha256(data).hexdigest()
        members.append(Member(path, Upload(name, media_type, data, sha256)))
    return members, problems


def _with_metadata(member: Member, row: dict[str, str] | None) -> Member:
    if row is None:
        return member
    matter = row.get("matter") or ""
    return replace(
        member,
        external_id=row.get("external_id") or None,
        external_system=row.get("external_system") or None,
        matter=int(matter) if matter else None,
    )


def parse_metadata(
    data: bytes, paths: Iterable[str]
) -> tuple[dict[str, dict[str, str]], list[str]]:
    """metadata.csv's rows by path, and what is wrong with it (each line named)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return {}, [f"{METADATA_FILE} is not UTF-8 text"]
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = reader.fieldnames or []
    unknown = [c for c in columns if c not in METADATA_COLUMNS]
    if "path" not in columns or unknown:
        return {}, [
            f"{METADATA_FILE} needs a header row with a path column and at most "
            f"{', '.join(METADATA_COLUMNS[1:])}"
            + (f" (unknown: {', '.join(unknown)})" if unknown else "")
        ]
    known, problems = set(paths), list[str]()
    rows: dict[str, dict[str, str]] = {}
    for row in reader:
        problem = _row_problem(row, known, rows)
        if problem:  # line_num: where the row ends (a quoted value may span lines)
            problems.append(f"{METADATA_FILE} line {reader.line_num}: {problem}")
        else:
            rows[row["path"].strip()] = {k: (v or "").strip() for k, v in row.items() if k}
    return rows, problems


def _row_problem(row: dict[str, Any], known: set[str], seen: dict[str, Any]) -> str:
    path = (row.get("path") or "").strip()
    matter = (row.get("matter") or "").strip()
    if None in row:
        return "it has more values than the header has columns"
    if path not in known:
        return f"there is no file {path!r} in the archive"
    if path in seen:
        return f"{path!r} is listed twice"
    if matter and not matter.isdigit():
        return f"the matter {matter!r} is not a matter number"
    if len(row.get("external_id") or "") > 500 or len(row.get("external_system") or "") > 100:
        return "the external id (500 characters at most) or system (100) is too long"
    return ""
