"""SCD2 logic: window ids, bootstrap, upsert, windows from first sightings, validation.

Every function returns a table with exactly :data:`~pointline.dim_symbol.model.DIM_SCHEMA`,
sorted by ``(exchange, exchange_symbol, valid_from_ts_us)`` and validated; times are
int64 microseconds since the epoch, the open end is ``2**63 - 1``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, Final, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pointline.arrays import as_array, filled_mask, full_int64, int64_scalar, numpy_mask
from pointline.dim_symbol.coerce import (
    as_ts,
    conform,
    keyed_times,
    normalise_delistings,
    normalise_snapshot,
    now_us,
    reject_duplicate_keys,
    reject_empty,
    reject_unknown_columns,
    schema_problems,
)
from pointline.dim_symbol.model import (
    DIM_SCHEMA,
    KEY_COLUMNS,
    OPEN_END_TS_US,
    SNAPSHOT_COLUMNS,
    SORT_KEYS,
    TRACKED_COLUMNS,
    UNTRACKED_COLUMNS,
    DimSymbolError,
    describe,
    listing,
    natural_keys,
    repeated,
    split_keys,
)
from pointline.schemas.dimensions import DIM_SYMBOL

__all__ = [
    "assemble",
    "bootstrap",
    "changed_keys",
    "empty_dim",
    "from_first_seen",
    "merge_windows",
    "symbol_id",
    "symbol_ids",
    "upsert",
    "validate",
]


_KEY_SEP: Final = "\x00"

# ------------------------------------------------------------------------------- ids


def symbol_id(exchange: str, exchange_symbol: str, valid_from_ts_us: int) -> int:
    """The id of one window: blake2b of ``exchange|exchange_symbol|valid_from_ts_us``.

    The first 8 bytes of the digest as a little-endian signed int64.

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
    """:func:`symbol_id` of every row (hashlib has no vectorised form; dims are small).

    The three inputs have one entry per row (``ValueError`` if their lengths differ).
    """
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
    """A new dim: every snapshot row opens a window ``[effective_ts_us, 2**63 - 1)``.

    Same checks and errors as :func:`upsert` on an empty dim.
    """
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

    Raises :class:`DimSymbolError` for a bad snapshot, dim or delistings table (unknown
    or mistyped columns, empty keys, repeated keys), a window that would close at or
    before its start, and a result that fails :func:`validate`.
    """
    now = now_us(now_ts_us)
    effective = as_ts(effective_ts_us, "effective_ts_us")
    if isinstance(snapshot, pa.Table):
        reject_unknown_columns(snapshot, SNAPSHOT_COLUMNS, source="snapshot")
    snap = normalise_snapshot(snapshot, source="snapshot")
    reject_duplicate_keys(snap, source="snapshot")
    base = conform(dim, source="dim")

    exchanges = pc.unique(snap["exchange"])
    in_scope = pc.is_in(base["exchange"], value_set=exchanges)
    scoped = base.filter(in_scope)
    history = scoped.filter(pc.invert(scoped["is_current"]))
    current = scoped.filter(scoped["is_current"])

    cur_keys = natural_keys(current)
    snap_keys = natural_keys(snap)
    at_snap = pc.index_in(cur_keys, value_set=snap_keys)  # snapshot row of each current row
    in_snap = pc.is_valid(at_snap)
    differs = _differs(current, snap.take(_indices(at_snap)))
    changed = pc.and_(in_snap, differs)
    missing = pc.invert(in_snap)

    # Current rows that close, and when: changed ones and delisted missing ones.
    close_at: pa.Array[Any] = full_int64(effective, len(current))
    if delistings is None:
        delisted = missing
    else:
        dl = normalise_delistings(delistings)
        dl_keys = natural_keys(dl)
        conflict = pc.is_in(dl_keys, value_set=snap_keys)
        if pc.any(conflict).as_py():
            msg = (
                f"delistings name symbols that are in the snapshot: "
                f"{describe(dl.filter(conflict))}; a listed symbol cannot be delisted"
            )
            raise DimSymbolError(msg)
        at_dl = pc.index_in(cur_keys, value_set=dl_keys)
        delisted = pc.and_(missing, pc.is_valid(at_dl))
        close_at = pc.coalesce(as_array(dl["delisted_ts_us"]).take(at_dl), close_at)
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
            f"cannot close open windows at or before their start: {listing(listed)}; "
            "apply snapshots (and delistings) in time order"
        )
        raise DimSymbolError(msg)

    # Snapshot rows that open a window: new keys and changed ones.
    at_cur = pc.index_in(snap_keys, value_set=cur_keys)
    opening = filled_mask(pc.take(changed, at_cur), null=True)

    closed = current.filter(closing)
    closed = _replace(closed, "valid_until_ts_us", pc.filter(close_at, closing))
    closed = _replace(closed, "is_current", pa.repeat(False, len(closed)))
    new_attrs = snap.filter(opening)
    opened = assemble(
        new_attrs,
        valid_from=full_int64(effective, len(new_attrs)),
        valid_until=full_int64(OPEN_END_TS_US, len(new_attrs)),
        updated_at=now,
    )
    # Open windows the snapshot lists unchanged take its untracked values (latest wins;
    # a null in the snapshot keeps the old value).
    kept = current.filter(pc.invert(closing))
    kept_at: pa.Array[Any] = as_array(pc.filter(at_snap, pc.invert(closing)))
    in_snapshot = snap.take(kept_at)
    for name in UNTRACKED_COLUMNS:
        given = pc.coalesce(in_snapshot[name], kept[name])
        latest = pc.if_else(pc.is_valid(kept_at), given, kept[name])
        kept = _replace(kept, name, latest)
    return merge_windows(
        base,
        pa.concat_tables([history, kept, closed, opened]),
        exchanges=[str(e) for e in exchanges.to_pylist()],
        now_ts_us=now,
    )


def merge_windows(
    dim: pa.Table,
    windows: pa.Table,
    *,
    exchanges: Sequence[str] | None = None,
    now_ts_us: int | None = None,
) -> pa.Table:
    """The window merge (docs/contracts.md section 5): ``windows`` replace the windows of
    ``dim`` inside a scope; nothing outside it moves.

    The scope is the natural keys ``windows`` carries (an instrument source such as the
    Tardis instruments or a bootstrap), or, with ``exchanges``, every key of those
    exchanges (a source that lists a whole market, which so also removes the keys it no
    longer lists). Both tables have DIM_SCHEMA. A new window with the same key and
    ``valid_from_ts_us`` as an old one keeps the old ``symbol_id`` (ids are a function of
    the window start, so only an imported custom id could differ), and one equal to the
    old window in every column but ``updated_at_ts_us`` is the old row itself; other new
    rows get ``updated_at_ts_us`` = ``now_ts_us`` (default: the clock).

    Raises :class:`DimSymbolError` for a bad schema, ``windows`` outside ``exchanges``, and a
    result that fails :func:`validate`.

    >>> old = from_first_seen(pa.table({"exchange": ["x", "x"], "exchange_symbol": ["A", "B"],
    ...                                 "first_ts_us": [0, 0]}), now_ts_us=1)
    >>> new = from_first_seen(pa.table({"exchange": ["x"], "exchange_symbol": ["A"],
    ...                                 "first_ts_us": [50]}), now_ts_us=2)
    >>> merged = merge_windows(old, new, now_ts_us=3)
    >>> merged.select(["exchange_symbol", "valid_from_ts_us", "updated_at_ts_us"]).to_pylist()
    ... # doctest: +NORMALIZE_WHITESPACE
    [{'exchange_symbol': 'A', 'valid_from_ts_us': 50, 'updated_at_ts_us': 3},
     {'exchange_symbol': 'B', 'valid_from_ts_us': 0, 'updated_at_ts_us': 1}]
    """
    now = now_us(now_ts_us)
    base = conform(dim, source="dim")
    new = conform(windows, source="windows")
    if exchanges is None:
        in_scope = pc.is_in(natural_keys(base), value_set=natural_keys(new))
    else:
        names = pa.array(sorted(set(exchanges)), pa.string())
        outside = pc.invert(pc.is_in(new["exchange"], value_set=names))
        if pc.any(outside).as_py():
            msg = (
                f"windows outside the exchanges {names.to_pylist()} of the merge: "
                f"{describe(new.filter(outside))}"
            )
            raise DimSymbolError(msg)
        in_scope = pc.is_in(base["exchange"], value_set=names)
    old = base.filter(in_scope)
    # Each new window's old twin: same key and start.
    at_old: pa.Array[Any] = pc.index_in(_window_keys(new), value_set=_window_keys(old))
    twin = old.take(at_old)  # null where no twin
    has_twin = as_array(pc.is_valid(at_old))
    ids = pc.if_else(has_twin, twin["symbol_id"], new["symbol_id"])
    new = _replace(new, "symbol_id", ids)
    same: Any = has_twin
    for name in DIM_SCHEMA.names:
        if name != "updated_at_ts_us":
            a, b = new[name], twin[name]
            equal = pc.fill_null(pc.equal(a, b), pc.and_(pc.is_null(a), pc.is_null(b)))
            same = pc.and_(same, equal)
    updated = pc.if_else(same, twin["updated_at_ts_us"], full_int64(now, len(new)))
    new = _replace(new, "updated_at_ts_us", updated)
    result = pa.concat_tables([base.filter(pc.invert(in_scope)), new]).sort_by(SORT_KEYS)
    validate(result)
    return result


def _window_keys(dim: pa.Table) -> pa.Array[Any]:
    """``exchange NUL exchange_symbol NUL valid_from_ts_us`` per row: a window's identity."""
    starts: Any = pc.cast(dim["valid_from_ts_us"], pa.string())
    joined: Any = pc.binary_join_element_wise(natural_keys(dim), starts, _KEY_SEP)
    return as_array(joined)


def changed_keys(before: pa.Table, after: pa.Table) -> set[tuple[str, str]]:
    """The natural keys whose windows (start, end, ``symbol_id``) differ between two dims:
    the only columns a point-in-time join reads, so rows of other keys join the same.

    >>> dim = from_first_seen(pa.table({"exchange": ["x"], "exchange_symbol": ["A"],
    ...                                 "first_ts_us": [0]}))
    >>> changed_keys(dim, dim), changed_keys(empty_dim(), dim)
    (set(), {('x', 'A')})
    """
    columns = [*KEY_COLUMNS, "valid_from_ts_us", "valid_until_ts_us", "symbol_id"]

    def windows(dim: pa.Table) -> set[tuple[Any, ...]]:
        return set(zip(*(dim[name].to_pylist() for name in columns), strict=True))

    differ = windows(before) ^ windows(after)
    return {(str(w[0]), str(w[1])) for w in differ}


def from_first_seen(first_seen: pa.Table, *, now_ts_us: int | None = None) -> pa.Table:
    """A dim with one open window per symbol, valid from its first event.

    ``first_seen`` has exactly ``exchange, exchange_symbol, first_ts_us`` (a key given
    more than once uses its earliest time; ``first_ts_us`` in us since the epoch, no
    nulls). The tracked columns take their defaults: the canonical symbol is the exchange
    symbol, the market type ``"unknown"``, the rest null. Raises :class:`DimSymbolError`
    for missing, unknown or mistyped columns, empty values or an invalid result.
    """
    now = now_us(now_ts_us)
    source = "first_seen"
    seen = keyed_times(first_seen, "first_ts_us", source=source)
    reject_empty({"first_ts_us": seen["first_ts_us"]}, source=source)
    earliest = seen.group_by(list(KEY_COLUMNS), use_threads=False).aggregate(
        [("first_ts_us", "min")]
    )
    attrs = normalise_snapshot(earliest.select(list(KEY_COLUMNS)), source=source)
    result = assemble(
        attrs,
        valid_from=earliest["first_ts_us_min"],
        valid_until=full_int64(OPEN_END_TS_US, len(attrs)),
        updated_at=now,
    ).sort_by(SORT_KEYS)
    validate(result)
    return result


def assemble(
    attrs: pa.Table,
    *,
    valid_from: pa.Array[Any] | pa.ChunkedArray[Any],
    valid_until: pa.Array[Any] | pa.ChunkedArray[Any],
    updated_at: int,
    ids: pa.Array[Any] | None = None,
) -> pa.Table:
    """A dim table (DIM_SCHEMA, input order, not validated) from windows and attributes.

    ``attrs`` is a normalised snapshot (SNAPSHOT_COLUMNS); ``valid_from``/``valid_until``
    are int64 us, one per row; ``is_current`` is derived (``valid_until == 2**63 - 1``),
    ``updated_at_ts_us`` is ``updated_at`` on every row and ``symbol_id`` is ``ids`` or,
    when None, :func:`symbol_ids` of the windows.
    """
    n = len(attrs)
    until = as_array(valid_until)
    columns: dict[str, Any] = {
        "symbol_id": symbol_ids(attrs["exchange"], attrs["exchange_symbol"], valid_from)
        if ids is None
        else ids,
        **{name: attrs[name] for name in SNAPSHOT_COLUMNS},
        "valid_from_ts_us": as_array(valid_from),
        "valid_until_ts_us": until,
        "is_current": pc.equal(until, int64_scalar(OPEN_END_TS_US)),
        "updated_at_ts_us": full_int64(updated_at, n),
    }
    return pa.Table.from_arrays(
        [as_array(columns[name]) for name in DIM_SCHEMA.names], schema=DIM_SCHEMA
    )


# -------------------------------------------------------------------------- validate


def validate(dim: pa.Table) -> None:
    """Check the SCD2 invariants; raise :class:`DimSymbolError` listing every problem.

    Rejected: a schema other than DIM_SYMBOL's (names, order, types), nulls in required
    columns, ``valid_until_ts_us <= valid_from_ts_us``, ``is_current`` not equal to
    ``valid_until_ts_us == 2**63 - 1``, more than one current row per natural key,
    overlapping windows of one natural key, and duplicate ``symbol_id``.
    """
    problems = schema_problems(dim)
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
            + describe(dim.filter(empty), with_from=True, with_until=True)
        )
    flag_wrong = pc.not_equal(dim["is_current"], pc.equal(until, int64_scalar(OPEN_END_TS_US)))
    if pc.any(flag_wrong).as_py():
        problems.append(
            "is_current disagrees with valid_until_ts_us == 2**63-1 for "
            + describe(dim.filter(flag_wrong), with_from=True, with_until=True)
        )
    many = repeated(natural_keys(dim.filter(dim["is_current"])))
    if len(many):
        problems.append(
            "more than one current row for " + listing(split_keys(str(k) for k in many.to_pylist()))
        )
    ordered = dim.sort_by(SORT_KEYS)
    if len(ordered) > 1:
        keys = natural_keys(ordered)
        same_key = pc.equal(keys[1:], keys[:-1])
        overlap = pc.and_(
            same_key, pc.less(ordered["valid_from_ts_us"][1:], ordered["valid_until_ts_us"][:-1])
        )
        if pc.any(overlap).as_py():
            later = np.flatnonzero(numpy_mask(overlap)) + 1
            earlier_rows = ordered.take(later - 1)
            later_rows = ordered.take(later)
            pairs = [
                f"({a['exchange']!r}, {a['exchange_symbol']!r}) "
                f"[{a['valid_from_ts_us']}, {a['valid_until_ts_us']}) and "
                f"[{b['valid_from_ts_us']}, {b['valid_until_ts_us']})"
                for a, b in zip(earlier_rows.to_pylist(), later_rows.to_pylist(), strict=True)
            ]
            problems.append("overlapping windows: " + listing(pairs))
    dup = repeated(dim["symbol_id"])
    if len(dup):
        rows = dim.filter(pc.is_in(dim["symbol_id"], value_set=dup))
        listed = [
            f"{r['symbol_id']} ({r['exchange']!r}, {r['exchange_symbol']!r}, "
            f"from {r['valid_from_ts_us']})"
            for r in rows.sort_by([("symbol_id", "ascending")]).to_pylist()
        ]
        problems.append("duplicate symbol_id: " + listing(listed))
    if problems:
        _raise_problems(problems)


# --------------------------------------------------------------------------- helpers


def _raise_problems(problems: list[str]) -> None:
    header = (
        "dim_symbol is invalid"
        if len(problems) == 1
        else (f"dim_symbol is invalid ({len(problems)} problems)")
    )
    raise DimSymbolError(header + ": " + "; ".join(problems))


def _indices(positions: pa.Array[Any]) -> pa.Array[Any]:
    """Positions from ``index_in`` with nulls (no match) made 0, for a harmless take."""
    filled: Any = pc.fill_null(positions, int64_scalar(0))
    return as_array(filled)


def _differs(current: pa.Table, snap: pa.Table) -> pa.Array[Any]:
    """Per row: whether any tracked column differs (null vs value counts, null vs null not)."""
    differs = pa.repeat(False, len(current))
    for name in TRACKED_COLUMNS:
        a, b = current[name], snap[name]
        same = pc.fill_null(pc.equal(a, b), pc.and_(pc.is_null(a), pc.is_null(b)))
        differs = pc.or_(differs, pc.invert(same))
    return as_array(differs)


def _replace(table: pa.Table, name: str, values: pa.Array[Any] | pa.ChunkedArray[Any]) -> pa.Table:
    index = table.schema.get_field_index(name)
    return table.set_column(index, table.schema.field(index), values)


_ROW_TYPES: Final = {
    "exchange": pa.string(),
    "exchange_symbol": pa.string(),
    "canonical_symbol": pa.string(),
    "market_type": pa.string(),
    "base_asset": pa.string(),
    "quote_asset": pa.string(),
    "tick_size": pa.string(),  # exact decimal text, converted by normalise_snapshot
    "lot_size": pa.string(),
    "contract_size": pa.string(),
    "expiry_ts_us": pa.int64(),
    "board": pa.string(),
    "min_qty": pa.string(),
    "is_inverse": pa.bool_(),
}


def windows_from_rows(rows: Sequence[dict[str, Any]], *, updated_at: int, source: str) -> pa.Table:
    """A validated dim_symbol table of a source's windows, one per row: each row a dict
    of snapshot columns (sizes as exact decimal text, a missing key is null) plus
    ``valid_from_ts_us`` and ``valid_until_ts_us``; ids from the window starts, sorted.
    Raises :class:`DimSymbolError` naming ``source``."""
    snapshot = pa.table(
        {name: pa.array([r.get(name) for r in rows], type=t) for name, t in _ROW_TYPES.items()}
    )
    attrs = normalise_snapshot(snapshot, source=source)
    dim = assemble(
        attrs,
        valid_from=pa.array([r["valid_from_ts_us"] for r in rows], type=pa.int64()),
        valid_until=pa.array([r["valid_until_ts_us"] for r in rows], type=pa.int64()),
        updated_at=updated_at,
    ).sort_by(SORT_KEYS)
    validate(dim)
    return dim
