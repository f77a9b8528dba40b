"""Recovery: finish what crashed writers left (:func:`repair`) and re-check every live
file against its Bronze file (:func:`verify`).

A crash at any point of the ingest protocol (:mod:`pointline.ingest`) leaves the lake
consistent for readers (staged files are hidden; published files are listed by a commit
or removed by the next writer of the same file). ``repair`` does that cleanup for every
file at once, without waiting for the next ingest of each.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pointline.bronze import BronzeFileMetadata, sha256_of
from pointline.chain import Chain
from pointline.errors import PointlineError
from pointline.ingest import (
    IngestionResult,
    bronze_steps,
    finish_publishes,
    ingest_file,
    owned_files,
)
from pointline.lake import Lake
from pointline.manifest import ManifestEntry
from pointline.refresh import disagreements

__all__ = ["damaged", "repair", "verify"]


def repair(
    lake: Lake | str | Path,
    *,
    on_file: Callable[[ManifestEntry], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[IngestionResult]:
    """Finish what crashed writers left, and re-derive what disappeared: every ``pending``
    file is cleaned up and ingested again from its Bronze file (``failed`` with
    ``bronze_changed`` if that file is gone or has new content); a live file whose owned
    Silver or validation-log files are missing, or that has files under ``silver/`` the
    manifest does not list, is re-ingested (forced, so its status stays readable; skipped
    when its Bronze file changed: ``verify`` keeps reporting it); interrupted publishes are
    rolled forward, and staging folders and locks of files nobody is writing are removed.
    ``on_file`` is called before each file it ingests again, ``progress`` as in
    :func:`~pointline.ingest.ingest_file`. Returns the result of every file it ingested
    again."""
    the_lake = Lake.at(lake)
    finish_publishes(the_lake)
    results = []
    for entry in the_lake.manifest().entries().values():
        if entry.status in {"success", "quarantined"} and damaged(the_lake, entry):
            try:
                meta = _meta_of(the_lake, entry)
            except PointlineError:
                continue
            if meta.sha256 == entry.file_hash:
                if on_file is not None:
                    on_file(entry)
                results.append(ingest_file(meta, lake=the_lake, force=True, progress=progress))
            continue
        if entry.status != "pending":
            continue
        if on_file is not None:
            on_file(entry)
        try:
            meta = _meta_of(the_lake, entry)
            same = meta.sha256 == entry.file_hash
        except PointlineError:
            same = False
        if same:
            results.append(ingest_file(meta, lake=the_lake, progress=progress))
            continue
        with the_lake.file_lock(entry.file_id) as held:
            if held:
                _fail_changed(the_lake, entry)
    locks = the_lake.locks_dir
    for stale in sorted(locks.glob("*.lock")) if locks.is_dir() else []:
        with the_lake.file_lock(stale.stem):
            pass  # taking it breaks a dead writer's lock; a live writer's is kept
    finish_publishes(the_lake)
    return results


def damaged(lake: Lake, entry: ManifestEntry) -> bool:
    """Whether a live file's owned files are missing or unreadable (no Parquet footer), or
    other files of it are visible."""
    owned = set(owned_files(entry))
    if any(not (lake.root / f).is_file() for f in owned):
        return True
    if any(_unreadable(lake, f) is not None for f in owned):
        return True
    return bool(set(lake.visible_files(entry.file_id)) - owned)


def _unreadable(lake: Lake, relative: str) -> str | None:
    """Why the Parquet footer of ``relative`` cannot be read, ``None`` when it can."""
    try:
        pq.read_metadata(lake.root / relative)
    except (OSError, pa.ArrowException) as exc:
        return str(exc).splitlines()[0]
    return None


def _meta_of(lake: Lake, entry: ManifestEntry) -> BronzeFileMetadata:
    """The metadata of an entry's Bronze file as it is on disk now."""
    return BronzeFileMetadata.from_path(
        lake.bronze_root / entry.bronze_path,
        bronze_root=lake.bronze_root,
        vendor=entry.vendor,
        data_type=entry.data_type,
        vendors=lake.vendors,
    )


def _fail_changed(lake: Lake, entry: ManifestEntry) -> None:
    """Record a ``pending`` file whose Bronze file is gone or new as ``failed``."""
    for _, _, staged in lake.staged(entry.file_id):
        shutil.rmtree(staged, ignore_errors=True)
    failed = entry.replace(
        status="failed",
        status_reason="bronze_changed",
        error_message=f"{entry.bronze_path}: the Bronze file is gone or has new "
        "content; ingest the new file",
        silver_files=(),
        quarantine_files=(),
        processed_at_ts_us=time.time_ns() // 1000,
    )
    lake.manifest().commit([failed])
    lake.delete(owned_files(entry))


def verify(
    lake: Lake | str | Path,
    *,
    sample: int = 200,
    on_file: Callable[[ManifestEntry], None] | None = None,
) -> list[str]:
    """Check every live file against its Bronze file; returns the problems found, each
    naming the Bronze file.

    A ``pending`` file no live writer holds (an interrupted ingest) is a problem. For
    each ``success``/``quarantined`` file: the files it owns exist and no other file
    of its file_id is visible; its Silver and validation-log ``file_seq`` values are
    disjoint and together ``1..rows_total``; the counts match the manifest; the Bronze
    file still has the recorded SHA-256 and row count; up to ``sample`` rows, compared
    by ``file_seq``, hold the values the chain computes from Bronze again; and its rows
    agree with the current dim_symbol (:func:`pointline.refresh.disagreements`: a
    disagreeing file is fixed by ``pointline refresh``).
    """
    the_lake = Lake.at(lake)
    problems: list[str] = []
    for entry in the_lake.manifest().entries().values():
        writing = the_lake.file_lock(entry.file_id).held_by_live_writer
        if entry.status == "pending" and not writing():
            problems.append(
                f"{entry.bronze_path}: left pending by an ingest that was interrupted "
                f"(no live writer holds it; nothing of it is visible): `pointline repair` "
                f"or a new ingest finishes it"
            )
        if entry.status in {"success", "quarantined"}:
            if on_file is not None:
                on_file(entry)
            problems.extend(
                f"{entry.bronze_path}: {p}" for p in _verify_one(the_lake, entry, sample)
            )
    problems.extend(str(found) for found in disagreements(the_lake).stale)
    return problems


def _verify_one(lake: Lake, entry: ManifestEntry, sample: int) -> list[str]:
    problems: list[str] = []
    owned = set(owned_files(entry))
    missing = sorted(f for f in owned if not (lake.root / f).is_file())
    if missing:
        return [f"owned files are missing: {missing}"]
    stray = sorted(set(lake.visible_files(entry.file_id)) - owned)
    if stray:
        problems.append(f"files not in the manifest are visible: {stray}")
    broken = {f: why for f in sorted(owned) if (why := _unreadable(lake, f)) is not None}
    if broken:
        return [
            *problems,
            *(f"owned file {f} is not readable Parquet: {why}" for f, why in broken.items()),
        ]
    total = entry.rows_total or 0
    coverage = _Coverage(total)
    silver_rows = sum(pq.ParquetFile(lake.root / f).metadata.num_rows for f in entry.silver_files)
    step = max(1, silver_rows // max(sample, 1))
    picked: list[pa.Table] = []
    taken = 0
    position = 0  # of the batch's first row, over the owned files in manifest order
    for batch in _batches(lake, entry.silver_files):
        coverage.add(batch.column("file_seq"))
        first = -position % step  # the batch's first row at a multiple of step
        rows = list(range(first, batch.num_rows, step))[: sample - taken]
        if rows:
            picked.append(pa.Table.from_batches([batch.take(rows)]))
            taken += len(rows)
        position += batch.num_rows
    quarantined_rows = 0
    for batch in _batches(lake, entry.quarantine_files, columns=["file_seq"]):
        coverage.add(batch.column("file_seq"))
        quarantined_rows += batch.num_rows
    if not coverage.exact():
        problems.append(f"file_seq values are not exactly 1..{total} once each")
    if (silver_rows, quarantined_rows) != (entry.rows_written, entry.rows_quarantined):
        problems.append(
            f"rows on disk {silver_rows} + {quarantined_rows} differ from the "
            f"manifest's {entry.rows_written} + {entry.rows_quarantined}"
        )
    path = lake.bronze_root / entry.bronze_path
    if not path.is_file():
        return [*problems, "the Bronze file is gone (its Silver rows stay live)"]
    if sha256_of(path) != entry.file_hash:
        return [
            *problems,
            "the Bronze file has new content: `pointline ingest` it to replace its rows",
        ]
    # Parse and normalize the Bronze file again, a batch at a time, keeping only the
    # sampled rows: memory is a batch and the sample, not the file.
    sampled = pa.concat_tables(picked).sort_by("file_seq") if picked else None
    wanted = None if sampled is None else sampled["file_seq"].combine_chunks()
    recomputed_rows = 0
    again: list[pa.Table] = []
    for batch in Chain(bronze_steps(_meta_of(lake, entry), lake=lake)[1]).run():
        recomputed_rows += batch.num_rows
        if wanted is not None:
            kept = batch.filter(pc.is_in(batch.column("file_seq"), value_set=wanted))
            if kept.num_rows:
                again.append(pa.Table.from_batches([kept]))
    if recomputed_rows != total:
        problems.append(f"Bronze has {recomputed_rows} rows, the manifest says {total}")
    if sampled is not None:
        recomputed = pa.concat_tables(again).sort_by("file_seq") if again else None
        if recomputed is None or recomputed.num_rows != sampled.num_rows:
            problems.append("sampled Silver rows are not rows of the Bronze file")
        else:
            problems.extend(
                f"column {name!r} differs from Bronze in sampled rows"
                for name in sampled.column_names
                if name in recomputed.column_names
                and not recomputed[name].cast(sampled.schema.field(name).type).equals(sampled[name])
            )
    return problems


class _Coverage:
    """Whether the ``file_seq`` values added are exactly 1..total, once each: one byte per
    Bronze row, never the rows. All of 1..total seen and exactly ``total`` values added
    leaves no room for a repeat."""

    def __init__(self, total: int) -> None:
        self._seen = np.zeros(total + 1, dtype=np.bool_)
        self._added = 0
        self._bad = False

    def add(self, seqs: pa.Array[Any] | pa.ChunkedArray[Any]) -> None:
        filled = seqs.fill_null(pa.scalar(0, pa.int64()))  # a null is out of range, like 0
        values = np.asarray(filled.to_numpy(), dtype=np.int64)
        self._added += len(values)
        if len(values) and (values.min() < 1 or values.max() >= len(self._seen)):
            self._bad = True
        elif len(values):
            self._seen[values] = True

    def exact(self) -> bool:
        return not self._bad and self._added == len(self._seen) - 1 and bool(self._seen[1:].all())


def _batches(
    lake: Lake, files: Sequence[str], columns: list[str] | None = None
) -> Iterator[pa.RecordBatch]:
    """The rows of owned Parquet files, in order, a batch at a time."""
    for relative in files:
        yield from pq.ParquetFile(lake.root / relative).iter_batches(columns=columns)
