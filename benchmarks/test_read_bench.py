"""``read`` of a whole table in replay order: time per row, and (in a fresh process) the
Arrow pool peak against the bytes read, which shows how memory compares with the table.

Size: ``POINTLINE_READ_ROWS`` (``make bench``: the end-to-end file), else
``POINTLINE_BENCH_ROWS``. The input is the benchmark L2 file: ONE Bronze file with three
interleaved symbols, the hardest case for the merge (see docs/architecture.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench_support import EXCHANGE, cached_l2, prepare_lake

from pointline import read
from pointline.ingest import ingest_file

PEAK = """
import json, sys
import pyarrow as pa
from pointline import Lake, read
rows = nbytes = 0
for batch in read(Lake(sys.argv[1]), "orderbook_updates", exchange=sys.argv[2]):
    rows += batch.num_rows
    nbytes += batch.nbytes
print(json.dumps({"rows": rows, "nbytes": nbytes, "peak": pa.default_memory_pool().max_memory()}))
"""


def test_bench_read_replay_order(benchmark: Any, bench_rows: int, tmp_path: Path) -> None:
    rows = int(os.environ.get("POINTLINE_READ_ROWS", bench_rows))
    lake, meta = prepare_lake(tmp_path / "lake", cached_l2(rows))
    assert ingest_file(meta, lake=lake).status == "success"

    def read_all() -> int:
        return sum(b.num_rows for b in read(lake, "orderbook_updates", exchange=EXCHANGE))

    assert benchmark.pedantic(read_all, rounds=3, iterations=1) == rows
    done = subprocess.run(
        [sys.executable, "-c", PEAK, str(lake.root), EXCHANGE],
        capture_output=True,
        check=True,
        text=True,
    )
    measured = json.loads(done.stdout)
    benchmark.extra_info.update(
        rows=rows,
        read_bytes=measured["nbytes"],
        pool_peak_bytes=measured["peak"],
        peak_over_bytes=measured["peak"] / max(measured["nbytes"], 1),
    )
