"""Input coercion and checks: caller tables to the exact types dim_symbol works on.

Every check raises :class:`~pointline.dim_symbol.model.DimSymbolError` with a message that
starts with ``source`` (``"snapshot"``, ``"dim file"``, ...), names the column and lists
the offending rows (1-based) or values. Text columns may be any Arrow string type
(dictionary-encoded included); integer columns any integer type that fits int64; an
all-null column is accepted as nulls of the target type.

>>> snap = normalise_snapshot(
...     pa.table({"exchange": ["x"], "exchange_symbol": ["A"], "tick_size": ["0.5"]}),
...     source="snapshot",
... )
>>> snap.select(["canonical_symbol", "market_type", "tick_size"]).to_pylist()
[{'canonical_symbol': 'A', 'market_type': 'unknown', 'tick_size': Decimal('0.500000000000000000')}]
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, Final, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pointline.arrays import as_array, filled_mask, numpy_mask
from pointline.dim_symbol.model import (
    DECIMAL_COLUMNS,
    DEFAULT_MARKET_TYPE,
    DIM_SCHEMA,
    KEY_COLUMNS,
    OPEN_END_TS_US,
    SNAPSHOT_COLUMNS,
    DimSymbolError,
    listing,
    natural_keys,
    repeated,
    split_keys,
)
from pointline.kernels.decimal import parse_decimal
from pointline.schemas import DECIMAL_TYPE
from pointline.schemas.dimensions import DIM_SYMBOL

__all__ = [
    "as_ts",
    "bool_column",
    "cast_column",
    "conform",
    "decimal_column",
    "int64_column",
    "is_text",
    "keyed_times",
    "normalise_delistings",
    "normalise_snapshot",
    "now_us",
    "reject_duplicate_keys",
    "reject_empty",
    "reject_unknown_columns",
    "require_columns",
    "schema_problems",
    "text_column",
    "upgrade",
]

ArrayLike: TypeAlias = "pa.Array[Any] | pa.ChunkedArray[Any]"


# ------------------------------------------------------------------------ timestamps


def now_us(now_ts_us: int | None) -> int:
    """``now_ts_us`` checked by :func:`as_ts`, or the clock (us since the epoch) if None."""
    return time.time_ns() // 1000 if now_ts_us is None else as_ts(now_ts_us, "now_ts_us")


def as_ts(value: int, name: str) -> int:
    """``value`` (a Python or numpy int, us since the epoch) as an int below ``2**63 - 1``.

    Raises :class:`DimSymbolError` naming ``name`` for a bool, a non-int, or a value
    outside ``[-2**63, 2**63 - 1)``.
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        msg = f"{name} must be an int (us since the epoch), got {value!r}"
        raise DimSymbolError(msg)
    ts = int(value)
    if not -(2**63) <= ts < OPEN_END_TS_US:
        msg = f"{name} must be in int64 and below 2**63-1, got {ts}"
        raise DimSymbolError(msg)
    return ts


# ------------------------------------------------------------------ columns present


def require_columns(table: pa.Table, names: Sequence[str], *, source: str) -> None:
    """Raise :class:`DimSymbolError` listing the ``names`` that ``table`` lacks."""
    missing = [n for n in names if n not in table.column_names]
    if missing:
        msg = f"{source} is missing required columns {missing}; it has {table.column_names}"
        raise DimSymbolError(msg)


def reject_unknown_columns(table: pa.Table, allowed: Sequence[str], *, source: str) -> None:
    """Raise :class:`DimSymbolError` for a column not in ``allowed`` or a repeated name."""
    unknown = [n for n in table.column_names if n not in allowed]
    if unknown:
        msg = f"{source} has unknown columns {unknown}; allowed columns: {list(allowed)}"
        raise DimSymbolError(msg)
    dupes = sorted({n for n in table.column_names if table.column_names.count(n) > 1})
    if dupes:
        msg = f"{source} repeats columns {dupes}"
        raise DimSymbolError(msg)


# ------------------------------------------------------------------------ row checks


def reject_empty(
    columns: Mapping[str, ArrayLike], *, source: str, blank_text: bool = False
) -> None:
    """Raise :class:`DimSymbolError` for the first column (in order) with an empty row.

    Empty is null, and also ``""`` when ``blank_text`` (the columns must then be text).
    The message is ``<source> column '<name>' is empty in rows 1, 5, ...`` (1-based).
    """
    for name, column in columns.items():
        if blank_text:
            empty = numpy_mask(filled_mask(pc.equal(column, pa.scalar("")), null=True))
        elif column.null_count:
            empty = numpy_mask(pc.is_null(column))
        else:
            continue
        if empty.any():
            rows = [str(r + 1) for r in np.flatnonzero(empty)]
            msg = f"{source} column {name!r} is empty in rows {listing(rows)}"
            raise DimSymbolError(msg)


def reject_duplicate_keys(table: pa.Table, *, source: str) -> None:
    """Raise :class:`DimSymbolError` listing natural keys that ``table`` holds twice."""
    dup = repeated(natural_keys(table))
    if len(dup):
        keys = split_keys(str(k) for k in dup.to_pylist())
        msg = f"{source} lists these symbols more than once: {listing(keys)}"
        raise DimSymbolError(msg)


# ------------------------------------------------------------------------ one column


def cast_column(column: ArrayLike, to: pa.DataType, name: str, source: str) -> ArrayLike:
    """``column`` cast to ``to`` (safe cast); :class:`DimSymbolError` if Arrow refuses."""
    try:
        return pc.cast(column, to)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        msg = f"{source} column {name!r} of type {column.type} cannot be read as {to}: {exc}"
        raise DimSymbolError(msg) from exc


def is_text(t: pa.DataType) -> bool:
    """Whether ``t`` is a string type (plain, large, view, or a dictionary of one)."""
    return (
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_string_view(t)
        or (pa.types.is_dictionary(t) and is_text(t.value_type))
    )


def text_column(table: pa.Table, name: str, *, source: str) -> pa.Array[Any]:
    """Column ``name`` as one ``string`` array; :class:`DimSymbolError` if not text."""
    col = table[name]
    if pa.types.is_null(col.type):
        return pa.nulls(len(table), pa.string())
    if not is_text(col.type):
        msg = f"{source} column {name!r} must be text, got {col.type}"
        raise DimSymbolError(msg)
    return as_array(cast_column(col, pa.string(), name, source))


def int64_column(table: pa.Table, name: str, *, source: str) -> pa.Array[Any]:
    """Column ``name`` as one ``int64`` array; :class:`DimSymbolError` if not integer."""
    col = table[name]
    if pa.types.is_null(col.type):
        return pa.nulls(len(table), pa.int64())
    if not pa.types.is_integer(col.type):
        msg = f"{source} column {name!r} must be an integer (us since the epoch), got {col.type}"
        raise DimSymbolError(msg)
    return as_array(cast_column(col, pa.int64(), name, source))


def bool_column(table: pa.Table, name: str, *, source: str) -> pa.Array[Any]:
    """Column ``name`` as one ``bool`` array (text ``true``/``false`` accepted);
    :class:`DimSymbolError` if it is neither boolean nor such text."""
    col = table[name]
    if pa.types.is_null(col.type):
        return pa.nulls(len(table), pa.bool_())
    if not (pa.types.is_boolean(col.type) or is_text(col.type)):
        msg = f"{source} column {name!r} must be true/false, got {col.type}"
        raise DimSymbolError(msg)
    return as_array(cast_column(col, pa.bool_(), name, source))


def decimal_column(table: pa.Table, name: str, *, source: str) -> pa.Array[Any]:
    """Column ``name`` as ``decimal128(38, 18)`` (one array, nulls kept).

    Decimal text is converted exactly (``"0.1"``, ``"1e-8"``), as are integers (``1`` is
    one unit) and decimal columns. Floats (0.1 is not exact in binary), text that is not a
    decimal, more than 18 fractional digits and magnitudes >= 10^20 raise
    :class:`DimSymbolError` (bad values are named with the row's
    ``exchange``/``exchange_symbol``, which ``table`` must have).
    """
    col = table[name]
    if pa.types.is_null(col.type):
        return pa.nulls(len(table), DECIMAL_TYPE)
    if not (pa.types.is_integer(col.type) or pa.types.is_decimal(col.type) or is_text(col.type)):
        msg = (
            f"{source} column {name!r} is {col.type}; give decimal text, decimals or "
            "integers (no floats: 0.1 is not exact in binary)"
        )
        raise DimSymbolError(msg)
    # Integers and decimals print as plain text (decimals of scale > 6 may print with an
    # exponent, which parse_decimal reads exactly).
    text = as_array(cast_column(col, pa.string(), name, source))
    parsed = parse_decimal(text)
    bad = parsed.bad
    if bad.any():
        rows = np.flatnonzero(bad)
        shown = [
            f"{text[int(r)].as_py()!r} for ({table['exchange'][int(r)].as_py()!r}, "
            f"{table['exchange_symbol'][int(r)].as_py()!r})"
            for r in rows
        ]
        msg = (
            f"{source} column {name!r} has values that are not exact decimals with at most "
            f"18 fractional digits below 10^20: {listing(shown)}"
        )
        raise DimSymbolError(msg)
    return parsed.values


# ------------------------------------------------------------------------ whole tables


def keyed_times(table: pa.Table, ts_column: str, *, source: str) -> pa.Table:
    """A table of exactly ``exchange, exchange_symbol, <ts_column>`` as string, string, int64.

    ``table`` must have those three columns and no other. Nulls are kept (callers decide).
    """
    needed = [*KEY_COLUMNS, ts_column]
    require_columns(table, needed, source=source)
    reject_unknown_columns(table, needed, source=source)
    return pa.table(
        {
            "exchange": text_column(table, "exchange", source=source),
            "exchange_symbol": text_column(table, "exchange_symbol", source=source),
            ts_column: int64_column(table, ts_column, source=source),
        }
    )


def normalise_snapshot(snapshot: pa.Table, *, source: str) -> pa.Table:
    """The snapshot with exactly SNAPSHOT_COLUMNS: types fixed, defaults filled.

    Needs ``exchange`` and ``exchange_symbol`` with no null or ``""``; other snapshot
    columns are optional (``canonical_symbol`` defaults to the exchange symbol,
    ``market_type`` to ``"unknown"``, the rest to null; sizes and ``min_qty`` via
    :func:`decimal_column`, ``expiry_ts_us`` int64 us, ``is_inverse`` bool). Columns
    outside SNAPSHOT_COLUMNS are ignored here.
    Raises :class:`DimSymbolError` for a non-table or any bad column.
    """
    if not isinstance(snapshot, pa.Table):
        msg = f"{source} must be a pyarrow.Table, got {type(snapshot).__name__}"
        raise DimSymbolError(msg)
    require_columns(snapshot, KEY_COLUMNS, source=source)
    n = len(snapshot)
    exchange = text_column(snapshot, "exchange", source=source)
    symbol = text_column(snapshot, "exchange_symbol", source=source)
    reject_empty({"exchange": exchange, "exchange_symbol": symbol}, source=source, blank_text=True)
    present = set(snapshot.column_names)
    keyed = pa.table({"exchange": exchange, "exchange_symbol": symbol})
    for name in DECIMAL_COLUMNS:
        if name in present:
            keyed = keyed.append_column(name, snapshot[name])
    columns: dict[str, pa.Array[Any]] = {"exchange": exchange, "exchange_symbol": symbol}
    for name in ("canonical_symbol", "market_type", "base_asset", "quote_asset"):
        columns[name] = (
            text_column(snapshot, name, source=source)
            if name in present
            else pa.nulls(n, pa.string())
        )
    columns["board"] = (
        text_column(snapshot, "board", source=source)
        if "board" in present
        else pa.nulls(n, pa.string())
    )
    columns["expiry_ts_us"] = (
        int64_column(snapshot, "expiry_ts_us", source=source)
        if "expiry_ts_us" in present
        else pa.nulls(n, pa.int64())
    )
    columns["is_inverse"] = (
        bool_column(snapshot, "is_inverse", source=source)
        if "is_inverse" in present
        else pa.nulls(n, pa.bool_())
    )
    columns["canonical_symbol"] = pc.coalesce(columns["canonical_symbol"], symbol)
    columns["market_type"] = pc.coalesce(
        columns["market_type"], pa.repeat(pa.scalar(DEFAULT_MARKET_TYPE), n)
    )
    for name in DECIMAL_COLUMNS:
        columns[name] = (
            decimal_column(keyed, name, source=source)
            if name in present
            else pa.nulls(n, DECIMAL_TYPE)
        )
    schema = DIM_SYMBOL.select(SNAPSHOT_COLUMNS)
    return pa.Table.from_arrays([as_array(columns[name]) for name in schema.names], schema=schema)


def normalise_delistings(delistings: pa.Table) -> pa.Table:
    """``exchange, exchange_symbol, delisted_ts_us`` checked: no nulls, no repeated key."""
    source = "delistings"
    table = keyed_times(delistings, "delisted_ts_us", source=source)
    reject_empty(dict(zip(table.column_names, table.columns, strict=True)), source=source)
    reject_duplicate_keys(table, source=source)
    return table


def schema_problems(dim: pa.Table) -> list[str]:
    """``[]`` if ``dim`` has exactly DIM_SCHEMA's names, order and types, else one message.

    The message names missing and unknown columns, wrong types or the wrong order; a
    non-table gets ``expected a pyarrow.Table, got <type>``.
    """
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


ADDED_IN_V3: Final = ("expiry_ts_us", "board", "min_qty", "is_inverse")
"""Columns dim_symbol gained in schema version 3 (null in tables written before)."""


def upgrade(dim: pa.Table) -> pa.Table:
    """A dim_symbol table written before schema version 3 with the columns it lacks added
    as nulls (in DIM_SCHEMA order); any other table unchanged."""
    if not all(name not in dim.column_names for name in ADDED_IN_V3):
        return dim
    for name in ADDED_IN_V3:
        field = DIM_SCHEMA.field(name)
        dim = dim.add_column(
            dim.num_columns - 1 if "updated_at_ts_us" in dim.column_names else dim.num_columns,
            field,
            pa.nulls(dim.num_rows, field.type),
        )
    return dim


def conform(dim: pa.Table, *, source: str) -> pa.Table:
    """``dim`` with exactly DIM_SCHEMA (field metadata included), one chunk per column.

    Names, order and types must already match; otherwise :class:`DimSymbolError` with
    ``source`` and the :func:`schema_problems` message. Values are not checked.
    """
    problems = schema_problems(dim)
    if problems:
        msg = f"{source} {problems[0]}"
        raise DimSymbolError(msg)
    return pa.Table.from_arrays(
        [as_array(dim[name]) for name in DIM_SCHEMA.names], schema=DIM_SCHEMA
    )
