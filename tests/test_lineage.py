from __future__ import annotations

import pyarrow as pa
import pytest

from operators.sequence import sequence
from pointline.chain import Chain
from pointline.lineage import assign_lineage


def test_assign_lineage_keeps_parse_numbering() -> None:
    batch = pa.record_batch({"x": [1, 2], "file_seq": pa.array([5, 9], pa.int64())})
    out = assign_lineage(batch, 7)
    assert out["file_seq"].to_pylist() == [5, 9]
    assert out["file_id"].to_pylist() == [7, 7]


def test_assign_lineage_needs_a_start_without_file_seq() -> None:
    with pytest.raises(ValueError, match="give first_seq"):
        assign_lineage(pa.record_batch({"x": [1]}), 7)


def test_sequence_adds_file_id_and_drops_working_columns() -> None:
    schema = pa.schema([("raw:price", pa.string()), ("x", pa.int64()), ("file_seq", pa.int64())])
    chain = Chain([sequence(42, drops=["raw:price"])], input_schema=schema)
    assert chain.output_schema.names == ["x", "file_seq", "file_id"]
    batch = pa.record_batch([pa.array(["1"]), pa.array([3]), pa.array([1])], schema=schema)
    assert chain.run([batch]).read_all().to_pylist() == [{"x": 3, "file_seq": 1, "file_id": 42}]
