from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from pointline.testing import assert_tables_equal, batches_from_rows, collect, rebatch
from pointline.testing.tardis import GENERATED_TYPES, tardis_lines, write_tardis_file
from pointline.vendors.tardis import HEADERS


def test_batches_from_rows_and_collect_round_trip() -> None:
    schema = pa.schema([("x", pa.int64()), ("s", pa.string())])
    rows = [{"x": i, "s": str(i)} for i in range(10)]
    batches = batches_from_rows(rows, schema, batch_size=3)
    assert [b.num_rows for b in batches] == [3, 3, 3, 1]
    assert collect(batches).to_pylist() == rows
    assert [b.num_rows for b in rebatch(batches, 4)] == [4, 4, 2]
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        rebatch(batches, 0)


def test_assert_tables_equal_names_the_first_difference() -> None:
    a = pa.table({"x": [1, 2, 3]})
    b = pa.table({"x": [1, 5, 3]})
    assert_tables_equal(a, a)
    with pytest.raises(AssertionError, match=r"column 'x' row 1: actual 2, expected 5"):
        assert_tables_equal(a, b)


@pytest.mark.parametrize("data_type", GENERATED_TYPES)
def test_generated_files_look_like_tardis(data_type: str, tmp_path: Path) -> None:
    path = write_tardis_file(tmp_path / f"{data_type}.csv.gz", data_type, rows=5000, seed=7)
    with gzip.open(path, "rt") as f:
        assert f.readline().rstrip("\n") == ",".join(HEADERS[data_type])
    types = dict.fromkeys(HEADERS[data_type], pa.string())
    types["timestamp"] = types["local_timestamp"] = pa.int64()
    table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types=types))
    assert table.num_rows == 5000
    local = table["local_timestamp"].to_numpy()
    assert (local[1:] >= local[:-1]).all(), "local_timestamp must not decrease"
    assert (table["timestamp"].to_numpy() <= local).all(), "exchange time precedes arrival"
    for column in ("price", "amount", "ask_price", "bid_price"):
        if column in types:
            decimals = [len(v.partition(".")[2]) for v in table[column].to_pylist()]
            assert max(decimals) <= 8
    if data_type == "incremental_book_L2":
        assert table["is_snapshot"][0].as_py() == "true"
        assert "false" in table["is_snapshot"].to_pylist()


def test_generator_is_deterministic_per_seed() -> None:
    one = list(tardis_lines("incremental_book_L2", rows=300, seed=1))
    assert one == list(tardis_lines("incremental_book_L2", rows=300, seed=1))
    assert one != list(tardis_lines("incremental_book_L2", rows=300, seed=2))
    assert len(one) == 301


def test_generator_rejects_unknown_types() -> None:
    with pytest.raises(ValueError, match=r"cannot generate 'options_chain'"):
        next(tardis_lines("options_chain", rows=1))
