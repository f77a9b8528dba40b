"""Peak RSS of a whole ingest process, against the bare reference, per file size.

For each size (default 1M, 10M and 30M rows) this generates an L2 ``.csv.gz`` (files up to
``--keep-rows`` rows are cached under ``benchmarks/.data``; larger ones are generated,
measured and deleted), then runs, each in a fresh process:

- ``pointline``: ``BronzeFileMetadata.from_path`` + ``ingest_file`` into a fresh lake;
- ``bare``: ``open_csv`` (explicit types, 1 MiB blocks) -> one zstd ``ParquetWriter``.

Each run is wrapped in a small measuring process that starts it with ``subprocess`` and
reads ``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`` afterwards (the maximum over
waited-for children, so one child per measuring process). The child also reports its
wall time and pyarrow's ``default_memory_pool().max_memory()``.

    .venv/bin/python benchmarks/rss.py [--rows 1000000 10000000 30000000] [--out FILE]
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
import pyarrow as pa
kind, root, source = sys.argv[1:4]
started = time.perf_counter()
if kind == "pointline":
    from pointline.bronze import BronzeFileMetadata
    from pointline.ingest import ingest_file
    from pointline.lake import Lake
    lake = Lake(root)
    meta = BronzeFileMetadata.from_path(source, bronze_root=lake.bronze_root)
    result = ingest_file(meta, lake=lake, force=True)
    assert result.status == "success", result
    rows = result.rows_total
else:
    sys.path.insert(0, sys.argv[4])
    from bench_support import bare_convert
    rows = bare_convert(source, root + "/bare.parquet")
print(json.dumps({"rows": rows, "seconds": time.perf_counter() - started,
                  "pool_peak": pa.default_memory_pool().max_memory()}))
"""


def measure(kind: str, root: Path, source: Path) -> dict[str, Any]:
    """Run one child in a fresh measuring process; its peak RSS and report."""
    done = subprocess.run(
        [sys.executable, __file__, "--measure", kind, str(root), str(source)],
        capture_output=True,
        text=True,
        check=True,
    )
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def _measure_child(kind: str, root: str, source: str) -> None:
    """In the measuring process: run the child, add its ru_maxrss (KiB on Linux)."""
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, kind, root, source, str(HERE)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(done.returncode)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    report["max_rss_kib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps(report))


def run(sizes: list[int], *, keep_rows: int, repeats: int) -> list[dict[str, Any]]:
    sys.path.insert(0, str(HERE))
    from bench_support import DATA_DIR, cached_l2, prepare_lake

    results = []
    for rows in sizes:
        scratch = Path(tempfile.mkdtemp(prefix=f"rss-{rows}-", dir=DATA_DIR))
        try:
            started = time.perf_counter()
            if rows <= keep_rows:
                source = cached_l2(rows)
            else:
                source = cached_l2(rows, data_dir=scratch / "source")
            generated_s = time.perf_counter() - started
            entry: dict[str, Any] = {
                "rows": rows,
                "file_bytes": source.stat().st_size,
                "generate_s": generated_s,
            }
            for kind in ("pointline", "bare"):
                runs = []
                for i in range(repeats):
                    root = scratch / f"{kind}-{i}"
                    if kind == "pointline":
                        lake, meta = prepare_lake(root, source)
                        path = lake.bronze_root / meta.bronze_path
                    else:
                        root.mkdir(parents=True)
                        path = source
                    report = measure(kind, root, path)
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
                f"{rows:>11,} rows: pointline {entry['pointline']['max_rss_mib']:7.1f} MiB "
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
        _measure_child(*args[1:4])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000, 30_000_000])
    parser.add_argument("--keep-rows", type=int, default=10_000_000, help="cache files up to this")
    parser.add_argument("--repeats", type=int, default=1, help="runs per size and kind (median)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    options = parser.parse_args(args)
    results = run(options.rows, keep_rows=options.keep_rows, repeats=options.repeats)
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps({"rss": results}, indent=2) + "\n")
    print(f"wrote {options.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
