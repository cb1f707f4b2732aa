"""One worker at a time moves a run on (workers/tasks.py): a lock per run that dies with its
holder, so a killed worker never leaves a run locked.

PostgreSQL: an advisory lock on a connection of its own. The embedded profile (SQLite, every
worker on one machine sharing the data folder): an flock on a file per run.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

# How long a message waits for a run another worker holds before it is dropped as a duplicate
# (long enough for PostgreSQL to notice a killed worker's connection and free its lock).
RUN_LOCK_WAIT_S = 3.0


@contextmanager
def run_lock(engine: Engine, data_dir: Path, run_id: int) -> Iterator[bool]:
    """Whether this process holds the run (one worker at a time moves a run on). The lock dies
    with its holder: a PostgreSQL advisory lock on a connection of its own, or an flock on the
    embedded profile, where every worker shares the data folder. A message that finds the run
    held is a duplicate: the holder sends the next step, or its message is delivered again
    when it dies."""
    if engine.dialect.name == "postgresql":
        with _advisory_lock(engine, run_id) as held:
            yield held
    else:
        with _file_lock(data_dir / "locks", run_id) as held:
            yield held


def _wait_for(attempt: Callable[[], bool], seconds: float = RUN_LOCK_WAIT_S) -> bool:
    deadline = time.monotonic() + seconds
    while not attempt():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)
    return True


# The two-key form of the advisory locks: a key space apart from the one-key locks of
# docanalysis.db (audit writers, tenant creation). A bigint run id is split into two int4s.
_TRY_LOCK = text("SELECT pg_try_advisory_lock(:hi, :lo)")
_UNLOCK = text("SELECT pg_advisory_unlock(:hi, :lo)")


def _lock_keys(run_id: int) -> dict[str, int]:
    low = run_id & 0xFFFF_FFFF
    return {"hi": run_id >> 32, "lo": low - 2**32 if low >= 2**31 else low}


@contextmanager
def _advisory_lock(engine: Engine, run_id: int) -> Iterator[bool]:
    keys = _lock_keys(run_id)
    conn = engine.connect()
    held = False
    try:
        conn.execution_options(isolation_level="AUTOCOMMIT")  # no transaction held open
        held = _wait_for(lambda: bool(conn.execute(_TRY_LOCK, keys).scalar()))
        yield held
    finally:
        try:
            if held:
                conn.execute(_UNLOCK, keys)
        except SQLAlchemyError:
            conn.invalidate()  # closed, so the server drops the lock with the session
        finally:
            conn.close()


@contextmanager
def _file_lock(folder: Path, run_id: int) -> Iterator[bool]:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"run-{run_id}.lock"
    fds: list[int] = []
    if not _wait_for(lambda: _try_file_lock(path, fds)):
        yield False
        return
    try:
        yield True
    finally:
        path.unlink(missing_ok=True)  # while still held: a waiter on this file then retries
        os.close(fds[0])


def _try_file_lock(path: Path, fds: list[int]) -> bool:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if os.fstat(fd).st_ino == os.stat(path).st_ino:  # not removed by the last holder
            fds.append(fd)
            return True
    except (BlockingIOError, FileNotFoundError):
        pass
    os.close(fd)
    return False
