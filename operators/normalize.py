"""normalize: Tardis text fields to the canonical columns of a Silver table.

Parse hands on every vendor field as text under ``raw:<header>``; this step keeps those
columns (the quarantine split logs them as the vendor wrote them) and appends the target
table's canonical columns (CONTRACTS sections 3 and 4) except ``trading_date``,
``symbol_id``, ``file_id`` and ``file_seq``, which other steps own. Every produced column
has the spec's type but is declared nullable: a flagged row may hold nulls, and a later
step casts the good rows to the spec.

Mapping: ``exchange`` trimmed and lower-cased, ``symbol`` trimmed; ``ts_event_us`` from
``timestamp``, falling back row by row to ``local_timestamp`` where ``timestamp`` is empty;
``ts_local_us`` from ``local_timestamp`` (nullable; a row with neither time is
``missing_field`` on ``timestamp``); prices and quantities exact at 10^9
(:func:`~pointline.kernels.fixed_point.parse_fixed_point`); enums (``side``, option
``type``) trimmed and lower-cased; ``amount`` becomes ``qty`` (``bid_qty``, ...).

Row rules (CONTRACTS section 8), in the order they are applied (the first flag wins):

1. field by field, in header order: a required field empty -> ``missing_field``, text that
   is not a number -> ``unparseable_value``, a scaled value outside int64 ->
   ``value_out_of_range`` (flag field = the vendor header name);
2. ``ts_event_us`` then ``ts_local_us`` outside ``[2000-01-01, now + 2 days]`` ->
   ``timestamp_out_of_range`` (field ``timestamp``, or ``local_timestamp`` where the event
   time fell back to it or for the receive time);
3. the table's own rule (``invalid_trade``, ``invalid_quote``, ...), without a field.

Everything is vectorised per batch with pyarrow.compute and numpy; no Python runs per row.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeAlias

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from operators.columns import raw
from pointline.chain import Map, RowFlags
from pointline.errors import SchemaError
from pointline.kernels.fixed_point import parse_fixed_point
from pointline.schemas import get_table_spec
from pointline.vendors.tardis import HEADERS, TABLE_OF

__all__ = ["MIN_TS_US", "SUPPORTED_DATA_TYPES", "normalize_tardis"]

Array: TypeAlias = "pa.Array[Any]"
BoolMask: TypeAlias = npt.NDArray[np.bool_]
Kind = Literal["lower", "text", "fixed", "int", "float", "bool"]
"""How a vendor field is read: ``lower`` trimmed + lower-cased text, ``text`` trimmed text,
``fixed`` int64 at 10^9, ``int`` int64, ``float`` float64, ``bool`` 'true'/'false'."""

MIN_TS_US: Final = 946_684_800_000_000
"""2000-01-01T00:00:00Z: the earliest accepted event or receive time."""
_FUTURE_SLACK_US: Final = 2 * 86_400 * 1_000_000
_INT_DIGITS: Final = 18  # any string of at most 18 decimal digits fits in int64
_INT_TEXT: Final = r"^[+-]?[0-9]+$"
_FLOAT_TEXT: Final = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
_DROPPED: Final = frozenset({"trading_date", "symbol_id", "file_id", "file_seq"})
_ZERO: Final = pa.scalar(0, pa.int64())
_TRUE_TEXT: Final = pa.scalar("true", pa.string())
_FALSE_TEXT: Final = pa.scalar("false", pa.string())
_SELL: Final = pa.scalar("sell", pa.string())


@dataclass(frozen=True, slots=True)
class _Field:
    """One vendor field: how to read it and whether an empty value is ``missing_field``."""

    header: str
    kind: Kind
    required: bool = False


@dataclass(frozen=True, slots=True)
class _Parsed:
    """The batch's fields, read: values by header, and which cells held text."""

    values: dict[str, Array]
    present: dict[str, BoolMask]
    n: int


Derive: TypeAlias = Callable[[_Parsed], dict[str, Array]]
Invalid: TypeAlias = Callable[[Mapping[str, Array]], Array]


@dataclass(frozen=True, slots=True)
class _Plan:
    """How one Tardis data type becomes its table's columns."""

    fields: tuple[_Field, ...]  # in header order
    renames: Mapping[str, str]  # canonical column -> vendor header
    derive: Derive | None = None  # columns computed from several fields
    rule: str | None = None  # the table rule's reason code
    invalid: Invalid | None = None  # rows breaking the table rule (null = fine)


_PREFIX_FIELDS: Final = (
    _Field("exchange", "lower", required=True),
    _Field("symbol", "text", required=True),
    _Field("timestamp", "int"),  # falls back to local_timestamp
    _Field("local_timestamp", "int"),  # ts_local_us is nullable (CONTRACTS section 4)
)
_PREFIX_RENAMES: Final = {
    "exchange": "exchange",
    "symbol": "symbol",
    "ts_local_us": "local_timestamp",
}


# --------------------------------------------------------------------------- readers


def _lengths(text: Array) -> npt.NDArray[np.int32]:
    """Bytes per cell, 0 for nulls."""
    lengths: Array = pc.binary_length(text)  # type: ignore[call-overload]  # stub: StringArray only
    return np.asarray(lengths.fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int32)


def _present(text: Array) -> BoolMask:
    """True where a cell holds text (not null, not empty)."""
    return _lengths(text) > 0


def _numpy_mask(mask: Array) -> BoolMask:
    """A boolean array as numpy, null counting as false."""
    filled: Array = mask.fill_null(False)
    return np.asarray(filled.to_numpy(zero_copy_only=False), dtype=np.bool_)


def _outside(ts: Array, low: int, high: int) -> BoolMask:
    """True where ``ts`` is present and outside ``[low, high]``."""
    below: Array = pc.less(ts, pa.scalar(low, pa.int64()))
    above: Array = pc.greater(ts, pa.scalar(high, pa.int64()))
    return _numpy_mask(below) | _numpy_mask(above)


def _with_validity(values: Array, valid: BoolMask) -> Array:
    """``values`` with nulls where ``valid`` is false."""
    if bool(valid.all()) and values.null_count == 0:
        return values
    masked: Array = pc.if_else(pa.array(valid), values, pa.scalar(None, values.type))
    return masked


def _parse_int(text: Array, present: BoolMask) -> tuple[Array, BoolMask, BoolMask]:
    """Decimal integer text to int64: values, unparseable, out of range.

    Short digit strings (the usual case) are cast by Arrow; only after checking them,
    because Arrow's cast also takes ``0x10``. Anything else that looks like an integer
    (a sign, 19+ digits) goes through the exact fixed-point kernel at scale 0.
    """
    n = len(text)
    simple = (
        pc.ascii_is_decimal(text).fill_null(False).to_numpy(zero_copy_only=False)
        & (_lengths(text) <= _INT_DIGITS)
        & present
    )
    simple = np.asarray(simple, dtype=np.bool_)
    no_flags = np.zeros(n, dtype=np.bool_)
    if bool((simple == present).all()) and text.null_count == n - int(simple.sum()):
        # The usual case: every cell is null or a short digit string.
        return pc.cast(text, pa.int64()), no_flags, no_flags
    values = pc.cast(_with_validity(text, simple), pa.int64())
    rest = present & ~simple
    if not rest.any():
        return values, no_flags, no_flags
    integer = np.asarray(
        pc.match_substring_regex(text, _INT_TEXT).fill_null(False).to_numpy(zero_copy_only=False),
        dtype=np.bool_,
    )
    unparseable = rest & ~integer
    long_rows = rest & integer
    out_of_range = no_flags
    if long_rows.any():
        parsed = parse_fixed_point(_with_validity(text, long_rows), scale_digits=0)
        out_of_range = parsed.out_of_range
        values = pc.coalesce(values, parsed.values)
    return values, unparseable, out_of_range


def _parse_float(text: Array, present: BoolMask) -> tuple[Array, BoolMask]:
    """Decimal text to float64 (rates, vols, greeks): values and unparseable."""
    number = np.asarray(
        pc.match_substring_regex(text, _FLOAT_TEXT).fill_null(False).to_numpy(zero_copy_only=False),
        dtype=np.bool_,
    )
    good = present & number
    return pc.cast(_with_validity(text, good), pa.float64()), present & ~number


def _read(field: _Field, text: Array, flags: RowFlags) -> tuple[Array, BoolMask]:
    """Read one vendor field and flag its missing, unparseable and out-of-range rows."""
    name = field.header
    if field.kind in ("lower", "text"):
        trimmed = pc.utf8_trim_whitespace(text)
        present = _present(trimmed)
        value = pc.ascii_lower(trimmed) if field.kind == "lower" else trimmed
    else:
        present = _present(text)
    if field.required:
        flags.flag(~present, "missing_field", name)
    if field.kind in ("lower", "text"):
        return _with_validity(value, present), present
    if field.kind == "bool":
        lowered = pc.ascii_lower(pc.utf8_trim_whitespace(text))
        is_true = pc.equal(lowered, _TRUE_TEXT)
        known = pc.or_(is_true, pc.equal(lowered, _FALSE_TEXT))
        return pc.if_else(known, is_true, pa.scalar(None, pa.bool_())), present
    if field.kind == "fixed":
        result = parse_fixed_point(text)
        flags.flag(result.unparseable, "unparseable_value", name)
        flags.flag(result.out_of_range, "value_out_of_range", name)
        return result.values, present
    if field.kind == "int":
        values, unparseable, out_of_range = _parse_int(text, present)
        flags.flag(unparseable, "unparseable_value", name)
        flags.flag(out_of_range, "value_out_of_range", name)
        return values, present
    values, unparseable = _parse_float(text, present)
    flags.flag(unparseable, "unparseable_value", name)
    return values, present


# --------------------------------------------------------------------------- table rules


def _any(*masks: Array) -> Array:
    out: Array = masks[0].fill_null(False)
    for mask in masks[1:]:
        filled: Array = mask.fill_null(False)
        out = pc.or_(out, filled)
    return out


def _not_in(values: Array, allowed: tuple[str, ...]) -> Array:
    """True where ``values`` is null or not one of ``allowed``."""
    return pc.invert(pc.is_in(values, value_set=pa.array(allowed, pa.string())))


def _trade_like(sides: tuple[str, ...]) -> Invalid:
    def invalid(columns: Mapping[str, Array]) -> Array:
        return _any(
            _not_in(columns["side"], sides),
            pc.less_equal(columns["price"], _ZERO),
            pc.less_equal(columns["qty"], _ZERO),
        )

    return invalid


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


# --------------------------------------------------------------------------- derived columns


def _is_buyer_maker(parsed: _Parsed) -> dict[str, Array]:
    """Taker ``sell`` means the buyer was the maker; null unless the side is buy/sell."""
    side = parsed.values["side"]
    known = pc.is_in(side, value_set=pa.array(["buy", "sell"], pa.string()))
    maker = pc.if_else(known, pc.equal(side, _SELL), pa.scalar(None, pa.bool_()))
    return {"is_buyer_maker": maker}


def _null_column(name: str, dtype: pa.DataType) -> Derive:
    def derive(parsed: _Parsed) -> dict[str, Array]:
        return {name: pa.nulls(parsed.n, dtype)}  # type: ignore[call-overload]  # any DataType

    return derive


def _levels(parsed: _Parsed, headers: list[str]) -> Array:
    """Row-wise ``list<int64>`` of the given fields, one item per level (null if empty)."""
    n, depth = parsed.n, len(headers)
    columns = [parsed.values[h] for h in headers]
    matrix = np.stack([c.fill_null(0).to_numpy(zero_copy_only=False) for c in columns], axis=1)
    valid = np.stack(
        [np.asarray(pc.is_valid(c).to_numpy(zero_copy_only=False)) for c in columns], axis=1
    )
    items = pa.array(matrix.reshape(-1), type=pa.int64(), mask=~valid.reshape(-1))
    offsets = pa.array(np.arange(n + 1, dtype=np.int32) * depth, type=pa.int32())
    return pa.ListArray.from_arrays(offsets, items)


def _snapshot(depth: int) -> Derive:
    def derive(parsed: _Parsed) -> dict[str, Array]:
        def side(name: str, what: str) -> list[str]:
            return [f"{name}[{i}].{what}" for i in range(depth)]

        return {
            "depth": pa.array(np.full(parsed.n, depth, dtype=np.int32), pa.int32()),
            "bid_prices": _levels(parsed, side("bids", "price")),
            "bid_qtys": _levels(parsed, side("bids", "amount")),
            "ask_prices": _levels(parsed, side("asks", "price")),
            "ask_qtys": _levels(parsed, side("asks", "amount")),
        }

    return derive


def _snapshot_plan(depth: int) -> _Plan:
    levels = tuple(_Field(h, "fixed") for h in HEADERS[f"book_snapshot_{depth}"][4:])
    return _Plan(fields=(*_PREFIX_FIELDS, *levels), renames={}, derive=_snapshot(depth))


_TRADE_FIELDS: Final = (
    _Field("id", "text"),
    _Field("side", "lower", required=True),
    _Field("price", "fixed", required=True),
    _Field("amount", "fixed", required=True),
)

_PLANS: Final[Mapping[str, _Plan]] = {
    "trades": _Plan(
        fields=(*_PREFIX_FIELDS, *_TRADE_FIELDS),
        renames={"trade_id": "id", "side": "side", "price": "price", "qty": "amount"},
        derive=_is_buyer_maker,
        rule="invalid_trade",
        invalid=_trade_like(("buy", "sell", "unknown")),
    ),
    "liquidations": _Plan(
        fields=(*_PREFIX_FIELDS, *_TRADE_FIELDS),
        renames={"liquidation_id": "id", "side": "side", "price": "price", "qty": "amount"},
        rule="invalid_liquidation",
        invalid=_trade_like(("buy", "sell")),
    ),
    "quotes": _Plan(
        fields=(
            *_PREFIX_FIELDS,
            *(_Field(h, "fixed") for h in ("ask_amount", "ask_price", "bid_price", "bid_amount")),
        ),
        renames={
            "bid_price": "bid_price",
            "bid_qty": "bid_amount",
            "ask_price": "ask_price",
            "ask_qty": "ask_amount",
        },
        derive=_null_column("seq_num", pa.int64()),
        rule="invalid_quote",
        invalid=_invalid_quote,
    ),
    "incremental_book_L2": _Plan(
        fields=(
            *_PREFIX_FIELDS,
            _Field("is_snapshot", "bool"),
            _Field("side", "lower", required=True),
            _Field("price", "fixed", required=True),
            _Field("amount", "fixed", required=True),
        ),
        renames={"side": "side", "price": "price", "qty": "amount", "is_snapshot": "is_snapshot"},
        derive=_null_column("book_seq", pa.int64()),
        rule="invalid_book_update",
        invalid=_invalid_book_update,
    ),
    "book_snapshot_5": _snapshot_plan(5),
    "book_snapshot_25": _snapshot_plan(25),
    "derivative_ticker": _Plan(
        fields=(
            *_PREFIX_FIELDS,
            _Field("funding_timestamp", "int"),
            _Field("funding_rate", "float"),
            _Field("predicted_funding_rate", "float"),
            _Field("open_interest", "fixed"),
            _Field("last_price", "fixed"),
            _Field("index_price", "fixed"),
            _Field("mark_price", "fixed"),
        ),
        renames={
            "mark_price": "mark_price",
            "index_price": "index_price",
            "last_price": "last_price",
            "open_interest": "open_interest",
            "funding_rate": "funding_rate",
            "predicted_funding_rate": "predicted_funding_rate",
            "funding_ts_us": "funding_timestamp",
        },
        rule="invalid_mark_price",
        invalid=_invalid_mark_price,
    ),
    "options_chain": _Plan(
        fields=(
            *_PREFIX_FIELDS,
            _Field("type", "lower", required=True),
            _Field("strike_price", "fixed", required=True),
            _Field("expiration", "int", required=True),
            _Field("open_interest", "fixed"),
            _Field("last_price", "fixed"),
            _Field("bid_price", "fixed"),
            _Field("bid_amount", "fixed"),
            _Field("bid_iv", "float"),
            _Field("ask_price", "fixed"),
            _Field("ask_amount", "fixed"),
            _Field("ask_iv", "float"),
            _Field("mark_price", "fixed"),
            _Field("mark_iv", "float"),
            _Field("underlying_index", "text"),
            _Field("underlying_price", "fixed"),
            *(_Field(g, "float") for g in ("delta", "gamma", "vega", "theta", "rho")),
        ),
        renames={
            "option_type": "type",
            "strike": "strike_price",
            "expiration_ts_us": "expiration",
            "bid_qty": "bid_amount",
            "ask_qty": "ask_amount",
            **{
                name: name
                for name in (
                    "open_interest",
                    "last_price",
                    "bid_price",
                    "bid_iv",
                    "ask_price",
                    "ask_iv",
                    "mark_price",
                    "mark_iv",
                    "underlying_index",
                    "underlying_price",
                    "delta",
                    "gamma",
                    "vega",
                    "theta",
                    "rho",
                )
            },
        },
        rule="invalid_option_contract",
        invalid=_invalid_option_contract,
    ),
}

SUPPORTED_DATA_TYPES: Final = tuple(_PLANS)
"""The Tardis data types :func:`normalize_tardis` accepts."""


def _output_fields(data_type: str) -> list[pa.Field[Any]]:
    spec = get_table_spec(TABLE_OF[data_type])
    return [
        pa.field(column.name, column.dtype, nullable=True)
        for column in spec.columns
        if column.name not in _DROPPED
    ]


def normalize_tardis(data_type: str, *, name: str = "normalize", now_us: int | None = None) -> Map:
    """A step that turns the ``raw:<header>`` text of a Tardis ``data_type`` into the
    canonical columns of its Silver table, flagging bad rows (see the module docstring).

    ``now_us`` fixes "now" for the ``timestamp_out_of_range`` upper bound (tests); by
    default it is the wall clock as each batch is converted.

    >>> step = normalize_tardis("trades", now_us=1_700_000_000_000_000)
    >>> [f.name for f in step.produces]  # doctest: +NORMALIZE_WHITESPACE
    ['exchange', 'symbol', 'ts_event_us', 'ts_local_us', 'trade_id', 'side',
     'is_buyer_maker', 'price', 'qty']
    """
    try:
        plan = _PLANS[data_type]
    except KeyError:
        msg = (
            f"normalize: unknown Tardis data type {data_type!r}; "
            f"supported: {', '.join(SUPPORTED_DATA_TYPES)}"
        )
        raise SchemaError(msg) from None
    produces = _output_fields(data_type)
    headers = HEADERS[data_type]

    def convert(batch: pa.RecordBatch, flags: RowFlags) -> dict[str, Array]:
        # 1. Field by field, in header order: missing, unparseable, out of range.
        values: dict[str, Array] = {}
        present: dict[str, BoolMask] = {}
        for field in plan.fields:
            values[field.header], present[field.header] = _read(
                field, batch[raw(field.header)], flags
            )
        parsed = _Parsed(values, present, batch.num_rows)

        # 2. Times: the event time falls back to the receive time where it is empty.
        local = values["local_timestamp"]
        fell_back = ~present["timestamp"]
        event = values["timestamp"]
        if fell_back.any():
            event = pc.if_else(pa.array(fell_back), local, event)
            flags.flag(fell_back & ~present["local_timestamp"], "missing_field", "timestamp")
        now = time.time_ns() // 1_000 if now_us is None else now_us
        max_ts_us = now + _FUTURE_SLACK_US
        event_out = _outside(event, MIN_TS_US, max_ts_us)
        flags.flag(event_out & ~fell_back, "timestamp_out_of_range", "timestamp")
        flags.flag(event_out & fell_back, "timestamp_out_of_range", "local_timestamp")
        local_out = _outside(local, MIN_TS_US, max_ts_us)
        flags.flag(local_out, "timestamp_out_of_range", "local_timestamp")

        columns: dict[str, Array] = {
            column: values[header] for column, header in _PREFIX_RENAMES.items()
        }
        columns["ts_event_us"] = event
        columns.update({column: values[header] for column, header in plan.renames.items()})
        if plan.derive is not None:
            columns.update(plan.derive(parsed))

        # 3. The table's own rule.
        if plan.rule is not None and plan.invalid is not None:
            flags.flag(plan.invalid(columns), plan.rule)
        return columns

    return Map(
        name=name,
        requires={raw(h): pa.string() for h in headers},
        produces=produces,
        flags=True,
        fn=convert,
    )
