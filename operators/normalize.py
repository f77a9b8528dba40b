"""normalize: a vendor's text fields to the canonical columns of a Silver table.

Parse hands on every vendor field as text under ``raw:<header>``; this step keeps those
columns (the quarantine split logs them as the vendor wrote them) and appends the target
table's canonical columns (docs/contracts.md sections 3 and 4) except ``trading_date``,
``symbol_id``, ``file_id`` and ``file_seq``, which other steps own. Every produced column
has the spec's type but is declared nullable: a flagged row may hold nulls, and a later
step casts the good rows to the spec.

What to produce is the vendor's declared :class:`~pointline.vendors.FileFormat`: each
:class:`~pointline.vendors.Field` is read by its kind and becomes the column it names,
:class:`~pointline.vendors.Derived` columns are computed from several fields, and the
format's :class:`~pointline.vendors.Rule` is the table's own row rule. Building the step
checks that the format produces exactly the table's columns.

Row rules (docs/contracts.md section 8), in the order they are applied (the first flag
wins):

1. field by field, in header order: a required field empty -> ``missing_field``, text that
   is not a number -> ``unparseable_value``, a decimal with a non-zero digit past the 18th
   fractional place -> ``inexact_value``, a number that does not fit its type (a decimal:
   magnitude >= 10^20) -> ``value_out_of_range`` (flag field = the vendor header name);
2. the derived columns, which may flag rows themselves (Tardis: a row with neither time is
   ``missing_field``);
3. the row's ``exchange`` differs from the one the file's path names ->
   ``exchange_mismatch`` (flag field ``exchange``; only when the path names one);
4. every ``ts_us`` field before 2000-01-01 or more than 2 days after the file's date
   (:func:`latest_ts_us`) -> ``timestamp_out_of_range`` (flag field = its header); the
   bound never reads the wall clock, so a rebuild gives the same bytes;
5. the table's own rule (``invalid_trade``, ``invalid_quote``, ...), column by column in
   the rule's order, the field being the vendor header behind the column (``amount`` for
   ``qty``).

Everything is vectorised per batch with pyarrow.compute and numpy; no Python runs per row.
"""

from __future__ import annotations

import datetime
from typing import Any, Final, TypeAlias, cast

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from operators.columns import raw
from pointline.arrays import (
    bool_array,
    numpy_mask,
    only_digits,
    only_value,
    text_bytes,
    text_lengths,
    visible_ascii,
)
from pointline.chain import Map, RowFlags
from pointline.errors import SchemaError
from pointline.kernels.decimal import parse_decimal
from pointline.kernels.wall_time import parse_wall_ms
from pointline.schemas import DECIMAL_TYPE, get_table_spec
from pointline.vendors.protocol import TIME_KINDS, Field, FileFormat, PathFacts, ReadFields

__all__ = ["MIN_TS_US", "latest_ts_us", "normalize"]

Array: TypeAlias = "pa.Array[Any]"
BoolMask: TypeAlias = npt.NDArray[np.bool_]

MIN_TS_US: Final = 946_684_800_000_000
"""2000-01-01T00:00:00Z: the earliest accepted event or receive time."""
_UNDATED_END: Final = datetime.date(2100, 1, 1)
_SLACK_DAYS: Final = 2
_EPOCH: Final = datetime.date(1970, 1, 1)
_US_PER_DAY: Final = 86_400 * 1_000_000
_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1
_INT_DIGITS: Final = 18  # any string of at most 18 decimal digits fits in int64
_INT_TEXT: Final = r"^[+-]?[0-9]+$"
_FLOAT_TEXT: Final = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
_OWNED_ELSEWHERE: Final = frozenset({"trading_date", "symbol_id", "file_id", "file_seq"})
_INT32_MIN: Final = -(2**31)
_INT32_MAX: Final = 2**31 - 1
_LIST_TEXT: Final = r"^\[[^\[\]]*\]$"
_UPPER_A: Final = ord("A")
_UPPER_Z: Final = ord("Z")
_TRUE_TEXT: Final = pa.scalar("true", pa.string())
_FALSE_TEXT: Final = pa.scalar("false", pa.string())


# --------------------------------------------------------------------------- readers


def _present(text: Array) -> BoolMask:
    """True where a cell holds text (not null, not empty)."""
    return text_lengths(text) > 0


def _trimmed(text: Array) -> Array:
    """``text`` without leading and trailing whitespace; the same array when no byte of it
    could be whitespace (the usual case: the trim costs ~20 ns a row, the check < 1)."""
    return text if visible_ascii(text) else pc.utf8_trim_whitespace(text)


def _lowered(text: Array) -> Array:
    """``text`` with ASCII letters in lower case; the same array when it has none in upper
    case."""
    span = text_bytes(text)
    upper = (span >= _UPPER_A) & (span <= _UPPER_Z)
    return pc.ascii_lower(text) if bool(upper.any()) else text


def _outside(ts: Array, low: int, high: int) -> BoolMask:
    """True where ``ts`` is present and outside ``[low, high]``."""
    below: Array = pc.less(ts, pa.scalar(low, pa.int64()))
    above: Array = pc.greater(ts, pa.scalar(high, pa.int64()))
    return numpy_mask(below) | numpy_mask(above)


def _with_validity(values: Array, valid: BoolMask) -> Array:
    """``values`` with nulls where ``valid`` is false."""
    if bool(valid.all()) and values.null_count == 0:
        return values
    masked: Array = pc.if_else(bool_array(valid), values, pa.scalar(None, values.type))
    return masked


def _parse_int(text: Array, lengths: npt.NDArray[np.int64]) -> tuple[Array, BoolMask, BoolMask]:
    """Decimal integer text to int64: values, unparseable, out of range.

    Short digit strings (the usual case) are cast by Arrow; only after checking them,
    because Arrow's cast also takes ``0x10``. Anything else that looks like an integer
    (a sign, 19+ digits) is read one by one with Python's ``int`` and range-checked.
    """
    n = len(text)
    no_flags = np.zeros(n, dtype=np.bool_)
    present = lengths > 0
    if (
        n
        and only_digits(text)
        and int(lengths.max()) <= _INT_DIGITS
        and int(present.sum()) == n - text.null_count
    ):  # the usual case, checked on the bytes: every cell null or 1 to 18 digits
        return pc.cast(text, pa.int64()), no_flags, no_flags
    simple = numpy_mask(pc.ascii_is_decimal(text)) & (lengths <= _INT_DIGITS) & present
    values = pc.cast(_with_validity(text, simple), pa.int64())
    rest = present & ~simple
    if not rest.any():
        return values, no_flags, no_flags
    integer = numpy_mask(pc.match_substring_regex(text, _INT_TEXT))
    unparseable = rest & ~integer
    long_rows = rest & integer
    out_of_range = np.zeros(n, dtype=np.bool_)
    if long_rows.any():
        texts = cast("list[str]", text.filter(pa.array(long_rows)).to_pylist())  # digits
        # Over 19 significant digits is out of range (and Python's int() refuses a string
        # of more than 4300 digits).
        numbers = [_exact_int(t) for t in texts]
        fits = np.array(
            [v is not None and _INT64_MIN <= v <= _INT64_MAX for v in numbers], dtype=np.bool_
        )
        out_of_range[np.flatnonzero(long_rows)[~fits]] = True
        exact = pa.array(
            [v if ok else None for v, ok in zip(numbers, fits, strict=True)], pa.int64()
        )
        values = pc.replace_with_mask(values, pa.array(long_rows), exact)
    return values, unparseable, out_of_range


def _exact_int(text: str) -> int | None:
    """Signed decimal digits as an int, None when over 19 significant digits (out of int64
    range; Python's int() also refuses more than 4300 digits)."""
    digits = text.lstrip("+-").lstrip("0") or "0"
    if len(digits) > _INT_DIGITS + 1:
        return None
    return -int(digits) if text.startswith("-") else int(digits)


def _parse_float(text: Array, present: BoolMask) -> tuple[Array, BoolMask]:
    """Decimal text to float64 (rates, vols, greeks): values and unparseable."""
    number = numpy_mask(pc.match_substring_regex(text, _FLOAT_TEXT))
    good = present & number
    return pc.cast(_with_validity(text, good), pa.float64()), present & ~number


def _parse_decimal_list(
    text: Array, present: BoolMask
) -> tuple[Array, BoolMask, BoolMask, BoolMask]:
    """``[a,b,...]`` text to ``list<decimal128(38, 18)>``: values (null where the cell is
    empty or unreadable), unparseable, inexact, out of range. Blanks around the brackets
    and the items are ignored; ``[]`` is an empty list; an empty item is unparseable."""
    trimmed = pc.utf8_trim_whitespace(text)
    bracketed = numpy_mask(pc.match_substring_regex(trimmed, _LIST_TEXT))
    inner = pc.utf8_slice_codeunits(_with_validity(trimmed, bracketed), 1, -1)
    empty = numpy_mask(pc.equal(pc.utf8_trim_whitespace(inner), pa.scalar("", pa.string())))
    items = pc.split_pattern(pc.if_else(pa.array(empty), pa.scalar(None, pa.string()), inner), ",")
    counts = np.asarray(pc.list_value_length(items).fill_null(0), dtype=np.int64)
    flat = pc.utf8_trim_whitespace(pc.list_flatten(items))
    result = parse_decimal(flat)
    blank = ~_present(flat)
    rows = np.repeat(np.arange(len(text)), counts)

    def per_row(item_mask: BoolMask) -> BoolMask:
        hits = np.zeros(len(text), dtype=np.bool_)
        hits[rows[item_mask]] = True
        return hits

    unparseable = (present & ~bracketed) | per_row(result.unparseable | blank)
    inexact = per_row(result.inexact)
    out_of_range = per_row(result.out_of_range)
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]).astype(np.int32), pa.int32())
    values = pa.ListArray.from_arrays(offsets, result.values.cast(DECIMAL_TYPE))
    valid = present & bracketed & ~(unparseable | inexact | out_of_range)
    return _with_validity(values, valid), unparseable, inexact, out_of_range


def _read(field: Field, text: Array, flags: RowFlags) -> tuple[Array, BoolMask]:
    """Read one vendor field and flag its missing, unparseable and out-of-range rows."""
    name = field.header
    if field.kind in ("lower", "text"):
        trimmed = _trimmed(text)
        present = _present(trimmed)
        value = _lowered(trimmed) if field.kind == "lower" else trimmed
    else:
        lengths = text_lengths(text)
        present = lengths > 0
    if field.required:
        flags.flag(~present, "missing_field", name)
    if field.kind in ("lower", "text"):
        return _with_validity(value, present), present
    if field.kind == "bool":
        lowered = _lowered(_trimmed(text))
        is_true = pc.equal(lowered, _TRUE_TEXT)
        known = pc.or_(is_true, pc.equal(lowered, _FALSE_TEXT))
        return pc.if_else(known, is_true, pa.scalar(None, pa.bool_())), present
    if field.kind == "wall_ms":
        assert field.zone is not None  # Field checks it
        wall = parse_wall_ms(text, field.zone)
        flags.flag(wall.unparseable, "unparseable_value", name)
        return wall.values, present
    if field.kind == "decimal_list":
        values, unparseable, inexact, out_of_range = _parse_decimal_list(text, present)
        flags.flag(unparseable, "unparseable_value", name)
        flags.flag(inexact, "inexact_value", name)
        flags.flag(out_of_range, "value_out_of_range", name)
        return values, present
    if field.kind == "decimal":
        result = parse_decimal(text)
        flags.flag(result.unparseable, "unparseable_value", name)
        flags.flag(result.inexact, "inexact_value", name)
        flags.flag(result.out_of_range, "value_out_of_range", name)
        return result.values, present
    if field.kind in ("int", "ts_us"):
        values, unparseable, out_of_range = _parse_int(text, lengths)
        flags.flag(unparseable, "unparseable_value", name)
        flags.flag(out_of_range, "value_out_of_range", name)
        return values, present
    values, unparseable = _parse_float(text, present)
    flags.flag(unparseable, "unparseable_value", name)
    return values, present


def _output_fields(fmt: FileFormat) -> list[pa.Field[Any]]:
    spec = get_table_spec(fmt.table)
    produced = [c for c in spec.column_names if c not in _OWNED_ELSEWHERE]
    declared = fmt.columns
    if sorted(declared) != sorted(produced):
        missing = [c for c in produced if c not in declared]
        extra = [c for c in declared if c not in produced]
        repeated = sorted({c for c in declared if declared.count(c) > 1})
        msg = (
            f"data type {fmt.data_type!r} does not map onto table {fmt.table!r}: "
            f"missing {missing}, not in the table {extra}, produced twice {repeated}"
        )
        raise SchemaError(msg)
    return [
        pa.field(column.name, column.dtype, nullable=True)
        for column in spec.columns
        if column.name not in _OWNED_ELSEWHERE
    ]


def latest_ts_us(date: datetime.date | None) -> int:
    """The latest accepted event or receive time of a file dated ``date`` (its path's or
    name's date): the last microsecond of the second day after it, in UTC (a file of
    2024-05-01 accepts times up to 2024-05-03T23:59:59.999999Z). A file without a date
    accepts times before 2100-01-01.

    >>> latest_ts_us(datetime.date(2024, 5, 1))
    1714780799999999
    """
    end = _UNDATED_END if date is None else date + datetime.timedelta(days=_SLACK_DAYS + 1)
    return (end - _EPOCH).days * _US_PER_DAY - 1


def _to_int32(values: Array, header: str, flags: RowFlags) -> Array:
    """int64 values narrowed to int32; values outside int32 are ``value_out_of_range``."""
    outside = _outside(values, _INT32_MIN, _INT32_MAX)
    flags.flag(outside, "value_out_of_range", header)
    return pc.cast(_with_validity(values, ~outside), pa.int32())


def _exchange_mismatch(exchange: Array, named: str) -> BoolMask:
    """True where a row's exchange is present and differs from the one the path names."""
    expected = named.strip().lower()
    if only_value(exchange) == expected:  # the usual file: one exchange, the named one
        return np.zeros(len(exchange), dtype=np.bool_)
    differs: Array = pc.not_equal(exchange, pa.scalar(expected, pa.string()))
    return numpy_mask(differs)


def normalize(fmt: FileFormat, facts: PathFacts | None = None, *, name: str = "normalize") -> Map:
    """A step that turns the ``raw:<header>`` text of a file of format ``fmt`` into the
    canonical columns of its Silver table, flagging bad rows (see the module docstring).
    ``facts`` (what the file's path says; default: only the data type) is handed to the
    format's derived columns, and gives the exchange rows must match and the date that
    bounds their times. Raises :class:`~pointline.errors.SchemaError` when the format does
    not produce exactly the table's columns.

    >>> from pointline.vendors.tardis import FORMATS
    >>> step = normalize(FORMATS["trades"])
    >>> [f.name for f in step.produces]  # doctest: +NORMALIZE_WHITESPACE
    ['exchange', 'symbol', 'ts_event_us', 'ts_local_us', 'trade_id', 'side',
     'is_buyer_maker', 'price', 'qty']
    """
    produces = _output_fields(fmt)
    path_facts = facts if facts is not None else PathFacts(data_type=fmt.data_type)
    times = [f.header for f in fmt.fields if f.kind in TIME_KINDS]
    narrow = {
        f.header: f.column
        for f in fmt.fields
        if f.column is not None and get_table_spec(fmt.table).column(f.column).dtype == pa.int32()
    }
    latest = latest_ts_us(path_facts.date)
    named_exchange = path_facts.extras.get("exchange")
    # The vendor field behind each canonical column: a rule's column to blame, named as
    # the vendor wrote it (its text is the validation log's field_value).
    blame = {f.column: f.header for f in fmt.fields if f.column is not None}
    for derived in fmt.derived:
        blame.update(derived.blame)

    def convert(batch: pa.RecordBatch, flags: RowFlags) -> dict[str, Array]:
        # 1. Field by field, in header order: missing, unparseable, inexact, out of range.
        values: dict[str, Array] = {}
        present: dict[str, BoolMask] = {}
        for field in fmt.fields:
            values[field.header], present[field.header] = _read(
                field, batch[raw(field.header)], flags
            )
            if field.header in narrow:  # an int32 column: range-checked, then narrowed
                values[field.header] = _to_int32(values[field.header], field.header, flags)
        columns: dict[str, Array] = {
            column: values[field.header]
            for field in fmt.fields
            if (column := field.column) is not None
        }
        # 2. Columns computed from several fields (they may flag rows).
        read = ReadFields(values, present, batch.num_rows, path_facts)
        for derived in fmt.derived:
            columns.update(derived.fn(read, flags))
        # 3. A row of another exchange than the path names.
        if named_exchange is not None:
            mismatch = _exchange_mismatch(columns["exchange"], named_exchange)
            flags.flag(mismatch, "exchange_mismatch", "exchange")
        # 4. Times before 2000-01-01 or over 2 days after the file's date.
        for header in times:
            outside = _outside(values[header], MIN_TS_US, latest)
            flags.flag(outside, "timestamp_out_of_range", header)
        # 5. The table's own rule.
        if fmt.rule is not None:
            for column, invalid in fmt.rule.invalid(columns).items():
                flags.flag(invalid, fmt.rule.name, blame.get(column, column))
        return columns

    return Map(
        name=name,
        requires={raw(h): pa.string() for h in fmt.header},
        produces=produces,
        flags=True,
        fn=convert,
    )
