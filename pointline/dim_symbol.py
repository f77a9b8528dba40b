"""dim_symbol: the SCD2 symbol dimension, its maintenance and its versioned store.

A dim_symbol table (:data:`~pointline.schemas.dimensions.DIM_SYMBOL`) holds, for every
natural key ``(exchange, exchange_symbol)``, a history of half-open validity windows
``[valid_from_ts_us, valid_until_ts_us)``; the open window ends at ``2**63 - 1`` and is the
only one with ``is_current``. Each window has its own ``symbol_id``: the first 8 bytes of
``blake2b("exchange|exchange_symbol|valid_from_ts_us")`` as a little-endian signed int64.

A *snapshot* is the instrument list of some exchanges at one moment: columns ``exchange``,
``exchange_symbol`` and optionally the tracked columns ``canonical_symbol`` (default: the
exchange symbol), ``market_type`` (default ``"unknown"``), ``base_asset``, ``quote_asset``,
``tick_size``, ``lot_size``, ``contract_size`` (default null). The three sizes are int64
fixed point at 10^9, or decimal text converted exactly (``"0.1"`` -> ``100000000``).

* :func:`bootstrap` opens one window per snapshot row; :func:`upsert` applies a later
  snapshot to the exchanges it names (a change of a tracked column closes the window and
  opens a new one; a missing symbol is delisted);
* :func:`from_first_seen` builds windows from the first event of each symbol in Bronze;
* :func:`read_dim_file` imports a whole history from CSV or Parquet, :func:`read_snapshot`
  reads a snapshot file;
* :func:`validate` checks the SCD2 invariants; :class:`DimSymbolStore` keeps versions on
  disk with optimistic concurrency.

>>> snap = pa.table({"exchange": ["binance"], "exchange_symbol": ["BTCUSDT"],
...                  "tick_size": ["0.1"]})
>>> dim = bootstrap(snap, 100, now_ts_us=1)
>>> dim.select(["exchange_symbol", "valid_from_ts_us", "is_current", "tick_size"]).to_pylist()
... # doctest: +NORMALIZE_WHITESPACE
[{'exchange_symbol': 'BTCUSDT', 'valid_from_ts_us': 100, 'is_current': True,
  'tick_size': 100000000}]
>>> changed = snap.set_column(2, "tick_size", pa.array(["0.01"]))
>>> later = upsert(dim, changed, 200, now_ts_us=2)
>>> later.select(["valid_from_ts_us", "valid_until_ts_us", "tick_size"]).to_pylist()[0]
{'valid_from_ts_us': 100, 'valid_until_ts_us': 200, 'tick_size': 100000000}
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Final, Literal, cast

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pointline.errors import PointlineError
from pointline.kernels.fixed_point import parse_fixed_point
from pointline.schemas.dimensions import DIM_SYMBOL, OPEN_END_TS_US
from pointline.storage import publish_exclusive

__all__ = [
    "DIM_SCHEMA",
    "OPEN_END_TS_US",
    "SNAPSHOT_COLUMNS",
    "TRACKED_COLUMNS",
    "DimSymbolError",
    "DimSymbolStore",
    "StaleDimSymbolError",
    "bootstrap",
    "empty_dim",
    "from_first_seen",
    "read_dim_file",
    "read_snapshot",
    "symbol_id",
    "symbol_ids",
    "upsert",
    "validate",
]

DIM_SCHEMA: Final = DIM_SYMBOL.arrow_schema
"""The exact Arrow schema of every dim_symbol table this module returns."""

KEY_COLUMNS: Final = ("exchange", "exchange_symbol")
TRACKED_COLUMNS: Final = (
    "canonical_symbol",
    "market_type",
    "base_asset",
    "quote_asset",
    "tick_size",
    "lot_size",
    "contract_size",
)
"""A change in any of these (null to value included) opens a new window."""
SNAPSHOT_COLUMNS: Final = KEY_COLUMNS + TRACKED_COLUMNS
"""Columns of a normalised snapshot, in order."""
_FIXED_POINT_COLUMNS: Final = ("tick_size", "lot_size", "contract_size")
_WINDOW_COLUMNS: Final = ("valid_from_ts_us", "valid_until_ts_us")
_SORT_KEYS: Final[list[tuple[str, Literal["ascending", "descending"]]]] = [
    ("exchange", "ascending"),
    ("exchange_symbol", "ascending"),
    ("valid_from_ts_us", "ascending"),
]
_DEFAULT_MARKET_TYPE: Final = "unknown"
_KEY_SEPARATOR: Final = "\x00"
_MAX_LISTED: Final = 10
_VERSION_FILE = re.compile(r"^(\d{20})\.parquet$")


class DimSymbolError(PointlineError, ValueError):
    """A snapshot, a dim_symbol table or a dim_symbol file breaks the contract."""


class StaleDimSymbolError(DimSymbolError):
    """A save named a version that is no longer the latest; nothing was written."""


# ------------------------------------------------------------------------------- ids


def symbol_id(exchange: str, exchange_symbol: str, valid_from_ts_us: int) -> int:
    """The id of one window: blake2b of ``exchange|exchange_symbol|valid_from_ts_us``.

    >>> symbol_id("binance", "BTCUSDT", 0) == symbol_id("binance", "BTCUSDT", 0)
    True
    """
    digest = hashlib.blake2b(f"{exchange}|{exchange_symbol}|{valid_from_ts_us}".encode()).digest()
    return int.from_bytes(digest[:8], "little", signed=True)


def symbol_ids(
    exchange: pa.Array[Any] | pa.ChunkedArray[Any],
    exchange_symbol: pa.Array[Any] | pa.ChunkedArray[Any],
    valid_from_ts_us: pa.Array[Any] | pa.ChunkedArray[Any],
) -> pa.Int64Array:
    """:func:`symbol_id` of every row (hashlib has no vectorised form; dims are small)."""
    ids = [
        symbol_id(str(ex), str(sym), cast(int, ts))
        for ex, sym, ts in zip(
            exchange.to_pylist(),
            exchange_symbol.to_pylist(),
            valid_from_ts_us.to_pylist(),
            strict=True,
        )
    ]
    out: pa.Int64Array = pa.array(ids, type=pa.int64())
    return out


# ------------------------------------------------------------------------- building


def empty_dim() -> pa.Table:
    """A dim_symbol table with no rows."""
    return DIM_SCHEMA.empty_table()


def bootstrap(
    snapshot: pa.Table, effective_ts_us: int, *, now_ts_us: int | None = None
) -> pa.Table:
    """A new dim: every snapshot row opens a window ``[effective_ts_us, 2**63 - 1)``."""
    return upsert(empty_dim(), snapshot, effective_ts_us, now_ts_us=now_ts_us)


def upsert(
    dim: pa.Table,
    snapshot: pa.Table,
    effective_ts_us: int,
    *,
    delistings: pa.Table | None = None,
    now_ts_us: int | None = None,
) -> pa.Table:
    """Apply ``snapshot``, taken at ``effective_ts_us``, to the exchanges it names.

    For each natural key of those exchanges:

    * current and in the snapshot with equal tracked columns: kept as it is;
    * current and in the snapshot with a change: the window closes at ``effective_ts_us``
      and a new one opens there;
    * only in the snapshot: a window opens at ``effective_ts_us``;
    * current but missing from the snapshot: closed at ``effective_ts_us`` (implicit
      delisting) when ``delistings`` is None; otherwise it stays open unless ``delistings``
      (``exchange, exchange_symbol, delisted_ts_us``) names it, in which case it closes at
      its own ``delisted_ts_us``. Delistings of keys that have no open window are ignored;
      a delisting of a key that is in the snapshot is an error.

    Rows of other exchanges and closed windows are untouched. ``now_ts_us`` (default: the
    clock) is the ``updated_at_ts_us`` of the rows written. The result is validated and
    sorted by ``(exchange, exchange_symbol, valid_from_ts_us)``.
    """
    now = _now(now_ts_us)
    effective = _as_ts(effective_ts_us, "effective_ts_us")
    if isinstance(snapshot, pa.Table):
        _reject_unknown_columns(snapshot, SNAPSHOT_COLUMNS, source="snapshot")
    snap = _normalise_snapshot(snapshot, source="snapshot")
    _reject_duplicate_keys(snap, source="snapshot")
    base = _conform(dim, source="dim")

    exchanges = pc.unique(snap["exchange"])
    in_scope = pc.is_in(base["exchange"], value_set=exchanges)
    untouched = base.filter(pc.invert(in_scope))
    scoped = base.filter(in_scope)
    history = scoped.filter(pc.invert(scoped["is_current"]))
    current = scoped.filter(scoped["is_current"])

    cur_keys = _keys(current)
    snap_keys = _keys(snap)
    at_snap = pc.index_in(cur_keys, value_set=snap_keys)  # snapshot row of each current row
    in_snap = pc.is_valid(at_snap)
    differs = _differs(current, snap.take(_indices(at_snap)))
    changed = pc.and_(in_snap, differs)
    missing = pc.invert(in_snap)

    # Current rows that close, and when: changed ones and delisted missing ones.
    close_at: pa.Array[Any] = _full(effective, len(current))
    if delistings is None:
        delisted = missing
    else:
        dl = _normalise_delistings(delistings)
        dl_keys = _keys(dl)
        conflict = pc.is_in(dl_keys, value_set=snap_keys)
        if pc.any(conflict).as_py():
            msg = (
                f"delistings name symbols that are in the snapshot: "
                f"{_describe(dl.filter(conflict))}; a listed symbol cannot be delisted"
            )
            raise DimSymbolError(msg)
        at_dl = pc.index_in(cur_keys, value_set=dl_keys)
        delisted = pc.and_(missing, pc.is_valid(at_dl))
        close_at = pc.coalesce(_chunk(dl["delisted_ts_us"]).take(at_dl), close_at)
    closing = pc.or_(changed, delisted)

    early = pc.and_(closing, pc.less_equal(close_at, current["valid_from_ts_us"]))
    if pc.any(early).as_py():
        rows = current.filter(early).append_column("close_at", pc.filter(close_at, early))
        listed = [
            f"({r['exchange']!r}, {r['exchange_symbol']!r}) opened at "
            f"{r['valid_from_ts_us']}, closing at {r['close_at']}"
            for r in rows.to_pylist()
        ]
        msg = (
            f"cannot close open windows at or before their start: {_list(listed)}; "
            "apply snapshots (and delistings) in time order"
        )
        raise DimSymbolError(msg)

    # Snapshot rows that open a window: new keys and changed ones.
    at_cur = pc.index_in(snap_keys, value_set=cur_keys)
    opening = _mask(pc.take(changed, at_cur), null=True)

    closed = current.filter(closing)
    closed = _replace(closed, "valid_until_ts_us", pc.filter(close_at, closing))
    closed = _replace(closed, "is_current", pa.repeat(False, len(closed)))
    closed = _replace(closed, "updated_at_ts_us", _full(now, len(closed)))
    new_attrs = snap.filter(opening)
    opened = _assemble(
        new_attrs,
        valid_from=_full(effective, len(new_attrs)),
        valid_until=_full(OPEN_END_TS_US, len(new_attrs)),
        updated_at=now,
    )
    result = pa.concat_tables(
        [untouched, history, current.filter(pc.invert(closing)), closed, opened]
    ).sort_by(_SORT_KEYS)
    validate(result)
    return result


def from_first_seen(first_seen: pa.Table, *, now_ts_us: int | None = None) -> pa.Table:
    """A dim with one open window per symbol, valid from its first event.

    ``first_seen`` has ``exchange, exchange_symbol, first_ts_us`` (a key given more than
    once uses its earliest time). The tracked columns take their defaults: the canonical
    symbol is the exchange symbol, the market type ``"unknown"``, the rest null.
    """
    now = _now(now_ts_us)
    source = "first_seen"
    needed = [*KEY_COLUMNS, "first_ts_us"]
    _require_columns(first_seen, needed, source=source)
    _reject_unknown_columns(first_seen, needed, source=source)
    seen = pa.table(
        {
            "exchange": _text_column(first_seen, "exchange", source=source),
            "exchange_symbol": _text_column(first_seen, "exchange_symbol", source=source),
            "first_ts_us": _int64_column(first_seen, "first_ts_us", source=source),
        }
    )
    _reject_nulls(seen, ["first_ts_us"], source)
    earliest = seen.group_by(list(KEY_COLUMNS), use_threads=False).aggregate(
        [("first_ts_us", "min")]
    )
    attrs = _normalise_snapshot(earliest.select(list(KEY_COLUMNS)), source=source)
    result = _assemble(
        attrs,
        valid_from=earliest["first_ts_us_min"],
        valid_until=_full(OPEN_END_TS_US, len(attrs)),
        updated_at=now,
    ).sort_by(_SORT_KEYS)
    validate(result)
    return result


# -------------------------------------------------------------------------- validate


def validate(dim: pa.Table) -> None:
    """Check the SCD2 invariants; raise :class:`DimSymbolError` listing every problem.

    Rejected: a schema other than DIM_SYMBOL's (names, order, types), nulls in required
    columns, ``valid_until_ts_us <= valid_from_ts_us``, ``is_current`` not equal to
    ``valid_until_ts_us == 2**63 - 1``, more than one current row per natural key,
    overlapping windows of one natural key, and duplicate ``symbol_id``.
    """
    problems = _schema_problems(dim)
    if problems:
        _raise_problems(problems)
    for name in DIM_SYMBOL.required_columns:
        nulls = dim[name].null_count
        if nulls:
            problems.append(f"column {name!r} has {nulls} null values")
    if problems:
        _raise_problems(problems)

    frm, until = dim["valid_from_ts_us"], dim["valid_until_ts_us"]
    empty = pc.less_equal(until, frm)
    if pc.any(empty).as_py():
        problems.append(
            "valid_until_ts_us <= valid_from_ts_us for "
            + _describe(dim.filter(empty), with_from=True, with_until=True)
        )
    flag_wrong = pc.not_equal(dim["is_current"], pc.equal(until, _i64(OPEN_END_TS_US)))
    if pc.any(flag_wrong).as_py():
        problems.append(
            "is_current disagrees with valid_until_ts_us == 2**63-1 for "
            + _describe(dim.filter(flag_wrong), with_from=True, with_until=True)
        )
    current_keys = _keys(dim.filter(dim["is_current"]))
    if len(current_keys):
        counts = pc.value_counts(current_keys)
        many = counts.filter(pc.greater(counts.field("counts"), _i64(1))).field("values")
        if len(many):
            problems.append(
                "more than one current row for "
                + _list(_split_keys(str(k) for k in many.to_pylist()))
            )
    ordered = dim.sort_by(_SORT_KEYS)
    if len(ordered) > 1:
        keys = _keys(ordered)
        same_key = pc.equal(keys[1:], keys[:-1])
        overlap = pc.and_(
            same_key, pc.less(ordered["valid_from_ts_us"][1:], ordered["valid_until_ts_us"][:-1])
        )
        if pc.any(overlap).as_py():
            mask = np.asarray(overlap.to_numpy(zero_copy_only=False), dtype=np.bool_)
            later = np.flatnonzero(mask) + 1
            earlier_rows = ordered.take(later - 1)
            later_rows = ordered.take(later)
            pairs = [
                f"({a['exchange']!r}, {a['exchange_symbol']!r}) "
                f"[{a['valid_from_ts_us']}, {a['valid_until_ts_us']}) and "
                f"[{b['valid_from_ts_us']}, {b['valid_until_ts_us']})"
                for a, b in zip(earlier_rows.to_pylist(), later_rows.to_pylist(), strict=True)
            ]
            problems.append("overlapping windows: " + _list(pairs))
    if len(dim):
        id_counts = pc.value_counts(dim["symbol_id"])
        dup = id_counts.filter(pc.greater(id_counts.field("counts"), _i64(1))).field("values")
        if len(dup):
            rows = dim.filter(pc.is_in(dim["symbol_id"], value_set=dup))
            listed = [
                f"{r['symbol_id']} ({r['exchange']!r}, {r['exchange_symbol']!r}, "
                f"from {r['valid_from_ts_us']})"
                for r in rows.sort_by([("symbol_id", "ascending")]).to_pylist()
            ]
            problems.append("duplicate symbol_id: " + _list(listed))
    if problems:
        _raise_problems(problems)


# ----------------------------------------------------------------------------- files


def read_dim_file(path: str | Path, *, now_ts_us: int | None = None) -> pa.Table:
    """Import a whole dim_symbol history from ``.csv``, ``.csv.gz`` or ``.parquet``.

    Required columns: ``exchange, exchange_symbol, valid_from_ts_us, valid_until_ts_us``
    (an empty/null ``valid_until_ts_us`` is the open end ``2**63 - 1``); the tracked
    columns are optional with the snapshot defaults. In CSV the sizes are decimal text
    (``0.1``); in Parquet they are int64 fixed point at 10^9 or decimal text. A
    ``symbol_id`` column is trusted when present (uniqueness is validated), else computed;
    ``is_current`` is derived from ``valid_until_ts_us`` (a present column must agree);
    ``updated_at_ts_us`` is ``now_ts_us`` (default: the clock). The result is validated.
    """
    where = str(path)
    source = "dim file"
    now = _now(now_ts_us)
    raw = _read_table(Path(path))
    allowed = [*SNAPSHOT_COLUMNS, *_WINDOW_COLUMNS, "symbol_id", "is_current", "updated_at_ts_us"]
    try:
        _require_columns(raw, [*KEY_COLUMNS, *_WINDOW_COLUMNS], source=source)
        _reject_unknown_columns(raw, allowed, source=source)
        attrs = _normalise_snapshot(
            raw.select([c for c in SNAPSHOT_COLUMNS if c in raw.column_names]), source=source
        )
        frm = _int64_column(raw, "valid_from_ts_us", source=source)
        _reject_nulls(attrs.append_column("valid_from_ts_us", frm), ["valid_from_ts_us"], source)
        until = _int64_column(raw, "valid_until_ts_us", source=source).fill_null(OPEN_END_TS_US)
        ids = (
            _int64_column(raw, "symbol_id", source=source)
            if "symbol_id" in raw.column_names
            else None
        )
        if ids is not None:
            _reject_nulls(attrs.append_column("symbol_id", ids), ["symbol_id"], source)
        dim = _assemble(attrs, valid_from=frm, valid_until=until, updated_at=now, ids=ids)
        if "is_current" in raw.column_names:
            given: pa.ChunkedArray[Any] | pa.Array[Any] = raw["is_current"]
            if not pa.types.is_boolean(given.type):
                given = _cast(given, pa.bool_(), "is_current", source)
            wrong = _mask(pc.not_equal(given, dim["is_current"]))
            if pc.any(wrong).as_py():
                msg = (
                    "is_current disagrees with valid_until_ts_us (open end = empty or "
                    f"2**63-1) for {_describe(dim.filter(wrong), with_from=True)}"
                )
                raise DimSymbolError(msg)
        dim = dim.sort_by(_SORT_KEYS)
        validate(dim)
    except PointlineError as exc:
        raise exc.with_context(file=where) from None
    return dim


def read_snapshot(path: str | Path) -> pa.Table:
    """Read a snapshot (an instrument list) from ``.csv``, ``.csv.gz`` or ``.parquet``.

    Returns the normalised snapshot (columns :data:`SNAPSHOT_COLUMNS`, defaults filled,
    sizes as int64 fixed point), ready for :func:`bootstrap` or :func:`upsert`.
    """
    where = str(path)
    source = "snapshot file"
    raw = _read_table(Path(path))
    try:
        _reject_unknown_columns(raw, SNAPSHOT_COLUMNS, source=source)
        snap = _normalise_snapshot(raw, source=source)
        _reject_duplicate_keys(snap, source=source)
    except PointlineError as exc:
        raise exc.with_context(file=where) from None
    return snap


def _read_table(path: Path) -> pa.Table:
    name = path.name.lower()
    if not path.is_file():
        msg = "no such file (expected a .csv, .csv.gz or .parquet dim_symbol file)"
        raise DimSymbolError(msg, file=str(path))
    try:
        if name.endswith(".parquet"):
            return pq.read_table(path)
        if name.endswith((".csv", ".csv.gz")):
            string_columns = ["exchange", "exchange_symbol", *TRACKED_COLUMNS]
            int_columns = [*_WINDOW_COLUMNS, "symbol_id", "updated_at_ts_us"]
            types: dict[str, pa.DataType] = {c: pa.string() for c in string_columns}
            types.update({c: pa.int64() for c in int_columns})
            types["is_current"] = pa.bool_()
            return pacsv.read_csv(
                path,
                convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=True),
            )
    except (pa.ArrowInvalid, OSError) as exc:
        msg = f"cannot read the file: {exc}"
        raise DimSymbolError(msg, file=str(path)) from exc
    msg = f"unsupported file type {path.name!r}; give a .csv, .csv.gz or .parquet file"
    raise DimSymbolError(msg, file=str(path))


# ----------------------------------------------------------------------------- store


class DimSymbolStore:
    """dim_symbol versions in ``directory``, one Parquet file per version.

    Files are named ``<20-digit version>.parquet`` from version 1. A save names the version
    it read (``expected_version``); it is published put-if-absent (temp file, fsync,
    ``os.link``, which fails if the version exists), so a version is never overwritten and
    a stale save raises :class:`StaleDimSymbolError` without writing anything.

    >>> import tempfile
    >>> store = DimSymbolStore(tempfile.mkdtemp())
    >>> store.load()[0]
    0
    >>> store.save(empty_dim(), expected_version=0)
    1
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def versions(self) -> list[int]:
        """Every saved version, ascending."""
        if not self.directory.is_dir():
            return []
        found = (_VERSION_FILE.match(entry.name) for entry in self.directory.iterdir())
        return sorted(int(m.group(1)) for m in found if m)

    def latest_version(self) -> int:
        """The newest version, 0 when nothing is saved."""
        versions = self.versions()
        return versions[-1] if versions else 0

    def path_of(self, version: int) -> Path:
        return self.directory / f"{version:020d}.parquet"

    def load(self, version: int | None = None) -> tuple[int, pa.Table]:
        """``(version, dim)`` of the newest (or the given) version; ``(0, empty)`` if none."""
        wanted = self.latest_version() if version is None else version
        if wanted == 0:
            return 0, empty_dim()
        path = self.path_of(wanted)
        try:
            table = pq.read_table(path)
        except (pa.ArrowInvalid, OSError) as exc:
            msg = f"cannot read dim_symbol version {wanted}: {exc}"
            raise DimSymbolError(msg, file=str(path)) from exc
        try:
            return wanted, _conform(table, source=f"dim_symbol version {wanted}")
        except PointlineError as exc:
            raise exc.with_context(file=str(path)) from None

    def save(self, dim: pa.Table, *, expected_version: int) -> int:
        """Validate ``dim`` and write it as version ``expected_version + 1``; return that.

        Raises :class:`StaleDimSymbolError` (and writes nothing) when a newer version than
        ``expected_version`` exists, including one saved concurrently.
        """
        if isinstance(expected_version, bool) or not isinstance(expected_version, int):
            msg = f"expected_version must be an int >= 0, got {expected_version!r}"
            raise DimSymbolError(msg)
        if expected_version < 0:
            msg = f"expected_version must be >= 0, got {expected_version}"
            raise DimSymbolError(msg)
        table = _conform(dim, source="dim").sort_by(_SORT_KEYS)
        validate(table)
        latest = self.latest_version()
        if latest != expected_version:
            raise _stale(expected_version, latest, self.directory)
        version = expected_version + 1
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        self.directory.mkdir(parents=True, exist_ok=True)
        if not publish_exclusive(self.directory, self.path_of(version).name, sink.getvalue()):
            raise _stale(expected_version, self.latest_version(), self.directory)
        return version


def _stale(expected: int, latest: int, directory: Path) -> StaleDimSymbolError:
    msg = (
        f"stale dim_symbol save: expected version {expected} but version {latest} exists; "
        "load the latest version, re-apply the change and save again"
    )
    return StaleDimSymbolError(msg, file=str(directory))


# --------------------------------------------------------------------------- helpers


def _now(now_ts_us: int | None) -> int:
    return time.time_ns() // 1000 if now_ts_us is None else _as_ts(now_ts_us, "now_ts_us")


def _as_ts(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        msg = f"{name} must be an int (us since the epoch), got {value!r}"
        raise DimSymbolError(msg)
    ts = int(value)
    if not -(2**63) <= ts < OPEN_END_TS_US:
        msg = f"{name} must be in int64 and below 2**63-1, got {ts}"
        raise DimSymbolError(msg)
    return ts


def _keys(table: pa.Table) -> pa.Array[Any]:
    """One string per row: ``exchange NUL exchange_symbol`` (the natural key)."""
    exchange: Any = table["exchange"]
    joined: Any = pc.binary_join_element_wise(
        exchange, table["exchange_symbol"], pa.scalar(_KEY_SEPARATOR)
    )
    return _chunk(joined)


def _full(value: int, n: int) -> pa.Array[Any]:
    """An int64 array of ``n`` copies of ``value``."""
    return pa.array(np.full(n, value, dtype=np.int64), type=pa.int64())


def _mask(values: Any, *, null: bool = False) -> pa.Array[Any]:
    """A boolean array with nulls replaced by ``null``."""
    filled: Any = pc.fill_null(values, pa.scalar(null))
    return _chunk(filled)


def _numpy_mask(mask: pa.Array[Any]) -> npt.NDArray[np.bool_]:
    return np.asarray(mask.to_numpy(zero_copy_only=False), dtype=np.bool_)


def _i64(value: int) -> pa.Scalar[Any]:
    return pa.scalar(value, pa.int64())


def _indices(positions: pa.Array[Any]) -> pa.Array[Any]:
    """Positions from ``index_in`` with nulls (no match) made 0, for a harmless take."""
    filled: Any = pc.fill_null(positions, _i64(0))
    return _chunk(filled)


def _split_keys(keys: Iterable[str]) -> list[str]:
    out = []
    for key in keys:
        exchange, _, symbol = key.partition(_KEY_SEPARATOR)
        out.append(f"({exchange!r}, {symbol!r})")
    return out


def _list(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_MAX_LISTED])
    more = len(items) - _MAX_LISTED
    return f"{shown} and {more} more" if more > 0 else shown


def _describe(table: pa.Table, *, with_from: bool = False, with_until: bool = False) -> str:
    items = []
    for row in table.to_pylist():
        text = f"({row['exchange']!r}, {row['exchange_symbol']!r}"
        if with_from:
            text += f", from {row['valid_from_ts_us']}"
        if with_until:
            text += f", until {row['valid_until_ts_us']}"
        items.append(text + ")")
    return _list(items)


def _raise_problems(problems: list[str]) -> None:
    header = (
        "dim_symbol is invalid"
        if len(problems) == 1
        else (f"dim_symbol is invalid ({len(problems)} problems)")
    )
    raise DimSymbolError(header + ": " + "; ".join(problems))


def _schema_problems(dim: pa.Table) -> list[str]:
    if not isinstance(dim, pa.Table):
        return [f"expected a pyarrow.Table, got {type(dim).__name__}"]
    want = [(f.name, f.type) for f in DIM_SCHEMA]
    got = [(f.name, f.type) for f in dim.schema]
    if got == want:
        return []
    missing = [n for n, _ in want if n not in dim.column_names]
    extra = [n for n in dim.column_names if n not in DIM_SCHEMA.names]
    details = []
    if missing:
        details.append(f"missing columns {missing}")
    if extra:
        details.append(f"unknown columns {extra}")
    wrong = [
        f"{n} is {dim.schema.field(n).type}, not {t}"
        for n, t in want
        if n in dim.column_names and dim.schema.field(n).type != t
    ]
    if wrong:
        details.append("wrong types: " + ", ".join(wrong))
    if not details:
        details.append(f"columns out of order: {dim.column_names}, expected {DIM_SCHEMA.names}")
    return ["schema mismatch: " + "; ".join(details)]


def _conform(dim: pa.Table, *, source: str) -> pa.Table:
    """``dim`` with exactly DIM_SCHEMA (names, order and types must already match)."""
    problems = _schema_problems(dim)
    if problems:
        msg = f"{source} {problems[0]}"
        raise DimSymbolError(msg)
    return pa.Table.from_arrays(
        [dim[name].combine_chunks() for name in DIM_SCHEMA.names], schema=DIM_SCHEMA
    )


def _require_columns(table: pa.Table, names: Sequence[str], *, source: str) -> None:
    missing = [n for n in names if n not in table.column_names]
    if missing:
        msg = f"{source} is missing required columns {missing}; it has {table.column_names}"
        raise DimSymbolError(msg)


def _reject_unknown_columns(table: pa.Table, allowed: Sequence[str], *, source: str) -> None:
    unknown = [n for n in table.column_names if n not in allowed]
    if unknown:
        msg = f"{source} has unknown columns {unknown}; allowed columns: {list(allowed)}"
        raise DimSymbolError(msg)
    dupes = sorted({n for n in table.column_names if table.column_names.count(n) > 1})
    if dupes:
        msg = f"{source} repeats columns {dupes}"
        raise DimSymbolError(msg)


def _reject_nulls(table: pa.Table, names: Sequence[str], source: str) -> None:
    for name in names:
        col = table[name]
        if col.null_count:
            rows = np.flatnonzero(
                np.asarray(pc.is_null(col).to_numpy(zero_copy_only=False), dtype=np.bool_)
            )
            msg = f"{source} column {name!r} is empty in rows {_list([str(r + 1) for r in rows])}"
            raise DimSymbolError(msg)


def _cast(
    column: pa.ChunkedArray[Any] | pa.Array[Any], to: pa.DataType, name: str, source: str
) -> pa.ChunkedArray[Any] | pa.Array[Any]:
    try:
        return pc.cast(column, to)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        msg = f"{source} column {name!r} of type {column.type} cannot be read as {to}: {exc}"
        raise DimSymbolError(msg) from exc


def _is_text(t: pa.DataType) -> bool:
    return (
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_string_view(t)
        or (pa.types.is_dictionary(t) and _is_text(t.value_type))
    )


def _text_column(table: pa.Table, name: str, *, source: str) -> pa.Array[Any]:
    col = table[name]
    if pa.types.is_null(col.type):
        return pa.nulls(len(table), pa.string())
    if not _is_text(col.type):
        msg = f"{source} column {name!r} must be text, got {col.type}"
        raise DimSymbolError(msg)
    return _chunk(_cast(col, pa.string(), name, source))


def _int64_column(table: pa.Table, name: str, *, source: str) -> pa.Array[Any]:
    col = table[name]
    if pa.types.is_null(col.type):
        return pa.nulls(len(table), pa.int64())
    if not pa.types.is_integer(col.type):
        msg = f"{source} column {name!r} must be an integer (us since the epoch), got {col.type}"
        raise DimSymbolError(msg)
    return _chunk(_cast(col, pa.int64(), name, source))


def _chunk(col: pa.ChunkedArray[Any] | pa.Array[Any]) -> pa.Array[Any]:
    return col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col


def _fixed_point_column(table: pa.Table, name: str, *, source: str) -> pa.Array[Any]:
    col = table[name]
    if pa.types.is_null(col.type):
        return pa.nulls(len(table), pa.int64())
    if pa.types.is_integer(col.type):
        return _chunk(_cast(col, pa.int64(), name, source))
    if not _is_text(col.type):
        msg = (
            f"{source} column {name!r} is {col.type}; give int64 fixed point at 10^9 or "
            "decimal text (no floats: 0.1 is not exact in binary)"
        )
        raise DimSymbolError(msg)
    text = _chunk(_cast(col, pa.string(), name, source))
    parsed = parse_fixed_point(text)
    bad = parsed.unparseable | parsed.out_of_range
    if bad.any():
        rows = np.flatnonzero(bad)
        shown = [
            f"{text[int(r)].as_py()!r} for ({table['exchange'][int(r)].as_py()!r}, "
            f"{table['exchange_symbol'][int(r)].as_py()!r})"
            for r in rows
        ]
        msg = (
            f"{source} column {name!r} has values that are not decimal numbers "
            f"within int64 at 10^9: {_list(shown)}"
        )
        raise DimSymbolError(msg)
    return parsed.values


def _normalise_snapshot(snapshot: pa.Table, *, source: str) -> pa.Table:
    """The snapshot with exactly SNAPSHOT_COLUMNS: types fixed, defaults filled."""
    if not isinstance(snapshot, pa.Table):
        msg = f"{source} must be a pyarrow.Table, got {type(snapshot).__name__}"
        raise DimSymbolError(msg)
    _require_columns(snapshot, KEY_COLUMNS, source=source)
    n = len(snapshot)
    exchange = _text_column(snapshot, "exchange", source=source)
    symbol = _text_column(snapshot, "exchange_symbol", source=source)
    for name, col in (("exchange", exchange), ("exchange_symbol", symbol)):
        blank = _mask(pc.equal(col, pa.scalar("")), null=True)
        if pc.any(blank).as_py():
            rows = np.flatnonzero(_numpy_mask(blank))
            msg = f"{source} column {name!r} is empty in rows {_list([str(r + 1) for r in rows])}"
            raise DimSymbolError(msg)
    present = set(snapshot.column_names)
    keyed = pa.table({"exchange": exchange, "exchange_symbol": symbol})
    for name in _FIXED_POINT_COLUMNS:
        if name in present:
            keyed = keyed.append_column(name, snapshot[name])
    columns: dict[str, pa.Array[Any]] = {"exchange": exchange, "exchange_symbol": symbol}
    for name in ("canonical_symbol", "market_type", "base_asset", "quote_asset"):
        columns[name] = (
            _text_column(snapshot, name, source=source)
            if name in present
            else pa.nulls(n, pa.string())
        )
    columns["canonical_symbol"] = pc.coalesce(columns["canonical_symbol"], symbol)
    columns["market_type"] = pc.coalesce(
        columns["market_type"], pa.repeat(pa.scalar(_DEFAULT_MARKET_TYPE), n)
    )
    for name in _FIXED_POINT_COLUMNS:
        columns[name] = (
            _fixed_point_column(keyed, name, source=source)
            if name in present
            else pa.nulls(n, pa.int64())
        )
    return pa.table(columns, schema=DIM_SYMBOL.select(SNAPSHOT_COLUMNS))


def _reject_duplicate_keys(snap: pa.Table, *, source: str) -> None:
    if not len(snap):
        return
    counts = pc.value_counts(_keys(snap))
    dup = counts.filter(pc.greater(counts.field("counts"), _i64(1))).field("values")
    if len(dup):
        keys = _split_keys(str(k) for k in dup.to_pylist())
        msg = f"{source} lists these symbols more than once: {_list(keys)}"
        raise DimSymbolError(msg)


def _normalise_delistings(delistings: pa.Table) -> pa.Table:
    source = "delistings"
    needed = [*KEY_COLUMNS, "delisted_ts_us"]
    _require_columns(delistings, needed, source=source)
    _reject_unknown_columns(delistings, needed, source=source)
    table = pa.table(
        {
            "exchange": _text_column(delistings, "exchange", source=source),
            "exchange_symbol": _text_column(delistings, "exchange_symbol", source=source),
            "delisted_ts_us": _int64_column(delistings, "delisted_ts_us", source=source),
        }
    )
    _reject_nulls(table, needed, source)
    _reject_duplicate_keys(table, source=source)
    return table


def _differs(current: pa.Table, snap: pa.Table) -> pa.Array[Any]:
    """Per row: whether any tracked column differs (null vs value counts, null vs null not)."""
    differs = pa.repeat(False, len(current))
    for name in TRACKED_COLUMNS:
        a, b = current[name], snap[name]
        same = pc.fill_null(pc.equal(a, b), pc.and_(pc.is_null(a), pc.is_null(b)))
        differs = pc.or_(differs, pc.invert(same))
    return _chunk(differs)


def _replace(table: pa.Table, name: str, values: pa.Array[Any] | pa.ChunkedArray[Any]) -> pa.Table:
    index = table.schema.get_field_index(name)
    return table.set_column(index, table.schema.field(index), values)


def _assemble(
    attrs: pa.Table,
    *,
    valid_from: pa.Array[Any] | pa.ChunkedArray[Any],
    valid_until: pa.Array[Any] | pa.ChunkedArray[Any],
    updated_at: int,
    ids: pa.Array[Any] | None = None,
) -> pa.Table:
    """A dim table from normalised snapshot columns and window bounds."""
    n = len(attrs)
    until = _chunk(valid_until)
    columns: dict[str, Any] = {
        "symbol_id": symbol_ids(attrs["exchange"], attrs["exchange_symbol"], valid_from)
        if ids is None
        else ids,
        **{name: attrs[name] for name in SNAPSHOT_COLUMNS},
        "valid_from_ts_us": _chunk(valid_from),
        "valid_until_ts_us": until,
        "is_current": pc.equal(until, _i64(OPEN_END_TS_US)),
        "updated_at_ts_us": _full(updated_at, n),
    }
    return pa.Table.from_arrays(
        [_chunk(columns[name]) for name in DIM_SCHEMA.names], schema=DIM_SCHEMA
    )
