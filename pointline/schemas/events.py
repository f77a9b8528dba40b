"""Event tables: append-only market facts, partitioned by exchange and trading date.

Every event table starts with the same prefix (exchange, trading_date, symbol, symbol_id,
ts_event_us, ts_local_us, file_id, file_seq). Prices and quantities are exact decimals,
``DECIMAL_TYPE`` (decimal128(38, 18)); rates, implied vols and greeks stay float64.
"""

from __future__ import annotations

import pyarrow as pa

from pointline.schemas.spec import DECIMAL_TYPE, ColumnSpec, TableSpec

__all__ = [
    "BOOK_SNAPSHOTS",
    "CN_L2_SNAPSHOTS",
    "CN_ORDER_EVENTS",
    "CN_TICK_EVENTS",
    "DERIVATIVE_TICKER",
    "EVENT_PREFIX",
    "EVENT_TABLES",
    "LIQUIDATIONS",
    "OPTIONS_CHAIN",
    "ORDERBOOK_UPDATES",
    "QUOTES",
    "TRADES",
]


def _col(
    name: str,
    dtype: pa.DataType,
    description: str,
    *,
    nullable: bool = False,
) -> ColumnSpec:
    return ColumnSpec(name=name, dtype=dtype, nullable=nullable, description=description)


def _price(name: str, description: str, *, nullable: bool = False) -> ColumnSpec:
    return _col(name, DECIMAL_TYPE, description, nullable=nullable)


def _qty(name: str, description: str, *, nullable: bool = False) -> ColumnSpec:
    return _col(name, DECIMAL_TYPE, description, nullable=nullable)


def _float(name: str, description: str) -> ColumnSpec:
    return _col(name, pa.float64(), description, nullable=True)


EVENT_PREFIX: tuple[ColumnSpec, ...] = (
    _col("exchange", pa.string(), "lower-case venue id, e.g. binance-futures, deribit, szse"),
    _col("trading_date", pa.date32(), "exchange-local trading date of ts_event_us"),
    _col("symbol", pa.string(), "exchange symbol as the vendor wrote it (trimmed)"),
    _col("symbol_id", pa.int64(), "dim_symbol id valid at ts_event_us (PIT join)"),
    _col("ts_event_us", pa.int64(), "exchange event time, us since epoch UTC"),
    _col("ts_local_us", pa.int64(), "receive time, us since epoch UTC", nullable=True),
    _col("file_id", pa.int64(), "the Bronze file this row came from (manifest)"),
    _col("file_seq", pa.int64(), "1-based data-row number inside that Bronze file"),
)

_PARTITION = ("exchange", "trading_date")
_ROW_KEY = ("file_id", "file_seq")
_ARRIVAL_ORDER = ("exchange", "symbol_id", "ts_local_us", "file_id", "file_seq")


_CHANNEL_ORDER = (
    "exchange",
    "symbol_id",
    "trading_date",
    "channel_id",
    "channel_seq",
    "file_id",
    "file_seq",
)
"""CN order and tick replay: the exchange's own publication order (docs/cn.md section 4)."""
_SNAPSHOT_ORDER = ("exchange", "symbol_id", "ts_event_us", "snapshot_seq", "file_id", "file_seq")


def _event_table(
    name: str,
    description: str,
    *columns: ColumnSpec,
    order: tuple[str, ...] = _ARRIVAL_ORDER,
    schema_version: int = 2,  # 2: prices and quantities decimal128(38, 18), were int64 at 10^9
) -> TableSpec:
    return TableSpec(
        name=name,
        kind="event",
        description=description,
        columns=EVENT_PREFIX + columns,
        partition_by=_PARTITION,
        business_keys=_ROW_KEY,
        tie_break_keys=order,
        schema_version=schema_version,
    )


TRADES = _event_table(
    "trades",
    "Executed trades (Tardis trades).",
    _col("trade_id", pa.string(), "venue trade id", nullable=True),
    _col("side", pa.string(), "taker side: buy, sell or unknown"),
    _col("is_buyer_maker", pa.bool_(), "true when the buyer was the maker", nullable=True),
    _price("price", "trade price"),
    _qty("qty", "trade size"),
)

QUOTES = _event_table(
    "quotes",
    "Top of book (Tardis quotes, book_ticker); an empty side is null.",
    _price("bid_price", "best bid price", nullable=True),
    _qty("bid_qty", "best bid size", nullable=True),
    _price("ask_price", "best ask price", nullable=True),
    _qty("ask_qty", "best ask size", nullable=True),
    _col("seq_num", pa.int64(), "venue sequence number", nullable=True),
)

ORDERBOOK_UPDATES = _event_table(
    "orderbook_updates",
    "Level-2 book updates (Tardis incremental_book_L2); qty is the absolute level size.",
    _col("book_seq", pa.int64(), "venue book sequence number", nullable=True),
    _col("side", pa.string(), "bid or ask"),
    _price("price", "price level"),
    _qty("qty", "absolute size at the level; 0 deletes the level"),
    _col("is_snapshot", pa.bool_(), "true for rows of a (re)snapshot of the book"),
)

BOOK_SNAPSHOTS = _event_table(
    "book_snapshots",
    "Top-N book snapshots (Tardis book_snapshot_5 / _25); best level first.",
    _col("depth", pa.int32(), "number of levels per side the vendor publishes"),
    _col("bid_prices", pa.list_(DECIMAL_TYPE), "bid prices, best first; null = empty level"),
    _col("bid_qtys", pa.list_(DECIMAL_TYPE), "bid sizes, best first; null = empty level"),
    _col("ask_prices", pa.list_(DECIMAL_TYPE), "ask prices, best first; null = empty level"),
    _col("ask_qtys", pa.list_(DECIMAL_TYPE), "ask sizes, best first; null = empty level"),
)

DERIVATIVE_TICKER = _event_table(
    "derivative_ticker",
    "Derivative instrument ticker: mark, index, funding, open interest.",
    _price("mark_price", "mark price; null before the venue publishes one", nullable=True),
    _price("index_price", "index price", nullable=True),
    _price("last_price", "last traded price", nullable=True),
    _qty("open_interest", "open interest", nullable=True),
    _float("funding_rate", "current funding rate"),
    _float("predicted_funding_rate", "predicted next funding rate"),
    _col("funding_ts_us", pa.int64(), "next funding time, us since epoch UTC", nullable=True),
)

LIQUIDATIONS = _event_table(
    "liquidations",
    "Liquidations; side buy = a short was liquidated, sell = a long was liquidated.",
    _col("liquidation_id", pa.string(), "venue liquidation id", nullable=True),
    _col("side", pa.string(), "buy or sell"),
    _price("price", "liquidation price"),
    _qty("qty", "liquidated size"),
)

OPTIONS_CHAIN = _event_table(
    "options_chain",
    "Option chain ticker rows (Tardis options_chain).",
    _col("option_type", pa.string(), "call or put"),
    _price("strike", "strike price"),
    _col("expiration_ts_us", pa.int64(), "expiration time, us since epoch UTC"),
    _qty("open_interest", "open interest", nullable=True),
    _price("last_price", "last traded price", nullable=True),
    _price("bid_price", "best bid price", nullable=True),
    _qty("bid_qty", "best bid size", nullable=True),
    _float("bid_iv", "implied volatility at the bid"),
    _price("ask_price", "best ask price", nullable=True),
    _qty("ask_qty", "best ask size", nullable=True),
    _float("ask_iv", "implied volatility at the ask"),
    _price("mark_price", "mark price", nullable=True),
    _float("mark_iv", "implied volatility at the mark"),
    _col("underlying_index", pa.string(), "underlying index name", nullable=True),
    _price("underlying_price", "underlying price", nullable=True),
    _float("delta", "delta"),
    _float("gamma", "gamma"),
    _float("vega", "vega"),
    _float("theta", "theta"),
    _float("rho", "rho"),
)

_CHANNEL = (
    _col("channel_id", pa.int32(), "exchange channel number (opaque)"),
    _col("channel_seq", pa.int64(), "channel publication sequence: SZSE ApplSeqNum, SSE BizIndex"),
    _col("channel_biz_seq", pa.int64(), "SSE BizIndex; null on SZSE", nullable=True),
)

CN_ORDER_EVENTS = _event_table(
    "cn_order_events",
    "CN order-by-order events (Quant360 SSE/SZSE order_new); replay by channel sequence.",
    *_CHANNEL,
    _col("symbol_order_seq", pa.int64(), "SSE OrderIndex; null on SZSE", nullable=True),
    _col("order_ref", pa.int64(), "order id: SZSE ApplSeqNum, SSE OrderNo"),
    _col("event_kind", pa.string(), "ADD or CANCEL (SSE D)"),
    _col("side", pa.string(), "BUY, SELL or UNKNOWN"),
    _col(
        "order_type",
        pa.string(),
        "SZSE MARKET, LIMIT, BEST_OWN or UNKNOWN; null on SSE",
        nullable=True,
    ),
    _price("price", "order price; 0 for SZSE MARKET and BEST_OWN orders"),
    _qty("qty", "order size in shares (SSE: size left after the first match; D: withdrawn)"),
    order=_CHANNEL_ORDER,
    schema_version=1,
)

CN_TICK_EVENTS = _event_table(
    "cn_tick_events",
    "CN trade-by-trade events (Quant360 SSE/SZSE tick_new): fills and SZSE cancels.",
    *_CHANNEL,
    _col("symbol_trade_seq", pa.int64(), "SSE TradeIndex; null on SZSE", nullable=True),
    _col(
        "bid_order_ref", pa.int64(), "buy order id (SZSE BidApplSeqNum, SSE BuyNo)", nullable=True
    ),
    _col(
        "ask_order_ref",
        pa.int64(),
        "sell order id (SZSE OfferApplSeqNum, SSE SellNo)",
        nullable=True,
    ),
    _col("event_kind", pa.string(), "TRADE or CANCEL (SZSE ExecType 4)"),
    _col(
        "aggressor_side",
        pa.string(),
        "SSE TradeBSFlag: BUY, SELL, UNKNOWN; null on SZSE",
        nullable=True,
    ),
    _price("price", "trade price; 0 on SZSE cancels"),
    _qty("qty", "shares traded or withdrawn"),
    order=_CHANNEL_ORDER,
    schema_version=1,
)

CN_L2_SNAPSHOTS = _event_table(
    "cn_l2_snapshots",
    "CN level-2 snapshots (Quant360 SZSE L2_new): 10 levels per side, best first.",
    _col("snapshot_seq", pa.int64(), "vendor MsgSeqNum"),
    _col("image_status", pa.string(), "ImageStatus as given (1 = full image)", nullable=True),
    _col(
        "trading_phase_code",
        pa.string(),
        "TradingPhaseCode as given (O0, T0, C0, E0, ...)",
        nullable=True,
    ),
    _col("bid_price_levels", pa.list_(DECIMAL_TYPE), "10 bid prices, best first; 0 = empty"),
    _col("bid_qty_levels", pa.list_(DECIMAL_TYPE), "10 bid sizes in shares, best first"),
    _col("ask_price_levels", pa.list_(DECIMAL_TYPE), "10 ask prices, best first; 0 = empty"),
    _col("ask_qty_levels", pa.list_(DECIMAL_TYPE), "10 ask sizes in shares, best first"),
    order=_SNAPSHOT_ORDER,
    schema_version=1,
)

EVENT_TABLES: tuple[TableSpec, ...] = (
    TRADES,
    QUOTES,
    ORDERBOOK_UPDATES,
    BOOK_SNAPSHOTS,
    DERIVATIVE_TICKER,
    LIQUIDATIONS,
    OPTIONS_CHAIN,
    CN_ORDER_EVENTS,
    CN_TICK_EVENTS,
    CN_L2_SNAPSHOTS,
)
