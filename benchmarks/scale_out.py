"""Many files at once (issue 15): aggregate rows/s and peak RSS per worker for 1 and 2
local workers and for Ray on a local cluster, each as a ratio against the serial run
measured in the same session.

Input: ``--files`` (default 8) distinct generated Tardis ``incremental_book_L2`` files of
``--rows`` rows each (seeds 7, 8, ...; cached by ``bench_support.cached_input``), hard-
linked into a fresh lake per run under one Bronze partition folder, with a dim_symbol
covering their symbols. Each run is a fresh interpreter (``PYTHONPATH`` = this folder so
spawned and Ray workers import ``bench_support``) that ingests every file through
``pointline.parallel.Runner.map`` with ``bench_support.measured_ingest``, which returns
the worker's pid and its ``ru_maxrss``:

- ``serial``: ``Runner(workers=1)``, in the run's own process, one file after another;
- ``workers=2``: ``Runner(workers=2)``, a pool of 2 spawned processes;
- ``ray``: ``ray.init(num_cpus=2)`` (timed apart as ``cluster_start_s``), then
  ``Runner(ray=True)``: one task per file; the time includes Ray starting its workers.

``cores_busy`` is the CPU time of the run's process and its children over the wall time
(how much of the 2 cores the run used; not measured for Ray, whose workers are the
raylet's children).

Rounds alternate the order of the three; the figures are medians over ``--rounds``.
Writes ``--out`` (default ``benchmarks/.data/scale_out.json``) for ``report.py``.

    .venv/bin/python benchmarks/scale_out.py [--files 8] [--rows 2000000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / ".data" / "scale_out.json"
MODES: tuple[tuple[str, int], ...] = (("serial", 1), ("workers", 2), ("ray", 2))

_CHILD = """
import json, sys, time
from pathlib import Path
from bench_support import measured_ingest
from pointline.bronze import BronzeFileMetadata, walk_bronze
from pointline.parallel import LOCAL_OBJECT_STORE_BYTES, Runner
mode, root, workers = sys.argv[1], sys.argv[2], int(sys.argv[3])
bronze = Path(root) / "bronze"
metas = [BronzeFileMetadata.from_path(p, bronze_root=bronze) for p in walk_bronze([bronze])]
cluster_start_s = 0.0
if mode == "ray":
    import ray
    started = time.perf_counter()
    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False,
             object_store_memory=LOCAL_OBJECT_STORE_BYTES, logging_level="warning")
    cluster_start_s = time.perf_counter() - started
runner = Runner(workers=workers, ray=mode == "ray")
def lost(i, exc):
    raise RuntimeError(f"file {i} lost: {exc}")
import resource
def cpu_s():
    return sum(u.ru_utime + u.ru_stime for u in map(resource.getrusage, (
        resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)))
cpu_before = cpu_s()
started = time.perf_counter()
done = list(runner.map(measured_ingest, [root] * len(metas), metas, lost=lost))
seconds = time.perf_counter() - started
cpu = None if mode == "ray" else cpu_s() - cpu_before  # Ray's workers are not children
if mode == "ray":
    ray.shutdown()
print(json.dumps({"seconds": seconds, "cluster_start_s": cluster_start_s, "files": done,
                  "cpu_s": cpu}))
"""


def inputs(files: int, rows: int, data_dir: Path) -> list[Path]:
    """The ``files`` generated L2 files (distinct seeds: no two are duplicates)."""
    sys.path.insert(0, str(HERE))
    from bench_support import SEED, cached_input

    return [cached_input(rows, seed=SEED + i, data_dir=data_dir) for i in range(files)]


def fresh_lake(root: Path, sources: list[Path]) -> None:
    """A lake at ``root`` with ``sources`` under one Bronze partition folder and a
    dim_symbol covering the generated symbols from the epoch on."""
    from bench_support import prepare_lake

    for i, source in enumerate(sources):
        lake, meta = prepare_lake(root, source)  # the first file, and the dim_symbol
        if i:
            target = (lake.bronze_root / meta.bronze_path).with_name(f"part-{i:03d}.csv.gz")
            os.link(source, target)


def run_once(mode: str, workers: int, sources: list[Path], scratch: Path) -> dict[str, Any]:
    """One fresh interpreter ingesting ``sources`` into a fresh lake in ``mode``."""
    from bench_support import child_report

    root = scratch / f"{mode}-{time.monotonic_ns()}"
    fresh_lake(root, sources)
    try:
        report = child_report(_CHILD, mode, str(root), str(workers))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    statuses = {f["status"] for f in report["files"]}
    assert statuses == {"success"}, statuses
    peaks: dict[int, float] = {}
    for f in report["files"]:
        peaks[f["pid"]] = max(peaks.get(f["pid"], 0.0), f["max_rss_mib"])
    return {
        "seconds": report["seconds"],
        "cluster_start_s": report["cluster_start_s"],
        "rows": sum(f["rows"] for f in report["files"]),
        "worker_processes": len(peaks),
        "cores_busy": None if report["cpu_s"] is None else report["cpu_s"] / report["seconds"],
        "max_rss_mib_per_worker": max(peaks.values()),
    }


def run(files: int, rows: int, rounds: int, data_dir: Path = HERE / ".data") -> dict[str, Any]:
    """Every mode ``rounds`` times on ``files`` inputs of ``rows`` rows (cached in
    ``data_dir``, where the scratch lakes go too); the report ``report.py`` reads."""
    data_dir.mkdir(parents=True, exist_ok=True)
    sources = inputs(files, rows, data_dir)
    runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode, _ in MODES}
    with tempfile.TemporaryDirectory(dir=data_dir) as scratch:
        for r in range(rounds):
            order = MODES if r % 2 == 0 else MODES[::-1]
            for mode, workers in order:
                runs[mode].append(run_once(mode, workers, sources, Path(scratch)))
                last = runs[mode][-1]
                print(
                    f"round {r + 1} {mode}: {last['seconds']:.1f} s, "
                    f"{last['rows'] / last['seconds']:,.0f} rows/s, "
                    f"{last['max_rss_mib_per_worker']:.0f} MiB/worker",
                    file=sys.stderr,
                )
    serial_s = statistics.median(r["seconds"] for r in runs["serial"])
    out: list[dict[str, Any]] = []
    for mode, workers in MODES:
        seconds = statistics.median(r["seconds"] for r in runs[mode])
        total = runs[mode][0]["rows"]
        out.append(
            {
                "mode": mode,
                "workers": workers,
                "seconds": seconds,
                "runs_s": [r["seconds"] for r in runs[mode]],
                "rows": total,
                "rows_per_s": total / seconds,
                "vs_serial": serial_s / seconds,
                "max_rss_mib_per_worker": max(r["max_rss_mib_per_worker"] for r in runs[mode]),
                "worker_processes": runs[mode][0]["worker_processes"],
                "cores_busy": None
                if runs[mode][0]["cores_busy"] is None
                else statistics.median(r["cores_busy"] for r in runs[mode]),
                "cluster_start_s": statistics.median(r["cluster_start_s"] for r in runs[mode]),
            }
        )
    return {
        "files": files,
        "rows_per_file": rows,
        "rounds": rounds,
        "cpus": os.cpu_count(),
        "runs": out,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--rows", type=int, default=2_000_000, help="rows per file")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    options = parser.parse_args(argv)
    result = run(options.files, options.rows, options.rounds)
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps({"scale_out": result}, indent=2) + "\n")
    for row in result["runs"]:
        print(
            f"{row['mode']:>8} x{row['workers']}: {row['rows_per_s']:,.0f} rows/s "
            f"({row['vs_serial']:.2f}x serial), {row['max_rss_mib_per_worker']:.0f} MiB/worker"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
