"""Pointline against the tools a user would pick instead (issue 16), in one run.

For each input (``--inputs``, default all three: the Tardis ``incremental_book_L2`` and
``trades`` files and the Quant360 SZSE ``order_new`` stream), on the same generated
``.csv.gz`` of ``--rows`` rows (default 10M; ``bench_support.cached_input``), each tool in
a fresh process, rounds alternating the order, wall time from after the imports and the
process's peak RSS (``ru_maxrss``):

- ``bare``: ``bench_support.bare_convert`` (``open_csv`` with explicit types, float64
  prices -> one zstd ``ParquetWriter``), the yardstick of every ratio;
- ``pointline``: ``ingest_file`` into a fresh lake (exact decimals, rules, quarantine,
  trading dates, PIT join, lineage, manifest);
- ``polars``: ``scan_csv`` (decimals as text) -> ``str.to_decimal(scale=18)`` on the
  price and quantity columns, the event time converted (Tardis: µs epoch -> UTC date; CN:
  17-digit Shanghai wall time -> UTC timestamp and local date) -> ``sink_parquet``
  partitioned by ``exchange``/``date`` (zstd);
- ``duckdb``: ``COPY (SELECT ... CAST(... AS DECIMAL(38,18)) ... FROM read_csv(...)) TO
  ... (FORMAT parquet, PARTITION_BY (exchange, date))``, 2 threads, the same conversions.

The bare reference, Polars and DuckDB run with their own default allocator
(``bench_support.reference_env``). Ratios are ``bare_s / tool_s`` (above 1: faster than
bare). Polars and DuckDB are dev dependencies only. Writes ``--out`` (default
``benchmarks/.data/peers.json``) for ``report.py``.

    .venv/bin/python benchmarks/peers.py [--rows 10000000] [--rounds 2]
        [--inputs l2 trades cn_order]
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
INPUTS = {
    "l2": ("binance-futures", "incremental_book_L2"),
    "trades": ("binance-futures", "trades"),
    "cn_order": ("szse", "order_new"),
}
"""Input name -> (exchange, stream) as ``bench_support.cached_input`` takes them."""

_CHILD = """
import json, resource, sys, time
from pathlib import Path
tool, source, target, exchange, stream = sys.argv[1:6]
source, target = Path(source), Path(target)
cn = exchange in ("szse", "sse")
decimals = ["Price", "OrderQty"] if cn else ["price", "amount"]
texts = set(decimals) | {"TransactTime"}
if tool in ("polars", "duckdb"):  # both take the file's columns and types, in file order
    import gzip
    from bench_support import bare_types
    types = bare_types(exchange, stream)
    with gzip.open(source, "rt") as f:
        header = f.readline().strip().split(",")
    integer = {n: str(types[n]).startswith("int") and n not in texts for n in header}
if tool == "bare":
    from bench_support import bare_convert, bare_types
    types = bare_types(exchange, stream)
    run = lambda: bare_convert(source, target / "bare.parquet", column_types=types)
elif tool == "pointline":
    import pointline  # first, as the CLI does: it chooses Arrow's allocator
    from bench_support import prepare_lake
    from pointline.ingest import ingest_file
    lake, meta = prepare_lake(target / "lake", source, exchange=exchange, stream=stream)
    def run():
        result = ingest_file(meta, lake=lake)
        assert result.status == "success", result
elif tool == "polars":
    import polars as pl
    schema = {n: pl.Int64 if integer[n] else pl.String for n in header}
    if cn:
        local = pl.col("TransactTime").str.to_datetime(
            "%Y%m%d%H%M%S%3f", time_unit="us").dt.replace_time_zone("Asia/Shanghai")
        times = [local.dt.convert_time_zone("UTC").alias("ts_event"),
                 local.dt.date().alias("date"), pl.lit(exchange).alias("exchange")]
    else:
        times = [pl.from_epoch("timestamp", time_unit="us").dt.date().alias("date")]
    def run():
        frame = pl.scan_csv(source, schema_overrides=schema)
        frame = frame.with_columns(*(pl.col(c).str.to_decimal(scale=18) for c in decimals),
                                   *times)
        frame.sink_parquet(pl.PartitionBy(target / "polars", key=["exchange", "date"]),
                           compression="zstd", mkdir=True)
elif tool == "duckdb":
    import duckdb
    columns = ", ".join(f"'{n}': '{'BIGINT' if integer[n] else 'VARCHAR'}'" for n in header)
    casts = ", ".join(f"CAST({c} AS DECIMAL(38, 18)) AS {c}" for c in decimals)
    if cn:
        local = "strptime(TransactTime, '%Y%m%d%H%M%S%g')"
        select = (f"* EXCLUDE (Price, OrderQty, TransactTime), {casts}, "
                  f"timezone('Asia/Shanghai', {local}) AS ts_event, "
                  f"CAST({local} AS DATE) AS date, '{exchange}' AS exchange")
    else:
        select = (f"* EXCLUDE (price, amount), {casts}, "
                  "CAST(make_timestamp(timestamp) AS DATE) AS date")
    def run():
        con = duckdb.connect()
        con.execute("SET threads = 2")
        con.execute(
            f"COPY (SELECT {select} FROM read_csv('{source}', header = true, "
            f"columns = {{{columns}}})) TO '{target / 'duckdb'}' "
            "(FORMAT parquet, COMPRESSION zstd, PARTITION_BY (exchange, date))")
        con.close()
started = time.perf_counter()
run()
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds,
                  "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_once(tool: str, source: Path, scratch: Path, exchange: str, stream: str) -> dict[str, Any]:
    """One fresh process of ``tool`` on ``source``, its output under a fresh folder."""
    from bench_support import child_report

    target = Path(tempfile.mkdtemp(dir=scratch))
    try:
        args = (tool, str(source), str(target), exchange, stream)
        return child_report(_CHILD, *args, reference=tool != "pointline")
    finally:
        shutil.rmtree(target, ignore_errors=True)


def run(
    rows: int, rounds: int, name: str = "l2", data_dir: Path = HERE / ".data"
) -> dict[str, Any]:
    """Every tool ``rounds`` times on the ``rows``-row file of input ``name``; medians and
    ratios."""
    sys.path.insert(0, str(HERE))
    from bench_support import cached_input

    exchange, stream = INPUTS[name]
    data_dir.mkdir(parents=True, exist_ok=True)
    source = cached_input(rows, exchange=exchange, stream=stream, data_dir=data_dir)
    runs: dict[str, list[dict[str, Any]]] = {tool: [] for tool in TOOLS}
    with tempfile.TemporaryDirectory(dir=data_dir) as scratch:
        for r in range(rounds):
            for tool in TOOLS if r % 2 == 0 else TOOLS[::-1]:
                runs[tool].append(run_once(tool, source, Path(scratch), exchange, stream))
                last = runs[tool][-1]
                print(f"{name} round {r + 1} {tool}: {last['seconds']:.2f} s, "
                      f"{last['max_rss_mib']:.0f} MiB", file=sys.stderr)  # fmt: skip
    bare_s = statistics.median(r["seconds"] for r in runs["bare"])
    return {
        "input": name,
        "exchange": exchange,
        "stream": stream,
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
    import importlib.util

    missing = [m for m in ("polars", "duckdb") if importlib.util.find_spec(m) is None]
    if missing:
        print(f"peers.py needs {' and '.join(missing)}: pip install -e '.[dev]'", file=sys.stderr)
        return 1
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--inputs", nargs="+", choices=list(INPUTS), default=list(INPUTS))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    options = parser.parse_args(argv)
    results = [run(options.rows, options.rounds, name) for name in options.inputs]
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps({"peers": results}, indent=2) + "\n")
    print("x bare: bare's time over the tool's (above 1: faster than bare)")
    for result in results:
        for row in result["tools"]:
            print(
                f"{result['input']:>9} {row['tool']:>10}: {row['seconds']:.2f} s, "
                f"{row['ratio_vs_bare']:.2f}x bare, {row['max_rss_mib']:.0f} MiB"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
