"""Vectorised trading date: UTC microseconds to the exchange's local date.

docs/contracts.md section 6.

The trading date of an event is the calendar date of ``ts_event_us`` in the exchange's
time zone, shifted by the exchange's session roll. It is computed over whole arrays with
a per-zone *transition table*: a sorted ``int64`` array of the UTC instants (us) at which
the zone's UTC offset changes, and the offsets (us) in force around them (one more than
the transitions; ``offsets[0]`` holds before the first). A row's offset is
``offsets[searchsorted(transitions, ts, side="right")]``; add it and the roll shift and
floor-divide by a day. No per-row Python, and no pyarrow time-zone kernels (those read the
host's ``/usr/share/zoneinfo``, not the ``tzdata`` package).

The table is built exactly from the zone's TZif file in the ``tzdata`` package: the
version 2+ 64-bit transitions and ``ttinfo`` UTC offsets, then, after the last stored
transition, the POSIX TZ rule in the file's footer, evaluated year by year the way
:mod:`zoneinfo` evaluates it, out to the end of :data:`HORIZON_YEAR`. Instants after that
keep the offset in force at the end of the horizon year. Before the first transition the
table uses the offset :mod:`zoneinfo` uses there (its first standard-time type).

>>> derive_trading_date(1_727_627_400_000_000, "szse")  # 2024-09-29T16:30:00Z
datetime.date(2024, 9, 30)
>>> derive_trading_date(1_727_627_400_000_000, "binance")
datetime.date(2024, 9, 29)
"""

from __future__ import annotations

import calendar
import datetime
import functools
import re
import struct
from dataclasses import dataclass
from typing import Any, overload

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from pointline.errors import SchemaError
from pointline.exchanges import DEFAULT_EXCHANGES, Exchange, ExchangeRegistry, tzif_bytes

__all__ = [
    "DAY_US",
    "HORIZON_YEAR",
    "TransitionTable",
    "derive_trading_date",
    "local_dates",
    "transition_table",
]

DAY_US = 86_400_000_000
"""Microseconds in a day."""

HORIZON_YEAR = 2200
"""The transition tables are exact up to the end of this year (UTC)."""

_US = 1_000_000
_SECONDS_PER_DAY = 86_400
_EPOCH_ORDINAL = datetime.date(1970, 1, 1).toordinal()
_INT64_MIN = int(np.iinfo(np.int64).min)
_INT64_MAX = int(np.iinfo(np.int64).max)
# Timestamps closer than this to the int64 limits would overflow when shifted.
_SAFE_MARGIN_US = 3 * DAY_US


# --------------------------------------------------------------------------- the table


@dataclass(frozen=True, slots=True, eq=False)
class TransitionTable:
    """A zone's UTC offsets as a step function of UTC time, in microseconds.

    ``transitions`` is strictly increasing; ``offsets[i]`` is the UTC offset in force for
    instants ``t`` with ``transitions[i-1] <= t < transitions[i]`` (``offsets[0]`` before
    the first transition, ``offsets[-1]`` after the last). Consecutive offsets differ:
    transitions that change only the abbreviation or the DST flag are dropped. Both
    arrays are read-only because tables are cached and shared.
    """

    timezone: str
    transitions: npt.NDArray[np.int64]
    offsets: npt.NDArray[np.int64]

    @property
    def is_fixed(self) -> bool:
        """True when the zone never changes offset (``UTC``, ``Etc/GMT+5``, ...)."""
        return len(self.transitions) == 0


@dataclass(frozen=True, slots=True)
class _TZif:
    transitions: tuple[int, ...]  # seconds, UTC
    type_indices: tuple[int, ...]
    utoffsets: tuple[int, ...]  # seconds, per ttinfo
    isdst: tuple[bool, ...]
    footer: str


def _require(ok: bool, timezone: str, problem: str) -> None:
    if not ok:
        msg = f"time zone {timezone!r}: tzdata file is not valid TZif: {problem}"
        raise SchemaError(msg)


def _parse_tzif(timezone: str, data: bytes) -> _TZif:
    header = struct.Struct(">4sc15x6l")
    _require(len(data) >= header.size, timezone, "file too short")
    magic, version, isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt = header.unpack_from(
        data, 0
    )
    _require(magic == b"TZif", timezone, "no TZif magic")
    _require(version >= b"2", timezone, "version 1 files have no 64-bit data")
    # Skip the version 1 (32-bit) block, then read the version 2+ header and 64-bit block.
    pos = header.size + timecnt * 5 + typecnt * 6 + charcnt + leapcnt * 8 + isstdcnt + isutcnt
    _require(len(data) >= pos + header.size, timezone, "truncated before the version 2 header")
    magic, _, isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt = header.unpack_from(data, pos)
    _require(magic == b"TZif", timezone, "no TZif magic in the version 2 header")
    pos += header.size
    end_of_block = pos + timecnt * 9 + typecnt * 6 + charcnt + leapcnt * 12 + isstdcnt + isutcnt
    _require(len(data) > end_of_block, timezone, "truncated version 2 data block")
    transitions = struct.unpack_from(f">{timecnt}q", data, pos)
    pos += timecnt * 8
    type_indices = tuple(data[pos : pos + timecnt])
    pos += timecnt
    ttinfos = [struct.unpack_from(">lBB", data, pos + 6 * i) for i in range(typecnt)]
    _require(all(i < typecnt for i in type_indices), timezone, "transition to an unknown time type")
    _require(typecnt > 0, timezone, "no local time types")
    _require(data[end_of_block : end_of_block + 1] == b"\n", timezone, "no footer")
    footer_end = data.find(b"\n", end_of_block + 1)
    _require(footer_end >= 0, timezone, "unterminated footer")
    return _TZif(
        transitions=transitions,
        type_indices=type_indices,
        utoffsets=tuple(t[0] for t in ttinfos),
        isdst=tuple(bool(t[1]) for t in ttinfos),
        footer=data[end_of_block + 1 : footer_end].decode("ascii"),
    )


# POSIX TZ strings (the TZif footer): std offset [dst [offset] , start[/time] , end[/time]].
# Parsed with the grammar and semantics of CPython's zoneinfo, which is the reference.
_ABBR = r"(?:[^<0-9:.+,-]+|<[a-zA-Z0-9+-]+>)"
_HMS = r"[+-]?\d{1,3}(?::\d{2}(?::\d{2})?)?"
_TZ_STR_RE = re.compile(
    rf"(?P<std>{_ABBR})(?:(?P<stdoff>{_HMS})(?:(?P<dst>{_ABBR})(?P<dstoff>{_HMS})?)?)?",
    re.ASCII,
)
_HMS_RE = re.compile(r"(?P<sign>[+-])?(?P<h>\d{1,3})(?::(?P<m>\d{2})(?::(?P<s>\d{2}))?)?", re.ASCII)
_M_RULE_RE = re.compile(r"M(\d{1,2})\.(\d)\.(\d)", re.ASCII)


def _hms_seconds(text: str) -> int:
    match = _HMS_RE.fullmatch(text)
    if match is None:
        msg = f"invalid time {text!r}"
        raise ValueError(msg)
    h, m, s = (int(v or 0) for v in match.group("h", "m", "s"))
    total = h * 3600 + m * 60 + s
    return -total if match.group("sign") == "-" else total


def _days_since_epoch(year: int, month: int, day: int) -> int:
    return datetime.date(year, month, day).toordinal() - _EPOCH_ORDINAL


@dataclass(frozen=True, slots=True)
class _DateRule:
    """One ``start`` or ``end`` of a POSIX rule; ``local_seconds(year)`` is its local time."""

    kind: str  # "M" (month.week.weekday), "J" (1-365, no leap day) or "n" (0-365)
    month: int
    week: int
    day: int  # weekday (0 = Sunday) for "M"; day number for "J" and "n"
    time_s: int

    def local_seconds(self, year: int) -> int:
        if self.kind == "M":
            first_weekday, month_days = calendar.monthrange(year, self.month)
            # calendar counts Monday = 0, POSIX counts Sunday = 0
            day = (self.day - (first_weekday + 1)) % 7 + 1 + (self.week - 1) * 7
            if day > month_days:  # week 5 means the last such weekday of the month
                day -= 7
            days = _days_since_epoch(year, self.month, day)
        else:
            # Exactly CPython zoneinfo's arithmetic for the J and n forms (no tzdata zone
            # uses them): day d counts from the day before January 1st, and a J day from
            # 59 on moves one day later in leap years.
            d = self.day
            if self.kind == "J" and d >= 59 and _is_leap(year):
                d += 1
            days = _days_since_epoch(year, 1, 1) - 1 + d
        return days * _SECONDS_PER_DAY + self.time_s


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _parse_date_rule(text: str) -> _DateRule:
    date, _, time = text.partition("/")
    time_s = _hms_seconds(time) if time else 7200
    if time and abs(time_s) >= 168 * 3600:
        msg = f"rule time {time!r} is outside [-167, 167] hours"
        raise ValueError(msg)
    if date.startswith("M"):
        match = _M_RULE_RE.fullmatch(date)
        if match is None:
            msg = f"invalid rule date {date!r}"
            raise ValueError(msg)
        month, week, weekday = (int(g) for g in match.groups())
        if not (1 <= month <= 12 and 1 <= week <= 5 and 0 <= weekday <= 6):
            msg = f"rule date {date!r} out of range"
            raise ValueError(msg)
        return _DateRule(kind="M", month=month, week=week, day=weekday, time_s=time_s)
    julian = date.startswith("J")
    digits = date[1:] if julian else date
    if not digits.isdigit() or not (int(julian) <= int(digits) <= 365):
        msg = f"invalid rule date {date!r}"
        raise ValueError(msg)
    return _DateRule(kind="J" if julian else "n", month=0, week=0, day=int(digits), time_s=time_s)


@dataclass(frozen=True, slots=True)
class _PosixRule:
    std_offset: int  # seconds east of UTC
    dst_offset: int | None = None
    start: _DateRule | None = None
    end: _DateRule | None = None

    def offset_at(self, ts: int, year: int) -> int:
        """The offset at UTC second ``ts`` of UTC year ``year``, as zoneinfo computes it."""
        if self.dst_offset is None or self.start is None or self.end is None:
            return self.std_offset
        start, end = self.utc_bounds(year)
        isdst = start <= ts < end if start < end else not end <= ts < start
        return self.dst_offset if isdst else self.std_offset

    def utc_bounds(self, year: int) -> tuple[int, int]:
        assert self.start is not None
        assert self.end is not None
        assert self.dst_offset is not None
        start = self.start.local_seconds(year) - self.std_offset
        end = self.end.local_seconds(year) - self.dst_offset
        return start, end


def _parse_posix_tz(timezone: str, text: str) -> _PosixRule:
    try:
        offsets, _, rules = text.partition(",")
        match = _TZ_STR_RE.fullmatch(offsets)
        if match is None:
            msg = "invalid offsets"
            raise ValueError(msg)
        std_offset = -_hms_seconds(match.group("stdoff")) if match.group("stdoff") else 0
        if match.group("dst") is None:
            if rules:
                msg = "transition rules without a DST zone"
                raise ValueError(msg)
            return _PosixRule(std_offset=std_offset)
        dstoff = match.group("dstoff")
        dst_offset = -_hms_seconds(dstoff) if dstoff else std_offset + 3600
        start_text, sep, end_text = rules.partition(",")
        if not sep:
            msg = "missing DST transition rules"
            raise ValueError(msg)
        return _PosixRule(
            std_offset=std_offset,
            dst_offset=dst_offset,
            start=_parse_date_rule(start_text),
            end=_parse_date_rule(end_text),
        )
    except ValueError as exc:
        msg = f"time zone {timezone!r}: cannot parse the TZ rule {text!r} in its TZif file: {exc}"
        raise SchemaError(msg) from exc


def _year_start(year: int) -> int:
    return _days_since_epoch(year, 1, 1) * _SECONDS_PER_DAY


def _utc_year(ts: int) -> int:
    days = ts // _SECONDS_PER_DAY
    return datetime.date.fromordinal(days + _EPOCH_ORDINAL).year


def _rule_steps(rule: _PosixRule, since: int | None) -> list[tuple[int, int]]:
    """(UTC second, offset) steps of the footer rule from ``since`` (None: year 1) on.

    zoneinfo evaluates the rule with the transitions of the instant's own UTC year, so
    the offset is a step function with breaks at the year's start/end transitions and,
    in principle, at UTC year boundaries; all of them are generated here.
    """
    first_year = 1 if since is None else _utc_year(since)
    begin = _year_start(first_year) if since is None else since
    steps = [(begin, rule.offset_at(begin, first_year))]
    if rule.start is None:
        return steps
    for year in range(first_year, HORIZON_YEAR + 1):
        lo = max(begin, _year_start(year))
        hi = _year_start(year + 1)
        points = {lo, *(p for p in rule.utc_bounds(year) if lo < p < hi)}
        steps.extend((p, rule.offset_at(p, year)) for p in sorted(points))
    return steps


def _zoneinfo_before(tzif: _TZif) -> int:
    """The offset zoneinfo uses before the first transition: the first standard type."""
    for utoff, isdst in zip(tzif.utoffsets, tzif.isdst, strict=True):
        if not isdst:
            return utoff
    return tzif.utoffsets[tzif.type_indices[0]]


def _build_table(timezone: str) -> TransitionTable:
    tzif = _parse_tzif(timezone, tzif_bytes(timezone))
    rule = _parse_posix_tz(timezone, tzif.footer) if tzif.footer else None
    steps: list[tuple[int, int]]
    if tzif.transitions:
        before = _zoneinfo_before(tzif)
        steps = [
            (t, tzif.utoffsets[i]) for t, i in zip(tzif.transitions, tzif.type_indices, strict=True)
        ]
        if rule is not None:
            # zoneinfo switches to the footer rule for whole seconds after the last one.
            steps += _rule_steps(rule, tzif.transitions[-1] + 1)
    elif rule is not None:
        steps = _rule_steps(rule, None)
        before = steps[0][1]
    else:
        msg = f"time zone {timezone!r}: TZif file has neither transitions nor a TZ rule"
        raise SchemaError(msg)

    transitions: list[int] = []
    offsets = [before * _US]
    for t_s, off_s in steps:
        t_us, off_us = t_s * _US, off_s * _US
        if t_us <= _INT64_MIN:
            offsets[-1] = off_us  # in force for every representable instant so far
            continue
        if t_us > _INT64_MAX:
            break
        if off_us != offsets[-1]:
            transitions.append(t_us)
            offsets.append(off_us)
    trans_arr = np.array(transitions, dtype=np.int64)
    off_arr = np.array(offsets, dtype=np.int64)
    if np.any(np.diff(trans_arr) <= 0):
        msg = f"time zone {timezone!r}: transitions are not strictly increasing"
        raise SchemaError(msg)
    trans_arr.setflags(write=False)
    off_arr.setflags(write=False)
    return TransitionTable(timezone=timezone, transitions=trans_arr, offsets=off_arr)


@functools.cache
def transition_table(timezone: str) -> TransitionTable:
    """The cached transition table of an IANA zone from the ``tzdata`` package."""
    return _build_table(timezone)


# --------------------------------------------------------------------------- the kernel


def _as_int64(values: npt.NDArray[Any], what: str) -> npt.NDArray[np.int64]:
    dtype = values.dtype
    if dtype.kind not in "iu":
        msg = (
            f"{what} must hold integer microseconds since the Unix epoch (int64), "
            f"got dtype {dtype}; cast it to int64 first"
        )
        raise SchemaError(msg)
    if dtype == np.int64:
        return values
    if dtype.kind == "u" and dtype.itemsize == 8 and values.size and values.max() > _INT64_MAX:
        msg = f"{what}: uint64 value {int(values.max())} does not fit int64 microseconds"
        raise SchemaError(msg)
    return values.astype(np.int64)


def local_dates(ts_us: npt.NDArray[Any], exchange: Exchange) -> npt.NDArray[np.int32]:
    """The exchange's trading date of each UTC microsecond timestamp, vectorised.

    ``ts_us`` is an integer array of microseconds since the epoch (UTC) without nulls;
    the result has the same shape and holds ``int32`` days since 1970-01-01 (the
    ``date32`` value): the local calendar date of ``ts + offset + roll shift``.
    """
    ts = _as_int64(np.asarray(ts_us), "ts_us")
    if ts.size == 0:
        return np.empty(ts.shape, dtype=np.int32)
    table = transition_table(exchange.timezone)
    shift = exchange.roll_shift_us
    transitions = table.transitions
    offsets = table.offsets

    if table.is_fixed and offsets[0] == 0 and shift == 0:
        return np.floor_divide(ts, DAY_US).astype(np.int32)  # UTC: nothing to add

    lo, hi = int(ts.min()), int(ts.max())
    if lo < _INT64_MIN + _SAFE_MARGIN_US or hi > _INT64_MAX - _SAFE_MARGIN_US:
        bad = lo if lo < _INT64_MIN + _SAFE_MARGIN_US else hi
        msg = (
            f"timestamp {bad} us is too close to the int64 limits to convert to a local "
            f"date in {exchange.timezone} (exchange {exchange.name!r})"
        )
        raise SchemaError(msg)
    # Only the transitions inside [lo, hi] matter; a batch within one offset period
    # (the usual case: a day of data) needs no search at all.
    i0 = int(np.searchsorted(transitions, lo, side="right"))
    i1 = int(np.searchsorted(transitions, hi, side="right"))
    if i0 == i1:
        local = ts + (int(offsets[i0]) + shift)
    else:
        index = np.searchsorted(transitions[i0:i1], ts, side="right")
        local = offsets[i0 : i1 + 1][index]
        local += ts
        if shift:
            local += shift
    np.floor_divide(local, DAY_US, out=local)
    return local.astype(np.int32)


def _date32(days: npt.NDArray[np.int32], validity: pa.Buffer | None, nulls: int) -> pa.Date32Array:
    out = pa.Array.from_buffers(
        pa.date32(), len(days), [validity, pa.py_buffer(days.data)], null_count=nulls
    )
    assert isinstance(out, pa.Date32Array)
    return out


def _arrow_dates(values: pa.Array[Any], exchange: Exchange) -> pa.Date32Array:
    if not pa.types.is_integer(values.type):
        msg = (
            f"ts_event_us must be integer microseconds since the Unix epoch (int64), "
            f"got Arrow type {values.type}; cast it to int64 first"
        )
        raise SchemaError(msg)
    if values.type != pa.int64():
        try:
            values = values.cast(pa.int64())
        except (pa.ArrowInvalid, OverflowError) as exc:
            msg = f"ts_event_us of type {values.type} does not fit int64 microseconds: {exc}"
            raise SchemaError(msg) from exc
    nulls = values.null_count
    if nulls == 0:
        ts = values.to_numpy(zero_copy_only=True)
        return _date32(local_dates(ts, exchange), None, 0)
    if nulls == len(values):
        return pa.nulls(len(values), pa.date32())
    # Fill nulls with a value of the array, so they cannot widen the searched window.
    filled = pc.fill_null(values, pc.min(values))
    days = local_dates(filled.to_numpy(zero_copy_only=True), exchange)
    valid = pc.is_valid(values).to_numpy(zero_copy_only=False)
    validity = pa.py_buffer(np.packbits(valid, bitorder="little").data)
    return _date32(days, validity, nulls)


def _scalar_date(ts: int, exchange: Exchange) -> datetime.date:
    if not _INT64_MIN <= ts <= _INT64_MAX:
        msg = f"timestamp {ts} us does not fit int64 microseconds since the Unix epoch"
        raise SchemaError(msg)
    days = int(local_dates(np.array([ts], dtype=np.int64), exchange)[0])
    try:
        return datetime.date.fromordinal(days + _EPOCH_ORDINAL)
    except (ValueError, OverflowError) as exc:
        msg = f"timestamp {ts} us falls outside the years 1-9999 that datetime.date can hold"
        raise SchemaError(msg) from exc


@overload
def derive_trading_date(
    ts_event_us: int | np.integer[Any],
    exchange: str,
    *,
    exchanges: ExchangeRegistry = ...,
) -> datetime.date: ...


@overload
def derive_trading_date(
    ts_event_us: npt.NDArray[Any] | pa.Array[Any] | pa.ChunkedArray[Any],
    exchange: str,
    *,
    exchanges: ExchangeRegistry = ...,
) -> pa.Date32Array: ...


def derive_trading_date(
    ts_event_us: int | np.integer[Any] | npt.NDArray[Any] | pa.Array[Any] | pa.ChunkedArray[Any],
    exchange: str,
    *,
    exchanges: ExchangeRegistry = DEFAULT_EXCHANGES,
) -> datetime.date | pa.Date32Array:
    """The trading date of ``ts_event_us`` (UTC microseconds) on ``exchange``.

    A Python (or numpy) integer gives a :class:`datetime.date`. A 1-D integer numpy
    array, a ``pyarrow.Array`` or a ``pyarrow.ChunkedArray`` gives one
    ``pyarrow.Date32Array`` of the same length (a chunked input is combined into one
    array); Arrow nulls stay null at the same rows. Non-integer input is a
    :class:`~pointline.errors.SchemaError`; an exchange the registry does not know is an
    :class:`~pointline.errors.UnknownExchangeError`.

    >>> derive_trading_date(pa.array([1_727_627_400_000_000, None]), "szse").to_pylist()
    [datetime.date(2024, 9, 30), None]
    """
    venue = exchanges.get(exchange)
    return _derive(ts_event_us, venue)


def _derive(ts: object, venue: Exchange) -> datetime.date | pa.Date32Array:
    if isinstance(ts, bool | np.bool_):
        msg = f"ts_event_us must be integer microseconds, got the boolean {ts!r}"
        raise SchemaError(msg)
    if isinstance(ts, int | np.integer):
        return _scalar_date(int(ts), venue)
    if isinstance(ts, np.ndarray):
        if ts.ndim != 1:
            msg = f"ts_event_us must be a 1-D array, got shape {ts.shape}"
            raise SchemaError(msg)
        return _date32(local_dates(_as_int64(ts, "ts_event_us"), venue), None, 0)
    if isinstance(ts, pa.ChunkedArray):
        return _arrow_dates(ts.combine_chunks(), venue)
    if isinstance(ts, pa.Array):
        return _arrow_dates(ts, venue)
    msg = (
        "ts_event_us must be an int, a 1-D integer numpy array, a pyarrow Array or a "
        f"pyarrow ChunkedArray of int64 microseconds, got {type(ts).__name__}"
    )
    raise SchemaError(msg)
