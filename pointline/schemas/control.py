"""Control tables: the ingest manifest and the validation (quarantine) log."""

from __future__ import annotations

import pyarrow as pa

from pointline.codes import FILE_STATUSES, FileStatus
from pointline.schemas.spec import ColumnSpec, TableSpec

__all__ = [
    "FILE_STATUSES",
    "INGEST_MANIFEST",
    "VALIDATION_LOG",
    "FileStatus",
]


def _col(name: str, dtype: pa.DataType, description: str, *, nullable: bool = False) -> ColumnSpec:
    return ColumnSpec(name=name, dtype=dtype, nullable=nullable, description=description)


INGEST_MANIFEST = TableSpec(
    name="ingest_manifest",
    kind="control",
    description="One row per Bronze file per commit; the current state is the last by file_id.",
    columns=(
        _col("file_id", pa.int64(), "63-bit hash of the identity tuple"),
        _col("vendor", pa.string(), "identity: vendor, e.g. tardis"),
        _col("data_type", pa.string(), "identity: vendor data type, e.g. incremental_book_L2"),
        _col("bronze_path", pa.string(), "identity: POSIX path relative to the bronze root"),
        _col("file_hash", pa.string(), "identity: SHA-256 of the stored bytes, hex"),
        _col("table_name", pa.string(), "the Silver table the file feeds"),
        _col("status", pa.string(), "pending, success, failed, quarantined or superseded"),
        _col("status_reason", pa.string(), "machine-readable reason", nullable=True),
        _col("error_message", pa.string(), "the error text of a failed file", nullable=True),
        _col("rows_total", pa.int64(), "Bronze data rows", nullable=True),
        _col("rows_written", pa.int64(), "rows that landed in Silver", nullable=True),
        _col("rows_quarantined", pa.int64(), "rows in the validation log", nullable=True),
        _col("trading_date_min", pa.date32(), "first trading date written", nullable=True),
        _col("trading_date_max", pa.date32(), "last trading date written", nullable=True),
        _col("ts_event_min_us", pa.int64(), "earliest ts_event_us written", nullable=True),
        _col("ts_event_max_us", pa.int64(), "latest ts_event_us written", nullable=True),
        _col("file_size_bytes", pa.int64(), "size of the Bronze file"),
        _col("last_modified_ts_us", pa.int64(), "Bronze mtime, us since epoch", nullable=True),
        _col("created_at_ts_us", pa.int64(), "when the file_id was first seen"),
        _col("processed_at_ts_us", pa.int64(), "when this commit was made"),
        _col("duration_us", pa.int64(), "wall time of the ingest", nullable=True),
        _col("pointline_version", pa.string(), "version of the writer"),
        _col("silver_files", pa.list_(pa.string()), "Silver files the file_id owns"),
        _col("quarantine_files", pa.list_(pa.string()), "validation-log files it owns"),
        _col(
            "publish_token",
            pa.string(),
            "staging folder (_pointline/staging/<file_id>-<token>) the owned files are moved "
            "from after this commit; a later command finishes an interrupted move",
            nullable=True,
        ),
        _col(
            "attempt_reason",
            pa.string(),
            "reason of the last re-ingest that failed while this status stayed in force",
            nullable=True,
        ),
        _col("attempt_error", pa.string(), "its error text", nullable=True),
        _col(
            "dim_symbol_version",
            pa.int64(),
            "the dim_symbol version the owned files were derived with (0: none saved)",
            nullable=True,
        ),
    ),
    business_keys=("file_id",),
)

VALIDATION_LOG = TableSpec(
    name="validation_log",
    kind="control",
    description="One row per quarantined Bronze row, with the reason and the raw row.",
    columns=(
        _col("file_id", pa.int64(), "the Bronze file"),
        _col("file_seq", pa.int64(), "1-based data-row number in the Bronze file"),
        _col("table_name", pa.string(), "the Silver table the row was meant for"),
        _col("rule_name", pa.string(), "the reason code, e.g. invalid_trade"),
        _col("step", pa.string(), "the operator that flagged the row"),
        _col("field_name", pa.string(), "the field to blame, if one is", nullable=True),
        _col("field_value", pa.string(), "its value as written", nullable=True),
        _col("exchange", pa.string(), "venue id when known", nullable=True),
        _col("symbol", pa.string(), "symbol when known", nullable=True),
        _col("ts_event_us", pa.int64(), "event time when known", nullable=True),
        _col("raw_row", pa.string(), "the row as the vendor wrote it"),
    ),
    business_keys=("file_id", "file_seq"),
)
