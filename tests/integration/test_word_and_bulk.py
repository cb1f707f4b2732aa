"""Word files and ZIP archives through the real submit path and database (SQLite and
PostgreSQL): a python-docx contract analyzed with citations by section and paragraph; a ZIP of
three documents in two folders becomes three documents with their paths; bad archives and bad
files are refused with a reason that names them, and leave no row, blob or run behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from docanalysis.core.docx_text import DOCX
from docanalysis.db import repositories as repo
from docanalysis.db.audit import read_events
from docanalysis.db.engine import reading
from docanalysis.db.tables import analysis_runs, documents
from docanalysis.services.bulk import submit_archive
from docanalysis.services.errors import Rejected
from docanalysis.services.matters import create_matter
from docanalysis.services.queries import document_analysis
from docanalysis.services.runtime import Runtime
from docanalysis.services.steps import run_to_end
from docanalysis.services.submit import submit_document
from tests.conftest import ONE_PAGE_CONTRACT
from tests.integration.test_pipeline import ALICE, runtime
from tests.support import fakes
from tests.support.docgen import (
    GOVERNING_LAW,
    TERMINATION,
    bomb_zip,
    contract_docx,
    make_zip,
    symlink_zip,
)
from tests.support.fakes import FixedGuard

LEASE = b"This Lease is governed by the laws of the State of Texas.\n\nRent is due monthly.\n"


def _counts(rt: Runtime) -> tuple[int, int]:
    with reading(rt.engine) as conn:
        docs = conn.execute(select(func.count()).select_from(documents)).scalar_one()
        runs = conn.execute(select(func.count()).select_from(analysis_runs)).scalar_one()
    return docs, runs


def _blobs(tmp_path: Path) -> list[Path]:
    return [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]


def test_a_word_contract_is_analyzed_with_citations_by_section_and_paragraph(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(fakes.KEYWORDS, "may terminate", "termination_for_convenience")
    rt = runtime(db_url, tmp_path, FixedGuard("safe"))
    matter_id = create_matter(rt, ALICE, "Word contracts")
    data = contract_docx()

    submitted = submit_document(rt, ALICE, matter_id, "msa.docx", data)
    assert run_to_end(rt, submitted.run_id) == "done"

    analysis = document_analysis(rt, ALICE.user_id, submitted.document_id)
    with reading(rt.engine) as conn:
        stored = repo.document_text(conn, submitted.document_id)
    assert stored is not None
    found = {
        c.category: (c.text, stored.text[c.start : c.end], c.location)
        for c in analysis.clauses
        if c.category in ("governing_law", "termination_for_convenience")
    }
    assert found == {
        "governing_law": (GOVERNING_LAW, GOVERNING_LAW, "§ 3. Governing Law, ¶ 1"),
        "termination_for_convenience": (TERMINATION, TERMINATION, "§ 2. Termination, ¶ 2"),
    }
    assert analysis.document.pages is None  # Word has no pages
    with reading(rt.engine) as conn:
        media_type = conn.execute(select(documents.c.media_type)).scalar_one()
    assert media_type == DOCX
    assert rt.blobs.get(analysis.document.sha256) == data  # the original is kept as sent


def test_a_zip_of_three_documents_in_two_folders_becomes_three_documents_with_their_paths(
    db_url: str, tmp_path: Path
) -> None:
    rt = runtime(db_url, tmp_path, FixedGuard("safe"))
    matter_id = create_matter(rt, ALICE, "Data room")
    other = create_matter(rt, ALICE, "Leases only")
    metadata = (
        "path,external_id,matter\n"
        f"Data room/Leases/lease-1.txt,DMS-1,{other}\n"
        "Data room/Contracts/msa.docx,DMS-2,\n"
    )
    archive = make_zip(
        {
            "Data room/Leases/lease-1.txt": LEASE,
            "Data room/Contracts/msa.docx": contract_docx(),
            "Data room/Contracts/supply.pdf": ONE_PAGE_CONTRACT.read_bytes(),
            "__MACOSX/Data room/._supply.pdf": b"\0\5\26\7",
            "metadata.csv": metadata.encode(),
        }
    )

    done = submit_archive(rt, ALICE, matter_id, "room.zip", archive)

    assert sorted((d.path, d.name, d.matter_id) for d in done) == [
        ("Data room/Contracts/msa.docx", "msa.docx", matter_id),
        ("Data room/Contracts/supply.pdf", "supply.pdf", matter_id),
        ("Data room/Leases/lease-1.txt", "lease-1.txt", other),
    ]
    with reading(rt.engine) as conn:
        rows = conn.execute(
            select(
                documents.c.source_path,
                documents.c.original_name,
                documents.c.media_type,
                documents.c.external_id,
                documents.c.matter_id,
            ).order_by(documents.c.source_path)
        ).all()
        events = [e for e in read_events(conn) if e.action.startswith("document")]
    assert [tuple(r) for r in rows] == [
        ("Data room/Contracts/msa.docx", "msa.docx", DOCX, "DMS-2", matter_id),
        ("Data room/Contracts/supply.pdf", "supply.pdf", "application/pdf", None, matter_id),
        ("Data room/Leases/lease-1.txt", "lease-1.txt", "text/plain", "DMS-1", other),
    ]
    assert [e.action for e in events] == ["document.uploaded"] * 3 + ["documents.bulk_uploaded"]
    assert rt.queue.sent == [d.submitted.run_id for d in done]  # type: ignore[attr-defined]
    assert [run_to_end(rt, d.submitted.run_id) for d in done] == ["done"] * 3


def _refused(
    rt: Runtime, tmp_path: Path, matter_id: int, data: bytes, name: str = "batch.zip"
) -> Rejected:
    before = _counts(rt)
    with pytest.raises(Rejected) as caught:
        submit_archive(rt, ALICE, matter_id, name, data)
    assert _counts(rt) == before  # nothing half-imported
    assert _blobs(tmp_path) == []
    assert rt.queue.sent == []  # type: ignore[attr-defined]
    return caught.value


@pytest.mark.parametrize(
    ("data", "code", "reason"),
    [
        (
            bomb_zip("big/zeros.txt"),
            "bad_archive",
            "batch.zip was not imported: big/zeros.txt expands 1029 times (a ZIP bomb?); the "
            "limit is 100",
        ),
        (
            make_zip({"ok.txt": b"fine", "../../etc/passwd.txt": b"root"}),
            "bad_archive",
            "batch.zip was not imported: the member '../../etc/passwd.txt' has an "
            "unsafe path (absolute, '..' or backslashes)",
        ),
        (
            make_zip({"a/..\\..\\evil.txt": b"x"}),
            "bad_archive",
            "batch.zip was not imported: the member 'a/..\\\\..\\\\evil.txt' has an "
            "unsafe path (absolute, '..' or backslashes)",
        ),
        (
            symlink_zip("link.txt", "/etc/passwd"),
            "bad_archive",
            "batch.zip was not imported: link.txt is a symbolic link",
        ),
        (
            make_zip({"ok.txt": b"fine", "inner/more.zip": make_zip({"x.txt": b"x"})}),
            "bad_archive",
            "batch.zip was not imported: inner/more.zip: an archive inside the archive; add "
            "its files to the outer archive instead",
        ),
        (
            make_zip({"ok.txt": b"fine", "latin.txt": b"caf\xe9", "broken.docx": b"PK\x03\x04x"}),
            "bad_archive",
            "batch.zip was not imported: latin.txt: latin.txt is not UTF-8 text; broken.docx: "
            "broken.docx is not a Word document: it is damaged; save it again from Word as .docx",
        ),
        (
            make_zip({"ok.txt": b"fine", "metadata.csv": b"path,owner\nok.txt,bob\n"}),
            "bad_archive",
            "batch.zip was not imported: metadata.csv needs a header row with a path column and "
            "at most external_id, external_system, matter (unknown: owner)",
        ),
        (
            make_zip({"ok.txt": b"fine", "metadata.csv": b"path,external_id\nnope.txt,1\n"}),
            "bad_archive",
            "batch.zip was not imported: metadata.csv line 2: there is no file 'nope.txt' in "
            "the archive",
        ),
        (
            b"PK\x03\x04 truncated",
            "bad_archive",
            "batch.zip was not imported: batch.zip is damaged or not a ZIP archive",
        ),
        (make_zip({}), "bad_archive", "batch.zip was not imported: it holds no documents"),
    ],
    ids=[
        "bomb",
        "traversal",
        "backslashes",
        "symlink",
        "nested",
        "bad-files",
        "csv-columns",
        "csv-path",
        "corrupt",
        "empty",
    ],
)
def test_a_bad_archive_is_refused_whole_with_reasons_naming_its_files(
    db_url: str, tmp_path: Path, data: bytes, code: str, reason: str
) -> None:
    rt = runtime(db_url, tmp_path, FixedGuard("safe"))
    matter_id = create_matter(rt, ALICE, "Refusals")

    refused = _refused(rt, tmp_path, matter_id, data)

    assert (refused.code, refused.reason) == (code, reason)


def test_an_archive_into_a_matter_the_user_may_not_write_stores_nothing(
    db_url: str, tmp_path: Path
) -> None:
    rt = runtime(db_url, tmp_path, FixedGuard("safe"))
    matter_id = create_matter(rt, ALICE, "Mine")
    archive = make_zip({"a.txt": b"one", "metadata.csv": b"path,matter\na.txt,987654\n"})

    refused = _refused(rt, tmp_path, matter_id, archive)

    assert (refused.code, refused.reason) == (
        "bad_archive",
        "batch.zip was not imported: metadata.csv: you cannot add documents to matter 987654",
    )


@pytest.mark.parametrize(
    ("name", "data", "code", "reason"),
    [
        ("latin.txt", b"caf\xe9", "unsupported_media_type", "latin.txt is not UTF-8 text"),
        (
            "broken.docx",
            b"PK\x03\x04 not a zip",
            "unsupported_media_type",
            "broken.docx is not a Word document: it is damaged; save it again from Word as .docx",
        ),
        (
            "macros.docm",
            make_zip({"word/document.xml": b"<x/>", "word/vbaProject.bin": b"\0"}),
            "macros",
            "macros.docm: this Word file contains macros (.docm); save it as a Word Document "
            "(.docx) without macros",
        ),
        (
            "room.zip",
            make_zip({"a.txt": b"x"}),
            "archive",
            "room.zip is an archive: upload it in the browser or through the API, which import "
            "each of its documents",
        ),
        (
            "data.xlsx",
            make_zip({"xl/workbook.xml": b"<x/>"}),
            "unsupported_media_type",
            "data.xlsx is not a PDF, a Word document (.docx) or a UTF-8 text file (.txt)",
        ),
    ],
)
def test_a_bad_single_file_is_refused_and_leaves_nothing(
    db_url: str, tmp_path: Path, name: str, data: bytes, code: str, reason: str
) -> None:
    rt = runtime(db_url, tmp_path, FixedGuard("safe"))
    matter_id = create_matter(rt, ALICE, "Single files")
    before = _counts(rt)

    with pytest.raises(Rejected) as caught:
        submit_document(rt, ALICE, matter_id, name, data)

    assert (caught.value.code, caught.value.reason) == (code, reason)
    assert _counts(rt) == before
    assert _blobs(tmp_path) == []


def test_a_damaged_word_file_that_passes_the_door_fails_its_run_with_a_reason(
    db_url: str, tmp_path: Path
) -> None:
    """A ZIP with a Word main part that python-docx cannot read: stored (the original is kept),
    and its analysis ends failed, saying so."""
    rt = runtime(db_url, tmp_path, FixedGuard("safe"))
    matter_id = create_matter(rt, ALICE, "Damaged")
    data = make_zip({"word/document.xml": b"<w:document", "[Content_Types].xml": b"<Types/>"})

    submitted = submit_document(rt, ALICE, matter_id, "damaged.docx", data)

    assert run_to_end(rt, submitted.run_id) == "failed"
    with reading(rt.engine) as conn:
        run = repo.run(conn, submitted.run_id)
    assert run is not None
    assert (run.reason_code, run.reason) == (
        "malformed",
        "this Word file is damaged and cannot be read; save it again from Word",
    )


def test_a_viewer_cannot_import_an_archive_and_nothing_is_stored(
    db_url: str, tmp_path: Path
) -> None:
    from docanalysis.services import members
    from docanalysis.services.views import Actor

    rt = runtime(db_url, tmp_path, FixedGuard("safe"))
    matter_id = create_matter(rt, ALICE, "Read only")
    members.add(rt, ALICE, matter_id, 2, "bob", "viewer")
    bob = Actor(user_id=2, identity="bob <bob@firm.example>")

    before = _counts(rt)
    with pytest.raises(Rejected) as caught:
        submit_archive(rt, bob, matter_id, "a.zip", make_zip({"a.txt": b"one"}))

    assert (caught.value.code, caught.value.reason) == (
        "forbidden",
        "as a viewer of this matter you cannot upload, review or delete documents",
    )
    assert _counts(rt) == before
    assert _blobs(tmp_path) == []


def test_the_cli_plans_a_word_file_one_provision_per_paragraph(tmp_path: Path) -> None:
    from tests.integration.test_cli import cli

    path = tmp_path / "msa.docx"
    path.write_bytes(contract_docx())

    result = cli(tmp_path, "plan", str(path))

    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert [p["n"] for p in plan["provisions"]] == list(range(1, 12))
    assert [p["page"] for p in plan["provisions"]] == list(range(1, 12))
