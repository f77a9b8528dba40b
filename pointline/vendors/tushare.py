"""Tushare ``stock_basic`` (a CSV of ``pro.stock_basic``) -> dim_symbol windows.

:func:`read_stock_basic` turns the listing table of the CN A-share market into one
dim_symbol window per kept listing (docs/cn.md section 6), keyed ``(exchange, symbol)``
with ``exchange`` ``sse`` or ``szse``. The result also names the exchanges its kept rows
belong to: a sync applies the windows with that exchange scope (docs/contracts.md
section 5, ``merge_windows(dim, windows, exchanges=...)``), so a listing a later file no
longer carries leaves its exchange, and other exchanges do not move.

The file is read as text only (the standard library's :mod:`csv`, UTF-8, a BOM
stripped): ``000001`` stays ``000001`` and ``19910403`` is a date, never a number. Each
row is kept or dropped for one reason:

* ``unsupported_exchange``: ``exchange`` other than ``SSE``/``SZSE`` (the Beijing
  exchange ``BSE``, market ``北交所``);
* ``unusable_listing``: ``list_status`` other than ``L``/``P``/``D`` (``G``: approved, not
  trading), a missing or invalid ``list_date``, a ``D`` row without a valid
  ``delist_date`` or with ``delist_date`` <= ``list_date``.

Times: a date is 00:00 in Asia/Shanghai, converted with :mod:`zoneinfo` (the zone read
from the ``tzdata`` package, as every Pointline zone): China kept daylight saving in
1986-1991, so ``19910715`` is 1991-07-14T15:00Z (679503600000000), while ``19910403``
(before that year's switch on 14 April) is 1991-04-02T16:00Z (670608000000000).

>>> shanghai_midnight_us("19910715"), shanghai_midnight_us("19910403")
(679503600000000, 670608000000000)
>>> shanghai_midnight_us("1991-07-15") is None, shanghai_midnight_us("20230230") is None
(True, True)
"""

from __future__ import annotations

import csv
import datetime
import functools
import io
import re
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, NoReturn, get_args

import pyarrow as pa

from pointline.dim_symbol.coerce import now_us
from pointline.dim_symbol.model import OPEN_END_TS_US, DimSymbolError
from pointline.dim_symbol.scd2 import windows_from_rows
from pointline.exchanges import tzif_bytes
from pointline.vendors.quant360 import TIMEZONE  # a list_date is a Shanghai midnight

__all__ = [
    "DROP_REASONS",
    "REQUIRED_COLUMNS",
    "DropReason",
    "TushareSymbols",
    "read_stock_basic",
    "shanghai_midnight_us",
]

SOURCE: Final = "tushare stock_basic"
"""The ``source`` named in errors of the dim_symbol checks."""

REQUIRED_COLUMNS: Final = (
    "ts_code",
    "symbol",
    "name",
    "market",
    "exchange",
    "list_status",
    "list_date",
    "delist_date",
)
"""The ``stock_basic`` fields the mapping reads (others, such as ``area``, are ignored)."""

DropReason = Literal["unsupported_exchange", "unusable_listing"]
"""Why a row of the file gives no window."""
DROP_REASONS: Final[tuple[DropReason, ...]] = get_args(DropReason)

EXCHANGES: Final = {"SSE": "sse", "SZSE": "szse"}
"""Tushare ``exchange`` -> Pointline exchange id; any other value is dropped."""

_LISTED: Final = frozenset({"L", "P"})  # listed, listing suspended: open windows
_DELISTED: Final = "D"
_STAR_MARKET: Final = "科创板"
_STAR_PREFIXES: Final = ("688", "689")  # SSE STAR Market codes 688xxx-689xxx
_SSE_B_PREFIX: Final = "900"  # SSE B-shares, traded in USD
_SZSE_B_PREFIX: Final = "200"  # SZSE B-shares, traded in HKD
_CODE: Final = re.compile(r"[0-9]{6}", re.ASCII)
_DATE: Final = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})", re.ASCII)
_EPOCH: Final = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_ONE_US: Final = datetime.timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class TushareSymbols:
    """The outcome of :func:`read_stock_basic`.

    Attributes:
        windows: dim_symbol rows (:data:`~pointline.dim_symbol.DIM_SCHEMA`), one per kept
            row, sorted by ``(exchange, exchange_symbol, valid_from_ts_us)``, passing
            :func:`~pointline.dim_symbol.validate`; ``updated_at_ts_us`` is the import
            time on every row. Empty when no row was kept.
        exchanges: the exchanges of the kept rows (``sse``, ``szse``): the scope of the
            sync, ``merge_windows(dim, windows, exchanges=sorted(exchanges))``.
        rows: data rows read (the header not counted); ``kept + sum(dropped.values())``.
        kept: rows that gave a window.
        dropped: rows dropped per reason, every reason of :data:`DROP_REASONS` present
            (0 when none).
        notes: one line per ``unusable_listing`` row, starting with the file and naming
            the line, the ``ts_code`` and what made it unusable.
    """

    windows: pa.Table
    exchanges: frozenset[str]
    rows: int
    kept: int
    dropped: dict[str, int]
    notes: tuple[str, ...]


def read_stock_basic(path: str | Path, *, now_ts_us: int | None = None) -> TushareSymbols:
    """Read a Tushare ``stock_basic`` CSV into dim_symbol windows (docs/cn.md section 6).

    The file: UTF-8 (a BOM is stripped), a header naming at least
    :data:`REQUIRED_COLUMNS` (``ts_code symbol name market exchange list_status
    list_date delist_date``), every value read as text. Kept rows (see the module text
    for the drops) become one window each:

    * ``exchange`` ``sse``/``szse``; ``exchange_symbol`` = ``symbol`` (the 6-digit code),
      ``canonical_symbol`` = ``ts_code``;
    * ``market_type`` ``cdr`` for market ``CDR``, else ``stock``; ``board`` (untracked)
      = ``market`` as given (null when empty); ``base_asset`` = ``name``, else ``symbol``;
    * ``quote_asset`` ``CNY``, ``tick_size`` 0.01, ``lot_size`` 100, ``min_qty`` 100;
      SSE B-shares (``900xxx``): ``USD``, 0.001, 1000, 1000; SZSE B-shares (``200xxx``):
      ``HKD`` (tick, lot and min_qty as A-shares); STAR Market (market ``科创板`` or SSE
      ``688xxx``-``689xxx``): lot 1, min_qty 200. Sizes are exact ``decimal128(38, 18)``;
      ``contract_size``, ``expiry_ts_us``, ``is_inverse`` null;
    * ``valid_from_ts_us`` = ``list_date`` 00:00 Asia/Shanghai; ``L``, ``P``: open
      (``2**63 - 1``, ``is_current``); ``D``: until ``delist_date`` 00:00 Asia/Shanghai,
      not current.

    ``now_ts_us`` (us since the epoch, default: the clock) is every row's
    ``updated_at_ts_us``.

    Raises:
        DimSymbolError: with ``file`` set to ``path``, for a missing or unreadable file,
            text that is not UTF-8 or not CSV, no header, a missing required column (all
            of them named), a repeated column name, a row with more or fewer values than
            the header, a repeated header line (files concatenated with their headers),
            and, on an SSE/SZSE row, a ``symbol`` that is not 6 digits or an empty
            ``ts_code`` (the message names the line); also when two kept rows of one
            ``(exchange, symbol)`` have overlapping windows (naming both lines).
    """
    file = str(path)
    now = now_us(now_ts_us)
    reader = _Reader(file)
    for line, row in _rows(Path(path), file):
        reader.read_row(line, row)
    return TushareSymbols(
        windows=_table(reader.rows, now, file),
        exchanges=frozenset(r["exchange"] for r in reader.rows),
        rows=reader.read,
        kept=len(reader.rows),
        dropped=dict(reader.dropped),
        notes=tuple(reader.notes),
    )


# --------------------------------------------------------------------------- dates


@functools.cache
def _zone() -> zoneinfo.ZoneInfo:
    """Asia/Shanghai from the ``tzdata`` package (never the host's zone files)."""
    return zoneinfo.ZoneInfo.from_file(io.BytesIO(tzif_bytes(TIMEZONE)), key=TIMEZONE)


def shanghai_midnight_us(text: str) -> int | None:
    """``YYYYMMDD`` text -> 00:00 of that day in Asia/Shanghai, us since the epoch (UTC);
    None when the text is not 8 ASCII digits of a calendar date (years 1-9999)."""
    match = _DATE.fullmatch(text)
    if match is None:
        return None
    try:
        day = datetime.date(*(int(g) for g in match.groups()))
    except ValueError:
        return None
    local = datetime.datetime(day.year, day.month, day.day, tzinfo=_zone())
    return (local - _EPOCH) // _ONE_US


# --------------------------------------------------------------------------- the file


def _fail(file: str, message: str, *, column: str | None = None) -> NoReturn:
    raise DimSymbolError(message, file=file, field=column)


def _rows(path: Path, file: str) -> Iterator[tuple[int, dict[str, str]]]:
    """``(line, row)`` of every data row: the required fields as text, the line the row
    starts on (the header is line 1). Blank lines are skipped."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh, strict=True)
            header = _header(next(reader, None), file)
            at = [header.index(name) for name in REQUIRED_COLUMNS]
            start = reader.line_num + 1
            for values in reader:
                line, start = start, reader.line_num + 1
                if not values:
                    continue
                if len(values) != len(header):
                    _fail(
                        file,
                        f"line {line} has {len(values)} values, the header {len(header)} columns",
                    )
                if values == header:
                    _fail(
                        file,
                        f"line {line} repeats the header: concatenate exports without their "
                        "header lines",
                    )
                yield line, {name: values[i] for name, i in zip(REQUIRED_COLUMNS, at, strict=True)}
    except UnicodeDecodeError as exc:
        _fail(file, f"not UTF-8 text: {exc}")
    except csv.Error as exc:
        _fail(file, f"not a readable CSV: {exc}")
    except IsADirectoryError:
        _fail(file, "is a folder, not a stock_basic CSV file")
    except FileNotFoundError:
        _fail(file, "no such file")
    except OSError as exc:
        _fail(file, f"cannot read the file: {exc}")


def _header(header: list[str] | None, file: str) -> list[str]:
    """The header, checked: present, no repeated name, every required column."""
    if not header:
        _fail(file, "empty file: expected a header naming " + " ".join(REQUIRED_COLUMNS))
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        _fail(file, f"the header repeats columns {repeated}")
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        _fail(
            file,
            f"missing required columns {missing} (a stock_basic export has "
            f"{', '.join(REQUIRED_COLUMNS)}); the header has {header}",
        )
    return header


# --------------------------------------------------------------------------- rows


@dataclass(slots=True)
class _Reader:
    """Classifies rows and collects the windows of the kept ones."""

    file: str
    read: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DROP_REASONS, 0))
    notes: list[str] = field(default_factory=list)
    windows: dict[tuple[str, str], list[tuple[int, int, int]]] = field(default_factory=dict)
    """(exchange, code) -> (line, valid_from, valid_until) of each kept row."""

    def read_row(self, line: int, row: dict[str, str]) -> None:
        self.read += 1
        exchange = EXCHANGES.get(row["exchange"])
        if exchange is None:
            self.dropped["unsupported_exchange"] += 1
            return
        code, ts_code = row["symbol"], row["ts_code"]
        if not _CODE.fullmatch(code):
            _fail(
                self.file,
                f"line {line} ({ts_code or 'no ts_code'}): symbol {code!r} is not a 6-digit "
                "code (a spreadsheet or a numeric read may have dropped its leading zeros)",
                column="symbol",
            )
        if not ts_code:
            _fail(self.file, f"line {line} (symbol {code}): ts_code is empty", column="ts_code")
        window, problem = _window(row)
        if window is None:
            self.dropped["unusable_listing"] += 1
            self.notes.append(
                f"{self.file}: line {line} ({ts_code}): {problem}: dropped (unusable_listing)"
            )
            return
        start, end = window
        for other, lo, hi in self.windows.get((exchange, code), []):
            if start < hi and lo < end:
                _fail(
                    self.file,
                    f"lines {other} and {line} list {exchange} {code} with overlapping "
                    "windows; keep one row per listing",
                )
        self.windows.setdefault((exchange, code), []).append((line, start, end))
        self.rows.append(_columns(exchange, code, row, start, end))


def _window(row: dict[str, str]) -> tuple[tuple[int, int] | None, str]:
    """``((valid_from, valid_until), "")`` of a row, or ``(None, why it is unusable)``."""
    status = row["list_status"]
    if status not in _LISTED and status != _DELISTED:
        return None, f"list_status {status!r} is not L, P or D"
    start = shanghai_midnight_us(row["list_date"])
    if start is None:
        return None, f"list_date {row['list_date']!r} is not a YYYYMMDD date"
    if status in _LISTED:
        return (start, OPEN_END_TS_US), ""
    end = shanghai_midnight_us(row["delist_date"])
    if end is None:
        return None, f"status D with delist_date {row['delist_date']!r}, not a YYYYMMDD date"
    if end <= start:
        return None, f"delist_date {row['delist_date']} is not after list_date {row['list_date']}"
    return (start, end), ""


def _columns(exchange: str, code: str, row: dict[str, str], start: int, end: int) -> dict[str, Any]:
    """The dim_symbol values of one kept row (sizes as exact decimal text)."""
    market = row["market"]
    quote, tick, lot, min_qty = "CNY", "0.01", "100", "100"
    if exchange == "sse" and code.startswith(_SSE_B_PREFIX):
        quote, tick, lot, min_qty = "USD", "0.001", "1000", "1000"
    elif exchange == "szse" and code.startswith(_SZSE_B_PREFIX):
        quote = "HKD"
    elif market == _STAR_MARKET or (exchange == "sse" and code.startswith(_STAR_PREFIXES)):
        lot, min_qty = "1", "200"
    return {
        "exchange": exchange,
        "exchange_symbol": code,
        "canonical_symbol": row["ts_code"],
        "market_type": "cdr" if market == "CDR" else "stock",
        "base_asset": row["name"] or code,
        "quote_asset": quote,
        "tick_size": tick,
        "lot_size": lot,
        "contract_size": None,
        "expiry_ts_us": None,
        "board": market or None,
        "min_qty": min_qty,
        "is_inverse": None,
        "valid_from_ts_us": start,
        "valid_until_ts_us": end,
    }


def _table(rows: list[dict[str, Any]], now: int, file: str) -> pa.Table:
    """The dim_symbol table of the windows: exact types, ids, sorted, validated."""
    try:
        return windows_from_rows(rows, updated_at=now, source=SOURCE)
    except DimSymbolError as exc:
        raise exc.with_context(file=file) from None
