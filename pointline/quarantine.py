"""The quarantine in view: the validation-log rows of the live files, with their Bronze
file, and counts by reason, table and file (``pointline quarantine``).

Rows come from the validation-log files the manifest lists for live files (``success`` or
``quarantined``): what a reader of the lake sees, never an abandoned attempt. Each row
carries the Bronze path and the data-row number (``file_seq``, 1-based, the header not
counted) besides the validation log's own columns (docs/contracts.md section 8).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pointline.arrays import repeated_text
from pointline.codes import LIVE_STATUSES
from pointline.lake import Lake
from pointline.manifest import ManifestEntry
from pointline.schemas import VALIDATION_LOG

__all__ = ["QUARANTINE_COLUMNS", "QuarantineCount", "quarantine_counts", "quarantined_rows"]


QUARANTINE_COLUMNS: Final = (
    "rule_name",
    "table_name",
    "bronze_path",
    "file_seq",
    "field_name",
    "field_value",
    "exchange",
    "symbol",
    "ts_event_us",
    "raw_row",
    "file_id",
    "step",
)
"""The columns :func:`quarantined_rows` yields, in order."""


def _live(lake: Lake, *, table: str | None, file_id: int | None) -> list[ManifestEntry]:
    entries = [
        e
        for e in lake.manifest().entries().values()
        if e.status in LIVE_STATUSES
        and e.quarantine_files
        and (table is None or e.table_name == table)
        and (file_id is None or e.file_id == file_id)
    ]
    return sorted(entries, key=lambda e: e.bronze_path)


def quarantined_rows(
    lake: Lake | str | Path,
    *,
    reason: str | None = None,
    table: str | None = None,
    file_id: int | None = None,
) -> Iterator[pa.RecordBatch]:
    """The quarantined rows of the live files, file by file (Bronze path order) and row
    group by row group, as batches of :data:`QUARANTINE_COLUMNS`; ``reason`` (a
    ``rule_name``), ``table`` and ``file_id`` filter."""
    the_lake = Lake.at(lake)
    columns = [c for c in VALIDATION_LOG.arrow_schema.names if c in QUARANTINE_COLUMNS]
    for entry in _live(the_lake, table=table, file_id=file_id):
        for relative in entry.quarantine_files:
            parquet = pq.ParquetFile(the_lake.root / relative)
            for group in range(parquet.metadata.num_row_groups):
                rows = parquet.read_row_group(group, columns=columns)
                if reason is not None:
                    rows = rows.filter(pc.equal(rows["rule_name"], pa.scalar(reason)))
                if rows.num_rows:
                    path = repeated_text(entry.bronze_path, rows.num_rows)
                    rows = rows.append_column("bronze_path", path)
                    yield from rows.select(list(QUARANTINE_COLUMNS)).to_batches()


@dataclass(frozen=True, slots=True)
class QuarantineCount:
    """Quarantined rows of one (reason, table, Bronze file)."""

    rule_name: str
    table_name: str
    bronze_path: str
    file_id: int
    rows: int

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


def quarantine_counts(
    lake: Lake | str | Path,
    *,
    reason: str | None = None,
    table: str | None = None,
    file_id: int | None = None,
) -> list[QuarantineCount]:
    """Rows per (reason, table, Bronze file) over the live files, most rows first (only
    the ``rule_name`` column of the validation-log files is read)."""
    the_lake = Lake.at(lake)
    counts: list[QuarantineCount] = []
    for entry in _live(the_lake, table=table, file_id=file_id):
        for relative in entry.quarantine_files:
            rules = pq.read_table(the_lake.root / relative, columns=["rule_name"])["rule_name"]
            tally = pc.value_counts(rules)
            for rule, rows in zip(
                tally.field("values").to_pylist(), tally.field("counts").to_pylist(), strict=True
            ):
                if reason is None or rule == reason:
                    counts.append(
                        QuarantineCount(
                            str(rule),
                            entry.table_name,
                            entry.bronze_path,
                            entry.file_id,
                            int(rows or 0),
                        )
                    )
    return sorted(counts, key=lambda c: (-c.rows, c.rule_name, c.bronze_path))
