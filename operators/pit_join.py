"""pit_join: the ``symbol_id`` valid at each row's event time (docs/contracts.md section 5).

Rows no dim_symbol window covers are flagged ``missing_pit_symbol_coverage`` (field
``symbol``) and go to the quarantine; they never get a guessed id.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa

from pointline.chain import Map, RowFlags
from pointline.kernels.pit import MISSING_COVERAGE, SymbolIndex

__all__ = ["pit_join"]


def pit_join(
    dim_symbol: pa.Table | SymbolIndex,
    *,
    symbol_key: Callable[[str], str] = str,
    name: str = "pit_join",
) -> Map:
    """A step that adds ``symbol_id`` from the dim_symbol window covering ``ts_event_us``.

    A row's ``symbol`` is looked up as ``symbol_key(symbol)`` (the vendor's key; ignored
    when ``dim_symbol`` is already a :class:`SymbolIndex`, which carries its own)."""
    index = (
        dim_symbol
        if isinstance(dim_symbol, SymbolIndex)
        else SymbolIndex(dim_symbol, symbol_key=symbol_key)
    )

    def join(batch: pa.RecordBatch, flags: RowFlags) -> dict[str, pa.Array[Any]]:
        flagged = flags.mask()
        result = index.lookup(
            batch["exchange"], batch["symbol"], batch["ts_event_us"], rows=~flagged
        )
        flags.flag(~result.covered, MISSING_COVERAGE, "symbol")
        return {"symbol_id": result.symbol_id}

    return Map(
        name=name,
        requires={"exchange": pa.string(), "symbol": pa.string(), "ts_event_us": pa.int64()},
        produces=[pa.field("symbol_id", pa.int64())],
        flags=True,
        fn=join,
    )
