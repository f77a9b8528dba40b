"""The end of a chain: the sink protocol (what :func:`~pointline.chain.drain` writes to).

A :class:`Sink` consumes batches (``write``), then either finishes (``close``, returning a
:class:`SinkSummary` with the rows it took) or is stopped after a failure (``abort``).
A chain has one main sink (what :func:`drain` writes the chain's output to) and one side
sink per :class:`~pointline.chain.Split` (the flagged rows; Beam's dead-letter handler).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import pyarrow as pa

__all__ = ["CountingSink", "Sink", "SinkSummary"]


@dataclass(frozen=True, slots=True)
class SinkSummary:
    """What a sink took: ``rows``, the ``files`` it wrote (relative to its own folder), and
    for event rows the ranges of ``trading_date`` and ``ts_event_us`` (µs since the epoch)."""

    rows: int
    files: tuple[str, ...] = ()
    trading_date_min: datetime.date | None = None
    trading_date_max: datetime.date | None = None
    ts_event_min_us: int | None = None
    ts_event_max_us: int | None = None


@runtime_checkable
class Sink(Protocol):
    """Consumes batches; ``close`` finishes and summarises, ``abort`` stops after a failure
    (it must be safe to call after ``close`` or twice)."""

    def write(self, batch: pa.RecordBatch) -> None: ...

    def close(self) -> SinkSummary: ...

    def abort(self) -> None: ...


class CountingSink:
    """A sink that only counts rows (a dry run's sink; tests)."""

    __slots__ = ("rows",)

    def __init__(self) -> None:
        self.rows = 0

    def write(self, batch: pa.RecordBatch) -> None:
        self.rows += batch.num_rows

    def close(self) -> SinkSummary:
        return SinkSummary(rows=self.rows)

    def abort(self) -> None:
        """Nothing to stop."""
