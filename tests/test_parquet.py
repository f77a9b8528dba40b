from __future__ import annotations

import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pointline.parquet import BufferedParquetWriter


def batches(n: int, size: int) -> list[pa.RecordBatch]:
    return [
        pa.record_batch({"ts_us": pa.array(range(i, min(i + size, n)), pa.int64())})
        for i in range(0, n, size)
    ]


def test_row_groups_are_whole_and_bytes_do_not_depend_on_batching(tmp_path: Path) -> None:
    schema = pa.schema([("ts_us", pa.int64())])
    outputs = []
    for size in (1_000, 7_777, 50_000):
        path = tmp_path / f"{size}.parquet"
        writer = BufferedParquetWriter(path, schema, row_group_rows=10_000)
        for batch in batches(45_000, size):
            writer.write(batch)
        writer.close()
        meta = pq.ParquetFile(path).metadata
        assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [
            10_000,
            10_000,
            10_000,
            10_000,
            5_000,
        ]
        outputs.append(path.read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]
    assert pq.read_table(tmp_path / "1000.parquet")["ts_us"].to_pylist() == list(range(45_000))


def test_an_encoder_error_reaches_the_caller_and_abort_stops_the_thread(tmp_path: Path) -> None:
    schema = pa.schema([("ts_us", pa.int64())])
    writer = BufferedParquetWriter(tmp_path / "x.parquet", schema, row_group_rows=10)
    bad = pa.record_batch({"ts_us": pa.array(["not", "an", "int"] * 4)})  # wrong type
    writer.write(bad)  # the row group is handed to the thread, which fails

    def keep_writing() -> None:
        for _ in range(5):
            writer.write(bad)
        writer.close()

    with pytest.raises(Exception, match=r"(?i)schema|type"):
        keep_writing()
    writer.abort()
    assert not any(t.name == "pointline-parquet" and t.is_alive() for t in threading.enumerate())
