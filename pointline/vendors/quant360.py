"""Quant360 (Chinese A-shares, SSE and SZSE Level-2/3): every stream Pointline reads.

docs/cn.md is the spec. Quant360 ships one CSV per symbol, stream and trading day; the
archive import (:mod:`pointline.archives`) lays them out in Bronze as
``exchange=<sse|szse>/type=<order_new|tick_new|L2_new>/date=<YYYY-MM-DD>/symbol=<code>/<code>.csv.gz``
(:data:`LAYOUT`). The path gives the exchange, the stream and the symbol (the files have
no symbol column on SZSE; SSE's ``SecurityID`` must match the path's code, else the row
is ``symbol_mismatch``). The two exchanges write different headers for the same stream,
so a file's format is keyed by exchange and stream (:func:`format_key`:
``szse_order_new``); SSE ``L2_new`` has no format (the vendor ships none), so such a file
fails ``unsupported_data_type``.

Every cell is text; times are 17 digits of Asia/Shanghai wall time (``wall_ms``), prices
and sizes exact decimals, sequence numbers and order refs int64, the channel int32.
Vocabularies are upper case (``BUY``/``SELL``/``UNKNOWN``, ``ADD``/``CANCEL``, ...).
``channel_seq`` is the channel's publication sequence on both exchanges (SZSE
``ApplSeqNum``, SSE ``BizIndex``), the CN replay key (docs/cn.md section 4).

>>> FORMATS["szse_order_new"].table, FORMATS["sse_tick_new"].table
('cn_order_events', 'cn_tick_events')
>>> path = "exchange=szse/type=order_new/date=2024-01-02/symbol=000001/000001.csv.gz"
>>> describe(PurePosixPath(path)).extras["symbol"]
'000001'
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from pathlib import PurePosixPath
from types import MappingProxyType
from typing import Any, Final, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from operators import rules
from operators.normalize import normalize
from operators.parse import parse_format
from pointline.arrays import index_in, repeated_text
from pointline.chain import RowFlags
from pointline.vendors.protocol import (
    BadPathError,
    Derived,
    Field,
    FileFormat,
    Kind,
    PathFacts,
    ReadFields,
    Vendor,
    absent,
)

__all__ = [
    "EXCHANGES",
    "FORMATS",
    "LAYOUT",
    "STREAMS",
    "TIMEZONE",
    "VENDOR",
    "describe",
    "format_key",
]

Array: TypeAlias = "pa.Array[Any]"

TIMEZONE: Final = "Asia/Shanghai"
"""The zone of every Quant360 time and of CN trading days."""

EXCHANGES: Final = ("sse", "szse")
"""The exchanges Quant360 covers (archive suffix SH = sse, SZ = szse)."""

STREAMS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {"szse": ("order_new", "tick_new", "L2_new"), "sse": ("order_new", "tick_new")}
)
"""The streams with a Silver table, per exchange (SSE L2_new and L1_new have none)."""

LAYOUT: Final = (
    "bronze/quant360/exchange=<sse|szse>/type=<stream>/date=<YYYY-MM-DD>"
    "/symbol=<code>/<code>.csv.gz"
)
"""Where a Quant360 file lives in Bronze."""

_CODE_DIGITS: Final = 6

# --------------------------------------------------------------------------- derived columns


def _path_columns(read: ReadFields, flags: RowFlags) -> dict[str, Array]:
    """``exchange`` and ``symbol`` (zero-filled to 6 digits) from the file's path."""
    return {
        "exchange": repeated_text(read.facts.extras["exchange"], read.n),
        "symbol": repeated_text(read.facts.extras["symbol"].zfill(_CODE_DIGITS), read.n),
    }


_FROM_PATH: Final = Derived(("exchange", "symbol"), _path_columns)


def _sse_symbol(read: ReadFields, flags: RowFlags) -> dict[str, Array]:
    """``exchange`` and ``symbol`` from the path; a row whose ``SecurityID`` (zero-filled)
    names another code is ``symbol_mismatch``."""
    columns = _path_columns(read, flags)
    security = pc.utf8_lpad(read.values["SecurityID"], _CODE_DIGITS, "0")
    differs = pc.not_equal(security, columns["symbol"]).fill_null(False)
    flags.flag(np.asarray(differs, dtype=np.bool_), "symbol_mismatch", "SecurityID")
    return columns


def _vocabulary(values: Array, codes: Mapping[str, str], other: str | None) -> Array:
    """Vendor codes to upper-case terms; a code not in ``codes`` becomes ``other`` (null
    when ``other`` is None, for a table rule to catch); an empty cell stays null."""
    index = index_in(values, list(codes))
    mapped: Array = pa.array(list(codes.values()), pa.string()).take(index)
    if other is None or index.null_count == values.null_count:  # no unknown code
        return mapped
    unknown = pc.and_(pc.is_null(index), pc.is_valid(values))
    named: Array = pc.if_else(unknown, pa.scalar(other, pa.string()), mapped)
    return named


def _mapped(column: str, header: str, codes: Mapping[str, str], other: str | None) -> Derived:
    def fn(read: ReadFields, flags: RowFlags) -> dict[str, Array]:
        return {column: _vocabulary(read.values[header], codes, other)}

    return Derived((column,), fn, blame={column: header})


def _constant(column: str, value: str) -> Derived:
    def fn(read: ReadFields, flags: RowFlags) -> dict[str, Array]:
        return {column: repeated_text(value, read.n)}

    return Derived((column,), fn)


def _copy(column: str, header: str) -> Derived:
    """A second canonical column from one vendor field (SZSE ApplSeqNum is both the
    channel sequence and the order id)."""

    def fn(read: ReadFields, flags: RowFlags) -> dict[str, Array]:
        return {column: read.values[header]}

    return Derived((column,), fn, blame={column: header})


def _order_ref(column: str, header: str) -> Derived:
    """An order reference where ``0`` means none (null)."""

    def fn(read: ReadFields, flags: RowFlags) -> dict[str, Array]:
        values = read.values[header]
        none = pc.equal(values, pa.scalar(0, pa.int64()))
        return {column: pc.if_else(none, pa.scalar(None, pa.int64()), values)}

    return Derived((column,), fn, blame={column: header})


# --------------------------------------------------------------------------- formats


def _time(header: str, to: str | None = "ts_event_us", **kw: Any) -> Field:
    return Field(header, "wall_ms", to=to, zone=TIMEZONE, **kw)


def _req(header: str, kind: Kind, to: str | None) -> Field:
    return Field(header, kind, to=to, required=True)


_SZSE_SIDE: Final = {"1": "BUY", "2": "SELL"}
_SSE_SIDE: Final = {"B": "BUY", "S": "SELL"}
_SZSE_ORDER_TYPE: Final = {"1": "MARKET", "2": "LIMIT", "U": "BEST_OWN"}
_SSE_ORDER_KIND: Final = {"A": "ADD", "D": "CANCEL"}
_SZSE_EXEC_TYPE: Final = {"F": "TRADE", "4": "CANCEL"}
_NO_LOCAL_TIME: Final = absent("ts_local_us", pa.int64())

_SZSE_ORDER: Final = FileFormat(
    data_type="szse_order_new",
    table="cn_order_events",
    fields=(
        _req("ApplSeqNum", "int", "channel_seq"),
        _req("Side", "text", None),
        _req("OrdType", "text", None),
        _req("Price", "decimal", "price"),
        _req("OrderQty", "decimal", "qty"),
        _time("TransactTime", required=True),
        _req("ChannelNo", "int", "channel_id"),
    ),
    derived=(
        _FROM_PATH,
        _NO_LOCAL_TIME,
        _copy("order_ref", "ApplSeqNum"),
        absent("channel_biz_seq", pa.int64()),
        absent("symbol_order_seq", pa.int64()),
        _constant("event_kind", "ADD"),
        _mapped("side", "Side", _SZSE_SIDE, "UNKNOWN"),
        _mapped("order_type", "OrdType", _SZSE_ORDER_TYPE, "UNKNOWN"),
    ),
    rule=rules.INVALID_CN_ORDER,
)

_SSE_ORDER: Final = FileFormat(
    data_type="sse_order_new",
    table="cn_order_events",
    fields=(
        _req("SecurityID", "text", None),
        _time("TransactTime", required=True),
        _req("OrderNo", "int", "order_ref"),
        _req("Price", "decimal", "price"),
        _req("Balance", "decimal", "qty"),
        _req("OrderBSFlag", "text", None),
        _req("OrdType", "text", None),
        _req("OrderIndex", "int", "symbol_order_seq"),
        _req("ChannelNo", "int", "channel_id"),
        _req("BizIndex", "int", "channel_seq"),
    ),
    derived=(
        Derived(("exchange", "symbol"), _sse_symbol),
        _NO_LOCAL_TIME,
        _copy("channel_biz_seq", "BizIndex"),
        _mapped("event_kind", "OrdType", _SSE_ORDER_KIND, None),
        _mapped("side", "OrderBSFlag", _SSE_SIDE, "UNKNOWN"),
        absent("order_type", pa.string()),
    ),
    rule=rules.INVALID_CN_ORDER,
)

_SZSE_TICK: Final = FileFormat(
    data_type="szse_tick_new",
    table="cn_tick_events",
    fields=(
        _req("ApplSeqNum", "int", "channel_seq"),
        Field("BidApplSeqNum", "int", to=None),
        Field("OfferApplSeqNum", "int", to=None),
        _req("Price", "decimal", "price"),
        _req("Qty", "decimal", "qty"),
        _req("ExecType", "text", None),
        _time("TransactTime", required=True),
        _req("ChannelNo", "int", "channel_id"),
    ),
    derived=(
        _FROM_PATH,
        _NO_LOCAL_TIME,
        absent("channel_biz_seq", pa.int64()),
        absent("symbol_trade_seq", pa.int64()),
        _order_ref("bid_order_ref", "BidApplSeqNum"),
        _order_ref("ask_order_ref", "OfferApplSeqNum"),
        _mapped("event_kind", "ExecType", _SZSE_EXEC_TYPE, None),
        absent("aggressor_side", pa.string()),
    ),
    rule=rules.INVALID_CN_TICK,
)

_SSE_TICK: Final = FileFormat(
    data_type="sse_tick_new",
    table="cn_tick_events",
    fields=(
        _req("SecurityID", "text", None),
        _time("TradeTime", required=True),
        _req("TradePrice", "decimal", "price"),
        _req("TradeQty", "decimal", "qty"),
        Field("BuyNo", "int", to=None),
        Field("SellNo", "int", to=None),
        _req("TradeIndex", "int", "symbol_trade_seq"),
        _req("ChannelNo", "int", "channel_id"),
        Field("TradeBSFlag", "text", to=None),
        _req("BizIndex", "int", "channel_seq"),
    ),
    derived=(
        Derived(("exchange", "symbol"), _sse_symbol),
        _NO_LOCAL_TIME,
        _copy("channel_biz_seq", "BizIndex"),
        _order_ref("bid_order_ref", "BuyNo"),
        _order_ref("ask_order_ref", "SellNo"),
        _constant("event_kind", "TRADE"),
        _mapped("aggressor_side", "TradeBSFlag", _SSE_SIDE, "UNKNOWN"),
    ),
    rule=rules.INVALID_CN_TICK,
)

_SZSE_L2: Final = FileFormat(
    data_type="szse_L2_new",
    table="cn_l2_snapshots",
    fields=(
        _time("SendingTime", to="ts_local_us", optional=True),
        _req("MsgSeqNum", "int", "snapshot_seq"),
        Field("ImageStatus", "text", to="image_status", optional=True),
        _time("QuotTime", required=True),
        _req("BidPrice", "decimal_list", "bid_price_levels"),
        _req("BidOrderQty", "decimal_list", "bid_qty_levels"),
        _req("OfferPrice", "decimal_list", "ask_price_levels"),
        _req("OfferOrderQty", "decimal_list", "ask_qty_levels"),
        Field("TradingPhaseCode", "text", to="trading_phase_code", optional=True),
    ),
    derived=(_FROM_PATH,),
    rule=rules.INVALID_CN_L2,
)

FORMATS: Final[Mapping[str, FileFormat]] = MappingProxyType(
    {f.data_type: f for f in (_SZSE_ORDER, _SSE_ORDER, _SZSE_TICK, _SSE_TICK, _SZSE_L2)}
)
"""Every exchange's stream Pointline reads, keyed ``<exchange>_<stream>``."""


# --------------------------------------------------------------------------- path rules

_KEYS: Final = ("exchange", "type", "date", "symbol")
_EXTENSIONS: Final = (".csv.gz", ".csv")
_CODE: Final = re.compile(r"[0-9]{1,6}")


def describe(relative: PurePosixPath) -> PathFacts:
    """What a path below ``bronze/quant360/`` says (:data:`LAYOUT`): the stream (data
    type), the date and the extras ``exchange`` and ``symbol``. Raises
    :class:`BadPathError` for any other shape: four ``key=value`` folders in this order,
    an exchange Quant360 covers, a calendar date, a numeric code of up to 6 digits and a
    file named after it. Any ``type=`` fits here (an unknown stream fails at ingest,
    ``unsupported_data_type``).
    """
    parts = relative.parts
    pairs = [p.partition("=") for p in parts[:-1]]
    shape_ok = len(parts) == len(_KEYS) + 1 and all(
        key == want and sep and value for (key, sep, value), want in zip(pairs, _KEYS, strict=False)
    )
    if not shape_ok:
        msg = f"does not follow the Quant360 layout {LAYOUT}"
        raise BadPathError(msg)
    exchange, data_type, day, symbol = (value for _, _, value in pairs)
    if exchange not in EXCHANGES:
        msg = f"names exchange {exchange!r}; Quant360 covers {', '.join(EXCHANGES)}"
        raise BadPathError(msg)
    try:
        date = datetime.date.fromisoformat(day)
    except ValueError:
        msg = f"has date={day!r}, not a calendar date (expected YYYY-MM-DD)"
        raise BadPathError(msg) from None
    name = parts[-1]
    stem = next((name[: -len(ext)] for ext in _EXTENSIONS if name.endswith(ext)), None)
    if _CODE.fullmatch(symbol) is None or stem != symbol:
        msg = (
            f"must be symbol=<code>/<code>.csv.gz with a numeric code, got symbol={symbol!r}/{name}"
        )
        raise BadPathError(msg)
    return PathFacts(
        data_type=data_type, date=date, extras={"exchange": exchange, "symbol": symbol}
    )


def format_key(facts: PathFacts) -> str:
    """The :data:`FORMATS` key of a file: ``<exchange>_<stream>``.

    >>> format_key(PathFacts("L2_new", extras={"exchange": "sse"}))
    'sse_L2_new'
    """
    return f"{facts.extras.get('exchange', '')}_{facts.data_type}"


VENDOR: Final = Vendor(
    name="quant360",
    timezone=TIMEZONE,
    formats=FORMATS,
    describe=describe,
    parse=parse_format,  # columns by name; the three optional L2 columns may be absent
    normalize=normalize,
    format_key=format_key,
)
"""Quant360, the CN vendor."""
