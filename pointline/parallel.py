"""Many Bronze files at once: a process pool over files (issue 15).

Each file is ingested by :func:`pointline.ingest.ingest_file` in its own process; the
lake is the only coordination (per-file leased locks, put-if-absent manifest commits),
so workers share nothing and the result is the same bytes whatever the number of
workers or the order files finish in. Processes are spawned (no fork of a parent that
may hold threads and open files) and open the lake by its root with the default
registries (built-in and plug-in vendors, the exchange registry plus the lake's stored
registrations).
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from pointline.bronze import BronzeFileMetadata
from pointline.exchanges import DEFAULT_EXCHANGES
from pointline.ingest import IngestionResult, ingest_file
from pointline.lake import Lake
from pointline.vendors.registry import DEFAULT_VENDORS

__all__ = ["default_workers", "ingest_many", "pool_map", "shareable"]

T = TypeVar("T")
R = TypeVar("R")


def default_workers() -> int:
    """Worker processes when not given: one per core this process may use, at most one
    per GiB of memory (an ingest peaks near 250 MiB; one file's own threads, the CSV
    reader and the Parquet encoder, already overlap within about one core)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1 << 30)
    except (ValueError, OSError, AttributeError):
        memory_gib = cores or 1
    return max(1, min(cores or 1, memory_gib))


def shareable(lake: Lake) -> bool:
    """Whether worker processes can open ``lake`` by its root: its registries are the
    defaults (a registry built in Python does not cross processes)."""
    return lake.vendors is DEFAULT_VENDORS and lake.exchanges is DEFAULT_EXCHANGES


def pool_map(fn: Callable[..., R], *columns: Sequence[Any], workers: int) -> Iterator[R]:
    """``fn(*row)`` for each row of ``columns``, in order: in this process for one
    worker, else in a spawned process pool of ``workers``."""
    if workers <= 1:
        return map(fn, *columns)
    pool: Executor = ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"))

    def results() -> Iterator[R]:
        with pool:
            yield from pool.map(fn, *columns)

    return results()


def _ingest(root: str, meta: BronzeFileMetadata, options: dict[str, Any]) -> IngestionResult:
    return ingest_file(meta, lake=Lake(Path(root)), **options)


def ingest_many(
    metas: Iterable[BronzeFileMetadata],
    *,
    lake: Lake | str | Path,
    workers: int | None = None,
    force: bool = False,
    dry_run: bool = False,
    allow_duplicates: bool = False,
) -> list[IngestionResult]:
    """Ingest ``metas`` with ``workers`` processes (default :func:`default_workers`; a
    lake with registries built in Python runs in this process); results in the order
    of ``metas``."""
    the_lake = Lake.at(lake)
    files = list(metas)
    wanted = default_workers() if workers is None else workers
    count = min(wanted, len(files)) if shareable(the_lake) else 1
    options: dict[str, Any] = {
        "force": force,
        "dry_run": dry_run,
        "allow_duplicates": allow_duplicates,
    }
    if count <= 1:
        return [ingest_file(meta, lake=the_lake, **options) for meta in files]
    n = len(files)
    return list(pool_map(_ingest, [str(the_lake.root)] * n, files, [options] * n, workers=count))
