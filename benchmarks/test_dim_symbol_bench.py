"""What keeping Silver in line with dim_symbol costs.

* ``check_disagreements``: after a dim_symbol change that moves a window of one of the
  file's symbols, :func:`pointline.refresh.disagreements` has to look every row of the
  ingested ``bench_rows``-row L2 file up again (``symbol, ts_event_us, symbol_id``,
  streamed by row group). Reported in ns per row, with ``bare_read_columns`` (pyarrow
  reading the same three columns of the same file) in the same run as the yardstick.
* ``bootstrap_rerun``: ``dim-symbol bootstrap`` on a lake of ``FILES`` Bronze files it has
  all read before (the record under ``_pointline/bootstrap``), against the first run
  measured in the same process (``extra_info``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from bench_support import cached_l2, prepare_lake

from pointline import dim_symbol, ingest_file
from pointline.bootstrap import bootstrap_dim_symbol
from pointline.lake import Lake
from pointline.refresh import disagreements
from pointline.testing.tardis import write_tardis_file

FILES = 60
SPLIT_US = 1_727_568_000_000_000 + 1_000_000  # one second into the generated stream


@pytest.fixture(scope="module")
def stale_lake(bench_rows: int, tmp_path_factory: pytest.TempPathFactory) -> tuple[Lake, int]:
    lake, meta = prepare_lake(tmp_path_factory.mktemp("stale") / "lake", cached_l2(bench_rows))
    result = ingest_file(meta, lake=lake)
    assert result.status == "success"
    store = lake.dim_symbol_store()
    version, dim = store.load()
    first = dim.slice(0, 1)
    key = (first["exchange"][0].as_py(), first["exchange_symbol"][0].as_py())
    split = dim_symbol.from_first_seen(
        pa.table(
            {
                "exchange": [key[0], key[0]],
                "exchange_symbol": [key[1], key[1]],
                "first_ts_us": pa.array([0, SPLIT_US], pa.int64()),
            }
        ),
        now_ts_us=2,
    )
    early = split.filter(pc.equal(split["valid_from_ts_us"], 0))
    closed = early.set_column(
        early.schema.get_field_index("valid_until_ts_us"),
        early.schema.field("valid_until_ts_us"),
        pa.array([SPLIT_US], pa.int64()),
    ).set_column(
        early.schema.get_field_index("is_current"),
        early.schema.field("is_current"),
        pa.array([False]),
    )
    late = split.filter(pc.equal(split["valid_from_ts_us"], SPLIT_US))
    windows = pa.concat_tables([closed, late])
    store.save(dim_symbol.merge_windows(dim, windows, now_ts_us=3), expected_version=version)
    return lake, result.rows_written


def test_check_disagreements(benchmark: Any, stale_lake: tuple[Lake, int]) -> None:
    lake, rows = stale_lake
    found = benchmark(disagreements, lake)
    assert len(found.stale) == 1
    benchmark.extra_info["rows"] = rows


def test_bare_read_columns(benchmark: Any, stale_lake: tuple[Lake, int]) -> None:
    lake, rows = stale_lake
    files = sorted(lake.silver_root.glob("orderbook_updates/**/*.parquet"))

    def read() -> int:
        columns = ["symbol", "ts_event_us", "symbol_id"]
        return sum(pq.read_table(f, columns=columns).num_rows for f in files)

    assert benchmark(read) == rows
    benchmark.extra_info["rows"] = rows


def test_bootstrap_rerun(benchmark: Any, tmp_path: Path, bench_rows: int) -> None:
    lake = Lake(tmp_path / "lake")
    per_file = max(1, bench_rows // 100)
    for i in range(FILES):
        day = f"2024-09-{1 + i % 28:02d}"
        write_tardis_file(
            lake.bronze_root / f"tardis/binance-futures_trades_{day}_PERPETUALS-{i}.csv",
            "trades",
            rows=per_file,
            seed=i,
        )
    started = time.perf_counter()
    first = bootstrap_dim_symbol(lake)
    first_s = time.perf_counter() - started
    assert first.read == FILES
    again = benchmark(bootstrap_dim_symbol, lake)
    assert (again.read, again.cached) == (0, FILES)
    benchmark.extra_info.update(files=FILES, rows_per_file=per_file, first_run_s=first_s)
