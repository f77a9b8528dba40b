"""Tardis.dev CSV: every data type Pointline reads, declared once.

Tardis files are comma separated with a header row, ``.`` as decimal mark, timestamps in
microseconds since the epoch (UTC), rows in ``local_timestamp`` order; an empty cell is a
null and an empty gzip means "no data". Columns are matched by name, never by position
(docs/contracts.md section 11). Each data type's :class:`~pointline.vendors.FileFormat`
lists its fields in header order, so the header, the parse schema and the normalize
mapping all come from one declaration.

Mapping shared by every data type: ``exchange`` trimmed and lower-cased, ``symbol``
trimmed; ``ts_event_us`` from ``timestamp``, falling back row by row to
``local_timestamp`` where ``timestamp`` is empty (a row with neither is ``missing_field``
on ``timestamp``); ``ts_local_us`` from ``local_timestamp`` (nullable). ``amount``
becomes ``qty`` (``bid_qty``, ...).

``quotes`` and ``book_ticker`` share one header and both feed the ``quotes`` table.

Path rules (:func:`describe`), anywhere below ``bronze/tardis/``: the tardis-dev client's
flat file name ``<exchange>_<data_type>_<YYYY-MM-DD>_<symbol>.csv.gz`` (in any folder, or
none), or hive folders ``exchange=<x>/type=<data_type>/date=<YYYY-MM-DD>/symbol=<S>/<file>``,
which win when present. The data types are the keys of :data:`FORMATS`, the one list.

>>> FORMATS["trades"].header
('exchange', 'symbol', 'timestamp', 'local_timestamp', 'id', 'side', 'price', 'amount')
>>> FORMATS["incremental_book_L2"].table
'orderbook_updates'
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
from pointline.arrays import bool_array
from pointline.chain import RowFlags
from pointline.errors import PointlineError
from pointline.vendors.protocol import (
    BadPathError,
    Derived,
    Field,
    FileFormat,
    PathFacts,
    ReadFields,
    Rule,
    Vendor,
    absent,
)

__all__ = [
    "FLAT_LAYOUT",
    "FORMATS",
    "HEADERS",
    "HIVE_LAYOUT",
    "VENDOR",
    "book_snapshot_header",
    "describe",
    "flat_name",
    "symbol_key",
]

Array: TypeAlias = "pa.Array[Any]"

_SELL: Final = pa.scalar("sell", pa.string())


# --------------------------------------------------------------------------- derived columns


def _event_time(read: ReadFields, flags: RowFlags) -> dict[str, Array]:
    """``timestamp``, falling back row by row to ``local_timestamp`` where it is empty."""
    event, local = read.values["timestamp"], read.values["local_timestamp"]
    fell_back = ~read.present["timestamp"]
    if fell_back.any():
        event = pc.if_else(bool_array(fell_back), local, event)
        flags.flag(fell_back & ~read.present["local_timestamp"], "missing_field", "timestamp")
    return {"ts_event_us": event}


def _is_buyer_maker(read: ReadFields, flags: RowFlags) -> dict[str, Array]:
    """Taker ``sell`` means the buyer was the maker; null unless the side is buy/sell."""
    side = read.values["side"]
    known = pc.is_in(side, value_set=pa.array(["buy", "sell"], pa.string()))
    maker = pc.if_else(known, pc.equal(side, _SELL), pa.scalar(None, pa.bool_()))
    return {"is_buyer_maker": maker}


def _levels(read: ReadFields, headers: list[str]) -> Array:
    """Row-wise ``list<decimal128(38, 18)>`` of the given fields, one item per level, best
    first (null where a level is empty)."""
    n, depth = read.n, len(headers)
    # Level-major concatenation, then a gather into row-major order.
    stacked = pa.concat_arrays([read.values[h] for h in headers])
    order = (np.arange(depth, dtype=np.int64) * n + np.arange(n, dtype=np.int64)[:, None]).ravel()
    items = stacked.take(pa.array(order))
    offsets = pa.array(np.arange(n + 1, dtype=np.int32) * depth, type=pa.int32())
    return pa.ListArray.from_arrays(offsets, items)


def _level_headers(side: str, what: str, depth: int) -> list[str]:
    return [f"{side}[{i}].{what}" for i in range(depth)]


def _snapshot(depth: int) -> Derived:
    def levels(read: ReadFields, flags: RowFlags) -> dict[str, Array]:
        return {
            "depth": pa.array(np.full(read.n, depth, dtype=np.int32), pa.int32()),
            "bid_prices": _levels(read, _level_headers("bids", "price", depth)),
            "bid_qtys": _levels(read, _level_headers("bids", "amount", depth)),
            "ask_prices": _levels(read, _level_headers("asks", "price", depth)),
            "ask_qtys": _levels(read, _level_headers("asks", "amount", depth)),
        }

    return Derived(("depth", "bid_prices", "bid_qtys", "ask_prices", "ask_qtys"), levels)


# --------------------------------------------------------------------------- formats

_PREFIX: Final = (
    Field("exchange", "lower", required=True),
    Field("symbol", "text", required=True),
    Field("timestamp", "ts_us", to=None),  # ts_event_us, see _event_time
    Field("local_timestamp", "ts_us", to="ts_local_us"),  # nullable (contracts section 4)
)
_EVENT_TIME: Final = Derived(("ts_event_us",), _event_time)


def book_snapshot_header(depth: int) -> tuple[str, ...]:
    """The header of ``book_snapshot_<depth>``: asks[i] and bids[i] price/amount pairs."""
    levels = (
        name
        for i in range(depth)
        for name in (
            f"asks[{i}].price",
            f"asks[{i}].amount",
            f"bids[{i}].price",
            f"bids[{i}].amount",
        )
    )
    return (*(f.header for f in _PREFIX), *levels)


def _trade_like(data_type: str, id_column: str, rule: Rule, *extra: Derived) -> FileFormat:
    """trades and liquidations: the same header; ``extra`` derived columns beyond the time."""
    return FileFormat(
        data_type=data_type,
        table=data_type,
        fields=(
            *_PREFIX,
            Field("id", "text", to=id_column),
            Field("side", "lower", required=True),
            Field("price", "decimal", required=True),
            Field("amount", "decimal", to="qty", required=True),
        ),
        derived=(_EVENT_TIME, *extra),
        rule=rule,
    )


def _quote_like(data_type: str) -> FileFormat:
    """quotes and book_ticker (the exchange's best bid/offer stream): the same header, both
    feed the ``quotes`` table."""
    return FileFormat(
        data_type=data_type,
        table="quotes",
        fields=(
            *_PREFIX,
            Field("ask_amount", "decimal", to="ask_qty"),
            Field("ask_price", "decimal"),
            Field("bid_price", "decimal"),
            Field("bid_amount", "decimal", to="bid_qty"),
        ),
        derived=(_EVENT_TIME, absent("seq_num", pa.int64())),
        rule=rules.INVALID_QUOTE,
    )


def _book_snapshot(depth: int) -> FileFormat:
    levels = book_snapshot_header(depth)[len(_PREFIX) :]
    return FileFormat(
        data_type=f"book_snapshot_{depth}",
        table="book_snapshots",
        fields=(*_PREFIX, *(Field(h, "decimal", to=None) for h in levels)),
        derived=(_EVENT_TIME, _snapshot(depth)),
    )


_FORMATS: Final = (
    _trade_like(
        "trades", "trade_id", rules.INVALID_TRADE, Derived(("is_buyer_maker",), _is_buyer_maker)
    ),
    _trade_like("liquidations", "liquidation_id", rules.INVALID_LIQUIDATION),
    _quote_like("quotes"),
    _quote_like("book_ticker"),
    FileFormat(
        data_type="incremental_book_L2",
        table="orderbook_updates",
        fields=(
            *_PREFIX,
            Field("is_snapshot", "bool"),
            Field("side", "lower", required=True),
            Field("price", "decimal", required=True),
            Field("amount", "decimal", to="qty", required=True),
        ),
        derived=(_EVENT_TIME, absent("book_seq", pa.int64())),
        rule=rules.INVALID_BOOK_UPDATE,
    ),
    _book_snapshot(5),
    _book_snapshot(25),
    FileFormat(
        data_type="derivative_ticker",
        table="derivative_ticker",
        fields=(
            *_PREFIX,
            Field("funding_timestamp", "int", to="funding_ts_us"),
            Field("funding_rate", "float"),
            Field("predicted_funding_rate", "float"),
            Field("open_interest", "decimal"),
            Field("last_price", "decimal"),
            Field("index_price", "decimal"),
            Field("mark_price", "decimal"),
        ),
        derived=(_EVENT_TIME,),
    ),
    FileFormat(
        data_type="options_chain",
        table="options_chain",
        fields=(
            *_PREFIX,
            Field("type", "lower", to="option_type", required=True),
            Field("strike_price", "decimal", to="strike", required=True),
            Field("expiration", "int", to="expiration_ts_us", required=True),
            Field("open_interest", "decimal"),
            Field("last_price", "decimal"),
            Field("bid_price", "decimal"),
            Field("bid_amount", "decimal", to="bid_qty"),
            Field("bid_iv", "float"),
            Field("ask_price", "decimal"),
            Field("ask_amount", "decimal", to="ask_qty"),
            Field("ask_iv", "float"),
            Field("mark_price", "decimal"),
            Field("mark_iv", "float"),
            Field("underlying_index", "text"),
            Field("underlying_price", "decimal"),
            *(Field(greek, "float") for greek in ("delta", "gamma", "vega", "theta", "rho")),
        ),
        derived=(_EVENT_TIME,),
        rule=rules.INVALID_OPTION_CONTRACT,
    ),
)

FORMATS: Final[Mapping[str, FileFormat]] = MappingProxyType({f.data_type: f for f in _FORMATS})
"""Every Tardis data type Pointline reads, and its format."""

HEADERS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {name: fmt.header for name, fmt in FORMATS.items()}
)
"""The CSV header of each data type (derived from :data:`FORMATS`)."""


# --------------------------------------------------------------------------- path rules


FLAT_LAYOUT: Final = "bronze/tardis/<exchange>_<data_type>_<YYYY-MM-DD>_<symbol>.csv.gz"
"""The tardis-dev client's file name (``.csv`` too), in any folder below ``bronze/tardis/``."""

HIVE_LAYOUT: Final = (
    "bronze/tardis/exchange=<exchange>/type=<data_type>/date=<YYYY-MM-DD>/symbol=<symbol>/<file>"
)
"""Hive folders below ``bronze/tardis/``; they win over the file name when present."""

_EXTENSIONS: Final = (".csv.gz", ".csv")
_DATE: Final = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_AFTER_TYPE: Final = re.compile(rf"_({_DATE})_(.+)")
"""What follows the data type in a flat name: ``_<date>_<symbol>``."""
_ANY_TYPE: Final = re.compile(rf"(.+?)_({_DATE})_(.+)")
"""A flat name's rest when its data type is not a known one."""
_LONGEST_FIRST: Final = tuple(sorted(FORMATS, key=lambda t: (-len(t), t)))


def _date(text: str) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        return None


def flat_name(name: str) -> PathFacts | None:
    """What a tardis-dev client file name says, ``None`` if ``name`` is not one.

    The name is ``<exchange>_<data_type>_<YYYY-MM-DD>_<symbol>.csv.gz`` (or ``.csv``).
    Exchange ids never contain ``_``; data types and symbols may, so the data type is
    matched from the known list, longest first, right after ``<exchange>_`` and followed by
    ``_<date>_``; the symbol is the rest. Raises :class:`UnsupportedDataTypeError` (with a
    did-you-mean) when the name has that shape around a data type Tardis does not ship,
    and :class:`BadPathError` when its date is not a calendar date.

    >>> facts = flat_name("gate-io_book_snapshot_25_2024-05-01_BTC_USDT.csv.gz")
    >>> facts.data_type, str(facts.date), dict(facts.extras)
    ('book_snapshot_25', '2024-05-01', {'exchange': 'gate-io', 'symbol': 'BTC_USDT'})
    >>> flat_name("notes.txt") is None
    True
    """
    stem = next((name[: -len(ext)] for ext in _EXTENSIONS if name.endswith(ext)), None)
    if stem is None:
        return None
    exchange, _, rest = stem.partition("_")
    if not exchange or not rest:
        return None
    for data_type in _LONGEST_FIRST:
        if rest.startswith(data_type) and (found := _AFTER_TYPE.fullmatch(rest, len(data_type))):
            day, symbol = found.groups()
            break
    else:
        unknown = _ANY_TYPE.fullmatch(rest)
        if unknown is None:
            return None
        # Not a known data type (the loop tried them all): format raises, with a did-you-mean.
        data_type, day, symbol = VENDOR.format(unknown[1]).data_type, unknown[2], unknown[3]
    date = _date(day)
    if date is None:
        msg = f"the file name's date {day!r} is not a calendar date (expected YYYY-MM-DD)"
        raise BadPathError(msg)
    return PathFacts(
        data_type=data_type, date=date, extras={"exchange": exchange, "symbol": symbol}
    )


def describe(relative: PurePosixPath) -> PathFacts:
    """What a path below ``bronze/tardis/`` says (see :data:`FLAT_LAYOUT` and
    :data:`HIVE_LAYOUT`): the data type, the date and the extras ``exchange`` and
    ``symbol``. The file name is read as a tardis-dev client name (:func:`flat_name`);
    every ``key=value`` folder is a fact too, and wins over the name: ``type=`` the data
    type, ``date=`` the date (an invalid one is ignored), the others extras. A path that
    says no data type either way is a :class:`BadPathError` showing both layouts.

    >>> facts = describe(PurePosixPath("exchange=deribit/type=trades/date=2024-09-29/symbol=X/a"))
    >>> facts.data_type, str(facts.date), dict(facts.extras)
    ('trades', '2024-09-29', {'exchange': 'deribit', 'symbol': 'X'})
    >>> facts = describe(PurePosixPath("2024/05/binance-futures_trades_2024-05-01_BTCUSDT.csv"))
    >>> facts.data_type, str(facts.date), dict(facts.extras)
    ('trades', '2024-05-01', {'exchange': 'binance-futures', 'symbol': 'BTCUSDT'})
    """
    hive = dict(p.split("=", 1) for p in relative.parts[:-1] if "=" in p)
    if "type" in hive:
        try:  # the folders say the data type: the name only fills in what they do not say
            named = flat_name(relative.name) or PathFacts(data_type=hive["type"])
        except PointlineError:
            named = PathFacts(data_type=hive["type"])
    else:
        found = flat_name(relative.name)
        if found is None:
            msg = (
                "cannot tell the data type from the path; expected the tardis-dev client's "
                f"file name, {FLAT_LAYOUT} (in any folder below bronze/tardis/), or hive "
                f"folders, {HIVE_LAYOUT}"
            )
            raise BadPathError(msg)
        named = found
    date = _date(hive["date"]) if "date" in hive else None
    extras = {**named.extras, **{k: v for k, v in hive.items() if k not in {"type", "date"}}}
    return PathFacts(
        data_type=hive.get("type", named.data_type), date=date or named.date, extras=extras
    )


def symbol_key(symbol: str) -> str:
    """The dataset (CSV file name) form of a Tardis symbol: ``/`` and ``:`` become ``-``,
    upper case (docs/tardis_instruments.md section 5). The instruments API's ``id`` is in
    the venue's case (binance ``btcusdt``) and kraken rows may say ``XBT/USD`` where the
    file says ``XBT-USD``; dim_symbol keys every Tardis symbol this way.

    >>> symbol_key("xbt/usd"), symbol_key("BTCF0:USTF0"), symbol_key("BTCUSDT")
    ('XBT-USD', 'BTCF0-USTF0', 'BTCUSDT')
    """
    return symbol.replace("/", "-").replace(":", "-").upper()


VENDOR: Final = Vendor(
    name="tardis",
    timezone="UTC",
    formats=FORMATS,
    describe=describe,
    parse=parse_format,
    normalize=normalize,
    symbol_key=symbol_key,
)
"""Tardis.dev, the first vendor."""
