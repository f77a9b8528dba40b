"""Lake-scale figures for one generated SZSE trading day: what ~6,900 small files do to
ingest time, the Silver layout and the manifest.

1. Bronze: ``pointline.testing.quant360.write_bronze_day`` (``--symbols`` SZSE codes, default
   2,300, x ``order_new``/``tick_new``/``L2_new``, the generator's small per-symbol days:
   50-500 orders and 20-200 snapshots each), cached under ``benchmarks/.data`` and
   hard-linked into a fresh lake.
2. ``bootstrap_dim_symbol`` (windows from 0 for every generated symbol), timed.
3. Ingest every Bronze file in one process, serially, as ``pointline ingest`` does
   (``BronzeFileMetadata.from_path`` + ``ingest_file`` per file, one ``Lake``): total
   time, files/s, per-file times (median, p95, first and last tenth) and the process's
   peak RSS.
4. The lake: Silver files per partition (``silver/<table>/exchange=szse/trading_date=...``)
   and in total, manifest entries, the manifest's files and bytes on disk
   (``_pointline/manifest`` with its checkpoints).
5. In fresh processes, median of ``--repeats`` (timed from after the imports; the whole
   process's wall time beside it): ``Lake(root).manifest().entries()``;
   ``read(lake, "cn_order_events", exchange="szse", symbols=[SYMBOL]).read_all()`` (if the
   default ``order="time"`` refuses the CN table, the refusal is recorded and
   ``order="symbol"`` is timed instead; if that fails too, the error is recorded); and,
   as the yardstick, the same symbol's rows
   through a ``pyarrow.dataset`` filter on ``exchange`` and ``symbol``.

Writes ``--out`` (default ``benchmarks/.data/cn_day.json``), which ``report.py`` folds into
``results.json`` and the README.

    .venv/bin/python benchmarks/cn_day.py [--symbols 2300] [--repeats 3] [--keep-lake]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / ".data" / "cn_day.json"
EXCHANGE = "szse"
SYMBOL = "000001"
TABLES = ("cn_order_events", "cn_tick_events", "cn_l2_snapshots")

# The child processes: each prints one JSON line.
_INGEST = """
import json, resource, sys, time
from pointline.bronze import BronzeFileMetadata, walk_bronze
from pointline.ingest import ingest_file
from pointline.lake import Lake
lake = Lake(sys.argv[1])
files = list(walk_bronze([lake.bronze_root]))
times, statuses, rows = [], {}, 0
started = time.perf_counter()
for path in files:
    t = time.perf_counter()
    meta = BronzeFileMetadata.from_path(path, bronze_root=lake.bronze_root, vendors=lake.vendors)
    result = ingest_file(meta, lake=lake)
    times.append(time.perf_counter() - t)
    statuses[result.status] = statuses.get(result.status, 0) + 1
    rows += result.rows_total
total = time.perf_counter() - started
print(json.dumps({"files": len(files), "seconds": total, "file_seconds": times,
                  "statuses": statuses, "rows": rows,
                  "max_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""

_OPEN_MANIFEST = """
import json, sys, time
from pointline.lake import Lake
started = time.perf_counter()
entries = Lake(sys.argv[1]).manifest().entries()
print(json.dumps({"seconds": time.perf_counter() - started, "entries": len(entries)}))
"""

_READ_SYMBOL = """
import json, sys, time
root, table, exchange, symbol, how = sys.argv[1:6]
import pyarrow as pa
from pointline.lake import Lake
from pointline.reader import read
refused = error = None
got = None
started = time.perf_counter()
if how == "read":
    try:
        got = read(Lake(root), table, exchange=exchange, symbols=[symbol]).read_all()
    except Exception as exc:  # the default order="time" may refuse the CN table
        refused = f"{type(exc).__name__}: {exc}"
        how = "read(order='symbol')"
        started = time.perf_counter()
        try:
            got = read(
                Lake(root), table, exchange=exchange, symbols=[symbol], order="symbol"
            ).read_all()
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
else:
    import pyarrow.dataset as ds
    dataset = ds.dataset(Lake(root).table_dir(table), format="parquet", partitioning="hive")
    got = dataset.to_table(
        filter=(ds.field("exchange") == exchange) & (ds.field("symbol") == symbol)
    )
print(json.dumps({"seconds": None if got is None else time.perf_counter() - started,
                  "rows": None if got is None else got.num_rows,
                  "how": how, "refused": refused, "error": error}))
"""


def _child(code: str, *args: str) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter; its JSON report plus the process's wall time."""
    from bench_support import child_report

    started = time.perf_counter()
    report = child_report(code, *args)
    wall = time.perf_counter() - started
    report["process_s"] = wall
    return report


def _fresh(code: str, repeats: int, *args: str) -> dict[str, Any]:
    """``repeats`` fresh-process runs of ``code``: the medians and every run."""
    runs = [_child(code, *args) for _ in range(repeats)]
    if any(r["seconds"] is None for r in runs):  # failed: the first failure, no times
        failed = next(r for r in runs if r["seconds"] is None)
        return {**failed, "runs_s": []}
    return {
        **{k: v for k, v in runs[0].items() if k not in ("seconds", "process_s")},
        "seconds": statistics.median(r["seconds"] for r in runs),
        "process_s": statistics.median(r["process_s"] for r in runs),
        "runs_s": [r["seconds"] for r in runs],
    }


def bronze_day(symbols: int, seed: int, data_dir: Path) -> tuple[Path, float, bool]:
    """The cached Bronze tree of a generated day (a folder holding ``bronze/`` and
    ``generated.json``), the seconds it took to generate and whether it was cached."""
    from bench_support import generator_tag

    from pointline.testing.quant360 import write_bronze_day

    root = data_dir / f"cn-day-{EXCHANGE}-{symbols}-s{seed}-{generator_tag('quant360')}"
    if root.is_dir():
        return root, float(json.loads((root / "generated.json").read_text())["seconds"]), True
    data_dir.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f"{root.name}.partial-", dir=data_dir))
    started = time.perf_counter()
    write_bronze_day(partial, exchange=EXCHANGE, symbols=symbols, seed=seed)
    generated = time.perf_counter() - started
    (partial / "generated.json").write_text(json.dumps({"seconds": generated}) + "\n")
    os.replace(partial, root)
    return root, generated, False


def _link_tree(source: Path, target: Path) -> None:
    """``target`` mirrors ``source``, files hard-linked (copied if links fail)."""
    for folder, _, names in os.walk(source):
        here = target / Path(folder).relative_to(source)
        here.mkdir(parents=True, exist_ok=True)
        for name in names:
            try:
                os.link(Path(folder) / name, here / name)
            except OSError:
                shutil.copyfile(Path(folder) / name, here / name)


def _tree(path: Path) -> tuple[int, int]:
    """Files and bytes under ``path``."""
    files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else []
    return len(files), sum(p.stat().st_size for p in files)


def _tenth(values: list[float], last: bool) -> float:
    n = max(len(values) // 10, 1)
    return statistics.median(values[-n:] if last else values[:n])


def run(
    *, symbols: int, seed: int, repeats: int, data_dir: Path, keep_lake: bool
) -> dict[str, Any]:
    from pointline.bootstrap import bootstrap_dim_symbol
    from pointline.lake import Lake

    bronze, generated_s, cached = bronze_day(symbols, seed, data_dir)
    bronze_files, bronze_bytes = _tree(bronze / "bronze")
    lake_root = Path(tempfile.mkdtemp(prefix="cn-day-lake-", dir=data_dir))
    try:
        _link_tree(bronze / "bronze", lake_root / "bronze")
        lake = Lake(lake_root)
        started = time.perf_counter()
        boot = bootstrap_dim_symbol(lake)
        bootstrap_s = time.perf_counter() - started
        print(f"bootstrap: {boot.added} symbols, {bootstrap_s:.1f} s", flush=True)

        ingest = _child(_INGEST, str(lake_root))
        times = ingest.pop("file_seconds")
        print(
            f"ingest: {ingest['files']} files in {ingest['seconds']:.1f} s "
            f"({ingest['files'] / ingest['seconds']:.1f} files/s)",
            flush=True,
        )

        partitions: dict[str, dict[str, int]] = {}
        silver_files, silver_bytes = _tree(lake.silver_root)
        for table in TABLES:
            table_dir = lake.table_dir(table)
            found = (
                sorted(table_dir.glob("exchange=*/trading_date=*")) if table_dir.is_dir() else []
            )
            partitions[table] = {
                p.relative_to(table_dir).as_posix(): sum(1 for _ in p.glob("*.parquet"))
                for p in found
            }
        validation_files, _ = _tree(lake.validation_dir)
        manifest_dir = lake.manifest().directory
        log_files, log_bytes = _tree(manifest_dir)
        checkpoint_files, checkpoint_bytes = _tree(manifest_dir / "_checkpoints")

        manifest = _fresh(_OPEN_MANIFEST, repeats, str(lake_root))
        where = (str(lake_root), TABLES[0], EXCHANGE, SYMBOL)
        reading = _fresh(_READ_SYMBOL, repeats, *where, "read")
        dataset = _fresh(_READ_SYMBOL, repeats, *where, "dataset")
        read_text = (
            f"{reading['how']} failed: {reading['error']}"
            if reading["seconds"] is None
            else f"{reading['how']} {reading['seconds'] * 1e3:.0f} ms"
        )
        print(
            f"open manifest {manifest['seconds'] * 1e3:.0f} ms; {SYMBOL} orders: {read_text}, "
            f"pyarrow.dataset filter {dataset['seconds'] * 1e3:.0f} ms",
            flush=True,
        )
        return {
            "exchange": EXCHANGE,
            "symbols": symbols,
            "seed": seed,
            "bronze_files": bronze_files,
            "bronze_bytes": bronze_bytes,
            "generate_s": generated_s,
            "generate_cached": cached,
            "bootstrap_s": bootstrap_s,
            "bootstrap_added": boot.added,
            "ingest": {
                **ingest,
                "files_per_s": ingest["files"] / ingest["seconds"],
                "max_rss_mib": ingest.pop("max_rss_kib") / 1024,
                "file_median_s": statistics.median(times),
                "file_p95_s": sorted(times)[int(len(times) * 0.95)] if times else None,
                "first_tenth_median_s": _tenth(times, last=False),
                "last_tenth_median_s": _tenth(times, last=True),
            },
            "silver_files": silver_files,
            "silver_bytes": silver_bytes,
            "validation_log_files": validation_files,
            "partitions": partitions,
            "manifest_entries": manifest["entries"],
            "manifest_files": log_files,
            "manifest_bytes": log_bytes,
            "checkpoint_files": checkpoint_files,
            "checkpoint_bytes": checkpoint_bytes,
            "open_manifest": manifest,
            "read_symbol": {"table": TABLES[0], "symbol": SYMBOL, **reading},
            "dataset_symbol": {"table": TABLES[0], "symbol": SYMBOL, **dataset},
            "repeats": repeats,
        }
    finally:
        if keep_lake:
            print(f"lake kept at {lake_root}")
        else:
            shutil.rmtree(lake_root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=2_300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=3, help="fresh-process runs (median)")
    parser.add_argument("--data-dir", type=Path, default=HERE / ".data")
    parser.add_argument("--keep-lake", action="store_true", help="leave the lake behind")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    options = parser.parse_args(argv)
    result = run(
        symbols=options.symbols,
        seed=options.seed,
        repeats=options.repeats,
        data_dir=options.data_dir,
        keep_lake=options.keep_lake,
    )
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps({"cn_day": result}, indent=2) + "\n")
    print(f"wrote {options.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
