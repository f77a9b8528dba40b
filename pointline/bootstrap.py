"""dim_symbol from the Bronze rows: every (exchange, symbol) found gets a window.

The quick start for a lake with no vendor instrument metadata: each file's parse and
normalize steps (from its vendor) run over its rows, and each symbol dim_symbol does not
know yet gets one open window **valid from 0** (docs/contracts.md section 5, source (a):
no listing time is known, so a backfilled day, or a data type whose rows start earlier,
is always covered). Symbols that dim_symbol already has (from an earlier bootstrap or a
vendor's instrument metadata, which takes precedence) do not move.

What each Bronze file holds is remembered under ``_pointline/bootstrap/`` (its path, size
and mtime with the symbols found), so a re-run reads only files it has not seen or that
changed; Bronze files are immutable, so size and mtime are taken as the file's identity
here (the ingest itself goes by SHA-256).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeAlias

import pyarrow as pa
import pyarrow.compute as pc

from pointline import dim_symbol
from pointline.bronze import BronzeFileMetadata, walk_bronze
from pointline.chain import FLAG_COLUMN, Chain
from pointline.codes import FileReason
from pointline.errors import PointlineError
from pointline.ingest import bronze_steps
from pointline.lake import Lake
from pointline.storage import VersionedDir, ipc_bytes, read_ipc

__all__ = [
    "BOOTSTRAP_FROM_TS_US",
    "BootstrapResult",
    "SkippedFile",
    "bootstrap_dim_symbol",
    "symbols_in",
]

BOOTSTRAP_FROM_TS_US: Final = 0
"""Where a bootstrap window opens: the epoch, since no listing time is known."""


@dataclass(frozen=True, slots=True)
class SkippedFile:
    """A Bronze file bootstrap could not read: its ``path`` (relative to the bronze
    root), the ``reason`` code a failed ingest of it would record, and the error text
    (without the path).

    >>> str(SkippedFile("tardis/x.csv", "bad_path", "cannot tell the data type"))
    'tardis/x.csv: bad_path: cannot tell the data type'
    """

    path: str
    reason: FileReason
    message: str

    @classmethod
    def of(cls, path: str, error: PointlineError) -> SkippedFile:
        message = error.message if error.file is not None else str(error)
        return cls(path=path, reason=error.reason, message=message)

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}: {self.message}"


class BootstrapResult(tuple[int, int]):
    """What :func:`bootstrap_dim_symbol` did: ``(added, version)`` as before, so
    ``added, version = bootstrap_dim_symbol(lake)`` and comparisons with a pair still work,
    plus ``skipped``, every file it could not read, in walk order.

    >>> result = BootstrapResult(2, 5, [SkippedFile("tardis/x", "bad_path", "no type")])
    >>> result == (2, 5), result.added, result.version, len(result.skipped)
    (True, 2, 5, 1)
    """

    skipped: tuple[SkippedFile, ...]
    read: int
    cached: int

    def __new__(
        cls,
        added: int,
        version: int,
        skipped: Sequence[SkippedFile] = (),
        *,
        read: int = 0,
        cached: int = 0,
    ) -> BootstrapResult:
        result = super().__new__(cls, (added, version))
        result.skipped = tuple(skipped)
        result.read = read  # Bronze files read in this run
        result.cached = cached  # files known from an earlier run (same size and mtime)
        return result

    @property
    def added(self) -> int:
        """How many (exchange, symbol) pairs were added."""
        return self[0]

    @property
    def version(self) -> int:
        """The dim_symbol version after the run (unchanged when nothing was added)."""
        return self[1]

    def __repr__(self) -> str:
        return f"BootstrapResult(added={self[0]}, version={self[1]}, skipped={self.skipped!r})"


def symbols_in(meta: BronzeFileMetadata, *, lake: Lake) -> set[tuple[str, str]]:
    """The dim_symbol keys ``(exchange, vendor symbol key)`` of a Bronze file's good rows
    (rows normalize does not flag), read batch by batch."""
    key = lake.vendors.get(meta.vendor).symbol_key
    found: set[tuple[str, str]] = set()
    for batch in Chain(bronze_steps(meta, lake=lake)[1]).run():
        good = pa.Table.from_batches([batch]).filter(pc.is_null(batch[FLAG_COLUMN]))
        pairs = good.group_by(["exchange", "symbol"]).aggregate([])
        for exchange, symbol in zip(
            pairs["exchange"].to_pylist(), pairs["symbol"].to_pylist(), strict=True
        ):
            if exchange is not None and symbol is not None:
                found.add((str(exchange), key(str(symbol))))
    return found


_SEEN_FIELDS: list[pa.Field[Any]] = [  # one row per (file, symbol)
    pa.field("bronze_path", pa.string(), nullable=False),
    pa.field("file_size_bytes", pa.int64(), nullable=False),
    pa.field("last_modified_ts_us", pa.int64(), nullable=False),
    pa.field("exchange", pa.string()),  # null: a file without symbols
    pa.field("exchange_symbol", pa.string()),
]
_SEEN_SCHEMA: Final = pa.schema(_SEEN_FIELDS)
_Stamp: TypeAlias = tuple[int, int]  # (size, mtime us)
_Seen: TypeAlias = dict[str, tuple[_Stamp, frozenset[tuple[str, str]]]]


def _load_seen(lake: Lake) -> tuple[int, _Seen]:
    """The newest record of what bootstrap has read (version, path -> stamp and keys).
    The record is advisory: an unreadable one counts as empty (files are read again)."""
    files = VersionedDir(lake.bootstrap_dir, ".arrow")
    version = files.latest()
    seen: _Seen = {}
    if version == 0:
        return 0, seen
    try:
        table = read_ipc(files.path_of(version))
    except (OSError, pa.ArrowInvalid):
        return version, seen
    keys: dict[str, set[tuple[str, str]]] = {}
    for row in table.to_pylist():
        path = str(row["bronze_path"])
        seen[path] = ((int(row["file_size_bytes"]), int(row["last_modified_ts_us"])), frozenset())
        if row["exchange"] is not None:
            keys.setdefault(path, set()).add((str(row["exchange"]), str(row["exchange_symbol"])))
    return version, {
        path: (stamp, frozenset(keys.get(path, ()))) for path, (stamp, _) in seen.items()
    }


def _save_seen(lake: Lake, version: int, seen: _Seen) -> None:
    """Publish ``seen`` as the next version and drop older ones; losing a race to another
    bootstrap is harmless (its record is as good), so it is not an error."""
    rows: dict[str, list[object]] = {name: [] for name in _SEEN_SCHEMA.names}
    for path in sorted(seen):
        (size, mtime), keys = seen[path]
        pairs: list[tuple[str | None, str | None]] = [*sorted(keys)] or [(None, None)]
        for exchange, symbol in pairs:
            for name, value in zip(
                _SEEN_SCHEMA.names, (path, size, mtime, exchange, symbol), strict=True
            ):
                rows[name].append(value)
    files = VersionedDir(lake.bootstrap_dir, ".arrow")
    if files.publish(version + 1, ipc_bytes(pa.Table.from_pydict(rows, schema=_SEEN_SCHEMA))):
        for old in files.versions():
            if old <= version:
                files.path_of(old).unlink(missing_ok=True)


def bootstrap_dim_symbol(
    lake: Lake | str | Path,
    *,
    on_skip: Callable[[str, PointlineError], None] | None = None,
    on_file: Callable[[str, int], None] | None = None,
) -> BootstrapResult:
    """Give every (exchange, symbol) found in the lake's Bronze files that dim_symbol does
    not know yet one window valid from 0 to the open end. Returns the symbols added and the
    new version (a pair, :class:`BootstrapResult`), every file skipped (``.skipped``) and
    how many files were read and how many were known from an earlier run.

    Symbols are keyed by their vendor's ``symbol_key`` (Tardis ``xbt/usd`` ->
    ``XBT-USD``). A file the manifest knows is read as the vendor and data type it was
    ingested as (so a file ingested with explicit ``--vendor``/``--data-type`` counts).
    A file read by an earlier run with the same size and mtime is not read again. A file
    that cannot be read (a corrupt gzip, missing columns, a path outside its vendor's
    rules, a data type its vendor does not ship) is skipped, not fatal:
    ingesting it fails on its own with the same error. Each is in ``.skipped`` with its
    path (relative to the bronze root) and reason; ``on_skip``, if given, is also called
    with the path and the error; ``on_file``, before each Bronze file, with its path and
    size in bytes (for progress). Hidden files (:func:`pointline.bronze.is_hidden`) are not
    Bronze files and are not reported.
    """
    the_lake = Lake.at(lake)
    store = the_lake.dim_symbol_store()
    seen_version, seen = _load_seen(the_lake)
    found: set[tuple[str, str]] = set()
    skipped: list[SkippedFile] = []
    read = cached = 0
    root = the_lake.bronze_root
    now_seen: _Seen = {}
    # A file ingested with --vendor/--data-type (its path says neither) is read the same way.
    told = {
        entry.bronze_path: (entry.vendor, entry.data_type)
        for entry in the_lake.manifest().entries().values()
    }
    for path in walk_bronze([root] if root.is_dir() else []):
        relative = path.relative_to(root).as_posix()
        stat = path.stat()
        if on_file is not None:
            on_file(relative, stat.st_size)
        stamp = (stat.st_size, stat.st_mtime_ns // 1000)
        known = seen.get(relative)
        if known is not None and known[0] == stamp:
            now_seen[relative] = known
            found |= known[1]
            cached += 1
            continue
        vendor, data_type = told.get(relative, (None, None))
        try:
            meta = BronzeFileMetadata.from_path(
                path,
                bronze_root=root,
                vendor=vendor,
                data_type=data_type,
                vendors=the_lake.vendors,
            )
            keys = frozenset(symbols_in(meta, lake=the_lake))
        except PointlineError as exc:
            skipped.append(SkippedFile.of(relative, exc))
            if on_skip is not None:
                on_skip(relative, exc)
            continue
        read += 1
        now_seen[relative] = (stamp, keys)
        found |= keys
    if now_seen != seen:
        _save_seen(the_lake, seen_version, now_seen)
    version, dim = store.load()
    known_keys = set(
        zip(dim["exchange"].to_pylist(), dim["exchange_symbol"].to_pylist(), strict=True)
    )
    new = sorted(found - known_keys)
    result = functools.partial(BootstrapResult, skipped=skipped, read=read, cached=cached)
    if not new:
        return result(0, version)
    windows = dim_symbol.from_first_seen(
        pa.table(
            {
                "exchange": [k[0] for k in new],
                "exchange_symbol": [k[1] for k in new],
                "first_ts_us": pa.array([BOOTSTRAP_FROM_TS_US] * len(new), pa.int64()),
            }
        )
    )
    merged = dim_symbol.merge_windows(dim, windows)
    return result(len(new), store.save(merged, expected_version=version))
