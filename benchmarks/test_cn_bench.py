"""End-to-end ``ingest_file`` of one generated Quant360 (CN) file per stream, against the
bare pyarrow reference on the same file, in the same run.

Streams: SZSE ``order_new``, ``tick_new``, ``L2_new``; SSE ``order_new``, ``tick_new``
(``bench_support.CN_INPUTS``), each one symbol's file from
``pointline.testing.quant360.write_benchmark_file`` (gzip level 1, cached in
``benchmarks/.data``). Each round converts it twice, alternating which goes first: the
bare reference (``open_csv``, every vendor column with its natural type -- int64,
float64, string for codes, flags and the quoted L2 arrays -- 1 MiB blocks,
``use_threads=False`` -> one zstd ``ParquetWriter``) and ``ingest_file(...,
force=True)``. ``extra_info`` holds the medians, ns/row of both and ``ratio = bare_s /
pointline_s``.

Size: ``POINTLINE_CN_ROWS`` (``make bench``: 10M), else ``POINTLINE_BENCH_ROWS``, for the
order and tick streams. ``L2_new`` rows are ~680 bytes of CSV against 50-75 for the
others, so it gets ``POINTLINE_CN_L2_ROWS``, else a tenth of the rows (about the same
CSV bytes: 1M L2 rows ~ 680 MB, 10M SZSE orders ~ 510 MB). Rounds:
``POINTLINE_CN_ROUNDS``, else ``POINTLINE_E2E_ROUNDS`` (default 3).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from bench_support import (
    CN_INPUTS,
    bare_convert,
    bare_types,
    bare_vs_pointline,
    cached_input,
    prepare_lake,
)

from pointline.ingest import ingest_file


def cn_rows(stream: str, bench_rows: int) -> int:
    """The rows of a CN stream's benchmark file (see the module docstring)."""
    rows = int(os.environ.get("POINTLINE_CN_ROWS", bench_rows))
    if stream == "L2_new":
        return int(os.environ.get("POINTLINE_CN_L2_ROWS", max(rows // 10, 1)))
    return rows


@pytest.mark.parametrize(("exchange", "stream"), CN_INPUTS, ids=[f"{e}-{s}" for e, s in CN_INPUTS])
def test_bench_cn_ingest_vs_bare(
    benchmark: Any, bench_rows: int, tmp_path: Path, exchange: str, stream: str
) -> None:
    rows = cn_rows(stream, bench_rows)
    rounds = int(os.environ.get("POINTLINE_CN_ROUNDS", os.environ.get("POINTLINE_E2E_ROUNDS", "3")))
    source = cached_input(rows, exchange=exchange, stream=stream)
    lake, meta = prepare_lake(tmp_path / "lake", source, exchange=exchange, stream=stream)
    types = bare_types(exchange, stream)

    def pointline() -> int:
        result = ingest_file(meta, lake=lake, force=True)
        assert result.status == "success", result
        assert result.rows_quarantined == 0, result
        return result.rows_total

    info = bare_vs_pointline(
        benchmark,
        rows=rows,
        rounds=rounds,
        bare=lambda: bare_convert(source, tmp_path / "bare.parquet", column_types=types),
        pointline=pointline,
    )
    benchmark.extra_info.update(
        cn_stream=f"{exchange} {stream}",
        exchange=exchange,
        stream=stream,
        file_bytes=source.stat().st_size,
        **info,
    )


def test_cn_day_smoke(tmp_path: Path) -> None:
    """``cn_day.py`` on a 3-symbol day, so that it cannot rot (``make test``; skipped by
    ``--benchmark-only``: ``make bench`` runs the script itself at full size)."""
    import cn_day

    day = cn_day.run(symbols=3, seed=7, repeats=1, data_dir=tmp_path, keep_lake=False)
    assert day["ingest"]["statuses"] == {"success": 9}, day["ingest"]
    assert day["manifest_entries"] == 9
    assert all(sum(p.values()) == 3 for p in day["partitions"].values()), day["partitions"]
    assert day["dataset_symbol"]["rows"] > 0
    # read itself is tested in tests/; here a failure is recorded, not raised
    read = day["read_symbol"]
    assert read["error"] or read["rows"] == day["dataset_symbol"]["rows"], read
