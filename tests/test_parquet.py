from __future__ import annotations

import threading
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pointline.parquet import BufferedParquetWriter, encoding_options
from pointline.schemas import get_table_spec


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


def test_columns_are_encoded_by_role(tmp_path: Path) -> None:
    """Times, sequence numbers and order references delta-packed (zstd 3 on top), text and
    decimals dictionary-encoded (zstd 1), ids plain; what each column holds is unchanged."""
    spec = get_table_spec("cn_order_events")
    n = 5_000
    columns = {}
    for column in spec.columns:
        if column.dtype == pa.int64():
            columns[column.name] = pa.array(range(10**9, 10**9 + 3 * n, 3), pa.int64())
        elif column.dtype == pa.int32():
            columns[column.name] = pa.array([2011] * n, pa.int32())
        elif column.dtype == pa.string():
            columns[column.name] = pa.array(["BUY", "SELL"] * (n // 2), pa.string())
        else:
            columns[column.name] = pa.array([Decimal("9.39")] * n, column.dtype)
    table = pa.table(columns, schema=spec.arrow_schema)
    writer = BufferedParquetWriter(tmp_path / "f.parquet", table.schema)
    for batch in table.to_batches():
        writer.write(batch)
    writer.close()
    chunks = pq.ParquetFile(tmp_path / "f.parquet").metadata.row_group(0)
    encodings = {
        chunks.column(i).path_in_schema: set(chunks.column(i).encodings)
        for i in range(chunks.num_columns)
    }
    for name in ("ts_event_us", "file_seq", "channel_seq", "channel_biz_seq", "order_ref"):
        assert "DELTA_BINARY_PACKED" in encodings[name], name
    for name in ("side", "order_type", "price", "qty"):
        assert "RLE_DICTIONARY" in encodings[name], name
    assert encodings["symbol_id"] == {"PLAIN", "RLE"}  # no dictionary, no delta
    assert {chunks.column(i).compression for i in range(chunks.num_columns)} == {"ZSTD"}
    options = encoding_options(table.schema)
    levels = options["compression_level"]
    assert levels["channel_seq"] == levels["ts_event_us"] == 3
    assert levels["side"] == levels["price"] == levels["symbol_id"] == 1
    assert pq.read_table(tmp_path / "f.parquet").equals(table)
