"""Test helpers shipped with the package: batches from rows, collect, compare, rebatch.

They are part of the public API so that users testing their own operators get the same
tools Pointline's tests use. The synthetic Tardis generator is in
:mod:`pointline.testing.tardis`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pyarrow as pa

from pointline.chain import SinkSummary

__all__ = ["ListSink", "assert_tables_equal", "batches_from_rows", "collect", "rebatch"]


class ListSink:
    """A sink that keeps every batch it is given in ``batches`` (for tests); ``closed`` and
    ``aborted`` say how it ended."""

    def __init__(self) -> None:
        self.batches: list[pa.RecordBatch] = []
        self.closed = False
        self.aborted = False

    def write(self, batch: pa.RecordBatch) -> None:
        self.batches.append(batch)

    def close(self) -> SinkSummary:
        self.closed = True
        return SinkSummary(rows=sum(b.num_rows for b in self.batches))

    def abort(self) -> None:
        self.aborted = True


def batches_from_rows(
    rows: Sequence[Mapping[str, Any]], schema: pa.Schema, *, batch_size: int = 65_536
) -> list[pa.RecordBatch]:
    """Record batches of at most ``batch_size`` rows from a list of dicts.

    >>> import pyarrow as pa
    >>> schema = pa.schema([("x", pa.int64())])
    >>> [b.num_rows for b in batches_from_rows([{"x": i} for i in range(5)], schema, batch_size=2)]
    [2, 2, 1]
    """
    table = pa.Table.from_pylist(list(rows), schema=schema)
    return rebatch(table, batch_size)


def rebatch(
    data: pa.Table | Iterable[pa.RecordBatch], batch_size: int, *, schema: pa.Schema | None = None
) -> list[pa.RecordBatch]:
    """The same rows cut into batches of exactly ``batch_size`` rows (the last may be short)."""
    if batch_size < 1:
        msg = f"batch_size must be >= 1, got {batch_size}"
        raise ValueError(msg)
    table = data if isinstance(data, pa.Table) else collect(data, schema=schema)
    return table.combine_chunks().to_batches(max_chunksize=batch_size)


def collect(
    batches: pa.RecordBatchReader | Iterable[pa.RecordBatch], *, schema: pa.Schema | None = None
) -> pa.Table:
    """Read a reader (or an iterable of batches) into one table."""
    if isinstance(batches, pa.RecordBatchReader):
        return batches.read_all()
    materialised = list(batches)
    if schema is None:
        if not materialised:
            msg = "collect() needs a schema for an empty iterable of batches"
            raise ValueError(msg)
        schema = materialised[0].schema
    return pa.Table.from_batches(materialised, schema=schema)


def assert_tables_equal(
    actual: pa.Table, expected: pa.Table, *, check_metadata: bool = False
) -> None:
    """Assert two tables hold the same schema and rows; the message names the first
    differing row and column."""
    if not actual.schema.equals(expected.schema, check_metadata=check_metadata):
        msg = f"schemas differ:\nactual:   {actual.schema}\nexpected: {expected.schema}"
        raise AssertionError(msg)
    if actual.num_rows != expected.num_rows:
        msg = f"row counts differ: actual {actual.num_rows}, expected {expected.num_rows}"
        raise AssertionError(msg)
    if actual.equals(expected):
        return
    for name in expected.column_names:
        got, want = actual.column(name).to_pylist(), expected.column(name).to_pylist()
        for row, (a, e) in enumerate(zip(got, want, strict=True)):
            if a != e:
                msg = f"column {name!r} row {row}: actual {a!r}, expected {e!r}"
                raise AssertionError(msg)
    msg = "tables differ in chunk layout or types only"  # pragma: no cover
    raise AssertionError(msg)  # pragma: no cover
