"""Ingest one Bronze file: the default chain, the sinks and the manifest protocol.

This is the assembly module: it builds the chain from the operators package, so it is one
of the few pointline modules allowed to import ``operators`` (tests/test_layering.py).

The protocol for one file, every step keyed by its deterministic ``file_id``:

1. skip a ``success`` identity unless ``force``; ``dry_run`` runs the chain into counting
   sinks and writes nothing;
2. commit ``pending``;
3. stream parse -> normalize -> tz_partition -> pit_join -> quarantine_split -> sequence
   into staged Silver and validation-log files (under ``_staging``, invisible to readers);
4. check the accounting: rows_total == rows_written + rows_quarantined;
5. publish the staged files (atomic renames) and commit the end state with the files the
   file_id owns, marking older contents of the same path ``superseded`` in the same
   commit; then delete the files the new state no longer owns.

A file-level error at any step commits ``failed`` with the reason and the error text and
leaves no Silver rows of that file behind.
"""

from __future__ import annotations

import functools
import os
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

import pointline
from operators.columns import is_raw
from operators.normalize import normalize_tardis
from operators.parse import parse_schema, parse_tardis
from operators.pit_join import pit_join
from operators.quarantine_sink import QuarantineSink
from operators.sequence import sequence
from operators.silver_sink import RowStats, SilverSink, SinkSummary
from operators.tz_partition import tz_partition
from pointline import dim_symbol
from pointline.bronze import BronzeFileMetadata, sha256_of
from pointline.chain import FLAG_COLUMN, Chain, Operator, Source, Split
from pointline.errors import PointlineError
from pointline.faults import fault
from pointline.lake import Lake
from pointline.manifest import ManifestEntry, file_id_for
from pointline.schemas import FileStatus, get_table_spec
from pointline.vendors.tardis import HEADERS, TABLE_OF

__all__ = [
    "FAULT_POINTS",
    "IngestionResult",
    "bootstrap_dim_symbol",
    "build_chain",
    "ingest_file",
    "repair",
    "update_manifest_status",
    "verify",
]


@dataclass(frozen=True, kw_only=True)
class IngestionResult:
    """What happened to one file."""

    status: FileStatus
    file_id: int
    bronze_path: str
    table_name: str
    skipped: bool = False
    rows_total: int = 0
    rows_written: int = 0
    rows_quarantined: int = 0
    status_reason: str | None = None
    error_message: str | None = None
    trading_date_min: date | None = None
    trading_date_max: date | None = None
    duration_s: float = 0.0
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        for key in ("trading_date_min", "trading_date_max"):
            value = out[key]
            out[key] = None if value is None else value.isoformat()
        return out


def _now_us() -> int:
    return time.time_ns() // 1000


def build_chain(
    meta: BronzeFileMetadata,
    *,
    lake: Lake,
    file_id: int,
    dim_symbol: pa.Table,
    quarantine: Callable[[pa.RecordBatch], None],
    source: Source | None = None,
    extra_steps: Sequence[Operator] = (),
) -> Chain:
    """The default ingest chain for one Bronze file, validated.

    ``extra_steps`` are inserted after normalize (before the time-zone partition), the
    place a custom row rule belongs: they may flag rows, and flagged rows go to the
    quarantine like any other.
    """
    if meta.vendor != "tardis":
        msg = f"vendor {meta.vendor!r} is not supported yet (supported: tardis)"
        raise PointlineError(msg, file=meta.bronze_path)
    drops = [name for name in parse_schema(meta.data_type).names if is_raw(name)]
    steps: list[Operator] = [
        source
        or parse_tardis(
            meta.absolute(lake.bronze_root), meta.data_type, display_path=meta.bronze_path
        ),
        normalize_tardis(meta.data_type),
        *extra_steps,
        tz_partition(exchanges=lake.exchanges),
        pit_join(dim_symbol),
        Split(name="quarantine_split", side=quarantine),
        sequence(file_id, drops=drops),
    ]
    return Chain(steps)


def _counting(source: Source, counter: list[int]) -> Source:
    def opened() -> Any:
        for batch in source.open():
            counter[0] += batch.num_rows
            yield batch

    return Source(name=source.name, schema=source.schema, open=opened)


def _reason(exc: BaseException) -> str:
    """The ``status_reason`` of a failed file: the most specific Pointline error's code."""
    cause: BaseException | None = exc
    reason = "ingest_error"
    while cause is not None:
        if isinstance(cause, PointlineError) and cause.reason != PointlineError.reason:
            reason = cause.reason
        cause = cause.__cause__
    return reason


class _CountingSink:
    """The sink of a dry run: counts rows and ranges, writes nothing."""

    def __init__(self, *, event_rows: bool) -> None:
        self._stats = RowStats()
        self._event_rows = event_rows

    @property
    def rows(self) -> int:
        return self._stats.rows

    def write(self, batch: pa.RecordBatch) -> None:
        if self._event_rows:
            self._stats.note(batch)
        else:
            self._stats.rows += batch.num_rows

    def close(self) -> SinkSummary:
        return self._stats.summary()

    def abort(self) -> None:
        """Nothing to stop."""


def update_manifest_status(
    meta: BronzeFileMetadata,
    file_id: int,
    status: FileStatus,
    result: IngestionResult | None = None,
    *,
    lake: Lake | str | Path,
) -> None:
    """Record ``status`` for ``file_id`` in the lake's manifest (one commit)."""
    the_lake = Lake.at(lake)
    manifest = the_lake.manifest()
    previous = manifest.get(file_id)
    entry = _entry(meta, file_id, status, previous=previous)
    if result is not None:
        entry = entry.replace(
            status_reason=result.status_reason,
            error_message=result.error_message,
            rows_total=result.rows_total,
            rows_written=result.rows_written,
            rows_quarantined=result.rows_quarantined,
            trading_date_min=result.trading_date_min,
            trading_date_max=result.trading_date_max,
        )
    manifest.commit([entry])


def _entry(
    meta: BronzeFileMetadata,
    file_id: int,
    status: FileStatus,
    *,
    previous: ManifestEntry | None,
) -> ManifestEntry:
    now = _now_us()
    return ManifestEntry(
        file_id=file_id,
        vendor=meta.vendor,
        data_type=meta.data_type,
        bronze_path=meta.bronze_path,
        file_hash=meta.sha256,
        table_name=TABLE_OF.get(meta.data_type, "unknown"),
        status=status,
        status_reason=None,
        error_message=None,
        rows_total=None,
        rows_written=None,
        rows_quarantined=None,
        trading_date_min=None,
        trading_date_max=None,
        ts_event_min_us=None,
        ts_event_max_us=None,
        file_size_bytes=meta.file_size_bytes,
        last_modified_ts_us=meta.last_modified_ts_us,
        created_at_ts_us=previous.created_at_ts_us if previous else now,
        processed_at_ts_us=now,
        duration_us=None,
        pointline_version=pointline.__version__,
        silver_files=previous.silver_files if previous else (),
        quarantine_files=previous.quarantine_files if previous else (),
    )


def ingest_file(
    meta: BronzeFileMetadata,
    *,
    lake: Lake | str | Path,
    force: bool = False,
    dry_run: bool = False,
    extra_steps: Sequence[Operator] = (),
    block_size: int = 1 << 20,
) -> IngestionResult:
    """Ingest one Bronze file into the lake; see the module docstring for the protocol.

    ``lake`` is a :class:`Lake` or its root folder. ``extra_steps`` are custom operators
    run after normalize; ``block_size`` is the CSV read block (it never changes the
    output, only memory and speed).

    Writers take a per-file lock: while another live process ingests the same file this
    call returns at once (``status='pending'``, ``skipped=True``, ``status_reason=
    'in_progress'``). A file left ``pending`` by a crashed writer is cleaned up (its
    unpublished staging and any published-but-uncommitted files) and ingested again.
    """
    the_lake = Lake.at(lake)
    file_id = file_id_for(*meta.identity)
    run = functools.partial(
        _ingest,
        meta,
        the_lake,
        file_id,
        force=force,
        dry_run=dry_run,
        extra_steps=extra_steps,
        block_size=block_size,
    )
    if dry_run:
        return run()
    lock = the_lake.file_lock(file_id)
    if not lock.acquire():
        return IngestionResult(
            status="pending",
            file_id=file_id,
            bronze_path=meta.bronze_path,
            table_name=TABLE_OF.get(meta.data_type, "unknown"),
            skipped=True,
            status_reason="in_progress",
        )
    try:
        return run()
    finally:
        lock.release()


def _ingest(
    meta: BronzeFileMetadata,
    the_lake: Lake,
    file_id: int,
    *,
    force: bool,
    dry_run: bool,
    extra_steps: Sequence[Operator],
    block_size: int,
) -> IngestionResult:
    started = time.perf_counter()
    table_name = TABLE_OF.get(meta.data_type, "unknown")
    manifest = the_lake.manifest()
    previous = manifest.get(file_id)
    base = IngestionResult(
        status="pending", file_id=file_id, bronze_path=meta.bronze_path, table_name=table_name
    )
    if previous is not None and previous.status == "success" and not force:
        return replace(
            base,
            status="success",
            skipped=True,
            rows_total=previous.rows_total or 0,
            rows_written=previous.rows_written or 0,
            rows_quarantined=previous.rows_quarantined or 0,
            trading_date_min=previous.trading_date_min,
            trading_date_max=previous.trading_date_max,
        )
    if previous is not None and previous.status == "pending" and not dry_run:
        _clean_crashed(the_lake, file_id, previous)
    if not dry_run:
        manifest.commit([_entry(meta, file_id, "pending", previous=previous)])
        fault("after_pending")
    token = uuid.uuid4().hex[:12]
    silver_staging = the_lake.staging_dir(table_name) / f"{file_id}-{token}"
    quarantine_staging = the_lake.validation_dir / "_staging" / f"{file_id}-{token}"
    open_sinks: list[SilverSink | QuarantineSink | _CountingSink] = []
    try:
        if meta.data_type not in HEADERS:
            msg = f"data type {meta.data_type!r} is not supported; supported: {sorted(HEADERS)}"
            raise PointlineError(msg, file=meta.bronze_path)
        meta.check_unchanged(the_lake.bronze_root)
        spec = get_table_spec(table_name)
        dim = the_lake.dim_symbol_store().load()[1]
        counter = [0]
        silver: SilverSink | _CountingSink
        quarantine: QuarantineSink | _CountingSink
        if dry_run:
            silver = _CountingSink(event_rows=True)
            quarantine = _CountingSink(event_rows=False)
        else:
            silver = SilverSink(spec, silver_staging, file_id)
            quarantine = QuarantineSink(
                quarantine_staging,
                file_id=file_id,
                table_name=table_name,
                headers=HEADERS[meta.data_type],
            )
        open_sinks.extend((silver, quarantine))
        parse = parse_tardis(
            meta.absolute(the_lake.bronze_root),
            meta.data_type,
            display_path=meta.bronze_path,
            block_size=block_size,
        )
        chain = build_chain(
            meta,
            lake=the_lake,
            file_id=file_id,
            dim_symbol=dim,
            quarantine=quarantine.write,
            source=_counting(parse, counter),
            extra_steps=extra_steps,
        )
        for number, batch in enumerate(chain.run()):
            silver.write(batch)
            if number == 0:
                fault("mid_stream")
        rows_total = counter[0]
        # What was read is what was hashed: a rewrite during the run (or one that kept the
        # size and put the mtime back) fails the file. Costs one more read of the file.
        meta.check_unchanged(the_lake.bronze_root, by_hash=True)
        written, quarantined = silver.close(), quarantine.close()
        fault("after_sinks")
        if written.rows + quarantined.rows != rows_total:
            msg = (
                f"accounting broken: {rows_total} rows read, {written.rows} written, "
                f"{quarantined.rows} quarantined"
            )
            raise PointlineError(msg, file=meta.bronze_path)
    except Exception as exc:
        if isinstance(exc, PointlineError):
            exc.with_context(file=meta.bronze_path)  # every message names the Bronze file
        for sink in open_sinks:
            sink.abort()
        shutil.rmtree(silver_staging, ignore_errors=True)
        shutil.rmtree(quarantine_staging, ignore_errors=True)
        failed = replace(
            base,
            status="failed",
            status_reason=_reason(exc),
            error_message=str(exc),
            duration_s=time.perf_counter() - started,
            dry_run=dry_run,
        )
        if not dry_run:
            entry = _entry(meta, file_id, "failed", previous=previous).replace(
                status_reason=failed.status_reason,
                error_message=failed.error_message,
                silver_files=(),
                quarantine_files=(),
                duration_us=int(failed.duration_s * 1e6),
            )
            manifest.commit([entry])
            fault("after_failed_commit")
            _delete(the_lake, _owned(previous))
        return failed
    status: FileStatus = "quarantined" if rows_total > 0 and written.rows == 0 else "success"
    result = replace(
        base,
        status=status,
        rows_total=rows_total,
        rows_written=written.rows,
        rows_quarantined=quarantined.rows,
        trading_date_min=written.trading_date_min,
        trading_date_max=written.trading_date_max,
        duration_s=time.perf_counter() - started,
        dry_run=dry_run,
    )
    if dry_run:
        return result
    silver_files = _publish(silver_staging, the_lake.table_dir(table_name), written, the_lake)
    fault("after_silver_publish")
    quarantine_files = _publish(quarantine_staging, the_lake.validation_dir, quarantined, the_lake)
    fault("after_publish")
    entry = _entry(meta, file_id, status, previous=previous).replace(
        rows_total=rows_total,
        rows_written=written.rows,
        rows_quarantined=quarantined.rows,
        trading_date_min=written.trading_date_min,
        trading_date_max=written.trading_date_max,
        ts_event_min_us=written.ts_event_min_us,
        ts_event_max_us=written.ts_event_max_us,
        duration_us=int(result.duration_s * 1e6),
        silver_files=silver_files,
        quarantine_files=quarantine_files,
    )
    older = [
        old
        for old in manifest.at_path(meta.vendor, meta.data_type, meta.bronze_path)
        if old.file_id != file_id and old.status != "superseded"
    ]
    superseded = [
        old.replace(
            status="superseded",
            processed_at_ts_us=_now_us(),
            silver_files=(),
            quarantine_files=(),
        )
        for old in older
    ]
    manifest.commit([entry, *superseded])
    fault("after_commit")
    keep = set(silver_files) | set(quarantine_files)
    stale = [path for old in (previous, *older) for path in _owned(old) if path not in keep]
    _delete(the_lake, stale)
    return result


FAULT_POINTS = (
    "manifest_before_link",
    "manifest_after_link",
    "after_pending",
    "mid_stream",
    "after_sinks",
    "mid_publish",
    "after_silver_publish",
    "after_publish",
    "after_commit",
    "after_failed_commit",
)
"""Where crash tests kill an ingest (``POINTLINE_FAULT=<point>``): the process exits at
once, like SIGKILL, without cleanup."""


def _clean_crashed(lake: Lake, file_id: int, entry: ManifestEntry) -> None:
    """Undo what a crashed writer of ``file_id`` left: its staging folders and any file
    it published without committing (named ``<file_id>-<n>.parquet``, not listed in the
    entry, which still lists the last committed output). Called under the file's lock."""
    owned = set(_owned(entry))
    for staging in lake.silver_root.glob(f"*/_staging/{file_id}-*"):
        shutil.rmtree(staging, ignore_errors=True)
    for published in lake.silver_root.glob(f"*/**/{file_id}-*.parquet"):
        relative = lake.relative(published)
        if "/_staging/" not in f"/{relative}" and relative not in owned:
            published.unlink(missing_ok=True)


def repair(lake: Lake | str | Path) -> list[IngestionResult]:
    """Finish what crashed writers left: every ``pending`` file is cleaned up and ingested
    again from its Bronze file (``failed`` with ``bronze_changed`` if that file is gone or
    has new content); staging folders and locks of files nobody is writing are removed."""
    the_lake = Lake.at(lake)
    results = []
    for entry in the_lake.manifest().entries().values():
        if entry.status != "pending":
            continue
        path = the_lake.bronze_root / entry.bronze_path
        try:
            meta = BronzeFileMetadata.from_path(
                path,
                bronze_root=the_lake.bronze_root,
                vendor=entry.vendor,
                data_type=entry.data_type,
            )
            same = meta.sha256 == entry.file_hash
        except PointlineError:
            same = False
        if same:
            results.append(ingest_file(meta, lake=the_lake))
            continue
        lock = the_lake.file_lock(entry.file_id)
        if not lock.acquire():
            continue
        try:
            _clean_crashed(the_lake, entry.file_id, entry)
            failed = entry.replace(
                status="failed",
                status_reason="bronze_changed",
                error_message=f"{entry.bronze_path}: the Bronze file is gone or has new "
                "content; ingest the new file",
                silver_files=(),
                quarantine_files=(),
                processed_at_ts_us=_now_us(),
            )
            the_lake.manifest().commit([failed])
            _delete(the_lake, _owned(entry))
        finally:
            lock.release()
    locks = the_lake.locks_dir
    for stale in sorted(locks.glob("*.lock")) if locks.is_dir() else []:
        lock = the_lake.file_lock(stale.stem)
        if lock.acquire():  # breaks a dead writer's lock; a live writer's is kept
            lock.release()
    for staging in sorted(the_lake.silver_root.glob("*/_staging/*-*")):
        lock = the_lake.file_lock(staging.name.split("-", 1)[0])
        if lock.acquire():
            try:
                shutil.rmtree(staging, ignore_errors=True)
            finally:
                lock.release()
    return results


def verify(lake: Lake | str | Path, *, sample: int = 200) -> list[str]:
    """Check every live file against its Bronze file; returns the problems found.

    For each ``success``/``quarantined`` file: the files it owns exist and no other file
    of its file_id is visible; its Silver and validation-log ``file_seq`` values are
    disjoint and together ``1..rows_total``; the counts match the manifest; the Bronze
    file still has the recorded SHA-256 and row count; and up to ``sample`` rows, compared
    by ``file_seq``, hold the values the chain computes from Bronze again.
    """
    the_lake = Lake.at(lake)
    problems: list[str] = []
    for entry in the_lake.manifest().entries().values():
        if entry.status in {"success", "quarantined"}:
            problems.extend(
                f"{entry.bronze_path}: {p}" for p in _verify_one(the_lake, entry, sample)
            )
    return problems


def _verify_one(lake: Lake, entry: ManifestEntry, sample: int) -> list[str]:
    problems: list[str] = []
    owned = {*entry.silver_files, *entry.quarantine_files}
    missing = sorted(f for f in owned if not (lake.root / f).is_file())
    if missing:
        return [f"owned files are missing: {missing}"]
    on_disk = {
        lake.relative(p)
        for p in lake.silver_root.glob(f"*/**/{entry.file_id}-*.parquet")
        if "_staging" not in p.parts
    }
    if on_disk - owned:
        problems.append(f"files not in the manifest are visible: {sorted(on_disk - owned)}")
    silver = _read_owned(lake, entry.silver_files)
    quarantined = _read_owned(lake, entry.quarantine_files, columns=["file_seq"])
    seqs = [*silver["file_seq"].to_pylist(), *quarantined["file_seq"].to_pylist()]
    total = entry.rows_total or 0
    if len(seqs) != len(set(seqs)) or set(seqs) != set(range(1, total + 1)):
        problems.append(f"file_seq values are not exactly 1..{total} once each")
    if (silver.num_rows, quarantined.num_rows) != (entry.rows_written, entry.rows_quarantined):
        problems.append(
            f"rows on disk {silver.num_rows} + {quarantined.num_rows} differ from the "
            f"manifest's {entry.rows_written} + {entry.rows_quarantined}"
        )
    path = lake.bronze_root / entry.bronze_path
    if not path.is_file() or sha256_of(path) != entry.file_hash:
        return [*problems, "the Bronze file is gone or has new content"]
    meta = BronzeFileMetadata.from_path(
        path, bronze_root=lake.bronze_root, vendor=entry.vendor, data_type=entry.data_type
    )
    recomputed = (
        Chain(
            [
                parse_tardis(path, meta.data_type, display_path=meta.bronze_path),
                normalize_tardis(meta.data_type),
            ]
        )
        .run()
        .read_all()
    )
    if recomputed.num_rows != total:
        problems.append(f"Bronze has {recomputed.num_rows} rows, the manifest says {total}")
    if silver.num_rows:
        step = max(1, silver.num_rows // max(sample, 1))
        picked = silver.take(list(range(0, silver.num_rows, step))[:sample])
        again = recomputed.take(pc.subtract(picked["file_seq"], 1))
        problems.extend(
            f"column {name!r} differs from Bronze in sampled rows"
            for name in picked.column_names
            if name in again.column_names
            and not again[name].cast(picked.schema.field(name).type).equals(picked[name])
        )
    return problems


def _read_owned(lake: Lake, files: Sequence[str], columns: list[str] | None = None) -> pa.Table:
    paths = [str(lake.root / f) for f in files]
    if not paths:
        return pa.table({"file_seq": pa.array([], pa.int64())})
    return pa.concat_tables(pq.read_table(p, columns=columns) for p in paths)


def _owned(entry: ManifestEntry | None) -> list[str]:
    if entry is None:
        return []
    return [*entry.silver_files, *entry.quarantine_files]


def _publish(staging: Path, target: Path, summary: SinkSummary, lake: Lake) -> tuple[str, ...]:
    published = []
    for relative in summary.files:
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / relative, destination)
        published.append(lake.relative(destination))
        fault("mid_publish")
    shutil.rmtree(staging, ignore_errors=True)
    return tuple(sorted(published))


def _delete(lake: Lake, relative_paths: Sequence[str]) -> None:
    for relative in relative_paths:
        path = lake.root / relative
        path.unlink(missing_ok=True)


def first_seen(meta: BronzeFileMetadata, *, lake: Lake) -> dict[tuple[str, str], int]:
    """The first event time of every (exchange, symbol) in a Bronze file (good rows only)."""
    chain = Chain(
        [
            parse_tardis(
                meta.absolute(lake.bronze_root), meta.data_type, display_path=meta.bronze_path
            ),
            normalize_tardis(meta.data_type),
        ]
    )
    seen: dict[tuple[str, str], int] = {}
    for batch in chain.run():
        good = pa.Table.from_batches([batch]).filter(pc.is_null(batch[FLAG_COLUMN]))
        grouped = good.group_by(["exchange", "symbol"]).aggregate([("ts_event_us", "min")])
        for row in grouped.to_pylist():
            key = (str(row["exchange"]), str(row["symbol"]))
            ts = int(row["ts_event_us_min"])
            seen[key] = min(ts, seen.get(key, ts))
    return seen


def bootstrap_dim_symbol(
    lake: Lake | str | Path,
    *,
    on_skip: Callable[[str, PointlineError], None] | None = None,
) -> tuple[int, int]:
    """Add every (exchange, symbol) found in the lake's Bronze files that dim_symbol does
    not know yet, valid from its first event. Returns (symbols added, new version).

    A file that cannot be read (a corrupt gzip, missing columns, a path outside the
    convention) is skipped, not fatal: ingesting it fails on its own with the same error.
    ``on_skip`` is called with its path (relative to the bronze root) and the error.
    """
    the_lake = Lake.at(lake)
    store = the_lake.dim_symbol_store()
    version, dim = store.load()
    known = set(zip(dim["exchange"].to_pylist(), dim["exchange_symbol"].to_pylist(), strict=True))
    seen: dict[tuple[str, str], int] = {}
    root = the_lake.bronze_root
    paths = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []
    for path in paths:
        relative = path.relative_to(root)
        if any(part.startswith((".", "_")) for part in relative.parts):
            continue
        try:
            meta = BronzeFileMetadata.from_path(path, bronze_root=root)
            if meta.vendor != "tardis" or meta.data_type not in HEADERS:
                continue
            found = first_seen(meta, lake=the_lake)
        except PointlineError as exc:
            if on_skip is not None:
                on_skip(relative.as_posix(), exc)
            continue
        for key, ts in found.items():
            seen[key] = min(ts, seen.get(key, ts))
    new = sorted(key for key in seen if key not in known)
    if not new:
        return 0, version
    first = pa.table(
        {
            "exchange": [k[0] for k in new],
            "exchange_symbol": [k[1] for k in new],
            "first_ts_us": pa.array([seen[k] for k in new], pa.int64()),
        }
    )
    merged = pa.concat_tables([dim, dim_symbol.from_first_seen(first)])
    return len(new), store.save(merged, expected_version=version)
