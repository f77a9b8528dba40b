"""Silver follows dim_symbol: find the live files whose rows no longer agree with the
current dim_symbol, and re-derive exactly those (docs/contracts.md section 5).

A change of dim_symbol (an import, a Tardis instrument import, a bootstrap, an upsert) can
move the window that covers a row already ingested: its ``symbol_id`` is then not the
covering window's, or no window covers it any more, or a row quarantined as
``missing_pit_symbol_coverage`` is covered now. The manifest records the dim_symbol
version each file was derived with (``dim_symbol_version``), so the check is:

1. a file derived with the current version agrees (nothing is read);
2. otherwise, when the version it was derived with is still stored and no symbol the
   file holds has different windows in the two versions (:func:`~pointline.dim_symbol.
   changed_keys`; the file's symbols come from its Parquet footers' statistics and its
   quarantined coverage rows), it agrees;
3. otherwise its rows are looked up again: the ``symbol``, ``ts_event_us`` and
   ``symbol_id`` columns of its Silver files (streamed by row group, never a whole file)
   and the coverage rows of its validation log.

:func:`refresh` re-ingests each disagreeing file with ``force`` (the ingest protocol:
the previous output stays live until the new output commits, so a crash leaves the lake
as it was) and records the current version on every agreeing file, so the next check
is step 1. Silver holds no dim_symbol version, run id or wall-clock time, so a refreshed
file is byte-identical to a fresh ingest of the same Bronze under the current dim_symbol.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pointline import dim_symbol
from pointline.bronze import BronzeFileMetadata
from pointline.codes import LIVE_STATUSES
from pointline.errors import PointlineError
from pointline.ingest import IngestionResult, finish_publishes, ingest_file
from pointline.kernels.pit import MISSING_COVERAGE, SymbolIndex
from pointline.lake import Lake
from pointline.manifest import ManifestEntry

__all__ = ["Agreement", "Disagreement", "RefreshResult", "disagreements", "refresh"]

_KEY_COLUMNS: Final = ["symbol", "ts_event_us", "symbol_id"]
_LOG_COLUMNS: Final = ["rule_name", "exchange", "symbol", "ts_event_us"]


@dataclass(frozen=True, slots=True)
class Disagreement:
    """A live file whose rows do not agree with dim_symbol ``version``: ``wrong_ids``
    Silver rows carry a symbol_id that is not their covering window's, ``uncovered``
    Silver rows no window covers now, ``now_covered`` quarantined coverage rows a window
    covers now."""

    entry: ManifestEntry
    version: int
    wrong_ids: int
    uncovered: int
    now_covered: int

    def __str__(self) -> str:
        return f"{self.describe()}; run `pointline refresh`"

    def describe(self) -> str:
        """What disagrees, without the hint."""
        parts = []
        if self.wrong_ids:
            parts.append(f"{self.wrong_ids} row(s) carry a symbol_id that is not their window's")
        if self.uncovered:
            parts.append(f"{self.uncovered} row(s) are no longer covered by any window")
        if self.now_covered:
            parts.append(f"{self.now_covered} quarantined row(s) are now covered")
        derived = self.entry.dim_symbol_version
        since = "an unrecorded version" if derived is None else f"version {derived}"
        return (
            f"{self.entry.bronze_path}: {', '.join(parts)} under dim_symbol version "
            f"{self.version} (derived with {since})"
        )


@dataclass(frozen=True, slots=True)
class Agreement:
    """The live files checked against dim_symbol ``version``: ``stale`` disagree (manifest
    order), ``agreeing`` agree but were derived with an older or unrecorded version, and
    ``current`` more were derived with ``version`` itself (not read)."""

    version: int
    stale: tuple[Disagreement, ...]
    agreeing: tuple[ManifestEntry, ...]
    current: int


@dataclass(frozen=True, slots=True)
class RefreshResult:
    """What :func:`refresh` did: the dim_symbol ``version`` it applied, the files that
    disagreed, the result of re-deriving each (same order; a file whose Bronze file is
    gone or changed is ``failed`` with ``bronze_changed`` and keeps its output), how many
    agreeing files were recorded as derived with ``version`` (``confirmed``) and how many
    already were (``current``)."""

    version: int
    stale: tuple[Disagreement, ...]
    results: tuple[IngestionResult, ...]
    confirmed: int
    current: int


def disagreements(
    lake: Lake | str | Path,
    *,
    on_file: Callable[[ManifestEntry], None] | None = None,
) -> Agreement:
    """Check every live file against the current dim_symbol (:class:`Agreement`).
    ``on_file`` is called before each file that has to be checked (for progress)."""
    the_lake = Lake.at(lake)
    store = the_lake.dim_symbol_store()
    version, dim = store.load()
    checker = _Checker(the_lake, store, version, dim)
    stale: list[Disagreement] = []
    outdated: list[ManifestEntry] = []
    current = 0
    for entry in the_lake.manifest().entries().values():
        if entry.status not in LIVE_STATUSES:
            continue
        if entry.dim_symbol_version == version:
            current += 1
            continue
        if on_file is not None:
            on_file(entry)
        found = checker.check(entry)
        if found is None:
            outdated.append(entry)
        else:
            stale.append(found)
    return Agreement(version, tuple(stale), tuple(outdated), current)


def refresh(
    lake: Lake | str | Path,
    *,
    on_file: Callable[[Disagreement], None] | None = None,
) -> RefreshResult:
    """Re-derive every live file that disagrees with the current dim_symbol (and nothing
    else), then record the current version on the files that agree. ``on_file`` is called
    before each re-derivation. Safe to run at any time and to interrupt: each file is
    re-ingested under its writer lock by the ingest protocol."""
    the_lake = Lake.at(lake)
    finish_publishes(the_lake)
    check = disagreements(the_lake)
    results = []
    for found in check.stale:
        if on_file is not None:
            on_file(found)
        results.append(_rederive(the_lake, found.entry))
    confirmed = _confirm(the_lake, check.agreeing, check.version)
    return RefreshResult(check.version, check.stale, tuple(results), confirmed, check.current)


def _rederive(lake: Lake, entry: ManifestEntry) -> IngestionResult:
    path = lake.bronze_root / entry.bronze_path
    try:
        meta = BronzeFileMetadata.from_path(
            path,
            bronze_root=lake.bronze_root,
            vendor=entry.vendor,
            data_type=entry.data_type,
            vendors=lake.vendors,
        )
    except PointlineError as exc:
        return _unchanged(entry, f"cannot read the Bronze file: {exc}")
    if meta.sha256 != entry.file_hash:
        return _unchanged(entry, "the Bronze file has new content; ingest it as a new file")
    return ingest_file(meta, lake=lake, force=True)


def _unchanged(entry: ManifestEntry, message: str) -> IngestionResult:
    """The result for a file refresh could not re-derive (its output stays as it was)."""
    return IngestionResult.of_entry(
        entry,
        status="failed",
        status_reason="bronze_changed",
        error_message=f"{entry.bronze_path}: {message}",
    )


def _confirm(lake: Lake, outdated: Sequence[ManifestEntry], version: int) -> int:
    """Record ``version`` on files that agree with it, in one commit, each under its
    writer lock and only if its entry did not change since it was checked."""
    if not outdated:
        return 0
    with contextlib.ExitStack() as stack:
        held = [e for e in outdated if stack.enter_context(lake.file_lock(e.file_id))]
        manifest = lake.manifest()
        unchanged = [e for e in held if manifest.get(e.file_id) == e]
        if unchanged:
            manifest.commit(
                [
                    e.replace(dim_symbol_version=version, processed_at_ts_us=time.time_ns() // 1000)
                    for e in unchanged
                ]
            )
        return len(unchanged)


class _Checker:
    """Checks live files against one dim_symbol version (indexes built once per vendor,
    older versions loaded once)."""

    def __init__(
        self, lake: Lake, store: dim_symbol.DimSymbolStore, version: int, dim: pa.Table
    ) -> None:
        self._lake = lake
        self._store = store
        self._version = version
        self._dim = dim
        self._indexes: dict[str, SymbolIndex] = {}
        self._changed: dict[int, set[tuple[str, str]] | None] = {}

    def check(self, entry: ManifestEntry) -> Disagreement | None:
        key = self._lake.vendors.get(entry.vendor).symbol_key
        changed = self._changed_since(entry.dim_symbol_version)
        if changed is not None:
            keys = self._keys_of(entry, key)
            if keys is not None and not keys & changed:
                return None
        index = self._index(entry.vendor)
        wrong = uncovered = now_covered = 0
        for exchange, batch in self._silver_batches(entry):
            found = index.lookup(_repeat(exchange, batch.num_rows), batch[0], batch[1])
            ids = np.asarray(batch[2].to_numpy(zero_copy_only=False))
            uncovered += int((~found.covered).sum())
            mine = np.asarray(found.symbol_id.fill_null(0).to_numpy(zero_copy_only=False))
            wrong += int((found.covered & (mine != ids)).sum())
        for rows in self._coverage_rows(entry):
            now_covered += int(
                index.lookup(rows["exchange"], rows["symbol"], rows["ts_event_us"]).covered.sum()
            )
        if wrong or uncovered or now_covered:
            return Disagreement(entry, self._version, wrong, uncovered, now_covered)
        return None

    def _index(self, vendor: str) -> SymbolIndex:
        if vendor not in self._indexes:
            key = self._lake.vendors.get(vendor).symbol_key
            self._indexes[vendor] = SymbolIndex(self._dim, symbol_key=key)
        return self._indexes[vendor]

    def _changed_since(self, version: int | None) -> set[tuple[str, str]] | None:
        """Keys whose windows differ between ``version`` and the current one; None when
        that version is unknown or no longer readable."""
        if version is None:
            return None
        if version not in self._changed:
            try:
                _, before = self._store.load(version)
            except PointlineError:
                self._changed[version] = None
            else:
                self._changed[version] = dim_symbol.changed_keys(before, self._dim)
        return self._changed[version]

    def _keys_of(
        self, entry: ManifestEntry, key: Callable[[str], str]
    ) -> set[tuple[str, str]] | None:
        """The dim_symbol keys of a file's rows from its footers (None when a row group's
        symbol statistics do not name one symbol) and its quarantined coverage rows."""
        keys: set[tuple[str, str]] = set()
        for relative in entry.silver_files:
            exchange = Lake.partition_of(relative).get("exchange")
            metadata = pq.ParquetFile(self._lake.root / relative).metadata
            at = metadata.schema.names.index("symbol")
            for group in range(metadata.num_row_groups):
                stats = metadata.row_group(group).column(at).statistics
                if exchange is None or stats is None or not stats.has_min_max:
                    return None
                if stats.min != stats.max:
                    return None
                keys.add((exchange, key(str(stats.min))))
        for rows in self._coverage_rows(entry):
            for exchange, symbol in zip(
                rows["exchange"].to_pylist(), rows["symbol"].to_pylist(), strict=True
            ):
                if exchange is not None and symbol is not None:
                    keys.add((str(exchange), key(str(symbol))))
        return keys

    def _silver_batches(self, entry: ManifestEntry) -> Iterator[tuple[str, pa.RecordBatch]]:
        for relative in entry.silver_files:
            exchange = Lake.partition_of(relative).get("exchange", "")
            parquet = pq.ParquetFile(self._lake.root / relative, read_dictionary=["symbol"])
            for group in range(parquet.metadata.num_row_groups):
                table = parquet.read_row_group(group, columns=_KEY_COLUMNS)
                yield exchange, table.combine_chunks().to_batches()[0]

    def _coverage_rows(self, entry: ManifestEntry) -> Iterator[pa.Table]:
        for relative in entry.quarantine_files:
            table = pq.read_table(self._lake.root / relative, columns=_LOG_COLUMNS)
            rows = table.filter(pc.equal(table["rule_name"], pa.scalar(MISSING_COVERAGE)))
            if rows.num_rows:
                yield rows


def _repeat(value: str, n: int) -> pa.Array[Any]:
    """``value`` ``n`` times, as a one-entry dictionary (no string copies)."""
    indices = np.zeros(n, dtype=np.int32)
    out: pa.Array[Any] = pa.DictionaryArray.from_arrays(indices, pa.array([value], pa.string()))
    return out
