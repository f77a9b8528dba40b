"""``read`` of a whole table in replay order, both orders on the same lake: time per row,
and (in a fresh process) the Arrow pool peak against the bytes read, which shows how
memory compares with the table.

Size: ``POINTLINE_READ_ROWS`` (``make bench``: the end-to-end file), else
``POINTLINE_BENCH_ROWS``. The input is the benchmark L2 file: ONE Bronze file with three
interleaved symbols. For the symbol order it is the hardest case (three segments, each
reading the whole file); for the time order it is one file streamed row group by row
group, rows of equal times put in symbol_id order (see pointline/reader.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from bench_support import EXCHANGE, cached_l2, prepare_lake

from pointline import read
from pointline.ingest import ingest_file
from pointline.lake import Lake
from pointline.reader import Order

PEAK = """
import json, sys
import pyarrow as pa
from pointline import Lake, read
rows = nbytes = 0
for batch in read(Lake(sys.argv[1]), "orderbook_updates", exchange=sys.argv[2],
                  order=sys.argv[3]):
    rows += batch.num_rows
    nbytes += batch.nbytes
print(json.dumps({"rows": rows, "nbytes": nbytes, "peak": pa.default_memory_pool().max_memory()}))
"""


@pytest.fixture(scope="module")
def l2_lake(bench_rows: int, tmp_path_factory: pytest.TempPathFactory) -> tuple[Lake, int]:
    rows = int(os.environ.get("POINTLINE_READ_ROWS", bench_rows))
    lake, meta = prepare_lake(tmp_path_factory.mktemp("read") / "lake", cached_l2(rows))
    assert ingest_file(meta, lake=lake).status == "success"
    return lake, rows


def _bench(benchmark: Any, lake: Lake, rows: int, order: Order) -> None:
    def read_all() -> int:
        reader = read(lake, "orderbook_updates", exchange=EXCHANGE, order=order)
        return sum(b.num_rows for b in reader)

    assert benchmark.pedantic(read_all, rounds=3, iterations=1) == rows
    done = subprocess.run(
        [sys.executable, "-c", PEAK, str(lake.root), EXCHANGE, order],
        capture_output=True,
        check=True,
        text=True,
    )
    measured = json.loads(done.stdout)
    benchmark.extra_info.update(
        rows=rows,
        order=order,
        read_bytes=measured["nbytes"],
        pool_peak_bytes=measured["peak"],
        peak_over_bytes=measured["peak"] / max(measured["nbytes"], 1),
    )


def test_bench_read_replay_order(benchmark: Any, l2_lake: tuple[Lake, int]) -> None:
    """Symbol by symbol (the order this benchmark has always measured)."""
    _bench(benchmark, *l2_lake, "symbol")


def test_bench_read_time_order(benchmark: Any, l2_lake: tuple[Lake, int]) -> None:
    """One stream merged by time across the three symbols (``read``'s default)."""
    _bench(benchmark, *l2_lake, "time")
