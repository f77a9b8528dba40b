"""Tardis.dev instrument metadata (the instruments API JSON, saved to disk) -> dim_symbol.

:func:`read_instruments` turns saved ``GET /v1/instruments/...`` responses into dim_symbol
SCD2 windows (docs/tardis_instruments.md sections 2-6, docs/contracts.md section 5): one
row per validity window of each instrument, keyed ``(exchange, symbol_key(datasetId or
id))``.

``changes[]`` rule (section 3): the top level holds the current values; each entry holds
the *older* value of every field it names, in force up to (excluding) its ``until``. So
field F in a window starting at t comes from the earliest entry with ``until`` > t that
names F, else the top level. okex-swap ETH-USDT-SWAP (top lot 0.01; entry 1 ``until
2021-11-03`` names only the tick; entry 2 ``until 2023-05-17`` names tick and lot 1) has
lot 1, from entry 2, in its first window, not 0.01.

Every number is read as exact :class:`decimal.Decimal` from the JSON text (never a float:
``1e-8`` is exactly 0.00000001) and stored as ``decimal128(38, 18)`` (contracts section 3);
timestamps are ISO 8601 text turned into int microseconds since the epoch with integer
arithmetic.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from pathlib import Path
from typing import Any, Final, NoReturn, TypeAlias

import pyarrow as pa

from pointline.dim_symbol.coerce import now_us
from pointline.dim_symbol.model import OPEN_END_TS_US, DimSymbolError
from pointline.dim_symbol.scd2 import windows_from_rows
from pointline.exchanges import TARDIS_EXCHANGES
from pointline.schemas.spec import DECIMAL_FRACTION_DIGITS, DECIMAL_INTEGER_DIGITS
from pointline.vendors.tardis import symbol_key

__all__ = ["TardisInstruments", "read_instruments"]

Value: TypeAlias = str | int | bool | None
"""A parsed field value: text (also exact decimal text), int us, bool, or null."""

SOURCE: Final = "tardis instruments"
"""The ``source`` named in errors of the dim_symbol checks."""

KNOWN_TYPES: Final = frozenset({"spot", "perpetual", "future", "option", "combo"})
"""The documented ``type`` values (section 2); others pass through with a note."""

# Fields that `changes[]` may name and dim_symbol reads, by kind (section 2 and 3).
_TEXT_FIELDS: Final = ("type", "baseCurrency", "quoteCurrency")
_SIZE_COLUMNS: Final = {
    "priceIncrement": "tick_size",
    "amountIncrement": "lot_size",
    "contractMultiplier": "contract_size",
    "minTradeAmount": "min_qty",
}
_WINDOW_FIELDS: Final = (*_TEXT_FIELDS, *_SIZE_COLUMNS, "expiry", "inverse")
"""Fields resolved per window by the changes[] rule."""
_TRACKED: Final = (
    ("market_type", "type"),
    ("base_asset", "baseCurrency"),
    ("quote_asset", "quoteCurrency"),
    ("tick_size", "priceIncrement"),
    ("lot_size", "amountIncrement"),
    ("contract_size", "contractMultiplier"),
    ("expiry_ts_us", "expiry"),
)
"""dim_symbol tracked column <- Tardis field (canonical_symbol is the exchange symbol)."""
_UNTRACKED: Final = (("is_inverse", "inverse"), ("min_qty", "minTradeAmount"))
"""dim_symbol untracked column <- Tardis field (board is null for Tardis)."""
_REQUIRED: Final = (
    "id",
    "exchange",
    "type",
    "baseCurrency",
    "quoteCurrency",
    "availableSince",
    "priceIncrement",
    "amountIncrement",
)
"""Fields without ``?`` in section 2 that the mapping reads (``minTradeAmount``: section 5
says absent -> null; ``active`` and the fees are not read)."""

_ISO: Final = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]{1,6}))?(Z|[+-][0-9]{2}:[0-9]{2})",
    re.ASCII,
)
_NUMBER_TEXT: Final = re.compile(
    r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII
)
_EPOCH_ORDINAL: Final = datetime.date(1970, 1, 1).toordinal()
_US_PER_S: Final = 1_000_000


@dataclass(frozen=True, slots=True)
class TardisInstruments:
    """The outcome of :func:`read_instruments`.

    Attributes:
        windows: dim_symbol rows (:data:`~pointline.dim_symbol.DIM_SCHEMA`), sorted by
            ``(exchange, exchange_symbol, valid_from_ts_us)``, passing
            :func:`~pointline.dim_symbol.validate`; ``updated_at_ts_us`` is the import
            time on every row. Empty when nothing was imported.
        notes: one line per thing the user should know (docs/tardis_instruments.md
            section 6: unknown exchange, no ``datasetId``, a size set to null, an
            undocumented ``type``, a repeated instrument), each starting with the file and
            naming the instrument (its place in the file, exchange and id).
        instruments: distinct instrument objects read (an identical repeat counts once).
        skipped: how many of them were not imported (unknown exchange id).
    """

    windows: pa.Table
    notes: tuple[str, ...]
    instruments: int
    skipped: int


def read_instruments(
    paths: Sequence[str | Path],
    *,
    exchanges: Collection[str] = TARDIS_EXCHANGES,
    now_ts_us: int | None = None,
) -> TardisInstruments:
    """Read saved Tardis instruments API responses into dim_symbol windows.

    ``paths`` are JSON files or folders (every ``*.json`` below a folder, recursively,
    in sorted order; files and folders whose name starts with ``.`` are ignored; one
    str or Path alone is read as a one-item list). A file holds one instrument object
    (``GET /v1/instruments/:exchange/:symbol``), an array of them
    (``GET /v1/instruments/:exchange``) or a list of such arrays (section 1). Numbers
    are read as exact decimals (numeric strings such as ``"0.01"`` too); ``NaN`` and
    ``Infinity`` are refused.

    Each instrument gives the windows of docs/tardis_instruments.md sections 3 and 5:

    * cuts at the first-window start (the earlier of ``listing`` and
      ``availableSince``), at every ``changes[].until`` strictly inside the data window,
      and at ``availableTo`` (else the window is open: ``2**63 - 1``, ``is_current``);
    * in each window, field F comes from the earliest ``changes`` entry with ``until`` >
      the window start that names F, else the top level (so an ``until`` outside the data
      window cuts nothing but still supplies older values to the windows before it);
    * ``exchange`` as given; ``exchange_symbol`` = ``canonical_symbol`` =
      :func:`~pointline.vendors.tardis.symbol_key` of ``datasetId`` (or ``id``);
      tracked ``market_type`` = ``type``, ``base_asset``/``quote_asset`` =
      ``baseCurrency``/``quoteCurrency``, ``tick_size`` = ``priceIncrement``,
      ``lot_size`` = ``amountIncrement``, ``contract_size`` = ``contractMultiplier``
      (exact ``decimal128(38, 18)``), ``expiry_ts_us`` = ``expiry`` (us since the
      epoch); untracked ``is_inverse`` = ``inverse``, ``min_qty`` = ``minTradeAmount``,
      ``board`` null; an absent optional field is null;
    * neighbours with equal tracked columns merge: the earlier ``valid_from_ts_us`` (so
      the ``symbol_id``) stays, the untracked values are the latest window's.

    Section 6 pitfalls: an unknown exchange id (not in ``exchanges``, by default
    :data:`~pointline.exchanges.TARDIS_EXCHANGES`) is skipped with a note; no
    ``datasetId`` imports under ``symbol_key(id)`` with a note; a size <= 0 (a negative
    ``minTradeAmount``; a zero one is kept) or one ``decimal128(38, 18)`` cannot hold
    exactly (more than 18 fractional digits, magnitude >= 10^20) is null with a note; a
    ``type`` outside ``spot perpetual future option combo`` passes through with a note.
    The same ``(exchange, exchange_symbol)`` twice with identical content is read once
    (with a note).

    ``now_ts_us`` (us since the epoch, default: the clock) is every row's
    ``updated_at_ts_us``.

    Raises:
        DimSymbolError: with ``file`` set to the JSON file, for a missing path, a file
            that is not JSON or not of the shapes above, an instrument that is not an
            object or lacks a required field (``id exchange type baseCurrency
            quoteCurrency availableSince priceIncrement amountIncrement``; the message
            names the instrument's place in the file, e.g. ``#3``, and ``err.field``
            the field), a value of the wrong kind (a malformed timestamp or number, a
            non-boolean ``inverse``), ``availableTo`` not after the first-window start,
            and the same ``(exchange, exchange_symbol)`` twice with different content
            (naming both files).
    """
    now = now_us(now_ts_us)
    reader = _Reader(exchanges=frozenset(exchanges))
    for path in _json_files([paths] if isinstance(paths, str | Path) else paths, reader.notes):
        reader.read_file(path)
    return TardisInstruments(
        windows=_table(reader.rows, now),
        notes=tuple(reader.notes),
        instruments=reader.instruments,
        skipped=reader.skipped,
    )


# --------------------------------------------------------------------------- files


def _json_files(paths: Sequence[str | Path], notes: list[str]) -> list[Path]:
    """The files to read, in order, each once (by resolved path)."""
    out: list[Path] = []
    seen: set[Path] = set()
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*.json")
                if p.is_file() and not any(s.startswith(".") for s in p.relative_to(path).parts)
            )
            if not found:
                notes.append(f"{path}: the folder holds no .json files")
        elif path.is_file():
            found = [path]
        else:
            msg = "no such file or folder"
            raise DimSymbolError(msg, file=str(path))
        for p in found:
            resolved = p.resolve()
            if resolved not in seen:
                seen.add(resolved)
                out.append(p)
    return out


def _reject_constant(name: str) -> NoReturn:
    msg = f"{name} is not a number Pointline accepts"
    raise ValueError(msg)


def _load(path: Path) -> Any:
    """The JSON document, numbers as exact Decimals."""
    try:
        with path.open(encoding="utf-8-sig") as fh:
            return json.load(
                fh, parse_float=Decimal, parse_int=Decimal, parse_constant=_reject_constant
            )
    except OSError as exc:
        msg = f"cannot read the file: {exc}"
        raise DimSymbolError(msg, file=str(path)) from exc
    except (ValueError, ArithmeticError, RecursionError) as exc:
        msg = f"not valid JSON: {exc}"
        raise DimSymbolError(msg, file=str(path)) from exc


def _objects(doc: Any, file: str) -> list[tuple[str, Any]]:
    """``(place, item)`` for every instrument of a document: an object, an array of them
    or a list of arrays; the place counts from 1: ``""`` (the only one), ``#3`` (the
    third of the array), ``#2.1`` (the first of the second array)."""
    if isinstance(doc, dict):
        return [("", doc)]
    if isinstance(doc, list):
        out: list[tuple[str, Any]] = []
        for i, item in enumerate(doc, start=1):
            if isinstance(item, list):
                out.extend((f"#{i}.{j}", inner) for j, inner in enumerate(item, start=1))
            else:
                out.append((f"#{i}", item))
        return out
    msg = (
        "expected an instrument object, an array of them or a list of arrays, "
        f"got {type(doc).__name__}"
    )
    raise DimSymbolError(msg, file=file)


# --------------------------------------------------------------------------- values


@dataclass(slots=True)
class _Where:
    """One instrument's place, for errors and notes."""

    file: str
    place: str
    name: str = ""  # "exchange id" once known

    def who(self) -> str:
        place = f"instrument {self.place}" if self.place else "the instrument"
        return place + (f" ({self.name})" if self.name else "")

    def fail(self, message: str, name: str | None = None) -> NoReturn:
        """Raise :class:`DimSymbolError` naming the file, the instrument and field ``name``."""
        msg = f"{self.who()}: {message}"
        raise DimSymbolError(msg, file=self.file, field=name)

    def note(self, message: str) -> str:
        return f"{self.file}: {self.who()}: {message}"


def _shown(raw: Any) -> str:
    """A JSON value as the file wrote it (a number without ``Decimal(...)``)."""
    return str(raw) if isinstance(raw, Decimal) else repr(raw)


def _iso(ts_us: int) -> str:
    """us since the epoch as ISO 8601 UTC, for messages."""
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
    return (epoch + datetime.timedelta(microseconds=ts_us)).isoformat().replace("+00:00", "Z")


def _text(raw: Any, where: _Where, label: str) -> str:
    if not isinstance(raw, str) or not raw:
        where.fail(f"must be non-empty text, got {_shown(raw)}", label)
    return raw


def _timestamp(raw: Any, where: _Where, label: str) -> int:
    """ISO 8601 text (``2024-07-31T04:00:00.000Z``, ``+HH:MM`` offsets, up to 6
    fractional digits) -> int us since the epoch, integer arithmetic only."""
    match = _ISO.fullmatch(raw) if isinstance(raw, str) else None
    if match is None:
        where.fail(
            f"{_shown(raw)} is not an ISO 8601 timestamp such as 2024-07-31T04:00:00.000Z", label
        )
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    fraction, zone = match.group(7) or "", match.group(8)
    offset_s = 0
    if zone != "Z":
        off_h, off_m = int(zone[1:3]), int(zone[4:6])
        offset_s = (off_h * 60 + off_m) * 60 * (-1 if zone[0] == "-" else 1)
        if off_h > 23 or off_m > 59:
            where.fail(f"{_shown(raw)} has an invalid UTC offset", label)
    try:
        days = datetime.date(year, month, day).toordinal() - _EPOCH_ORDINAL
    except ValueError:
        where.fail(f"{_shown(raw)} is not a calendar date", label)
    if hour > 23 or minute > 59 or second > 59:
        where.fail(f"{_shown(raw)} is not a time of day", label)
    seconds = ((days * 24 + hour) * 60 + minute) * 60 + second - offset_s
    return seconds * _US_PER_S + int(fraction.ljust(6, "0"))


def _decimal(raw: Any, where: _Where, label: str) -> Decimal:
    """A JSON number (already a Decimal) or numeric text as an exact Decimal."""
    if isinstance(raw, Decimal):
        value = raw
    elif isinstance(raw, int) and not isinstance(raw, bool):
        value = Decimal(raw)
    elif isinstance(raw, str) and _NUMBER_TEXT.fullmatch(raw):
        try:
            value = Decimal(raw)
        except (InvalidOperation, ValueError):
            where.fail(f"{_shown(raw)} is not a number Pointline can read", label)
    else:
        where.fail(f"must be a number or numeric text, got {_shown(raw)}", label)
    if not value.is_finite():
        where.fail(f"{_shown(raw)} is not a finite number", label)
    return value


def _plain(value: Decimal) -> str | None:
    """Plain decimal text of ``value`` (``0.00000001``, ``120000``), or None when
    ``decimal128(38, 18)`` cannot hold it exactly. No context rounding is involved."""
    sign, digit_tuple, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite (checked by _decimal)
    digits = "".join(map(str, digit_tuple)).lstrip("0")
    if not digits:
        return "0"
    stripped = digits.rstrip("0")
    exponent += len(digits) - len(stripped)
    digits = stripped
    if -exponent > DECIMAL_FRACTION_DIGITS or len(digits) + exponent > DECIMAL_INTEGER_DIGITS:
        return None
    if exponent >= 0:
        text = digits + "0" * exponent
    else:
        point = len(digits) + exponent
        text = digits[:point] + "." + digits[point:] if point > 0 else "0." + "0" * -point + digits
    return ("-" if sign else "") + text


def _size(raw: Any, where: _Where, label: str, notes: list[str]) -> str | None:
    """A size field as exact decimal text, or None (absent, or <= 0 / not exact, with a
    note; ``minTradeAmount`` may be 0)."""
    if raw is None:
        return None
    value = _decimal(raw, where, label)
    column = _SIZE_COLUMNS[label.rpartition(".")[2]]
    too_small = value < 0 if column == "min_qty" else value <= 0
    if too_small:
        bound = ">= 0" if column == "min_qty" else "> 0"
        notes.append(where.note(f"{label} {raw} is not {bound}: {column} null (pitfall 8)"))
        return None
    text = _plain(value)
    if text is None:
        notes.append(
            where.note(
                f"{label} {raw} is not exact in decimal128(38, 18) (more than 18 fractional "
                f"digits or magnitude >= 10^20): {column} null (pitfall 8)"
            )
        )
    return text


def _field(name: str, raw: Any, where: _Where, label: str, notes: list[str]) -> Value:
    """One window field, parsed by its kind (null stays null for the optional kinds)."""
    if name in _TEXT_FIELDS:
        text = _text(raw, where, label)
        if name == "type" and text not in KNOWN_TYPES:
            notes.append(
                where.note(
                    f"{label} {text!r} is not one of {', '.join(sorted(KNOWN_TYPES))}: "
                    "passed through as market_type (pitfall 9)"
                )
            )
        return text
    if name in _SIZE_COLUMNS:
        return _size(raw, where, label, notes)
    if raw is None:
        return None
    if name == "expiry":
        return _timestamp(raw, where, label)
    if not isinstance(raw, bool):  # inverse
        where.fail(f"must be true or false, got {_shown(raw)}", label)
    return raw


# ----------------------------------------------------------------------- instruments


@dataclass(frozen=True, slots=True)
class _Instrument:
    exchange: str
    symbol: str
    start: int
    end: int
    current: dict[str, Value]
    changes: list[tuple[int, dict[str, Value]]]  # sorted by until (stable)

    def value_at(self, name: str, ts: int) -> Value:
        """Field ``name`` in a window starting at ``ts`` (the changes[] rule)."""
        for until, older in self.changes:
            if until > ts and name in older:
                return older[name]
        return self.current[name]

    def windows(self) -> list[tuple[int, int, dict[str, Value]]]:
        """``(valid_from, valid_until, columns)`` per window, equal neighbours merged."""
        cuts = sorted(
            {self.start, self.end, *(u for u, _ in self.changes if self.start < u < self.end)}
        )
        out: list[tuple[int, int, dict[str, Value]]] = []
        for lo, hi in pairwise(cuts):
            columns: dict[str, Value] = {
                column: self.value_at(name, lo) for column, name in (*_TRACKED, *_UNTRACKED)
            }
            if out and all(out[-1][2][c] == columns[c] for c, _ in _TRACKED):
                out[-1] = (out[-1][0], hi, columns)  # untracked only: merge, latest wins
            else:
                out.append((lo, hi, columns))
        return out


def _instrument(raw: dict[str, Any], exchange: str, where: _Where, notes: list[str]) -> _Instrument:
    """The checked fields of one instrument of a known exchange."""
    for name in _REQUIRED:
        if raw.get(name) is None:
            where.fail("missing required field", name)
    ident = _text(raw["id"], where, "id")
    dataset_id = raw.get("datasetId")
    if dataset_id is None or dataset_id == "":
        symbol = symbol_key(ident)
        notes.append(
            where.note(
                f"no datasetId (no CSV export yet): imported as {symbol!r} = key(id) (pitfall 3)"
            )
        )
    else:
        symbol = symbol_key(_text(dataset_id, where, "datasetId"))
    since = _timestamp(raw["availableSince"], where, "availableSince")
    listing = raw.get("listing")
    start = since if listing is None else min(since, _timestamp(listing, where, "listing"))
    to = raw.get("availableTo")
    end = OPEN_END_TS_US if to is None else _timestamp(to, where, "availableTo")
    if end <= start:
        where.fail(
            f"{to!r} is not after the first window's start {_iso(start)} (the earlier of "
            "listing and availableSince)",
            "availableTo",
        )
    current = {name: _field(name, raw.get(name), where, name, notes) for name in _WINDOW_FIELDS}
    entries = raw.get("changes")
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        where.fail(f"must be an array, got {type(entries).__name__}", "changes")
    changes: list[tuple[int, dict[str, Value]]] = []
    for i, entry in enumerate(entries):
        label = f"changes[{i}]"
        if not isinstance(entry, dict):
            where.fail(f"must be an object, got {type(entry).__name__}", label)
        if entry.get("until") is None:
            where.fail("missing required field", f"{label}.until")
        until = _timestamp(entry["until"], where, f"{label}.until")
        older = {
            name: _field(name, entry[name], where, f"{label}.{name}", notes)
            for name in _WINDOW_FIELDS
            if name in entry
        }
        changes.append((until, older))
    changes.sort(key=lambda change: change[0])
    return _Instrument(exchange, symbol, start, end, current, changes)


@dataclass(slots=True)
class _Reader:
    """State across files: rows so far, notes, counts, where each key was seen."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    instruments: int = 0
    skipped: int = 0
    seen: dict[tuple[str, str], tuple[_Where, dict[str, Any]]] = field(default_factory=dict)
    exchanges: frozenset[str] = frozenset(TARDIS_EXCHANGES)

    def read_file(self, path: Path) -> None:
        file = str(path)
        for place, raw in _objects(_load(path), file):
            self.read_one(raw, _Where(file, place))

    def read_one(self, raw: Any, where: _Where) -> None:
        if not isinstance(raw, dict):
            where.fail(f"is not a JSON object but {type(raw).__name__}")
        if "id" not in raw and "code" in raw and "message" in raw:
            where.fail(f"is a Tardis API error response: {raw['message']!r}")
        if raw.get("exchange") is None:
            where.fail("missing required field", "exchange")
        exchange = _text(raw["exchange"], where, "exchange")
        ident = raw.get("id")
        where.name = f"{exchange} {ident if isinstance(ident, str) else '?'}"
        if exchange not in self.exchanges:
            self.instruments += 1
            self.skipped += 1
            self.notes.append(
                where.note(
                    f"exchange {exchange!r} is neither a Tardis exchange id nor one registered "
                    "in the lake (`pointline exchange add`): skipped (pitfall 4)"
                )
            )
            return
        notes: list[str] = []
        instrument = _instrument(raw, exchange, where, notes)
        key = (instrument.exchange, instrument.symbol)
        if key in self.seen:
            first, content = self.seen[key]
            if content != raw:
                where.fail(
                    f"{key} is also in {first.file} ({first.who()}) with different content; "
                    "keep one export per instrument"
                )
            self.notes.append(
                where.note(f"also in {first.file} ({first.who()}), identical: read once")
            )
            return
        self.seen[key] = (where, raw)
        self.instruments += 1
        self.notes.extend(notes)
        for lo, hi, columns in instrument.windows():
            self.rows.append(
                {
                    "exchange": instrument.exchange,
                    "exchange_symbol": instrument.symbol,
                    "canonical_symbol": instrument.symbol,
                    **columns,
                    "valid_from_ts_us": lo,
                    "valid_until_ts_us": hi,
                }
            )


def _table(rows: list[dict[str, Any]], now: int) -> pa.Table:
    """The dim_symbol table of the windows: exact types, ids, sorted, validated."""
    return windows_from_rows(rows, updated_at=now, source=SOURCE)
