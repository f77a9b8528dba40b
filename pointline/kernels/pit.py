"""Point-in-time symbol lookup: which dim_symbol window covers (exchange, symbol, ts)?

A window covers an event when ``valid_from_ts_us <= ts_event_us < valid_until_ts_us``.
:class:`SymbolIndex` sorts the windows by (natural key, valid_from) once; a lookup maps
each row's key to its windows with ``pyarrow.compute.index_in`` and finds the window with
``numpy.searchsorted``, one call per distinct key in the batch (a file holds one or a few
symbols), never per row. Windows of one key do not overlap (``dim_symbol.validate``), so
the last window starting at or before ``ts`` is the only candidate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from pointline.arrays import bool_array, masked_array, numpy_mask, only_value

__all__ = ["PitResult", "SymbolIndex", "check_pit_coverage"]

_SEP = "\x1f"
MISSING_COVERAGE = "missing_pit_symbol_coverage"


def _keys(exchange: Any, symbol: Any) -> pa.Array[Any]:
    joined = pc.binary_join_element_wise(exchange, symbol, _SEP)
    return joined.combine_chunks() if isinstance(joined, pa.ChunkedArray) else joined


@dataclass(frozen=True, slots=True)
class PitResult:
    """Per row: the symbol_id (null where uncovered) and whether a window covered it."""

    symbol_id: pa.Int64Array
    covered: npt.NDArray[np.bool_]


class SymbolIndex:
    """dim_symbol windows arranged for vectorised point-in-time lookups.

    ``symbol_key`` maps a row's ``symbol`` to the ``exchange_symbol`` it is looked up under
    (the vendor's key, e.g. Tardis ``XBT/USD`` -> ``XBT-USD``; identity by default). It is
    applied to the distinct symbols of a batch, never per row.
    """

    __slots__ = (
        "_code_of",
        "_ends",
        "_froms",
        "_ids",
        "_keys",
        "_starts",
        "_symbol_key",
        "_untils",
    )

    def __init__(self, dim: pa.Table, *, symbol_key: Callable[[str], str] = str) -> None:
        self._symbol_key = symbol_key
        keys = _keys(dim["exchange"], dim["exchange_symbol"])
        table = pa.table(
            {
                "key": keys,
                "from": dim["valid_from_ts_us"],
                "until": dim["valid_until_ts_us"],
                "id": dim["symbol_id"],
            }
        ).sort_by([("key", "ascending"), ("from", "ascending")])
        self._froms = table["from"].to_numpy()
        self._untils = table["until"].to_numpy()
        self._ids = table["id"].to_numpy()
        sorted_keys = table["key"].combine_chunks()
        unique = pc.unique(sorted_keys)
        self._keys: pa.Array[Any] = unique
        self._code_of = {str(key): code for code, key in enumerate(unique.to_pylist())}
        codes = pc.index_in(sorted_keys, value_set=unique).to_numpy(zero_copy_only=False)
        self._starts = np.searchsorted(codes, np.arange(len(unique)), side="left")
        self._ends = np.searchsorted(codes, np.arange(len(unique)), side="right")

    def __len__(self) -> int:
        return len(self._froms)

    def lookup(self, exchange: Any, symbol: Any, ts_us: Any, *, rows: Any = None) -> PitResult:
        """Look up every row (or only where ``rows`` is true); nulls are uncovered."""
        n = len(ts_us)
        usable = np.ones(n, dtype=bool) if rows is None else np.asarray(rows, dtype=bool).copy()
        codes, known = self._codes(exchange, symbol)
        usable &= codes >= 0
        if ts_us.null_count:
            usable &= numpy_mask(pc.is_valid(ts_us))
        ids = np.zeros(n, dtype=np.int64)
        covered = np.zeros(n, dtype=bool)
        if usable.any():
            ts = ts_us.fill_null(0).to_numpy(zero_copy_only=False)
            if bool((self._ends[known] - self._starts[known] == 1).all()):
                # Every key in the batch has one window (the usual case): one gather.
                window = self._starts[np.where(usable, codes, known[0])]
                covered = usable & (self._froms[window] <= ts) & (ts < self._untils[window])
                ids = np.where(covered, self._ids[window], 0)
            else:  # the last window starting at or before each row's time, if not ended
                for code in known:
                    sel = np.flatnonzero(usable & (codes == code))
                    lo, hi = int(self._starts[code]), int(self._ends[code])
                    at = np.searchsorted(self._froms[lo:hi], ts[sel], side="right") - 1
                    window = lo + np.maximum(at, 0)
                    ok = (at >= 0) & (ts[sel] < self._untils[window])
                    ids[sel] = np.where(ok, self._ids[window], 0)
                    covered[sel] = ok
        symbol_id: pa.Int64Array = masked_array(ids, covered, pa.int64())  # type: ignore[assignment]  # int64 in, int64 out
        return PitResult(symbol_id, covered)

    def _codes(
        self, exchange: Any, symbol: Any
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Each row's key code (-1: no window for that key, or a null key part), and the
        distinct codes that can occur (those of the batch's (exchange, symbol) pairs).

        Both key columns are dictionary-encoded (a batch holds a few distinct values), the
        few (exchange, symbol) pairs are looked up in Python, and the row codes are one
        numpy gather: no per-row string building.
        """
        venues = _encode(exchange)
        symbols = _encode(symbol)
        v_names, v_index = venues
        s_names, s_index = symbols
        table = np.full((len(v_names) + 1, len(s_names) + 1), -1, dtype=np.int64)
        for i, venue in enumerate(v_names):
            for j, name in enumerate(s_names):
                table[i, j] = self._code_of.get(f"{venue}{_SEP}{self._symbol_key(name)}", -1)
        known = np.unique(table[table >= 0])  # a few pairs, not rows
        return table[v_index, s_index], known  # index -1 (null): the all -1 last row/column


def _encode(column: Any) -> tuple[list[str], npt.NDArray[np.int64]]:
    """Distinct values and each row's index into them (-1 for null); a column of one
    value (a file's exchange) without hashing (:func:`~pointline.arrays.only_value`)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if (value := only_value(column)) is not None:
        return [str(value)], np.zeros(len(column), dtype=np.int64)
    encoded = column.dictionary_encode()
    names = [str(value) for value in encoded.dictionary.to_pylist()]
    index = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return names, index


def check_pit_coverage(
    batch: pa.RecordBatch | pa.Table, dim_symbol: pa.Table | SymbolIndex
) -> tuple[pa.Table, pa.Table, str]:
    """Split rows into (covered rows with ``symbol_id``, uncovered rows, reason code).

    ``batch`` needs ``exchange``, ``symbol`` and ``ts_event_us``. Uncovered rows are the
    ones to quarantine as ``missing_pit_symbol_coverage``.
    """
    index = dim_symbol if isinstance(dim_symbol, SymbolIndex) else SymbolIndex(dim_symbol)
    table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
    result = index.lookup(table["exchange"], table["symbol"], table["ts_event_us"])
    with_ids = table.append_column("symbol_id", result.symbol_id)
    covered = bool_array(result.covered)
    return with_ids.filter(covered), table.filter(pc.invert(covered)), MISSING_COVERAGE
