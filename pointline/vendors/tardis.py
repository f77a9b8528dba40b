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

Path rules: ``exchange=<x>/type=<data_type>/date=<YYYY-MM-DD>/symbol=<S>/<file>`` below
``bronze/tardis/``; every ``key=value`` folder is a fact, ``type`` is required.

>>> FORMATS["trades"].header
('exchange', 'symbol', 'timestamp', 'local_timestamp', 'id', 'side', 'price', 'amount')
>>> FORMATS["incremental_book_L2"].table
'orderbook_updates'
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import Any, Final, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from operators import rules
from operators.normalize import normalize
from operators.parse import parse_csv
from pointline.chain import RowFlags, Source
from pointline.vendors.protocol import (
    BadPathError,
    Derived,
    Field,
    FileFormat,
    PathFacts,
    ReadFields,
    Rule,
    Vendor,
)

__all__ = ["FORMATS", "HEADERS", "VENDOR", "book_snapshot_header", "describe", "parse"]

Array: TypeAlias = "pa.Array[Any]"

_SELL: Final = pa.scalar("sell", pa.string())


# --------------------------------------------------------------------------- derived columns


def _event_time(read: ReadFields, flags: RowFlags) -> dict[str, Array]:
    """``timestamp``, falling back row by row to ``local_timestamp`` where it is empty."""
    event, local = read.values["timestamp"], read.values["local_timestamp"]
    fell_back = ~read.present["timestamp"]
    if fell_back.any():
        event = pc.if_else(pa.array(fell_back), local, event)
        flags.flag(fell_back & ~read.present["local_timestamp"], "missing_field", "timestamp")
    return {"ts_event_us": event}


def _is_buyer_maker(read: ReadFields, flags: RowFlags) -> dict[str, Array]:
    """Taker ``sell`` means the buyer was the maker; null unless the side is buy/sell."""
    side = read.values["side"]
    known = pc.is_in(side, value_set=pa.array(["buy", "sell"], pa.string()))
    maker = pc.if_else(known, pc.equal(side, _SELL), pa.scalar(None, pa.bool_()))
    return {"is_buyer_maker": maker}


def _absent(column: str, dtype: pa.DataType) -> Derived:
    """A column Tardis does not publish: all null."""

    def nulls(read: ReadFields, flags: RowFlags) -> dict[str, Array]:
        return {column: pa.nulls(read.n, dtype)}  # type: ignore[call-overload]  # any DataType

    return Derived((column,), nulls)


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
    FileFormat(
        data_type="quotes",
        table="quotes",
        fields=(
            *_PREFIX,
            Field("ask_amount", "decimal", to="ask_qty"),
            Field("ask_price", "decimal"),
            Field("bid_price", "decimal"),
            Field("bid_amount", "decimal", to="bid_qty"),
        ),
        derived=(_EVENT_TIME, _absent("seq_num", pa.int64())),
        rule=rules.INVALID_QUOTE,
    ),
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
        derived=(_EVENT_TIME, _absent("book_seq", pa.int64())),
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


def describe(relative: PurePosixPath) -> PathFacts:
    """What a path below ``bronze/tardis/`` says: ``type=`` (required), ``date=`` (an
    invalid date is ignored) and the other ``key=value`` folders (``exchange``,
    ``symbol``) as extras.

    >>> facts = describe(PurePosixPath("exchange=deribit/type=trades/date=2024-09-29/symbol=X/a"))
    >>> facts.data_type, str(facts.date), dict(facts.extras)
    ('trades', '2024-09-29', {'exchange': 'deribit', 'symbol': 'X'})
    """
    facts = dict(p.split("=", 1) for p in relative.parts[:-1] if "=" in p)
    if "type" not in facts:
        msg = (
            "cannot tell the data type from the path; expected "
            "tardis/exchange=<x>/type=<data_type>/date=<YYYY-MM-DD>/symbol=<S>/<file> "
            "under the bronze root"
        )
        raise BadPathError(msg)
    date = None
    if "date" in facts:
        try:
            date = datetime.date.fromisoformat(facts["date"])
        except ValueError:
            date = None
    extras = {k: v for k, v in facts.items() if k not in {"type", "date"}}
    return PathFacts(data_type=facts["type"], date=date, extras=extras)


def parse(
    fmt: FileFormat, path: str | Path, *, display_path: str | None = None, block_size: int = 1 << 20
) -> Source:
    """The parse step of one Tardis file: its CSV, columns matched by the format's header."""
    return parse_csv(path, fmt.header, display_path=display_path, block_size=block_size)


VENDOR: Final = Vendor(
    name="tardis",
    timezone="UTC",
    formats=FORMATS,
    describe=describe,
    parse=parse,
    normalize=normalize,
)
"""Tardis.dev, the first vendor."""
