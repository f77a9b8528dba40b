"""The quarantine sink: flagged rows to the validation log (docs/contracts.md section 8).

It is the side output of the quarantine split: each flagged batch becomes validation-log
rows with the reason, the step, the field to blame and its value as written, and the raw
row rebuilt from the vendor fields (or, for a row the CSV reader could not split, its
text), so a row can be replayed after a fix. Written to one staged Parquet file per Bronze
file, ``<file_id>-0.parquet``, published with the manifest commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from operators.columns import FILE_SEQ, RAW_LINE, raw
from pointline.chain import FLAG_COLUMN, ReasonCounter, SinkSummary, decode_flags
from pointline.parquet import BufferedParquetWriter
from pointline.schemas import VALIDATION_LOG

__all__ = ["QuarantineSink", "validation_rows"]


def _column(batch: pa.RecordBatch, name: str, dtype: Any) -> pa.Array[Any]:
    index = batch.schema.get_field_index(name)
    if index < 0:
        nulls: pa.Array[Any] = pa.nulls(batch.num_rows, dtype)
        return nulls
    return batch.column(index)


def _csv_text(column: Any) -> Any:
    """A field as CSV text: quoted (with doubled quotes) where it holds a comma, a quote or
    a line end, as the vendor's writer would have quoted it."""
    text = column.fill_null("")
    needs_quotes = pc.match_substring_regex(text, r'[",\r\n]')
    if not pc.any(needs_quotes).as_py():
        return text
    doubled = pc.replace_substring(text, '"', '""')
    quoted = pc.binary_join_element_wise('"', doubled, '"', "")
    return pc.if_else(needs_quotes, quoted, text)


def validation_rows(
    batch: pa.RecordBatch, *, file_id: int, table_name: str, headers: Sequence[str]
) -> pa.RecordBatch:
    """Validation-log rows for a batch of flagged rows."""
    n = batch.num_rows
    flags = batch[FLAG_COLUMN]
    step, rule, field = decode_flags(flags)
    value: pa.Array[Any] = pa.nulls(n, pa.string())
    for name in pc.unique(field).drop_null().to_pylist():
        source = raw(str(name))
        if batch.schema.get_field_index(source) >= 0:
            value = pc.if_else(pc.equal(field, pa.scalar(name, pa.string())), batch[source], value)
    pieces: list[Any] = [_csv_text(batch[raw(h)]) for h in headers]
    joined = pc.binary_join_element_wise(*pieces, ",") if pieces else pa.nulls(n, pa.string())
    raw_row = pc.coalesce(_column(batch, RAW_LINE, pa.string()), joined)
    arrays = {
        "file_id": pa.repeat(pa.scalar(file_id, pa.int64()), n),
        "file_seq": batch[FILE_SEQ],
        "table_name": pa.repeat(pa.scalar(table_name, pa.string()), n),
        "rule_name": rule,
        "step": step,
        "field_name": field,
        "field_value": value,
        "exchange": _column(batch, "exchange", pa.string()),
        "symbol": _column(batch, "symbol", pa.string()),
        "ts_event_us": _column(batch, "ts_event_us", pa.int64()),
        "raw_row": raw_row,
    }
    schema = VALIDATION_LOG.arrow_schema
    return pa.RecordBatch.from_arrays([arrays[f.name] for f in schema], schema=schema)


class QuarantineSink:
    """Collects the flagged rows of one Bronze file into its validation-log file."""

    def __init__(
        self, staging: Path, *, file_id: int, table_name: str, headers: Sequence[str]
    ) -> None:
        self._path = staging / f"{file_id}-0.parquet"
        self._file_id = file_id
        self._table_name = table_name
        self._headers = tuple(headers)
        self._writer: BufferedParquetWriter | None = None
        self._reasons = ReasonCounter()
        self.rows = 0

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        rows = validation_rows(
            batch, file_id=self._file_id, table_name=self._table_name, headers=self._headers
        )
        if self._writer is None:
            self._writer = BufferedParquetWriter(self._path, VALIDATION_LOG.arrow_schema)
        self._writer.write(rows)
        self._reasons.add(batch)
        self.rows += rows.num_rows

    def abort(self) -> None:
        """Stop the writer (after a failure); the staged file is then deleted."""
        if self._writer is not None:
            self._writer.abort()

    def close(self) -> SinkSummary:
        if self._writer is None:
            return SinkSummary(files=(), rows=0)
        self._writer.close()
        return SinkSummary(
            files=(self._path.name,), rows=self.rows, reasons=self._reasons.summary()
        )
