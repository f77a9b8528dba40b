"""What a dim_symbol table is: its schema, column groups, natural key and errors.

Also the few helpers every other module of the package uses to find repeated keys and to
list problems in an error message (at most ten items, then ``and N more``).

>>> listing([str(i) for i in range(12)])
'0, 1, 2, 3, 4, 5, 6, 7, 8, 9 and 2 more'
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final, Literal

import pyarrow as pa
import pyarrow.compute as pc

from pointline.arrays import as_array, int64_scalar
from pointline.errors import PointlineError
from pointline.schemas.dimensions import DIM_SYMBOL, OPEN_END_TS_US

__all__ = [
    "DECIMAL_COLUMNS",
    "DEFAULT_MARKET_TYPE",
    "DIM_SCHEMA",
    "KEY_COLUMNS",
    "OPEN_END_TS_US",
    "SNAPSHOT_COLUMNS",
    "SORT_KEYS",
    "TRACKED_COLUMNS",
    "UNTRACKED_COLUMNS",
    "WINDOW_COLUMNS",
    "DimSymbolError",
    "StaleDimSymbolError",
    "describe",
    "listing",
    "natural_keys",
    "repeated",
    "split_keys",
]

DIM_SCHEMA: Final = DIM_SYMBOL.arrow_schema
"""The exact Arrow schema of every dim_symbol table this package returns."""

KEY_COLUMNS: Final = ("exchange", "exchange_symbol")
"""The natural key of a symbol."""
TRACKED_COLUMNS: Final = (
    "canonical_symbol",
    "market_type",
    "base_asset",
    "quote_asset",
    "tick_size",
    "lot_size",
    "contract_size",
    "expiry_ts_us",
)
"""A change in any of these (null to value included) opens a new window."""
UNTRACKED_COLUMNS: Final = ("board", "min_qty", "is_inverse")
"""Informational: neighbours that differ only in these merge, the latest value wins."""
SNAPSHOT_COLUMNS: Final = KEY_COLUMNS + TRACKED_COLUMNS + UNTRACKED_COLUMNS
"""Columns of a normalised snapshot, in order."""
DECIMAL_COLUMNS: Final = ("tick_size", "lot_size", "contract_size", "min_qty")
"""Columns held as exact decimals (``decimal128(38, 18)``)."""
WINDOW_COLUMNS: Final = ("valid_from_ts_us", "valid_until_ts_us")
"""Bounds of a half-open validity window, us since the epoch."""
SORT_KEYS: Final[list[tuple[str, Literal["ascending", "descending"]]]] = [
    ("exchange", "ascending"),
    ("exchange_symbol", "ascending"),
    ("valid_from_ts_us", "ascending"),
]
"""The row order of every dim_symbol table this package returns."""
DEFAULT_MARKET_TYPE: Final = "unknown"
"""``market_type`` of a snapshot row that gives none."""

_KEY_SEPARATOR: Final = "\x00"
_MAX_LISTED: Final = 10


class DimSymbolError(PointlineError, ValueError):
    """A snapshot, a dim_symbol table or a dim_symbol file breaks the contract."""


class StaleDimSymbolError(DimSymbolError):
    """A save named a version that is no longer the latest; nothing was written."""


def natural_keys(table: pa.Table) -> pa.Array[Any]:
    """One string per row of ``table``: ``exchange NUL exchange_symbol`` (the natural key).

    ``table`` needs string columns ``exchange`` and ``exchange_symbol``; a row with a null
    in either has a null key.
    """
    exchange: Any = table["exchange"]
    joined: Any = pc.binary_join_element_wise(
        exchange, table["exchange_symbol"], pa.scalar(_KEY_SEPARATOR)
    )
    return as_array(joined)


def repeated(values: pa.Array[Any] | pa.ChunkedArray[Any]) -> pa.Array[Any]:
    """The distinct values that occur more than once in ``values`` (each listed once)."""
    counts = pc.value_counts(values)
    return counts.filter(pc.greater(counts.field("counts"), int64_scalar(1))).field("values")


def split_keys(keys: Iterable[str]) -> list[str]:
    """Natural keys (from :func:`natural_keys`) as ``('exchange', 'symbol')`` texts."""
    out = []
    for key in keys:
        exchange, _, symbol = key.partition(_KEY_SEPARATOR)
        out.append(f"({exchange!r}, {symbol!r})")
    return out


def listing(items: Sequence[str]) -> str:
    """``items`` joined by commas: the first ten, then ``and N more``."""
    shown = ", ".join(items[:_MAX_LISTED])
    more = len(items) - _MAX_LISTED
    return f"{shown} and {more} more" if more > 0 else shown


def describe(table: pa.Table, *, with_from: bool = False, with_until: bool = False) -> str:
    """The rows of ``table`` as a :func:`listing` of ``('exchange', 'symbol'[, ...])``.

    ``with_from``/``with_until`` add ``from <valid_from_ts_us>``/``until
    <valid_until_ts_us>``; those columns must then exist.
    """
    items = []
    for row in table.to_pylist():
        text = f"({row['exchange']!r}, {row['exchange_symbol']!r}"
        if with_from:
            text += f", from {row['valid_from_ts_us']}"
        if with_until:
            text += f", until {row['valid_until_ts_us']}"
        items.append(text + ")")
    return listing(items)
