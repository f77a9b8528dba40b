"""Table rules: the row rules of each Silver table (docs/contracts.md section 8).

Each rule marks the rows that break it, reading canonical columns (after normalize's
conversion); a vendor format names the rule of the table it feeds, and normalize flags
the marked rows under the rule's reason code. Null comparisons count as "fine": a rule
only marks what it can see is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, TypeAlias

import pyarrow as pa
import pyarrow.compute as pc

from pointline.vendors.protocol import Rule

__all__ = [
    "INVALID_BOOK_UPDATE",
    "INVALID_LIQUIDATION",
    "INVALID_MARK_PRICE",
    "INVALID_OPTION_CONTRACT",
    "INVALID_QUOTE",
    "INVALID_TRADE",
]

Array: TypeAlias = "pa.Array[Any]"

_ZERO: Final = pa.scalar(0, pa.int64())


def _any(*masks: Array) -> Array:
    out: Array = masks[0].fill_null(False)
    for mask in masks[1:]:
        filled: Array = mask.fill_null(False)
        out = pc.or_(out, filled)
    return out


def _not_in(values: Array, allowed: tuple[str, ...]) -> Array:
    """True where ``values`` is null or not one of ``allowed``."""
    return pc.invert(pc.is_in(values, value_set=pa.array(allowed, pa.string())))


def _trade_like(columns: Mapping[str, Array], sides: tuple[str, ...]) -> Array:
    return _any(
        _not_in(columns["side"], sides),
        pc.less_equal(columns["price"], _ZERO),
        pc.less_equal(columns["qty"], _ZERO),
    )


def _invalid_trade(columns: Mapping[str, Array]) -> Array:
    return _trade_like(columns, ("buy", "sell", "unknown"))


def _invalid_liquidation(columns: Mapping[str, Array]) -> Array:
    return _trade_like(columns, ("buy", "sell"))


def _invalid_quote(columns: Mapping[str, Array]) -> Array:
    bid_price, bid_qty = columns["bid_price"], columns["bid_qty"]
    ask_price, ask_qty = columns["ask_price"], columns["ask_qty"]
    both_empty = pc.and_(
        pc.and_(pc.is_null(bid_price), pc.is_null(bid_qty)),
        pc.and_(pc.is_null(ask_price), pc.is_null(ask_qty)),
    )
    return _any(
        pc.less_equal(bid_price, _ZERO),
        pc.less_equal(ask_price, _ZERO),
        pc.less(bid_qty, _ZERO),
        pc.less(ask_qty, _ZERO),
        pc.greater(bid_price, ask_price),
        both_empty,
    )


def _invalid_book_update(columns: Mapping[str, Array]) -> Array:
    return _any(
        _not_in(columns["side"], ("bid", "ask")),
        pc.less_equal(columns["price"], _ZERO),
        pc.less(columns["qty"], _ZERO),
        pc.is_null(columns["is_snapshot"]),
    )


def _invalid_mark_price(columns: Mapping[str, Array]) -> Array:
    mark = columns["mark_price"]
    return _any(pc.is_null(mark), pc.less_equal(mark, _ZERO))


def _invalid_option_contract(columns: Mapping[str, Array]) -> Array:
    return _any(
        _not_in(columns["option_type"], ("call", "put")),
        pc.less_equal(columns["strike"], _ZERO),
        pc.less_equal(columns["expiration_ts_us"], _ZERO),
    )


INVALID_TRADE: Final = Rule("invalid_trade", _invalid_trade)
"""trades: side not buy/sell/unknown; price <= 0; qty <= 0."""
INVALID_LIQUIDATION: Final = Rule("invalid_liquidation", _invalid_liquidation)
"""liquidations: side not buy/sell; price <= 0; qty <= 0."""
INVALID_QUOTE: Final = Rule("invalid_quote", _invalid_quote)
"""quotes: a price <= 0, a qty < 0, bid > ask, or both sides empty."""
INVALID_BOOK_UPDATE: Final = Rule("invalid_book_update", _invalid_book_update)
"""orderbook_updates: side not bid/ask; price <= 0; qty < 0 (0 deletes); is_snapshot null."""
INVALID_MARK_PRICE: Final = Rule("invalid_mark_price", _invalid_mark_price)
"""derivative_ticker: mark_price missing or <= 0."""
INVALID_OPTION_CONTRACT: Final = Rule("invalid_option_contract", _invalid_option_contract)
"""options_chain: type not call/put; strike <= 0; expiration <= 0."""
