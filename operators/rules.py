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

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pointline.arrays import numpy_mask
from pointline.schemas import DECIMAL_TYPE
from pointline.vendors.protocol import Rule

__all__ = [
    "INVALID_BOOK_UPDATE",
    "INVALID_CN_L2",
    "INVALID_CN_ORDER",
    "INVALID_CN_TICK",
    "INVALID_LIQUIDATION",
    "INVALID_OPTION_CONTRACT",
    "INVALID_QUOTE",
    "INVALID_TRADE",
]

Array: TypeAlias = "pa.Array[Any]"

_ZERO: Final = pa.scalar(0, DECIMAL_TYPE)
_ZERO_INT: Final = pa.scalar(0, pa.int64())
_CN_LEVELS: Final = 10
_NO_LIMIT_PRICE: Final = ("MARKET", "BEST_OWN")


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


def _is(values: Array, text: str) -> Array:
    """True where ``values`` equals ``text`` (null stays null: not marked)."""
    return pc.equal(values, pa.scalar(text, pa.string()))


def _invalid_cn_order(columns: Mapping[str, Array]) -> dict[str, Array]:
    price, order_type = columns["price"], columns["order_type"]
    zero = pc.equal(price, _ZERO)
    # SZSE only (SSE has no order_type): a zero price needs a MARKET or BEST_OWN order.
    zero_limit = zero  # no zero price (the usual batch): no order type to look up
    if pc.any(zero).as_py():
        limitless = pc.is_in(order_type, value_set=pa.array(_NO_LIMIT_PRICE, pa.string()))
        zero_limit = pc.and_kleene(zero, pc.and_(pc.is_valid(order_type), pc.invert(limitless)))
    return {
        "event_kind": pc.is_null(columns["event_kind"]),  # SSE OrdType not A/D
        "qty": pc.less_equal(columns["qty"], _ZERO),
        "price": pc.or_kleene(pc.less(price, _ZERO), zero_limit),
    }


def _invalid_cn_tick(columns: Mapping[str, Array]) -> dict[str, Array]:
    kind, price = columns["event_kind"], columns["price"]
    trade_price = pc.and_kleene(_is(kind, "TRADE"), pc.less_equal(price, _ZERO))
    cancel_price = pc.and_kleene(_is(kind, "CANCEL"), pc.less(price, _ZERO))
    return {
        "event_kind": pc.is_null(kind),  # SZSE ExecType not F/4
        "price": pc.or_kleene(trade_price, cancel_price),
        "qty": pc.less_equal(columns["qty"], _ZERO),
    }


def _bad_levels(levels: Array) -> Array:
    """True where a level list does not hold exactly 10 items or holds one below 0."""
    n = len(levels)
    lengths = pc.list_value_length(levels)
    wrong_count = pc.not_equal(lengths, pa.scalar(_CN_LEVELS, lengths.type))
    negative_items = numpy_mask(pc.less(pc.list_flatten(levels), _ZERO))
    rows = np.asarray(pc.list_parent_indices(levels), dtype=np.int64)
    negative = np.zeros(n, dtype=np.bool_)
    negative[rows[negative_items]] = True
    return pc.or_kleene(wrong_count, pa.array(negative))


def _invalid_cn_l2(columns: Mapping[str, Array]) -> dict[str, Array]:
    names = ("bid_price_levels", "bid_qty_levels", "ask_price_levels", "ask_qty_levels")
    return {name: _bad_levels(columns[name]) for name in names}


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
INVALID_CN_ORDER: Final = Rule("invalid_cn_order", _invalid_cn_order)
"""cn_order_events (docs/cn.md section 5): an SSE OrdType not A/D (event_kind null);
qty <= 0; price < 0; an SZSE price of 0 unless the order is MARKET or BEST_OWN (SSE may
price 0: how SSE prices market orders is not documented)."""
INVALID_CN_TICK: Final = Rule("invalid_cn_tick", _invalid_cn_tick)
"""cn_tick_events: an SZSE ExecType not F/4 (event_kind null); a TRADE with price <= 0
or qty <= 0; a CANCEL with qty <= 0 or price < 0 (a cancel's price is 0)."""
INVALID_CN_L2: Final = Rule("invalid_cn_l2", _invalid_cn_l2)
"""cn_l2_snapshots: a level list without exactly 10 items, or with an item < 0 (the
vendor pads empty levels with 0; no crossed-book rule: call auctions show bid = ask)."""
