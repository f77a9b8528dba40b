"""Ingest one Bronze file: the default chain and the manifest protocol.

This is the assembly module: it builds the chain from the file's vendor (parse and
normalize, from the vendor registry) and the operators package (the rest), so it is one of
the few pointline modules allowed to import ``operators`` (tests/test_layering.py).

The protocol for one file, every step keyed by its deterministic ``file_id``, under the
file's writer lock (docs/contracts.md section 7, "Publishing"):

1. roll forward a publish a crash interrupted (:func:`finish_publishes`); skip a
   ``success`` identity unless ``force``; remove staging of attempts that never committed;
2. commit ``pending``, only when nothing of the file is live (a forced re-ingest of a live
   file commits nothing yet: its previous output stays readable by every reader);
3. drain parse -> normalize -> tz_partition -> pit_join -> quarantine_split -> sequence
   into files under ``_pointline/staging/<file_id>-<token>/`` (never under ``silver/``);
   the drain checks rows in == rows written + rows quarantined;
4. re-hash the Bronze file (what was read is what was hashed);
5. commit the end state naming the files it owns and its staging token, marking older
   contents of the same path ``superseded`` in the same commit;
6. move each staged file into ``silver/`` by an atomic rename (a same-name file is
   replaced whole), then delete the files of the file_id the new state does not own.

A file-level error commits ``failed`` with the reason and the error text when nothing of
the file was live; when a previous output is live, it and its status stay in force and the
failed attempt is recorded beside them (``attempt_reason``, ``attempt_error``).
``dry_run`` drains the same chain into counting sinks and commits nothing. Recovery
(``repair``, ``verify``) is in :mod:`pointline.recovery`; building dim_symbol from Bronze
in :mod:`pointline.bootstrap`.
"""

from __future__ import annotations

import dataclasses
import functools
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from importlib.metadata import version
from pathlib import Path
from typing import Any, Final, TypeAlias

import pyarrow as pa

from operators.columns import is_raw
from operators.parse import BLOCK_SIZE
from operators.pit_join import pit_join
from operators.quarantine_sink import QuarantineSink
from operators.sequence import sequence
from operators.silver_sink import SilverSink, StatsSink
from operators.tz_partition import tz_partition
from pointline.bronze import BronzeFileMetadata
from pointline.chain import (
    Chain,
    CountingSink,
    Drained,
    Operator,
    Sink,
    Source,
    Split,
    drain,
)
from pointline.codes import LIVE_STATUSES, FileReason, FileStatus
from pointline.errors import PointlineError
from pointline.faults import fault
from pointline.lake import Lake
from pointline.manifest import Manifest, ManifestEntry, file_id_for
from pointline.schemas import get_table_spec
from pointline.vendors.protocol import FileFormat

__all__ = [
    "FAULT_POINTS",
    "IngestionResult",
    "bronze_steps",
    "build_chain",
    "finish_publishes",
    "ingest_file",
    "owned_files",
    "update_manifest_status",
]

QUARANTINE_SPLIT = "quarantine_split"
"""The name of the default chain's split step (its side sink is the quarantine)."""

POINTLINE_VERSION = version("pointline")
"""The version every manifest entry records as its writer."""

FAULT_POINTS = (
    "manifest_before_link",
    "manifest_after_link",
    "after_pending",
    "mid_stream",
    "after_sinks",
    "after_commit",
    "mid_publish",
    "after_publish",
    "after_failed_commit",
)
"""Where crash tests kill an ingest (``POINTLINE_FAULT=<point>``): the process exits at
once, like SIGKILL, without cleanup."""


@dataclass(frozen=True, kw_only=True)
class IngestionResult:
    """What happened to one file: its status, the row counts, and the trading-date
    (exchange-local dates) and event-time (µs since the epoch, UTC) ranges written."""

    status: FileStatus
    file_id: int
    bronze_path: str
    table_name: str
    skipped: bool = False
    rows_total: int = 0
    rows_written: int = 0
    rows_quarantined: int = 0
    status_reason: FileReason | None = None
    error_message: str | None = None
    trading_date_min: date | None = None
    trading_date_max: date | None = None
    ts_event_min_us: int | None = None
    ts_event_max_us: int | None = None
    duration_s: float = 0.0
    dry_run: bool = False
    dim_symbol_version: int | None = None
    quarantine_reasons: dict[str, int] = dataclasses.field(default_factory=dict)
    """Rows quarantined per reason (``rule_name``), most first; empty for a skipped file."""

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        for key in ("trading_date_min", "trading_date_max"):
            value = out[key]
            out[key] = None if value is None else value.isoformat()
        return out

    @classmethod
    def of_entry(cls, entry: ManifestEntry, **changes: Any) -> IngestionResult:
        """The result that ``entry`` records (a skipped file reports its last outcome)."""
        values = {name: getattr(entry, name) for name in _SHARED_FIELDS}
        values.update({name: values[name] or 0 for name in _COUNTS})
        return cls(**values).replace(**changes)

    def replace(self, **changes: Any) -> IngestionResult:
        return dataclasses.replace(self, **changes)


_SHARED_FIELDS: Final = tuple(
    f.name
    for f in dataclasses.fields(IngestionResult)
    if f.name in {g.name for g in dataclasses.fields(ManifestEntry)}
)
"""What a result and a manifest entry both record, under the same names."""
_COUNTS: Final = ("rows_total", "rows_written", "rows_quarantined")


def _now_us() -> int:
    return time.time_ns() // 1000


def _table_of(meta: BronzeFileMetadata, lake: Lake) -> str:
    """The Silver table of ``meta``'s data type, ``"unknown"`` for one its vendor lacks."""
    vendor = lake.vendors.get(meta.vendor) if meta.vendor in lake.vendors else None
    if vendor is None:
        return "unknown"
    try:
        return vendor.format_for(meta.facts).table
    except PointlineError:
        return "unknown"


def bronze_steps(
    meta: BronzeFileMetadata, *, lake: Lake, block_size: int = BLOCK_SIZE
) -> tuple[FileFormat, list[Operator]]:
    """The file's format and the vendor's first two steps for it: parse and normalize.

    Raises :class:`~pointline.vendors.UnknownVendorError` or
    :class:`~pointline.vendors.UnsupportedDataTypeError` (with a did-you-mean) when the
    registry cannot read the file.
    """
    vendor = lake.vendors.get(meta.vendor)
    fmt = vendor.format_for(meta.facts)
    parse = vendor.parse(
        fmt,
        meta.absolute(lake.bronze_root),
        display_path=meta.bronze_path,
        block_size=block_size,
    )
    return fmt, [parse, vendor.normalize(fmt, meta.facts)]


def build_chain(
    meta: BronzeFileMetadata,
    *,
    lake: Lake,
    file_id: int,
    dim_symbol: pa.Table,
    quarantine: Sink,
    extra_steps: Sequence[Operator] = (),
    block_size: int = BLOCK_SIZE,
    record_exchange: bool = True,
) -> Chain:
    """The default ingest chain for one Bronze file, validated; flagged rows go to the
    sink ``quarantine``. Run it with :func:`~pointline.chain.drain`.

    Trading dates are cut in the zone of the lake's registry plus the registrations
    stored in the lake; an exchange none of them knows takes its vendor's zone, and
    (``record_exchange``, off for dry runs) that choice is stored in the lake.

    ``extra_steps`` are inserted after normalize (before the time-zone partition), the
    place a custom row rule belongs: they may flag rows, and flagged rows go to the
    quarantine like any other.
    """
    _, (parse, normalize) = bronze_steps(meta, lake=lake, block_size=block_size)
    drops = [name for name in parse.output_schema(pa.schema([])).names if is_raw(name)]
    vendor = lake.vendors.get(meta.vendor)
    zone = vendor.timezone
    named = meta.facts.extras.get("exchange")
    store = lake.exchange_store()
    if named is not None and record_exchange:
        # An exchange no registry knows takes the vendor's zone, recorded in the lake so
        # that read, verify and repair in later processes cut days the same way.
        exchanges = store.ingest_registry(named, base=lake.exchanges, default_timezone=zone)
    else:
        exchanges = store.registry(lake.exchanges)
    return Chain(
        [
            parse,
            normalize,
            *extra_steps,
            tz_partition(exchanges=exchanges, default_timezone=zone),
            pit_join(dim_symbol, symbol_key=vendor.symbol_key),
            Split(name=QUARANTINE_SPLIT, side=quarantine),
            sequence(file_id, drops=drops),
        ]
    )


def _reason(exc: BaseException) -> FileReason:
    """The ``status_reason`` of a failed file: the most specific Pointline error's code."""
    cause: BaseException | None = exc
    reason: FileReason = "ingest_error"
    while cause is not None:
        if isinstance(cause, PointlineError) and cause.reason != PointlineError.reason:
            reason = cause.reason
        cause = cause.__cause__
    return reason


def _entry(
    meta: BronzeFileMetadata,
    result: IngestionResult,
    *,
    previous: ManifestEntry | None,
    silver_files: tuple[str, ...] | None = None,
    quarantine_files: tuple[str, ...] | None = None,
) -> ManifestEntry:
    """The manifest entry that records ``result`` for ``meta``: the one mapping from a
    result to an entry. Owned files default to the previous entry's."""
    now = _now_us()
    recorded: dict[str, Any] = {name: getattr(result, name) for name in _SHARED_FIELDS}
    if result.status == "pending":  # nothing is known yet
        recorded.update(dict.fromkeys(_COUNTS))
    return ManifestEntry(
        **recorded,
        vendor=meta.vendor,
        data_type=meta.data_type,
        file_hash=meta.sha256,
        file_size_bytes=meta.file_size_bytes,
        last_modified_ts_us=meta.last_modified_ts_us,
        created_at_ts_us=previous.created_at_ts_us if previous else now,
        processed_at_ts_us=now,
        duration_us=None if result.status == "pending" else int(result.duration_s * 1e6),
        pointline_version=POINTLINE_VERSION,
        silver_files=(
            silver_files
            if silver_files is not None
            else (previous.silver_files if previous else ())
        ),
        quarantine_files=(
            quarantine_files
            if quarantine_files is not None
            else (previous.quarantine_files if previous else ())
        ),
    )


def update_manifest_status(
    meta: BronzeFileMetadata,
    file_id: int,
    status: FileStatus,
    result: IngestionResult | None = None,
    *,
    lake: Lake | str | Path,
) -> None:
    """Record ``status`` for ``file_id`` in the lake's manifest (one commit), with the
    counts, reason and ranges of ``result`` when given."""
    the_lake = Lake.at(lake)
    manifest = the_lake.manifest()
    base = result or IngestionResult(
        status=status,
        file_id=file_id,
        bronze_path=meta.bronze_path,
        table_name=_table_of(meta, the_lake),
    )
    record = base.replace(status=status, file_id=file_id)
    manifest.commit([_entry(meta, record, previous=manifest.get(file_id))])


def ingest_file(
    meta: BronzeFileMetadata,
    *,
    lake: Lake | str | Path,
    force: bool = False,
    dry_run: bool = False,
    allow_duplicates: bool = False,
    extra_steps: Sequence[Operator] = (),
    block_size: int = BLOCK_SIZE,
    progress: Callable[[int, int], None] | None = None,
) -> IngestionResult:
    """Ingest one Bronze file into the lake; see the module docstring for the protocol.

    Of Bronze files with data rows whose bytes are identical, one is live: the smallest
    ``bronze_path``, whatever the arrival order. A file whose twin with a smaller path is
    live is not ingested: it is recorded ``superseded`` with reason ``duplicate_content``
    naming the twin (the result says ``skipped``); a file with a smaller path than its
    live twin takes over in one commit. ``allow_duplicates`` ingests it anyway.

    ``lake`` is a :class:`Lake` or its root folder. ``extra_steps`` are custom operators
    run after normalize; ``block_size`` is the CSV read block (it never changes the
    output, only memory and speed). ``dry_run`` runs the whole chain into counting sinks
    and reports what would land; it takes no lock and writes nothing. ``progress``, if
    given, is called after each batch with the rows read so far and the bytes of the
    Bronze file (compressed, for gzip) consumed so far.

    Writers take a per-file lock: while another live process ingests the same file this
    call returns at once (``status='pending'``, ``skipped=True``, ``status_reason=
    'in_progress'``). A file left ``pending`` by a crashed writer is cleaned up (its
    unpublished staging and any published-but-uncommitted files) and ingested again.
    """
    the_lake = Lake.at(lake)
    file_id = file_id_for(*meta.identity)
    base = IngestionResult(
        status="pending",
        file_id=file_id,
        bronze_path=meta.bronze_path,
        table_name=_table_of(meta, the_lake),
        dry_run=dry_run,
    )
    run = functools.partial(
        _run,
        meta,
        the_lake,
        base,
        extra_steps=extra_steps,
        block_size=block_size,
        progress=progress,
    )
    if dry_run:
        return run(lambda fmt: (StatsSink(), CountingSink()))[0]
    with the_lake.file_lock(file_id) as held:
        if not held:
            return base.replace(skipped=True, status_reason="in_progress")
        return _ingest(
            meta, the_lake, base, force=force, allow_duplicates=allow_duplicates, run=run
        )


_Sinks: TypeAlias = tuple[Sink, Sink]
"""The (Silver, quarantine) sinks of one run."""


def _ingest(
    meta: BronzeFileMetadata,
    lake: Lake,
    base: IngestionResult,
    *,
    force: bool,
    allow_duplicates: bool,
    run: Callable[[Callable[[FileFormat], _Sinks]], tuple[IngestionResult, Drained | None]],
) -> IngestionResult:
    """Steps 1-6 of the protocol, under the file's lock."""
    file_id = base.file_id
    manifest = lake.manifest()
    previous = manifest.get(file_id)
    _finish_publish(lake, previous)
    if previous is not None and previous.status == "success" and not force:
        return IngestionResult.of_entry(previous, skipped=True)
    twin = None if allow_duplicates else _live_twin(manifest, meta, file_id)
    if twin is not None and twin.bronze_path < meta.bronze_path:
        duplicate = _as_duplicate(_entry(meta, base, previous=previous), of=twin)
        manifest.commit([duplicate])
        lake.delete(owned_files(previous))
        return IngestionResult.of_entry(duplicate, skipped=True)
    for _, _, abandoned in lake.staged(file_id):  # attempts that never committed
        shutil.rmtree(abandoned, ignore_errors=True)
    live = previous is not None and previous.status in LIVE_STATUSES
    if not live:  # nothing of this file is readable: pending hides nothing
        manifest.commit([_entry(meta, base, previous=previous)])
        fault("after_pending")
    staging = lake.staging(base.table_name, file_id, uuid.uuid4().hex[:12])

    def staged_sinks(fmt: FileFormat) -> _Sinks:
        silver = SilverSink(get_table_spec(fmt.table), staging.silver, file_id)
        quarantine = QuarantineSink(
            staging.quarantine, file_id=file_id, table_name=fmt.table, headers=fmt.header
        )
        return silver, quarantine

    result, drained = run(staged_sinks)
    if drained is None:
        staging.remove()
        if live and previous is not None:
            # The previous output and its status stay in force; the failed attempt is
            # recorded beside them (docs/contracts.md section 7).
            beside = previous.replace(
                attempt_reason=result.status_reason,
                attempt_error=result.error_message,
                processed_at_ts_us=_now_us(),
            )
            manifest.commit([beside])
        else:
            manifest.commit(
                [_entry(meta, result, previous=previous, silver_files=(), quarantine_files=())]
            )
        fault("after_failed_commit")
        return result
    silver_files, quarantine_files = lake.owned_paths(
        staging, drained.main.files, drained.sides[QUARANTINE_SPLIT].files
    )
    entry = _entry(
        meta,
        result,
        previous=previous,
        silver_files=silver_files,
        quarantine_files=quarantine_files,
    ).replace(publish_token=staging.token, attempt_reason=None, attempt_error=None)
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
            publish_token=None,
        )
        for old in older
    ]
    if twin is not None and result.rows_total > 0:  # a smaller path takes over
        older.append(twin)
        superseded.append(_as_duplicate(twin, of=entry))
    manifest.commit([entry, *superseded])
    fault("after_commit")
    _finish_publish(lake, entry, replaced=(previous, *older))
    return result


def _live_twin(manifest: Manifest, meta: BronzeFileMetadata, file_id: int) -> ManifestEntry | None:
    """The live entry with data rows whose Bronze bytes are ``meta``'s, under another path
    (the smallest such path, if several)."""
    twins = [
        entry
        for entry in manifest.with_hash(meta.sha256)
        if entry.file_id != file_id
        and entry.status in LIVE_STATUSES
        and (entry.rows_total or 0) > 0
        and (entry.vendor, entry.data_type) == (meta.vendor, meta.data_type)
    ]
    return min(twins, key=lambda e: e.bronze_path, default=None)


def _as_duplicate(entry: ManifestEntry, *, of: ManifestEntry) -> ManifestEntry:
    """``entry`` recorded as a duplicate of the live ``of``: superseded, owning nothing,
    the same record whichever of the two arrived first."""
    return entry.replace(
        status="superseded",
        status_reason="duplicate_content",
        error_message=f"same bytes as {of.bronze_path} (file_id {of.file_id}), which is live",
        rows_total=None,
        rows_written=None,
        rows_quarantined=None,
        trading_date_min=None,
        trading_date_max=None,
        ts_event_min_us=None,
        ts_event_max_us=None,
        duration_us=None,
        silver_files=(),
        quarantine_files=(),
        publish_token=None,
        attempt_reason=None,
        attempt_error=None,
        dim_symbol_version=None,
        processed_at_ts_us=_now_us(),
    )


def _finish_publish(
    lake: Lake,
    entry: ManifestEntry | None,
    *,
    replaced: Sequence[ManifestEntry | None] | None = None,
) -> None:
    """Move the files ``entry`` committed from its staging folder into ``silver/`` (a no-op
    once done), then delete the files of ``replaced`` that ``entry`` does not own. Rolls an
    interrupted publish forward; call it holding the file's lock.

    The ingest that made the commit passes the entries it replaced. Rolling a crashed
    publish forward (``replaced`` None) no longer knows them, so then ``silver/`` is
    searched for older files of the file_id; with nothing staged there is nothing to do."""
    if entry is None or entry.publish_token is None:
        return
    staged = lake.staging(entry.table_name, entry.file_id, entry.publish_token)
    if replaced is None and not staged.root.is_dir():
        return
    if staged.root.is_dir():
        lake.publish(staged.root, owned_files(entry))
        fault("after_publish")
    if replaced is None:
        stale = set(lake.visible_files(entry.file_id))
    else:
        stale = {path for old in replaced for path in owned_files(old)}
    lake.delete(sorted(stale - set(owned_files(entry))))


def finish_publishes(lake: Lake | str | Path) -> int:
    """Roll forward every publish a crash interrupted, and remove staging folders of
    attempts that never committed, skipping files a live process is writing. Returns how
    many folders it dealt with. Cheap when there is nothing to do (one directory listing);
    the CLI runs it before every command, ``repair`` too."""
    the_lake = Lake.at(lake)
    staged = the_lake.staged()
    if not staged:
        return 0
    manifest = the_lake.manifest()
    done = 0
    for file_id, token, folder in staged:
        with the_lake.file_lock(file_id) as held:
            if not held:
                continue
            entry = manifest.get(int(file_id))
            if entry is not None and entry.publish_token == token:
                _finish_publish(the_lake, entry)
            shutil.rmtree(folder, ignore_errors=True)
            done += 1
    return done


def _progress_of(
    chain: Chain, progress: Callable[[int, int], None] | None
) -> Callable[[int], None] | None:
    """``drain``'s per-batch callback: rows so far and the source's bytes consumed."""
    if progress is None:
        return None
    source = chain.steps[0]
    position = source.position if isinstance(source, Source) else None

    def on_batch(rows: int) -> None:
        progress(rows, position() if position is not None else 0)

    return on_batch


def owned_files(entry: ManifestEntry | None) -> list[str]:
    """The Silver and validation-log files ``entry`` owns (none for no entry)."""
    if entry is None:
        return []
    return [*entry.silver_files, *entry.quarantine_files]


def _run(
    meta: BronzeFileMetadata,
    lake: Lake,
    base: IngestionResult,
    make_sinks: Callable[[FileFormat], _Sinks],
    *,
    extra_steps: Sequence[Operator],
    block_size: int,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[IngestionResult, Drained | None]:
    """Drain the file's chain into the ``(silver, quarantine)`` sinks ``make_sinks``
    makes for its format. Never raises: a file-level error comes back as a ``failed``
    result (and no drain), with every sink aborted."""
    started = time.perf_counter()
    sinks: _Sinks | tuple[()] = ()
    try:
        meta.check_unchanged(lake.bronze_root)
        sinks = make_sinks(lake.vendors.get(meta.vendor).format_for(meta.facts))
        silver, quarantine = sinks
        dim_version, dim = lake.dim_symbol_store().load()
        base = base.replace(dim_symbol_version=dim_version)
        chain = build_chain(
            meta,
            lake=lake,
            file_id=base.file_id,
            dim_symbol=dim,
            quarantine=quarantine,
            extra_steps=extra_steps,
            block_size=block_size,
            record_exchange=not base.dry_run,
        )
        drained = drain(chain, silver, on_batch=_progress_of(chain, progress))
        fault("after_sinks")
        # What was read is what was hashed: a rewrite before or during the run (or one
        # that kept the size and put the mtime back) fails the file. The parse hashes the
        # bytes as it reads them; a source that does not is read again.
        source = chain.steps[0]
        read_sha256 = source.sha256() if isinstance(source, Source) and source.sha256 else None
        meta.check_read(lake.bronze_root, read_sha256)
    except Exception as exc:
        if isinstance(exc, PointlineError):
            exc.with_context(file=meta.bronze_path)  # every message names the Bronze file
        for sink in sinks:
            sink.abort()
        failed = base.replace(
            status="failed",
            status_reason=_reason(exc),
            error_message=str(exc),
            duration_s=time.perf_counter() - started,
        )
        return failed, None
    written = drained.main
    status: FileStatus = "quarantined" if drained.rows_in > 0 and written.rows == 0 else "success"
    result = base.replace(
        status=status,
        rows_total=drained.rows_in,
        rows_written=written.rows,
        rows_quarantined=drained.rows_routed,
        quarantine_reasons=dict(drained.sides[QUARANTINE_SPLIT].reasons),
        trading_date_min=written.trading_date_min,
        trading_date_max=written.trading_date_max,
        ts_event_min_us=written.ts_event_min_us,
        ts_event_max_us=written.ts_event_max_us,
        duration_s=time.perf_counter() - started,
    )
    return result, drained
