"""Run a source ahead on its own thread (issue 16): the next batches are read while the
chain transforms the current one.

Arrow's CSV reader releases the GIL while it parses, so reading batch k+1 on a second
thread overlaps with transforming batch k; at most ``depth`` batches wait between them
(that much more memory than an inline source).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

__all__ = ["prefetched"]

T = TypeVar("T")

_END = object()
_POLL_S = 0.1


def prefetched(items: Iterable[T], depth: int) -> Iterator[T]:
    """``items`` in order, produced on a background thread at most ``depth`` ahead
    (``depth <= 0``: inline, in the caller's thread).

    An exception raised by ``items`` is raised here, where it happened in the stream.
    Closing this iterator early (or an exception in the consumer) stops the producer,
    which closes ``items`` in its own thread.

    >>> list(prefetched(range(5), 2))
    [0, 1, 2, 3, 4]
    """
    if depth <= 0:
        yield from items
        return
    ready: queue.Queue[tuple[Any, BaseException | None]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(item: Any, error: BaseException | None = None) -> bool:
        while not stop.is_set():
            try:
                ready.put((item, error), timeout=_POLL_S)
            except queue.Full:
                continue
            return True
        return False

    def produce() -> None:
        source = iter(items)
        try:
            for item in source:
                if not offer(item):
                    return
            offer(_END)
        except BaseException as exc:  # handed to the consumer, raised there
            offer(_END, exc)
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name="pointline-source", daemon=True)
    worker.start()
    try:
        while True:
            item, error = ready.get()
            if item is _END:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        worker.join()
