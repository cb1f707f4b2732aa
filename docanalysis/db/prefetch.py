"""Read ahead: the next batches of a database cursor fetched in a thread while the caller works
on the current one.

Why: a verifying walk alternates between waiting for the server's next batch and hashing the
last one in Python. psycopg releases the GIL while it waits for the network, so a thread that
keeps one or two batches ready overlaps the server's work with the client's (the walk over
the audit chain ran at the sum of both before, at the larger of the two with this).
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Generator, Iterable
from typing import TypeVar

T = TypeVar("T")
_END = object()


def prefetched(items: Iterable[T], depth: int = 2) -> Generator[T, None, None]:
    """`items` in order, the next `depth` fetched in a thread of their own; the source's
    exception is raised here, where the item it failed to give would have come. The caller must
    consume the whole iterator or close it: closing stops the thread after its current item."""
    ready: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def fill() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                ready.put(item)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            ready.put(_Failed(exc))
            return
        ready.put(_END)

    thread = threading.Thread(target=fill, name="prefetch", daemon=True)
    thread.start()
    try:
        while (item := ready.get()) is not _END:
            if isinstance(item, _Failed):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        while thread.is_alive():  # let a blocked put() go through, so the thread can end
            with contextlib.suppress(queue.Empty):
                ready.get(timeout=0.05)
        thread.join()


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error
