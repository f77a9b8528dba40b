"""The Silver sink: good rows to Parquet files, one per (exchange, trading_date) partition.

Files are written under a staging folder whose layout mirrors the table's hive layout
(``exchange=<x>/trading_date=<YYYY-MM-DD>/<file_id>-<n>.parquet``); the ingest publishes
them into ``silver/<table>/`` together with the manifest commit. Partition columns live
in the path, not in the file, as hive readers (pyarrow, DuckDB, Polars) expect. Each file
carries ``pointline.table``, ``pointline.schema_version`` and ``pointline.file_id`` in its
schema metadata. Memory: one buffered row group per open partition.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pointline.arrays import bool_array
from pointline.chain import SinkSummary
from pointline.parquet import DEFAULT_ROW_GROUP_ROWS, BufferedParquetWriter
from pointline.schemas import TableSpec

__all__ = ["RowStats", "SilverSink", "StatsSink"]

_EPOCH = datetime.date(1970, 1, 1)


class RowStats:
    """Row count and the trading-date and event-time ranges of the rows seen so far."""

    __slots__ = ("_days", "_ts", "rows")

    def __init__(self) -> None:
        self.rows = 0
        self._days: tuple[int, int] | None = None
        self._ts: tuple[int, int] | None = None

    def note(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        self.rows += batch.num_rows
        days = pc.min_max(batch["trading_date"].cast(pa.int32()))
        ts = pc.min_max(batch["ts_event_us"])
        lo, hi = int(days["min"].as_py()), int(days["max"].as_py())
        tlo, thi = int(ts["min"].as_py()), int(ts["max"].as_py())
        if self._days is None or self._ts is None:
            self._days, self._ts = (lo, hi), (tlo, thi)
        else:
            self._days = (min(self._days[0], lo), max(self._days[1], hi))
            self._ts = (min(self._ts[0], tlo), max(self._ts[1], thi))

    def summary(self, files: tuple[str, ...] = ()) -> SinkSummary:
        days, ts = self._days, self._ts
        return SinkSummary(
            files=files,
            rows=self.rows,
            trading_date_min=None if days is None else _EPOCH + datetime.timedelta(days[0]),
            trading_date_max=None if days is None else _EPOCH + datetime.timedelta(days[1]),
            ts_event_min_us=None if ts is None else ts[0],
            ts_event_max_us=None if ts is None else ts[1],
        )


class StatsSink:
    """The Silver sink of a dry run: counts the rows and their ranges, writes nothing."""

    __slots__ = ("_stats",)

    def __init__(self) -> None:
        self._stats = RowStats()

    def write(self, batch: pa.RecordBatch) -> None:
        self._stats.note(batch)

    def close(self) -> SinkSummary:
        return self._stats.summary()

    def abort(self) -> None:
        """Nothing to stop."""


class SilverSink:
    """Writes batches of one event table, partitioned by exchange and trading date."""

    def __init__(
        self,
        spec: TableSpec,
        staging: Path,
        file_id: int,
        *,
        row_group_rows: int = DEFAULT_ROW_GROUP_ROWS,
    ) -> None:
        self._spec = spec
        self._staging = staging
        self._file_id = file_id
        self._row_group_rows = row_group_rows
        parts = set(spec.partition_by)
        metadata: dict[bytes | str, bytes | str] = {b"pointline.file_id": str(file_id).encode()}
        metadata.update((key, value) for key, value in (spec.arrow_schema.metadata or {}).items())
        self._file_schema = pa.schema(
            [f for f in spec.arrow_schema if f.name not in parts], metadata=metadata
        )
        self._writers: dict[tuple[str, int], BufferedParquetWriter] = {}
        self._stats = RowStats()

    def _writer(self, exchange: str, day: int) -> BufferedParquetWriter:
        key = (exchange, day)
        writer = self._writers.get(key)
        if writer is None:
            date = _EPOCH + datetime.timedelta(days=day)
            relative = f"exchange={exchange}/trading_date={date.isoformat()}"
            path = self._staging / relative / f"{self._file_id}-0.parquet"
            writer = BufferedParquetWriter(
                path, self._file_schema, row_group_rows=self._row_group_rows
            )
            self._writers[key] = writer
        return writer

    def write(self, batch: pa.RecordBatch) -> None:
        """Write the good rows of ``batch`` (any column order; extra columns ignored)."""
        n = batch.num_rows
        if n == 0:
            return
        body = pa.RecordBatch.from_arrays(
            [batch[name] for name in self._file_schema.names], schema=self._file_schema
        )
        days = batch["trading_date"].cast(pa.int32()).to_numpy(zero_copy_only=False)
        exchanges = batch["exchange"]
        self._stats.note(batch)
        first = exchanges[0].as_py()
        if (days == days[0]).all() and pc.all(pc.equal(exchanges, first)).as_py():
            self._writer(str(first), int(days[0])).write(body)
            return
        codes = exchanges.dictionary_encode()
        names = codes.dictionary.to_pylist()
        combined = codes.indices.to_numpy(zero_copy_only=False).astype(np.int64) << 32
        combined |= days.astype(np.int64) & 0xFFFFFFFF
        for key in np.unique(combined):
            rows = bool_array(combined == key)
            day = int(np.int32(np.int64(key) & 0xFFFFFFFF))
            self._writer(str(names[int(key) >> 32]), day).write(body.filter(rows))

    def abort(self) -> None:
        """Stop every writer (after a failure); the staged files are then deleted."""
        for writer in self._writers.values():
            writer.abort()

    def close(self) -> SinkSummary:
        """Finish every file; returns what was written."""
        files = []
        for writer in self._writers.values():
            writer.close()
            files.append(writer.path.relative_to(self._staging).as_posix())
        return self._stats.summary(tuple(sorted(files)))
