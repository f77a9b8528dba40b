"""End-to-end ``ingest_file`` against the bare pyarrow reference, in the same run.

Each round converts the same generated L2 ``.csv.gz`` twice, alternating which goes
first: once with the bare reference (``open_csv`` with explicit types, 1 MiB blocks,
``use_threads=False`` -> one zstd ``ParquetWriter``) and once with ``ingest_file(...,
force=True)`` (parse, normalize, tz partition, PIT join, quarantine split, sequence, the
partitioned Silver sink and the manifest commits). The medians go to ``extra_info``:
``ratio = bare_s / pointline_s`` (the target is >= 0.8).

Size: ``POINTLINE_E2E_ROWS`` (``make bench``: 10M), else ``POINTLINE_BENCH_ROWS``; rounds:
``POINTLINE_E2E_ROUNDS`` (default 3).
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path
from typing import Any

from bench_support import bare_convert, cached_l2, prepare_lake

from pointline.ingest import ingest_file


def test_bench_e2e_ingest_vs_bare(benchmark: Any, bench_rows: int, tmp_path: Path) -> None:
    rows = int(os.environ.get("POINTLINE_E2E_ROWS", bench_rows))
    rounds = int(os.environ.get("POINTLINE_E2E_ROUNDS", "3"))
    source = cached_l2(rows)
    lake, meta = prepare_lake(tmp_path / "lake", source)
    bare_out = tmp_path / "bare.parquet"
    times: dict[str, list[float]] = {"bare": [], "pointline": []}

    def bare() -> None:
        started = time.perf_counter()
        written = bare_convert(source, bare_out)
        times["bare"].append(time.perf_counter() - started)
        assert written == rows

    def pointline() -> None:
        started = time.perf_counter()
        result = ingest_file(meta, lake=lake, force=True)
        times["pointline"].append(time.perf_counter() - started)
        assert (result.status, result.rows_total) == ("success", rows), result

    def one_round() -> None:
        first, second = (bare, pointline) if len(times["bare"]) % 2 == 0 else (pointline, bare)
        first()
        second()

    benchmark.pedantic(one_round, rounds=rounds, iterations=1)
    bare_s = statistics.median(times["bare"])
    pointline_s = statistics.median(times["pointline"])
    benchmark.extra_info.update(
        e2e_rows=rows,
        file_bytes=source.stat().st_size,
        bare_s=bare_s,
        pointline_s=pointline_s,
        bare_runs_s=times["bare"],
        pointline_runs_s=times["pointline"],
        bare_rows_per_s=rows / bare_s,
        pointline_rows_per_s=rows / pointline_s,
        ratio=bare_s / pointline_s,
    )
