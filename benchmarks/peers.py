"""Pointline against the tools a user would pick instead (issue 16), in one run.

On the same generated Tardis ``incremental_book_L2`` ``.csv.gz`` (``--rows``, default
10M; ``bench_support.cached_l2``), each in a fresh process, rounds alternating the order,
wall time from after the imports and the process's peak RSS (``ru_maxrss``):

- ``bare``: ``bench_support.bare_convert`` (``open_csv`` with float64 prices ->
  one zstd ``ParquetWriter``), the yardstick of every ratio;
- ``pointline``: ``ingest_file`` into a fresh lake (exact decimals, rules, quarantine,
  trading dates, PIT join, lineage, manifest);
- ``polars``: ``scan_csv`` (prices as text) -> ``str.to_decimal(scale=18)`` on price and
  amount, a UTC ``date`` from ``timestamp`` -> ``sink_parquet`` partitioned by
  ``exchange``/``date`` (zstd);
- ``duckdb``: ``COPY (SELECT ... CAST(price AS DECIMAL(38,18)) ... FROM read_csv(...))
  TO ... (FORMAT parquet, PARTITION_BY (exchange, date))``, 2 threads.

Ratios are ``bare_s / tool_s`` (above 1: faster than bare). Polars and DuckDB are dev
dependencies only. Writes ``--out`` (default ``benchmarks/.data/peers.json``) for
``report.py``.

    .venv/bin/python benchmarks/peers.py [--rows 10000000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / ".data" / "peers.json"
TOOLS = ("bare", "pointline", "polars", "duckdb")

_CHILD = """
import json, resource, sys, time
from pathlib import Path
tool, source, target = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
if tool == "bare":
    from bench_support import bare_convert
    run = lambda: bare_convert(source, target / "bare.parquet")
elif tool == "pointline":
    import pointline  # first, as the CLI does: it chooses Arrow's allocator
    from bench_support import prepare_lake
    from pointline.ingest import ingest_file
    lake, meta = prepare_lake(target / "lake", source)
    def run():
        result = ingest_file(meta, lake=lake)
        assert result.status == "success", result
elif tool == "polars":
    import polars as pl
    def run():
        frame = pl.scan_csv(source, schema_overrides={"price": pl.String, "amount": pl.String})
        frame = frame.with_columns(
            pl.col("price").str.to_decimal(scale=18),
            pl.col("amount").str.to_decimal(scale=18),
            pl.from_epoch("timestamp", time_unit="us").dt.date().alias("date"),
        )
        frame.sink_parquet(pl.PartitionBy(target / "polars", key=["exchange", "date"]),
                           compression="zstd", mkdir=True)
elif tool == "duckdb":
    import duckdb
    def run():
        con = duckdb.connect()
        con.execute("SET threads = 2")
        con.execute(f'''
            COPY (
                SELECT exchange, symbol, timestamp, local_timestamp, is_snapshot, side,
                       CAST(price AS DECIMAL(38, 18)) AS price,
                       CAST(amount AS DECIMAL(38, 18)) AS amount,
                       CAST(make_timestamp(timestamp) AS DATE) AS date
                FROM read_csv('{source}', header = true, columns = {{
                    'exchange': 'VARCHAR', 'symbol': 'VARCHAR', 'timestamp': 'BIGINT',
                    'local_timestamp': 'BIGINT', 'is_snapshot': 'VARCHAR',
                    'side': 'VARCHAR', 'price': 'VARCHAR', 'amount': 'VARCHAR'}})
            ) TO '{target / "duckdb"}'
            (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (exchange, date))''')
        con.close()
started = time.perf_counter()
run()
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds,
                  "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_once(tool: str, source: Path, scratch: Path) -> dict[str, Any]:
    """One fresh process of ``tool`` on ``source``, its output under a fresh folder."""
    from bench_support import child_report

    target = Path(tempfile.mkdtemp(dir=scratch))
    try:
        return child_report(_CHILD, tool, str(source), str(target), reference=tool != "pointline")
    finally:
        shutil.rmtree(target, ignore_errors=True)


def run(rows: int, rounds: int, data_dir: Path = HERE / ".data") -> dict[str, Any]:
    """Every tool ``rounds`` times on the ``rows``-row L2 file; medians and ratios."""
    sys.path.insert(0, str(HERE))
    from bench_support import cached_l2

    data_dir.mkdir(parents=True, exist_ok=True)
    source = cached_l2(rows, data_dir=data_dir)
    runs: dict[str, list[dict[str, Any]]] = {tool: [] for tool in TOOLS}
    with tempfile.TemporaryDirectory(dir=data_dir) as scratch:
        for r in range(rounds):
            for tool in TOOLS if r % 2 == 0 else TOOLS[::-1]:
                runs[tool].append(run_once(tool, source, Path(scratch)))
                last = runs[tool][-1]
                print(f"round {r + 1} {tool}: {last['seconds']:.2f} s, "
                      f"{last['max_rss_mib']:.0f} MiB", file=sys.stderr)  # fmt: skip
    bare_s = statistics.median(r["seconds"] for r in runs["bare"])
    return {
        "rows": rows,
        "file_bytes": source.stat().st_size,
        "rounds": rounds,
        "tools": [
            {
                "tool": tool,
                "seconds": statistics.median(r["seconds"] for r in runs[tool]),
                "runs_s": [r["seconds"] for r in runs[tool]],
                "ratio_vs_bare": bare_s / statistics.median(r["seconds"] for r in runs[tool]),
                "max_rss_mib": max(r["max_rss_mib"] for r in runs[tool]),
            }
            for tool in TOOLS
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    options = parser.parse_args(argv)
    result = run(options.rows, options.rounds)
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps({"peers": result}, indent=2) + "\n")
    for row in result["tools"]:
        print(
            f"{row['tool']:>10}: {row['seconds']:.2f} s, {row['ratio_vs_bare']:.2f}x bare, "
            f"{row['max_rss_mib']:.0f} MiB"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
