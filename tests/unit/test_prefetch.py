"""prefetched: a cursor's batches read ahead in a thread, in order, failures where they occur."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from docanalysis.db.prefetch import prefetched


def test_items_come_in_order_and_all() -> None:
    assert list(prefetched(range(1000), depth=3)) == list(range(1000))
    assert list(prefetched([])) == []


def test_the_sources_failure_is_raised_where_its_item_would_have_come() -> None:
    def source() -> Iterator[int]:
        yield 1
        yield 2
        raise OSError("connection lost")

    got: list[int] = []
    with pytest.raises(OSError, match="connection lost"):
        for item in prefetched(source()):
            got.append(item)
    assert got == [1, 2]


def test_closing_early_ends_the_reading_thread() -> None:
    produced: list[int] = []

    def source() -> Iterator[int]:
        for n in range(10_000):
            produced.append(n)
            yield n

    before = threading.active_count()
    items = prefetched(source(), depth=2)
    assert next(items) == 0
    items.close()
    assert threading.active_count() == before
    assert len(produced) < 10  # it stopped after reading at most a few items ahead
