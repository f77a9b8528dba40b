"""Vectorised local wall-clock times: ``YYYYMMDDHHMMSSmmm`` text in a zone -> UTC microseconds.

Quant360 writes every time as 17 digits of Asia/Shanghai wall time (docs/cn.md section 2):
``20240102091500000`` is 2024-01-02 09:15:00.000 in Shanghai, 2024-01-02T01:15:00Z,
1704158100000000 µs. The text is read digit by digit (exactly 17 ASCII digits, a real
calendar date, hours 00-23, minutes and seconds 00-59), then the zone's offset is taken
from the same transition table the trading date uses (:func:`transition_table`, built
from the ``tzdata`` TZif files), with :mod:`zoneinfo`'s rule for wall times the zone
skips or repeats (``fold=0``): a transition takes effect, in wall time, at its instant
plus the larger of the offsets before and after it, so a skipped wall time reads with the
offset before the gap and a repeated one as its first occurrence. China's daylight saving
of 1986-1991 is therefore applied exactly as ``datetime(..., tzinfo=ZoneInfo(zone))``
applies it.

>>> import pyarrow as pa
>>> parsed = parse_wall_ms(pa.array(["20240102091500000", "2024010209150000", None]),
...                        "Asia/Shanghai")
>>> parsed.values.to_pylist(), parsed.unparseable.tolist()
([1704158100000000, None, None], [False, True, False])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, TypeAlias

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from pointline.kernels.trading_date import DAY_US, transition_table

__all__ = ["WALL_MS_DIGITS", "WallTimes", "parse_wall_ms", "wall_to_utc_us"]

Array: TypeAlias = "pa.Array[Any]"
I64: TypeAlias = npt.NDArray[np.int64]
BoolMask: TypeAlias = npt.NDArray[np.bool_]

WALL_MS_DIGITS: Final = 17
"""``YYYYMMDDHHMMSSmmm``: the length of a Quant360 time."""

_PLACES: Final = np.array([1000, 100, 10, 1], dtype=np.int64)
_DAYS_IN_MONTH: Final = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], np.int64)


@dataclass(frozen=True, slots=True)
class WallTimes:
    """``values``: int64 µs since the epoch, UTC, null where the cell is empty or
    unreadable; ``unparseable``: cells with text that is not a valid 17-digit time."""

    values: Array
    unparseable: BoolMask


def wall_to_utc_us(wall_us: I64, timezone: str) -> I64:
    """UTC microseconds of wall-clock times ``wall_us`` (µs since 1970-01-01T00:00 *local*)
    in ``timezone``, as ``zoneinfo`` reads them with ``fold=0``.

    >>> import numpy as np
    >>> wall_to_utc_us(np.array([670_636_800_000_000]), "Asia/Shanghai").tolist()
    [670608000000000]
    """
    table = transition_table(timezone)
    offsets = table.offsets
    if table.is_fixed:
        return np.asarray(wall_us - offsets[0], dtype=np.int64)
    # Transition i takes effect in wall time at its instant plus the larger offset.
    effective = table.transitions + np.maximum(offsets[:-1], offsets[1:])
    index = np.searchsorted(effective, wall_us, side="right")
    return np.asarray(wall_us - offsets[index], dtype=np.int64)


def _digits(text: Array) -> npt.NDArray[np.int64]:
    """The digits of a string array whose every cell is 17 ASCII digits, one row per cell."""
    n = len(text)
    offset_buffer, data_buffer = text.buffers()[1:3]
    assert offset_buffer is not None  # n > 0 cells of 17 bytes each
    assert data_buffer is not None
    offsets = np.frombuffer(memoryview(offset_buffer), dtype=np.int32)
    start = int(offsets[text.offset])
    data = np.frombuffer(memoryview(data_buffer), dtype=np.uint8)
    block = data[start : start + n * WALL_MS_DIGITS].reshape(n, WALL_MS_DIGITS)
    digits: npt.NDArray[np.int64] = block.astype(np.int64) - ord("0")
    return digits


def _days_from_civil(year: I64, month: I64, day: I64) -> I64:
    """Days since 1970-01-01 of proleptic Gregorian dates (years >= 1)."""
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return np.asarray(era * 146_097 + doe - 719_468, dtype=np.int64)


def parse_wall_ms(text: Array, timezone: str) -> WallTimes:
    """Read ``YYYYMMDDHHMMSSmmm`` wall times of ``timezone`` to int64 µs UTC.

    Blanks around the text are ignored; an empty cell is null and not unparseable (a
    required field's emptiness is the caller's ``missing_field``). Anything else that is
    not exactly 17 digits of a real date and time (``2024010209150000``,
    ``20240230091500000``, ``20240102246000000``) is unparseable, and null.
    """
    n = len(text)
    trimmed: Array = pc.utf8_trim_whitespace(text)
    lengths = np.asarray(
        pc.binary_length(trimmed).fill_null(0).to_numpy(zero_copy_only=False),  # type: ignore[call-overload]
        dtype=np.int64,
    )
    present = lengths > 0
    shaped = (lengths == WALL_MS_DIGITS) & np.asarray(
        pc.ascii_is_decimal(trimmed).fill_null(False).to_numpy(zero_copy_only=False),
        dtype=np.bool_,
    )
    good = shaped.copy()
    wall = np.zeros(n, dtype=np.int64)
    if shaped.any():
        d = _digits(trimmed.filter(pa.array(shaped)))
        year = d[:, 0:4] @ _PLACES
        month = d[:, 4] * 10 + d[:, 5]
        day = d[:, 6] * 10 + d[:, 7]
        hour = d[:, 8] * 10 + d[:, 9]
        minute = d[:, 10] * 10 + d[:, 11]
        second = d[:, 12] * 10 + d[:, 13]
        milli = d[:, 14:17] @ _PLACES[1:]
        leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
        month_ok = (month >= 1) & (month <= 12)
        days_in_month = _DAYS_IN_MONTH[np.where(month_ok, month, 0)] + (leap & (month == 2))
        valid = (
            (year >= 1)
            & month_ok
            & (day >= 1)
            & (day <= days_in_month)
            & (hour <= 23)
            & (minute <= 59)
            & (second <= 59)
        )
        local = (
            _days_from_civil(np.maximum(year, 1), np.where(month_ok, month, 1), day) * DAY_US
            + ((hour * 60 + minute) * 60 + second) * 1_000_000
            + milli * 1_000
        )
        rows = np.flatnonzero(shaped)
        good[rows[~valid]] = False
        wall[rows[valid]] = wall_to_utc_us(local[valid], timezone)
    values = pa.array(wall, pa.int64(), mask=~good)
    return WallTimes(values=values, unparseable=present & ~good)
