"""Content-addressed file store: each upload is kept once, named by its sha256.

An upload is stored in two steps, so that its slow part (writing and fsyncing the bytes) runs
before the database transaction and outside every lock: `stage` writes the bytes to a
temporary file beside their final name and fsyncs it; `publish`, called in the transaction
under the file's lock, renames it into place (or writes it again, if a delete removed the file
in between). The bytes are on disk before the row that names them commits, as before.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Staged:
    """Bytes on their way into the store: `temporary` is their fsynced copy, None when the
    file was already stored at staging time (nothing to write unless it goes meanwhile)."""

    data: bytes
    sha256: str
    temporary: Path | None = None


class BlobStore:
    """Files named by their sha256, under `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes, sha256: str | None = None) -> str:
        """Store `data` at once (write, fsync, rename). `sha256`: its digest, when the caller
        has it already (a 1 MB file costs milliseconds to hash again)."""
        sha256 = sha256 or hashlib.sha256(data).hexdigest()
        target = self.path(sha256)
        if not target.exists():
            os.replace(self._write_temporary(target, data), target)
        return sha256

    @contextmanager
    def staging(self, data: bytes, sha256: str) -> Iterator[Staged]:
        """`data` (whose digest is `sha256`) written and fsynced under a temporary name; the
        temporary file is removed on leaving, unless `publish` moved it into place."""
        target = self.path(sha256)
        staged = Staged(data, sha256)
        if not target.exists():
            staged.temporary = self._write_temporary(target, data)
        try:
            yield staged
        finally:
            if staged.temporary is not None:
                staged.temporary.unlink(missing_ok=True)

    def publish(self, staged: Staged) -> None:
        """Give staged bytes their final name. The caller holds the file's lock (a delete of
        the same file cannot run in between) and commits the row naming it afterwards."""
        target = self.path(staged.sha256)
        if staged.temporary is not None:
            os.replace(staged.temporary, target)  # atomic; the same bytes if it was there
            staged.temporary = None
        elif not target.exists():  # stored at staging time, removed by a delete since
            self.put(staged.data, staged.sha256)

    def get(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def remove(self, sha256: str) -> None:
        """Delete the file, if it is there. Callers make sure no document still needs it."""
        self.path(sha256).unlink(missing_ok=True)

    @staticmethod
    def _write_temporary(target: Path, data: bytes) -> Path:
        # Written then renamed, so a crash never leaves a half-written file under its final
        # name; fsynced first, so the rename never names bytes still only in memory. Plain
        # os calls, and the folder made only when missing: each system call here costs.
        try:
            fd, name = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        except FileNotFoundError:  # the first file of its folder
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
        finally:
            os.close(fd)
        return Path(name)
