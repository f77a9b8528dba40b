"""``pointline.chain.prefetch`` (issue 16): a source read ahead on its own thread gives
the same items in the same order, raises where the source failed, and stops cleanly."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from pointline.chain.prefetch import prefetched


@pytest.mark.parametrize("depth", [0, 1, 3])
def test_the_same_items_in_order(depth: int) -> None:
    assert list(prefetched(iter(range(1000)), depth)) == list(range(1000))


def test_an_error_is_raised_where_the_source_failed_and_it_is_closed_in_its_thread() -> None:
    closed_in: list[str] = []

    def source() -> Iterator[int]:
        try:
            yield 1
            yield 2
            raise OSError("disk gone")
        finally:
            closed_in.append(threading.current_thread().name)

    got: list[int] = []
    with pytest.raises(OSError, match="disk gone"):
        got.extend(prefetched(source(), 1))
    assert got == [1, 2]
    assert closed_in == ["pointline-source"]


def test_closing_early_stops_the_producer_within_depth() -> None:
    made: list[int] = []

    def endless() -> Iterator[int]:
        n = 0
        while True:
            made.append(n)
            yield n
            n += 1

    stream = prefetched(endless(), 2)
    assert [next(stream) for _ in range(3)] == [0, 1, 2]
    stream.close()
    settled = len(made)
    time.sleep(0.3)
    assert len(made) == settled <= 3 + 2 + 1  # taken + queued + one in hand
