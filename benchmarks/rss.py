"""Peak RSS of a whole ingest process, against the bare reference, per file size.

For each size (``--rows``, default 1M, 10M and 30M rows) this generates a Tardis L2
``.csv.gz``, and for each of ``--input-rows`` (default 1M, 10M and 30M) a file of each
``--input`` (``exchange/stream``; default Tardis ``binance-futures/trades`` and CN
``szse/order_new``) (files up to
``--keep-rows`` rows are cached under ``benchmarks/.data``; larger ones are generated,
measured and deleted), then runs, each in a fresh process:

- ``pointline``: ``BronzeFileMetadata.from_path`` + ``ingest_file`` into a fresh lake;
- ``bare``: ``open_csv`` (explicit types, ``bench_support.bare_types``, 1 MiB blocks) ->
  one zstd ``ParquetWriter``.

Each run is wrapped in a small measuring process that starts it with ``subprocess`` and
reads ``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`` afterwards (the maximum over
waited-for children, so one child per measuring process). The child also reports its
wall time and pyarrow's ``default_memory_pool().max_memory()``.

    .venv/bin/python benchmarks/rss.py [--rows 1000000 10000000 30000000]
        [--input-rows 1000000 10000000 30000000]
        [--input binance-futures/trades szse/order_new ...] [--out FILE]

The JSON holds ``rss`` (the L2 sizes) and ``inputs_rss`` (one entry per other input and
size).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / ".data" / "rss.json"

_CHILD = """
import json, sys, time
kind, root, source, here, exchange, stream = sys.argv[1:7]
started = time.perf_counter()
if kind == "pointline":
    import pointline  # first, as the CLI does: it chooses Arrow's allocator
    from pointline.bronze import BronzeFileMetadata
    from pointline.ingest import ingest_file
    from pointline.lake import Lake
    lake = Lake(root)
    meta = BronzeFileMetadata.from_path(source, bronze_root=lake.bronze_root)
    result = ingest_file(meta, lake=lake, force=True)
    assert result.status == "success", result
    rows = result.rows_total
else:
    sys.path.insert(0, here)
    from bench_support import bare_convert, bare_types
    rows = bare_convert(source, root + "/bare.parquet", column_types=bare_types(exchange, stream))
import pyarrow as pa
print(json.dumps({"rows": rows, "seconds": time.perf_counter() - started,
                  "pool_peak": pa.default_memory_pool().max_memory()}))
"""


def measure(kind: str, root: Path, source: Path, exchange: str, stream: str) -> dict[str, Any]:
    """Run one child in a fresh measuring process; its peak RSS and report."""
    done = subprocess.run(
        [sys.executable, __file__, "--measure", kind, str(root), str(source), exchange, stream],
        capture_output=True,
        text=True,
        check=True,
    )
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def _measure_child(kind: str, root: str, source: str, exchange: str, stream: str) -> None:
    """In the measuring process: run the child, add its ru_maxrss (KiB on Linux). The
    bare reference runs with pyarrow's default allocator (``bench_support.reference_env``),
    Pointline with the one ``import pointline`` chooses."""
    sys.path.insert(0, str(HERE))
    from bench_support import reference_env

    done = subprocess.run(
        [sys.executable, "-c", _CHILD, kind, root, source, str(HERE), exchange, stream],
        capture_output=True,
        text=True,
        check=False,
        env=reference_env() if kind == "bare" else None,
    )
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(done.returncode)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    report["max_rss_kib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps(report))


def run(
    sizes: list[int],
    *,
    keep_rows: int,
    repeats: int,
    exchange: str | None = None,
    stream: str | None = None,
) -> list[dict[str, Any]]:
    """Measure one input (default: the Tardis L2 file) at each size."""
    sys.path.insert(0, str(HERE))
    from bench_support import DATA_DIR, DATA_TYPE, EXCHANGE, cached_input, prepare_lake

    exchange, stream = exchange or EXCHANGE, stream or DATA_TYPE
    results = []
    for rows in sizes:
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f"rss-{rows}-", dir=DATA_DIR))
        try:
            started = time.perf_counter()
            data_dir = DATA_DIR if rows <= keep_rows else scratch / "source"
            source = cached_input(rows, exchange=exchange, stream=stream, data_dir=data_dir)
            generated_s = time.perf_counter() - started
            entry: dict[str, Any] = {
                "exchange": exchange,
                "stream": stream,
                "rows": rows,
                "file_bytes": source.stat().st_size,
                "generate_s": generated_s,
            }
            for kind in ("pointline", "bare"):
                runs = []
                for i in range(repeats):
                    root = scratch / f"{kind}-{i}"
                    if kind == "pointline":
                        lake, meta = prepare_lake(root, source, exchange=exchange, stream=stream)
                        path = lake.bronze_root / meta.bronze_path
                    else:
                        root.mkdir(parents=True)
                        path = source
                    report = measure(kind, root, path, exchange, stream)
                    assert report["rows"] == rows, report
                    runs.append(report)
                    shutil.rmtree(root, ignore_errors=True)
                rss = sorted(r["max_rss_kib"] for r in runs)[len(runs) // 2]
                entry[kind] = {
                    "max_rss_mib": rss / 1024,
                    "seconds": sorted(r["seconds"] for r in runs)[len(runs) // 2],
                    "pool_peak_mib": max(r["pool_peak"] for r in runs) / 2**20,
                    "runs": runs,
                }
            results.append(entry)
            print(
                f"{exchange} {stream} {rows:>11,} rows: pointline "
                f"{entry['pointline']['max_rss_mib']:7.1f} MiB "
                f"({entry['pointline']['seconds']:.1f} s), bare "
                f"{entry['bare']['max_rss_mib']:7.1f} MiB ({entry['bare']['seconds']:.1f} s)",
                flush=True,
            )
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return results


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--measure"]:
        _measure_child(*args[1:6])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="*", default=[1_000_000, 10_000_000, 30_000_000])
    parser.add_argument(
        "--input-rows", type=int, nargs="*", default=[1_000_000, 10_000_000, 30_000_000]
    )
    parser.add_argument(
        "--input",
        nargs="*",
        default=["binance-futures/trades", "szse/order_new"],
        help="exchange/stream of a Tardis or CN input",
    )
    parser.add_argument("--keep-rows", type=int, default=10_000_000, help="cache files up to this")
    parser.add_argument("--repeats", type=int, default=1, help="runs per size and kind (median)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    options = parser.parse_args(args)
    results = run(options.rows, keep_rows=options.keep_rows, repeats=options.repeats)
    other_results = []
    for spec in options.input:
        exchange, _, stream = spec.partition("/")
        other_results += run(
            options.input_rows,
            keep_rows=options.keep_rows,
            repeats=options.repeats,
            exchange=exchange,
            stream=stream,
        )
    options.out.parent.mkdir(parents=True, exist_ok=True)
    report = {"rss": results, "inputs_rss": other_results}
    options.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {options.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
