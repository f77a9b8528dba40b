"""Table rules: the row rules of each Silver table (docs/contracts.md section 8).

Each rule marks the rows that break it, reading canonical columns (after normalize's
conversion), column by column; a vendor format names the rule of the table it feeds,
and normalize flags the marked rows under the rule's reason code with the vendor field
behind the column to blame. Null comparisons count as "fine": a rule only marks what it
can see is wrong.

A rule stays only if no real instrument can break it (contracts section 8, revised).
Prices have no sign rule: spreads, combos and some calendar instruments trade at zero or
below (Tardis ``okex-spreads``), books cross and empty out in auctions and thin feeds, and
a ticker may carry no mark price (huobi-dm tickers; any venue's rows before its first
mark). Sizes and quantities keep their sign rules: no instrument has a negative size.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, TypeAlias

import pyarrow as pa
import pyarrow.compute as pc

from pointline.schemas import DECIMAL_TYPE
from pointline.vendors.protocol import Rule

__all__ = [
    "INVALID_BOOK_UPDATE",
    "INVALID_LIQUIDATION",
    "INVALID_OPTION_CONTRACT",
    "INVALID_QUOTE",
    "INVALID_TRADE",
]

Array: TypeAlias = "pa.Array[Any]"

_ZERO: Final = pa.scalar(0, DECIMAL_TYPE)
_ZERO_INT: Final = pa.scalar(0, pa.int64())


def _not_in(values: Array, allowed: tuple[str, ...]) -> Array:
    """True where ``values`` is null or not one of ``allowed``."""
    return pc.invert(pc.is_in(values, value_set=pa.array(allowed, pa.string())))


def _invalid_trade(columns: Mapping[str, Array]) -> dict[str, Array]:
    return {
        "side": _not_in(columns["side"], ("buy", "sell", "unknown")),
        "qty": pc.less_equal(columns["qty"], _ZERO),
    }


def _invalid_liquidation(columns: Mapping[str, Array]) -> dict[str, Array]:
    return {
        "side": _not_in(columns["side"], ("buy", "sell")),
        "qty": pc.less_equal(columns["qty"], _ZERO),
    }


def _invalid_quote(columns: Mapping[str, Array]) -> dict[str, Array]:
    return {
        "bid_qty": pc.less(columns["bid_qty"], _ZERO),
        "ask_qty": pc.less(columns["ask_qty"], _ZERO),
    }


def _invalid_book_update(columns: Mapping[str, Array]) -> dict[str, Array]:
    return {
        "side": _not_in(columns["side"], ("bid", "ask")),
        "qty": pc.less(columns["qty"], _ZERO),
        "is_snapshot": pc.is_null(columns["is_snapshot"]),
    }


def _invalid_option_contract(columns: Mapping[str, Array]) -> dict[str, Array]:
    return {
        "option_type": _not_in(columns["option_type"], ("call", "put")),
        "expiration_ts_us": pc.less_equal(columns["expiration_ts_us"], _ZERO_INT),
    }


INVALID_TRADE: Final = Rule("invalid_trade", _invalid_trade)
"""trades, every instrument kind (spot, perpetual, future, option, spread, combo): side not
buy/sell/unknown; qty <= 0 (a trade has a size). The price may be zero or negative."""
INVALID_LIQUIDATION: Final = Rule("invalid_liquidation", _invalid_liquidation)
"""liquidations, every instrument kind: side not buy/sell (the liquidated side is always
known); qty <= 0. The price may be zero or negative."""
INVALID_QUOTE: Final = Rule("invalid_quote", _invalid_quote)
"""quotes, every instrument kind: a present bid or ask qty < 0. Crossed, locked, one-sided
and empty books are real (auctions, thin feeds); prices have no sign rule."""
INVALID_BOOK_UPDATE: Final = Rule("invalid_book_update", _invalid_book_update)
"""orderbook_updates, every instrument kind: side not bid/ask; qty < 0 (0 deletes the
level); is_snapshot missing (replay cannot tell a reset from an update). Prices have no
sign rule."""
INVALID_OPTION_CONTRACT: Final = Rule("invalid_option_contract", _invalid_option_contract)
"""options_chain, every option: type not call/put; expiration <= 0 (before 1970: not a
time). The strike has no sign rule (spread and combo strikes, rebased contracts)."""
