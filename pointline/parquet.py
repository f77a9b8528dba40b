"""A Parquet file writer with a hard memory bound and sensible row groups.

``pyarrow.dataset.write_dataset`` keeps up to 8 Mi rows in flight and cannot be told
otherwise (measured: ~0.7 GiB at 10M rows); writing each small batch as its own row group
makes files larger and slower to read. This writer buffers batches until ``row_group_rows``
rows, then writes them as one row group, encoded on a background thread with at most two row groups
waiting: memory is bounded by three row groups per open file.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["DEFAULT_ROW_GROUP_ROWS", "BufferedParquetWriter", "encoding_options"]

DEFAULT_ROW_GROUP_ROWS = 131_072
_ZSTD_PACKED, _ZSTD_OTHER = 3, 1  # zstd levels: delta-packed columns, the rest
_DELTA = "DELTA_BINARY_PACKED"
_DELTA_SUFFIXES = ("_us", "_seq", "_ref")  # times, sequence numbers, order references
_TEXT_WITH_STATISTICS = frozenset({"symbol", "exchange"})
_UNIQUE_TEXT = frozenset({"trade_id"})  # one value per row: a dictionary never pays


def encoding_options(schema: pa.Schema) -> dict[str, Any]:
    """``pq.ParquetWriter`` keywords chosen per column by its role (measured on 1M L2 rows,
    pyarrow 26: 260 -> 142 ns/row to encode, 14.5 -> 8.6 MiB, against dictionary-everything
    with statistics everywhere):

    - dictionary encoding for string columns (symbols, sides: few distinct values) and
      for the decimal prices and quantities (16 bytes each, on a tick grid: few distinct
      values per row group; measured with pyarrow 26 on 1M L2 rows: 9.57 -> 7.63 MiB and
      204 -> 177 ns/row to encode; 500k trades 5.81 -> 4.86 MiB, 290 -> 246 ns/row;
      BYTE_STREAM_SPLIT made them bigger, 15.3 MiB); the writer falls back to plain
      pages when a dictionary outgrows its page; on timestamps it never pays, nor on
      ``trade_id`` (unique per row: every row group hashed ~1 MiB of ids into a
      dictionary before falling back; issue 16, 2M trades: 383 -> 278 ns/row to
      encode, 19.4 -> 16.8 MiB);
    - delta encoding for the monotone-ish int64 columns: ``*_us`` times and the sequence
      numbers and order references (``*_seq``, ``seq_num``, ``*_ref``; issue 16: SZSE
      ``channel_seq`` and ``order_ref`` plain 3.0 MB each per 1M rows, zstd on top);
    - zstd everywhere, level 3 on the delta-packed columns (it still finds 20-30% there:
      1M SZSE orders 6.7 -> 5.8 MB) and level 1 on the rest, whose dictionary pages it
      does not shrink, where level 3 only cost time (each page resets its larger
      tables; 1M SZSE orders: 2.37 -> 2.28 G instructions to encode, same size);
    - statistics on the numeric columns but the decimal prices and quantities, and on
      ``symbol`` (the reader prunes on ``ts_event_us`` and ``symbol``; refresh reads a
      file's symbols from them); none on the other text columns, labels such as ``side``
      that nobody prunes on, whose statistics cost 30 ns a row to write (issue 16, 2M
      CN order rows: 314 -> 281 ns/row).
    """
    dictionary = [
        f.name
        for f in schema
        if (pa.types.is_string(f.type) or _is_decimal(f.type)) and f.name not in _UNIQUE_TEXT
    ]
    delta = {
        f.name: _DELTA
        for f in schema
        if pa.types.is_int64(f.type) and (f.name.endswith(_DELTA_SUFFIXES) or f.name == "seq_num")
    }
    stats = [
        f.name
        for f in schema
        if f.name in _TEXT_WITH_STATISTICS
        or not (_is_decimal(f.type) or pa.types.is_string(f.type))
    ]
    return {
        "use_dictionary": dictionary,
        "column_encoding": delta,
        "write_statistics": stats,
        "compression": "zstd",
        "compression_level": {
            f.name: _ZSTD_PACKED if f.name in delta else _ZSTD_OTHER for f in schema
        },
    }


def _is_decimal(dtype: pa.DataType) -> bool:
    """A decimal, or a list of decimals (book snapshot levels)."""
    if pa.types.is_list(dtype) or pa.types.is_large_list(dtype):
        return _is_decimal(dtype.value_type)
    return pa.types.is_decimal(dtype)


class _Encoder:
    """Encodes row groups on a background thread, at most ``depth`` waiting.

    Parquet encoding and compression release the GIL, so on a machine with a spare core
    they overlap with the parsing and normalising of the next batches. Row groups of one
    file are written in order by one thread, so the bytes are the same as a synchronous
    write. An error on the thread is raised by the next ``submit`` or by ``close``.
    """

    __slots__ = ("_error", "_queue", "_thread", "_writer")

    def __init__(self, writer: pq.ParquetWriter, *, depth: int = 2) -> None:
        self._writer = writer
        self._queue: queue.Queue[pa.Table | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="pointline-parquet", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (table := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._writer.write_table(table, row_group_size=table.num_rows)
                except BaseException as exc:
                    self._error = exc

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def submit(self, table: pa.Table) -> None:
        self._raise()
        self._queue.put(table)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        self._raise()
        self._writer.close()

    def abort(self) -> None:
        """Stop the thread and close the file without raising (the file is discarded).
        Safe after :meth:`close` and when called twice."""
        self._error = self._error or RuntimeError("aborted")
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        with contextlib.suppress(Exception):  # the file is being thrown away
            self._writer.close()


class BufferedParquetWriter:
    """Writes record batches to one Parquet file in row groups of ``row_group_rows``."""

    __slots__ = ("_buffer", "_buffered", "_encoder", "_path", "_row_group_rows", "rows")

    def __init__(
        self, path: Path, schema: pa.Schema, *, row_group_rows: int = DEFAULT_ROW_GROUP_ROWS
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._row_group_rows = row_group_rows
        self._encoder = _Encoder(
            pq.ParquetWriter(
                path,
                schema,
                **encoding_options(schema),
            )
        )
        self._buffer: list[pa.RecordBatch] = []
        self._buffered = 0
        self.rows = 0

    @property
    def path(self) -> Path:
        return self._path

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        self._buffer.append(batch)
        self._buffered += batch.num_rows
        self.rows += batch.num_rows
        if self._buffered >= self._row_group_rows:
            self._flush()

    def _flush(self, *, final: bool = False) -> None:
        """Write whole row groups; keep the remainder buffered unless ``final``."""
        if not self._buffer:
            return
        table = pa.Table.from_batches(self._buffer)
        size = self._row_group_rows
        cut = table.num_rows if final else table.num_rows // size * size
        for start in range(0, cut, size):
            self._encoder.submit(table.slice(start, min(size, cut - start)))
        rest = table.slice(cut)
        self._buffer = rest.to_batches()
        self._buffered = rest.num_rows

    def close(self) -> None:
        self._flush(final=True)
        self._encoder.close()

    def abort(self) -> None:
        """Give up on the file: stop the encoder thread; the caller deletes the file."""
        self._buffer = []
        self._encoder.abort()
