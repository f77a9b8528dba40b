"""End-to-end ``ingest_file`` against the bare pyarrow reference, in the same run.

Each round converts the same generated L2 ``.csv.gz`` twice, alternating which goes
first: once with the bare reference (``open_csv`` with explicit types, 1 MiB blocks,
``use_threads=False`` -> one zstd ``ParquetWriter``) and once with ``ingest_file(...,
force=True)`` (parse, normalize, tz partition, PIT join, quarantine split, sequence, the
partitioned Silver sink and the manifest commits). The medians go to ``extra_info``:
``ratio = bare_s / pointline_s`` (the target is >= 0.8). The CN streams:
``test_cn_bench.py``.

Size: ``POINTLINE_E2E_ROWS`` (``make bench``: 10M), else ``POINTLINE_BENCH_ROWS``; rounds:
``POINTLINE_E2E_ROUNDS`` (default 3).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bench_support import bare_convert, bare_vs_pointline, cached_l2, prepare_lake

from pointline.ingest import ingest_file


def test_bench_e2e_ingest_vs_bare(benchmark: Any, bench_rows: int, tmp_path: Path) -> None:
    rows = int(os.environ.get("POINTLINE_E2E_ROWS", bench_rows))
    rounds = int(os.environ.get("POINTLINE_E2E_ROUNDS", "3"))
    source = cached_l2(rows)
    lake, meta = prepare_lake(tmp_path / "lake", source)

    def pointline() -> int:
        result = ingest_file(meta, lake=lake, force=True)
        assert result.status == "success", result
        return result.rows_total

    info = bare_vs_pointline(
        benchmark,
        rows=rows,
        rounds=rounds,
        bare=lambda: bare_convert(source, tmp_path / "bare.parquet"),
        pointline=pointline,
    )
    benchmark.extra_info.update(file_bytes=source.stat().st_size, **info)
