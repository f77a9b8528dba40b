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

from pointline.chain.flags import FLAG_COLUMN, flag_counts

__all__ = ["CountingSink", "ReasonCounter", "Sink", "SinkSummary"]


class ReasonCounter:
    """Flagged rows per rule over the batches a side sink takes (batches without the flag
    column count nothing)."""

    __slots__ = ("_counts",)

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}

    def add(self, batch: pa.RecordBatch) -> None:
        index = batch.schema.get_field_index(FLAG_COLUMN)
        if index < 0:
            return
        for rule, count in flag_counts(batch.column(index)).items():
            self._counts[rule] = self._counts.get(rule, 0) + count

    def summary(self) -> tuple[tuple[str, int], ...]:
        """``(rule, rows)`` pairs, most rows first."""
        return tuple(sorted(self._counts.items(), key=lambda item: (-item[1], item[0])))


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
    reasons: tuple[tuple[str, int], ...] = ()
    """For a side sink: flagged rows per rule (``rule_name``), most first."""


@runtime_checkable
class Sink(Protocol):
    """Consumes batches; ``close`` finishes and summarises, ``abort`` stops after a failure
    (it must be safe to call after ``close`` or twice)."""

    def write(self, batch: pa.RecordBatch) -> None: ...

    def close(self) -> SinkSummary: ...

    def abort(self) -> None: ...


class CountingSink:
    """A sink that only counts rows, and flagged rows per rule when the batches carry the
    flag column (a dry run's sinks; tests)."""

    __slots__ = ("reasons", "rows")

    def __init__(self) -> None:
        self.rows = 0
        self.reasons = ReasonCounter()

    def write(self, batch: pa.RecordBatch) -> None:
        self.rows += batch.num_rows
        self.reasons.add(batch)

    def close(self) -> SinkSummary:
        return SinkSummary(rows=self.rows, reasons=self.reasons.summary())

    def abort(self) -> None:
        """Nothing to stop."""
