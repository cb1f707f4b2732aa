"""The blob store: bytes staged (written and fsynced) before a transaction, published under
the file's lock inside it, and no temporary file left behind either way."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from docanalysis.services.blobs import BlobStore

DATA = b"%PDF-1.4\nstaged bytes\n%%EOF\n"
SHA = hashlib.sha256(DATA).hexdigest()


def _leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob(".incoming-*"))


def test_published_bytes_are_stored_under_their_digest(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    with store.staging(DATA, SHA) as staged:
        assert not store.path(SHA).exists()  # staged: not yet under its final name
        store.publish(staged)
    assert store.get(SHA) == DATA
    assert _leftovers(tmp_path) == []


def test_a_transaction_that_fails_leaves_no_file(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    with pytest.raises(RuntimeError), store.staging(DATA, SHA):
        raise RuntimeError("the matter was not found")
    assert not store.path(SHA).exists()
    assert _leftovers(tmp_path) == []


def test_a_stored_file_is_not_written_again(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    store.put(DATA)
    with store.staging(DATA, SHA) as staged:
        assert staged.temporary is None
        store.publish(staged)
    assert store.get(SHA) == DATA


def test_a_file_deleted_between_staging_and_publishing_is_written_again(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    store.put(DATA)
    with store.staging(DATA, SHA) as staged:
        store.remove(SHA)  # a delete of the last other document with these bytes
        store.publish(staged)
    assert store.get(SHA) == DATA
    assert _leftovers(tmp_path) == []


def test_put_trusts_a_digest_it_is_given(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    assert store.put(DATA, SHA) == SHA
    assert store.put(DATA) == SHA
    assert store.get(SHA) == DATA
