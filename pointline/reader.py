"""The read API: a table as one stream in replay order, merged across symbols or symbol by
symbol.

:func:`read` reads only the Silver files the manifest marks live (``success`` or
``quarantined``) of one exchange or of every exchange that has some, prunes
``trading_date`` partitions from the time window in each exchange's own time zone (one
day of margin on each side) and row groups by their footer statistics (window and
symbols), keeps the rows with ``start <= ts_event_us < end`` (event time; start
inclusive, end exclusive; each an int of microseconds since the epoch, a ``datetime``, a
``date`` or ISO 8601 text, see :func:`to_timestamp_us`) and the given symbols, and
returns a ``pyarrow.RecordBatchReader``.

Replay keys (docs/contracts.md section 4, "Tie-break (replay) keys" and "Replay across
symbols"). A table's tie-break keys are ``(exchange, symbol_id, <middle>, file_id,
file_seq)``; the middle is one symbol's order: a time column for crypto tables
(``ts_local_us``; a row without it takes its ``ts_event_us``), ``trading_date,
channel_id, channel_seq`` for CN orders and ticks, ``ts_event_us, snapshot_seq`` for CN
L2 snapshots. Two orders:

- ``order="symbol"``: ``exchange`` (by name), ``symbol`` (text), the middle,
  ``symbol_id``, ``file_id``, ``file_seq``: symbol by symbol, each in its own replay
  order, so that a symbol whose dim_symbol history has several windows (several
  ``symbol_id`` values) still replays in one order.
- ``order="time"`` (the default): one stream across symbols and exchanges, by the
  table's across-symbols rule, chosen from the shape of its middle:

  - a time column first (crypto, CN L2): ``time, exchange, <rest of the middle>,
    symbol_id, file_id, file_seq``; crypto ``coalesce(ts_local_us, ts_event_us),
    exchange, symbol_id, file_id, file_seq``, CN L2 ``ts_event_us, exchange,
    snapshot_seq, symbol_id, file_id, file_seq``.
  - ``trading_date, <channel>, <sequence>`` (CN orders and ticks): within one channel
    (exchange, trading date, ``channel_id``) the rows go by ``channel_seq`` (then
    symbol_id, file_id, file_seq): the exchange's own publication order, whatever
    ts_event_us says. Channels are merged by time: a k-way merge of the channel streams
    that always takes the head with the smallest ``(trading_date, ts_event_us, exchange,
    channel_id)``; that tuple is the tie rule (equal date and time: the exchange by name,
    then the smaller channel number; two channels never tie), so the same rows always
    come out in the same order. It is computed as a sort: a row's *merge time* is the
    largest ts_event_us of its channel up to and including it in channel order (a row
    whose time goes back stays behind the rows of its channel before it), and rows go by
    ``(trading_date, merge time, exchange, channel_id, channel_seq, symbol_id, file_id,
    file_seq)``, which is exactly the head rule (a merge that takes the smallest head is
    a stable sort of each stream by its running maximum). A trading date is done before
    the next one starts.
  - anything else is refused.

  The rules order the rows that are read: with a window or symbols, merge times come
  from the rows that pass.

How. Every order is a k-way merge (:class:`_Merge`) of *units*, streams of rows each
already in the merge key's order: the rows of one file (time order), of one file and
``symbol_id`` (symbol order), of one file and channel (CN, merged into channel streams),
or one channel stream (CN: the merge of channels). A first pass reads the key columns of
each file, one row group at a time, to find each unit's smallest key and how its rows
lie in the file:

- in key order (the CN case: a file's channel_seq rises; crypto files in symbol order):
  streamed row group by row group as they are;
- the key's first column never goes back (crypto time order: rows of equal time of
  several symbols may come in any symbol_id order): streamed, each chunk (the carry, then
  the next row group) sorted where rows share their first key value (only those go
  through one stable ``np.lexsort``; the table is not copied, the order is kept beside it
  and applied as rows are taken), and the rows at the chunk's last first-key value are
  *carried* into the next chunk, as a later row group may hold more rows of that value
  with smaller keys; every other row is final;
- otherwise (a Silver file is in Bronze order, which the vendor may not keep): the unit
  is loaded whole and sorted.

Each merge step computes a bound: the smallest key among each open unit's row ``look``
rows ahead (or its chunk's last row; units whose remaining rows are all loaded count
once, by the largest such key, so that the ends of many small files do not cut steps
short); every open unit gives its rows up to the bound, and when several did, one
``np.lexsort`` on the merge key merges them. ``look`` starts at
``batch_size`` (with one open unit, as in the crypto benchmark, it stays there) and is
halved while a step would move more than two batches (many units interleaving, such as
the symbol files of a CN channel, would otherwise give whole row groups at once, and a
step's output is a copy), doubled back while steps move less than half a batch. A unit
is opened only when its first key falls below the bound.

Memory: one row group per open unit plus a step's output (at most about two batches; for
CN, one such per open channel too); a unit that is loaded whole costs its size. Before a
unit reads its next row group, the output waiting is emitted (batches may then be shorter
than ``batch_size``). Open units are those whose key ranges overlap the merge point: in
time order, the files overlapping in time; in symbol order, the files of one symbol
overlapping in time (a file is read once per symbol_id in it). CN orders and ticks in
time order are the exception: every symbol's channel runs all day, so every file of the
trading date being replayed is open (a SZSE day has ~2,300 symbol files per table); they
are read ``_CHANNEL_READ_ROWS`` rows at a time instead of a row group at a time (about
2 MB per open file with every column: page buffers and one slice, where a whole row group
of a 40k-row file is 6 MB), and files of a later date open only once the date before is
done. A whole-market read of a day thus holds about 2 MB per symbol file (some GB for a
full SZSE day): ``symbols``, ``columns`` and ``start``/``end`` are what narrow it. Row
groups whose footer statistics rule out the window or the symbols are skipped unread.
Measured on the benchmark's one-file, three-symbol L2 table (10M rows, 1.2 GB of batches
read), Arrow pool peak: 31 MB in time order, 24 MB in symbol order (about the same at 1M
rows); time per row: about 180 and 310 ns. A generated SZSE day (``cn_day.py``'s 2,300
symbols, 630k order rows in 2,300 files): time order 4.9 s, pool peak 238 MB for 92 MB
read (every file of the day open); symbol order 3.4 s (the per-file cost dominates).
"""

from __future__ import annotations

import datetime
import functools
import heapq
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple, TypeAlias

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pointline.arrays import repeated_text
from pointline.codes import LIVE_STATUSES
from pointline.errors import SchemaError, UnknownExchangeError
from pointline.exchanges import Exchange
from pointline.ingest import finish_publishes
from pointline.kernels.trading_date import local_dates
from pointline.lake import Lake
from pointline.schemas import TableSpec, get_table_spec

__all__ = ["LIVE_STATUSES", "Order", "TimeLike", "merge_sorted", "read", "to_timestamp_us"]


Order: TypeAlias = Literal["time", "symbol"]
"""``"time"``: one stream merged across symbols and exchanges by the table's rule;
``"symbol"``: exchange by exchange, symbol by symbol, each in its replay order."""

TimeLike: TypeAlias = int | datetime.datetime | datetime.date | str
"""What a time bound may be; :func:`to_timestamp_us` turns it into microseconds."""

_DAY = datetime.timedelta(days=1)
_EPOCH = datetime.date(1970, 1, 1)
_EPOCH_UTC = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_US = datetime.timedelta(microseconds=1)
_US_PER_DAY = 86_400_000_000
_INT64 = (-(2**63), 2**63 - 1)
_I64 = npt.NDArray[np.int64]
_EMPTY_TABLE = pa.table({})
_ORDERS = ("time", "symbol")


def to_timestamp_us(value: object) -> int:
    """Microseconds since the Unix epoch (UTC) of a time bound, by integer arithmetic.

    Accepts an ``int`` (already microseconds); a ``datetime.datetime`` (naive = UTC,
    aware = converted); a ``datetime.date`` (its midnight UTC); ISO 8601 text (a date, or
    a date and time, naive = UTC, ``Z`` or an offset such as ``+09:00`` accepted); or
    text of an integer (microseconds, as the CLI takes it). Raises
    :class:`~pointline.errors.SchemaError` (a ``ValueError``) for anything else: other
    types (``float`` and ``bool`` included), unparseable text, values outside int64.

    >>> to_timestamp_us("2024-09-29T09:00:00+09:00")
    1727568000000000
    >>> to_timestamp_us(datetime.date(2024, 9, 29)) == to_timestamp_us("2024-09-29")
    True
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer | str | datetime.date):
        msg = (
            f"a time bound must be int microseconds since the epoch, a datetime, a date or "
            f"ISO 8601 text; got {value!r} ({type(value).__name__})"
        )
        raise SchemaError(msg)
    if isinstance(value, int | np.integer):
        result = int(value)
    elif isinstance(value, datetime.datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=datetime.UTC)
        result = (moment - _EPOCH_UTC) // _US
    elif isinstance(value, datetime.date):
        result = (value - _EPOCH).days * _US_PER_DAY
    else:
        result = _parse_time_text(value)
    if not _INT64[0] <= result <= _INT64[1]:
        msg = f"time bound {value!r} is {result} us, outside int64"
        raise SchemaError(msg)
    return result


def _parse_time_text(text: str) -> int:
    stripped = text.strip()
    if stripped.lstrip("-").isdigit():
        return int(stripped)
    try:
        moment = datetime.datetime.fromisoformat(stripped)
    except ValueError:
        msg = (
            f"time bound {text!r} is neither ISO 8601 text (e.g. 2024-09-29, "
            "2024-09-29T12:00:00Z, 2024-09-29T21:00:00+09:00) nor integer microseconds"
        )
        raise SchemaError(msg) from None
    return to_timestamp_us(moment)


def _venue(lake: Lake, exchange: str) -> Exchange:
    """The exchange's definition as the lake's rows were cut: the lake's registry plus
    the registrations stored in the lake (``_pointline/exchanges``, including the vendor
    zones ingest recorded for exchanges no registry knew).

    No silent fallback: an exchange with Silver partitions but no zone anywhere raises
    :class:`~pointline.errors.UnknownExchangeError` saying so (guessing a zone could prune
    the wrong partitions); one with no partitions either is an unknown exchange.
    """
    store = lake.exchange_store()
    registry = store.registry(lake.exchanges)
    if exchange in registry:
        return registry.get(exchange)
    rows = store.silver_file_of(exchange)
    if rows is None:
        return registry.get(exchange)  # UnknownExchangeError naming the remedies
    msg = (
        f"exchange {exchange!r} has Silver rows ({lake.relative(rows)}) but no time zone: "
        "it is not in the lake's registry and no registration is stored in the lake; "
        f"register the zone its rows were cut in with `pointline exchange add {exchange} "
        "--timezone TZ` (Tardis: UTC)"
    )
    raise UnknownExchangeError(msg)


def _date_of(ts_us: int, venue: Exchange) -> datetime.date:
    days = int(local_dates(np.array([ts_us], dtype=np.int64), venue)[0])
    return _EPOCH + datetime.timedelta(days=days)


@dataclass(frozen=True)
class _File:
    path: Path
    file_id: int
    trading_date: datetime.date
    exchange: str


def _live_files(lake: Lake, table: str) -> dict[str, list[_File]]:
    """Every live Silver file of ``table``, by exchange, each list in (trading_date,
    file_id, name) order."""
    prefix = f"silver/{table}/exchange="
    found: dict[str, list[_File]] = {}
    for entry in lake.manifest().entries().values():
        if entry.status not in LIVE_STATUSES or entry.table_name != table:
            continue
        for name in entry.silver_files:
            if not name.startswith(prefix):
                continue
            exchange, rest = name[len(prefix) :].split("/", 1)
            if not rest.startswith("trading_date="):
                continue
            day = datetime.date.fromisoformat(rest[len("trading_date=") :].split("/", 1)[0])
            found.setdefault(exchange, []).append(
                _File(lake.root / name, entry.file_id, day, exchange)
            )
    for files in found.values():
        files.sort(key=lambda f: (f.trading_date, f.file_id, f.path.name))
    return found


# -- replay rules ------------------------------------------------------------------------

_TIME_COLUMNS = ("ts_local_us", "ts_event_us")
_TIME = "@time"
"""The array of a rule's time column, ``ts_event_us`` where that is null."""
_TS_MAX = "@ts_max"
"""A CN row's merge time: the largest ts_event_us of its channel up to it, in channel order."""
_CHANNEL_READ_ROWS = 8_192
"""CN channel units are read this many rows at a time, not a row group at a time: every
symbol file of a trading date is open at once. tests/test_cn_read.py, eight 150k-row
files: Arrow pool peak 37 MB instead of 180 MB (186 MB read); about 15% slower."""
_SOURCE = "@source"
""":func:`merge_sorted`: the position of a row's source."""
_CONSTS = frozenset({"exchange", "symbol", "trading_date", "file_id"})
"""Key names constant in a unit, from its file (the exchange as its rank among the
exchanges read, by name; the trading date as days since the epoch; the file_id) or, for
``symbol``, the rank of its text among the symbols read."""


@dataclass(frozen=True)
class _Plan:
    """One merge: the key its units are merged by and the int64 arrays each chunk carries.

    ``key`` names, in order, row arrays (columns, ``_TIME``, ``_TS_MAX``) and unit
    constants (``fixed`` and the ``segment`` columns, by whose values a file is split
    into units). A unit's rows are in key order when they are in the order of ``rows``
    (the row arrays of the key, in key order). ``payload`` arrays ride along.
    """

    key: tuple[str, ...]
    segment: tuple[str, ...] = ()
    payload: tuple[str, ...] = ()
    fixed: frozenset[str] = _CONSTS

    @property
    def rows(self) -> tuple[str, ...]:
        return tuple(n for n in self.key if n not in self.fixed and n not in self.segment)

    @property
    def arrays(self) -> tuple[str, ...]:
        return (*self.rows, *self.payload)

    @property
    def consts(self) -> tuple[str, ...]:
        return tuple(n for n in self.key if n in self.fixed or n in self.segment)

    @property
    def parts(self) -> tuple[tuple[bool, int], ...]:
        """Each key name as (a row array?, its index in ``arrays`` or in ``consts``)."""
        rows, consts = self.rows, self.consts
        return tuple(
            (True, rows.index(n)) if n in rows else (False, consts.index(n)) for n in self.key
        )


@dataclass(frozen=True)
class _Rule:
    """How one read orders a table: one merge of units (``plan``), or, for CN channels,
    ``plan`` merges the units of one channel and ``outer`` the channel streams."""

    plan: _Plan
    time: tuple[str, ...] = ()
    """The columns of ``_TIME``, the first non-null wins."""
    outer: _Plan | None = None


def _rule(spec: TableSpec, order: Order) -> _Rule:
    """The replay rule of ``spec`` in ``order``, from its tie-break keys ``(exchange,
    symbol_id, <middle>, file_id, file_seq)`` (the module docstring). Raises
    :class:`~pointline.errors.SchemaError` for keys of another shape."""
    keys = spec.tie_break_keys
    middle = keys[2:-2]
    names = set(spec.column_names)
    shaped = (
        keys[:2] == ("exchange", "symbol_id")
        and keys[-2:] == ("file_id", "file_seq")
        and bool(middle)
        and {"symbol", "ts_event_us"} <= names
        and all(
            n == "trading_date" or pa.types.is_integer(spec.arrow_schema.field(n).type)
            for n in middle
        )
    )
    timed = shaped and middle[0] in _TIME_COLUMNS
    time = tuple(dict.fromkeys([middle[0], "ts_event_us"])) if timed else ()
    tail = ("symbol_id", "file_id", "file_seq")
    if order == "symbol":
        if not shaped:
            msg = (
                f"table {spec.name!r}: order='symbol' needs tie-break keys (exchange, "
                "symbol_id, <integer columns or trading_date>, file_id, file_seq); its keys "
                f"are {list(keys)}"
            )
            raise SchemaError(msg)
        mid = (_TIME, *middle[1:]) if timed else middle
        return _Rule(_Plan(("exchange", "symbol", *mid, *tail), segment=("symbol_id",)), time)
    if timed:
        return _Rule(_Plan((_TIME, "exchange", *middle[1:], *tail)), time)
    if (
        shaped
        and len(middle) == 3
        and middle[0] == "trading_date"
        and "trading_date" not in middle[1:]
    ):
        channel, seq = middle[1:]
        inner = _Plan((seq, *tail), segment=(channel,), payload=("ts_event_us",))
        outer = _Plan(("trading_date", _TS_MAX, "exchange", channel), segment=(channel,))
        return _Rule(inner, outer=outer)
    msg = (
        f"table {spec.name!r}: order='time' needs tie-break keys (exchange, symbol_id, "
        "ts_local_us or ts_event_us[, integer columns], file_id, file_seq) or (exchange, "
        "symbol_id, trading_date, <channel>, <sequence>, file_id, file_seq); its keys are "
        f"{list(keys)} (not supported yet)"
    )
    raise SchemaError(msg)


# -- filters -----------------------------------------------------------------------------


@dataclass
class _Filter:
    start_us: int | None
    end_us: int | None
    symbols: frozenset[str] | None

    @property
    def columns(self) -> list[str]:
        """The columns :meth:`mask` reads."""
        timed = self.start_us is not None or self.end_us is not None
        return [
            *(["ts_event_us"] if timed else []),
            *(["symbol"] if self.symbols is not None else []),
        ]

    def mask(self, table: pa.Table) -> Any:
        conds: list[Any] = []
        if self.start_us is not None:
            start = pa.scalar(self.start_us, pa.int64())
            conds.append(pc.greater_equal(table.column("ts_event_us"), start))
        if self.end_us is not None:
            end = pa.scalar(self.end_us, pa.int64())
            conds.append(pc.less(table.column("ts_event_us"), end))
        if self.symbols is not None:
            conds.append(pc.is_in(table.column("symbol"), pa.array(sorted(self.symbols))))
        if not conds:
            return None
        out = conds[0]
        for cond in conds[1:]:
            out = pc.and_(out, cond)
        return out

    def row_groups(self, parquet: pq.ParquetFile) -> list[int]:
        """The row groups of ``parquet`` that may hold rows passing the filter, by their
        footer statistics of ``ts_event_us`` and ``symbol`` (kept when there are none)."""
        meta = parquet.metadata
        groups = range(meta.num_row_groups)
        if self.start_us is None and self.end_us is None and self.symbols is None:
            return list(groups)
        at = {meta.schema.column(i).path: i for i in range(meta.num_columns)}
        return [g for g in groups if self._may_hold(meta.row_group(g), at)]

    def _may_hold(self, group: pq.RowGroupMetaData, at: dict[str, int]) -> bool:
        times = _min_max(group, at.get("ts_event_us"))
        if times is not None:
            low, high = times
            if self.start_us is not None and high < self.start_us:
                return False
            if self.end_us is not None and low >= self.end_us:
                return False
        if self.symbols is None:
            return True
        names = _min_max(group, at.get("symbol"))
        if names is None or not all(isinstance(n, str) for n in names):
            return True
        return any(names[0] <= s <= names[1] for s in self.symbols)


def _min_max(group: pq.RowGroupMetaData, column: int | None) -> tuple[Any, Any] | None:
    if column is None:
        return None
    stats = group.column(column).statistics
    if stats is None or not stats.has_min_max:
        return None
    return stats.min, stats.max


def _to_output(rows: pa.Table, file: _File, schema: pa.Schema) -> pa.Table:
    """Rows of ``file`` in the output schema (``exchange``, ``trading_date`` added)."""
    arrays: list[Any] = []
    for name in schema.names:
        if name == "exchange":
            arrays.append(repeated_text(file.exchange, rows.num_rows))
        elif name == "trading_date":
            arrays.append(pa.repeat(pa.scalar(file.trading_date, pa.date32()), rows.num_rows))
        else:
            arrays.append(rows.column(name).cast(schema.field(name).type))
    return pa.Table.from_arrays(arrays, schema=schema)


def _ints(values: Any) -> _I64:
    """An integer (or date32: days) column without nulls as int64."""
    if pa.types.is_date32(values.type):
        values = values.cast(pa.int32())
    return np.asarray(values.to_numpy(), dtype=np.int64)


def _listed(batch: pa.RecordBatch) -> list[pa.RecordBatch]:
    return [batch]


def _emit(parts: list[pa.Table], schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    table = pa.concat_tables(parts).combine_chunks()
    for batch in table.to_batches():
        yield batch.cast(schema) if batch.schema != schema else batch


# -- the merge ---------------------------------------------------------------------------


def _goes_back(arrays: Sequence[_I64], at: _I64) -> bool:
    """Whether a row ``i`` of ``at`` is followed by a row ``i + 1`` that is smaller in
    ``arrays`` (compared left to right; compared, never subtracted: ids span int64)."""
    for values in arrays:
        if not len(at):
            return False
        this, following = values[at], values[at + 1]
        if (following < this).any():
            return True
        at = at[following == this]
    return False


def _order_of(arrays: Sequence[_I64]) -> tuple[bool, bool]:
    """(the first array never goes back, the rows never go back in ``arrays`` order)."""
    first = arrays[0]
    if not (first[1:] >= first[:-1]).all():
        return False, False
    return True, not _goes_back(arrays[1:], np.flatnonzero(first[1:] == first[:-1]))


def _smallest(arrays: Sequence[_I64]) -> int:
    """The position of the first row that is smallest in ``arrays`` order."""
    at: _I64 | None = None
    for values in arrays:
        part = values if at is None else values[at]
        hits = np.flatnonzero(part == part.min())
        at = hits if at is None else at[hits]
        if len(at) == 1:
            break
    assert at is not None
    return int(at[0])


class _Chunk(NamedTuple):
    """Rows of one unit in output form with their int64 arrays (a plan's ``arrays``), in
    key order. ``order`` (if not None) gives the table row of each key position: a sorted
    chunk is not copied whole, its rows are taken in key order a step at a time. ``last``:
    the unit has no rows after these (False when not known)."""

    table: pa.Table
    arrays: tuple[_I64, ...]
    order: _I64 | None = None
    last: bool = False

    def __len__(self) -> int:
        if self.order is not None:
            return len(self.order)
        return len(self.arrays[0]) if self.arrays else int(self.table.num_rows)

    def rows(self) -> pa.Table:
        """The rows in key order: slices of the table where the order runs on by one (a
        sorted arrival-order chunk: almost everywhere), a ``take`` if it is shuffled."""
        order = self.order
        if order is None:
            return self.table
        starts = np.flatnonzero(np.r_[True, order[1:] != order[:-1] + 1])
        if len(starts) * 16 > len(order):
            return _take(self.table, order)
        lengths = np.diff(np.r_[starts, len(order)])
        pieces = [
            self.table.slice(at, n)
            for at, n in zip(order[starts].tolist(), lengths.tolist(), strict=True)
        ]
        return pa.concat_tables(pieces).combine_chunks()

    def slice(self, start: int, stop: int) -> _Chunk:
        arrays = tuple(a[start:stop] for a in self.arrays)
        if self.order is None:
            return _Chunk(self.table.slice(start, stop - start), arrays)
        return _Chunk(self.table, arrays, self.order[start:stop])

    def copy_tail(self, start: int) -> _Chunk:
        """Rows from ``start`` on, copied (so the rest of the row group can be freed)."""
        order = np.arange(start, len(self)) if self.order is None else self.order[start:]
        return _Chunk(self.table.take(order), tuple(a[start:].copy() for a in self.arrays))

    def sorted(self, width: int) -> _Chunk:
        """The rows in the order of the first ``width`` arrays, given the first never goes
        back: only rows that share their first value with a neighbour move, and only when
        they are not already in order (whole runs of equal values are sorted, so each run
        keeps its own positions)."""
        first = self.arrays[0]
        same = first[1:] == first[:-1]
        if not same.any() or not _goes_back(self.arrays[1:width], np.flatnonzero(same)):
            return self
        tied = np.flatnonzero(np.r_[same, False] | np.r_[False, same])
        order = np.arange(len(self), dtype=np.int64)
        order[tied] = tied[np.lexsort([a[tied] for a in reversed(self.arrays[:width])])]
        return self.reordered(order)

    def reordered(self, order: _I64) -> _Chunk:
        rows = order if self.order is None else self.order[order]
        return _Chunk(self.table, tuple(a[order] for a in self.arrays), rows)


_NO_CHUNK = _Chunk(_EMPTY_TABLE, ())


def _take(table: pa.Table, order: _I64) -> pa.Table:
    """``table.take(order)``; a table of several chunks (parts of several units) is made
    contiguous first, which costs a copy but makes the take several times faster."""
    if table.num_columns and table.column(0).num_chunks > 1:
        table = table.combine_chunks()
    return table.take(order)


def _concat_chunks(parts: Sequence[_Chunk]) -> _Chunk:
    """One chunk of the parts' rows, in the parts' order (each in its key order)."""
    if len(parts) == 1:
        return parts[0]
    return _Chunk(
        pa.concat_tables([p.rows() for p in parts]),
        tuple(np.concatenate([p.arrays[i] for p in parts]) for i in range(len(parts[0].arrays))),
    )


def _ties(chunks: Iterator[_Chunk], width: int) -> Iterator[_Chunk]:
    """A unit whose first array never goes back, in key order, one row group at a time.

    Each chunk (the carry, then the next row group) is sorted; its rows at its last first
    value are carried into the next chunk (a later row group may hold more rows of that
    value, with smaller keys), the others are final: every later row of the unit has a
    first value at or after that last one. (Locals are dropped before each ``yield``
    returns to the reading of the next row group.)"""
    carry: _Chunk | None = None
    for fresh in chunks:
        chunk = (fresh if carry is None else _concat_chunks([carry, fresh])).sorted(width)
        del fresh
        first = chunk.arrays[0]
        cut = int(np.searchsorted(first, first[-1], side="left"))
        carry = chunk.copy_tail(cut)
        final = chunk.slice(0, cut)
        del chunk, first
        if cut:
            yield final
        del final
    if carry is not None:
        yield _Chunk(carry.table, carry.arrays, carry.order, last=True)


@dataclass(order=True)
class _Pending:
    """A unit not opened yet, ordered by its smallest key."""

    key: tuple[int, ...]
    consts: tuple[int, ...] = field(compare=False)
    chunks: Callable[[], Iterator[_Chunk]] = field(compare=False)
    """Opens the unit: its rows in key order, a chunk at a time."""


class _Cursor:
    """An open unit in a merge: its current chunk, in key order, and how far it has been
    emitted. Every later row of the unit has a key at or above the chunk's last one."""

    def __init__(self, pending: _Pending, parts: tuple[tuple[bool, int], ...]) -> None:
        self._chunks = pending.chunks()
        self.consts = pending.consts
        self.parts = parts
        self.chunk = _NO_CHUNK
        self.pos = 0

    def advance(self) -> bool:
        """Whether rows remain; loads the next chunk when the current one is used up."""
        while self.pos >= len(self.chunk):
            self.chunk, self.pos = _NO_CHUNK, 0  # freed before the next row group is read
            chunk = next(self._chunks, None)
            if chunk is None:
                return False
            self.chunk = chunk
        return True

    def key(self, i: int) -> tuple[int, ...]:
        """The key of the chunk's row ``i``."""
        arrays, consts = self.chunk.arrays, self.consts
        return tuple(int(arrays[j][i]) if row else consts[j] for row, j in self.parts)

    def upto(self, bound: tuple[int, ...]) -> int:
        """End position of this chunk's rows whose key is below ``bound`` (the key of a
        row of another unit). The rows are in key order, so those are a prefix: narrowed
        key part by key part (a ``searchsorted`` on a row array, a comparison on a
        constant)."""
        lo, hi = self.pos, len(self.chunk)
        arrays, consts = self.chunk.arrays, self.consts
        for (row, j), value in zip(self.parts, bound, strict=True):
            if not row:
                if consts[j] != value:
                    return hi if consts[j] < value else lo
                continue
            run = arrays[j][lo:hi]
            left = lo + int(np.searchsorted(run, value, side="left"))
            right = lo + int(np.searchsorted(run, value, side="right"))
            if left == right:
                return left
            lo, hi = left, right
        return lo

    def take(self, end: int) -> _Chunk:
        """The rows from the current position to ``end``; moves the position there."""
        part = self.chunk.slice(self.pos, end)
        self.pos = end
        return part


class _Merge:
    """A k-way merge of units by a plan's key (the module docstring, "How").

    :meth:`run` yields the merged rows a step at a time, and ``None`` where the output
    waiting should be emitted before the merge reads on (a unit opens, or reads its next
    row group), so that it holds one row group per open unit. ``arrays``: the steps keep
    the plan's arrays (for a merge whose output is merged again)."""

    def __init__(
        self, pending: list[_Pending], plan: _Plan, batch_size: int, *, arrays: bool
    ) -> None:
        self.pending = pending
        heapq.heapify(self.pending)
        self.parts = plan.parts
        self.batch_size = batch_size
        self.arrays = arrays

    def run(self) -> Iterator[_Chunk | None]:
        pending = self.pending
        active: list[_Cursor] = []
        size = self.batch_size
        look = size  # rows ahead in each open unit that the bound is taken from
        while pending or active:
            # The step's bound: the smallest key among each open unit's row at most
            # ``look`` rows ahead (at most its chunk's last); its unit (the owner) gives
            # every row up to it, the others every row below it. Units whose remaining
            # rows all lie within their window (their last chunk) count once, by the
            # largest of their keys (``top``): they have no row to wait for, so the end of
            # one small file does not cut a step short (a CN channel's hundreds of symbol
            # files end all day long). A unit not open yet has rows at its first key and
            # above, so it opens once that key is below the bound.
            ends = [min(c.pos + look, len(c.chunk)) for c in active]
            limit: tuple[tuple[int, ...], int] | None = None  # smallest bounding key
            top: tuple[tuple[int, ...], int] | None = None  # largest key of the others
            for i, cursor in enumerate(active):
                limit, top = _bound_by(cursor, ends[i], i, limit, top)
            bound, owner = min(filter(None, (limit, top)), default=(None, -1))
            if pending and (bound is None or pending[0].key < bound):
                yield None  # output waiting may hold slices of whole row groups: emit it
                while pending and (bound is None or pending[0].key < bound):
                    cursor = _Cursor(heapq.heappop(pending), self.parts)
                    if not cursor.advance():
                        continue
                    active.append(cursor)
                    ends.append(min(look, len(cursor.chunk)))
                    limit, top = _bound_by(cursor, ends[-1], len(active) - 1, limit, top)
                    bound, owner = min(filter(None, (limit, top)), default=(None, -1))
            if bound is None:
                continue  # nothing opened had rows
            takes = [ends[i] if i == owner else c.upto(bound) for i, c in enumerate(active)]
            moved = sum(end - c.pos for end, c in zip(takes, active, strict=True))
            # Each bounding unit gives at most ``look`` rows: with many units (the symbol
            # files of a CN channel) a step could take all of their row groups at once
            # and copy them; keep steps near ``batch_size`` rows by halving ``look`` (and
            # doubling it back while steps are small). One unit: it stays ``batch_size``.
            if moved > 2 * size and look > 1:
                look //= 2
                continue
            yield self._step(active, takes)
            if moved < size // 2 and look < size:
                look = min(size, look * 2)
            if any(c.pos >= len(c.chunk) for c in active):
                yield None  # a unit about to read its next row group: emit what waits
            active = [c for c in active if c.advance()]

    def _step(self, active: list[_Cursor], takes: list[int]) -> _Chunk:
        """The rows of every open unit up to its position in ``takes`` (all below the
        step's bound, and the bound's own row), in key order."""
        parts: list[_Chunk] = []
        givers: list[_Cursor] = []
        for cursor, end in zip(active, takes, strict=True):
            if end > cursor.pos:
                parts.append(cursor.take(end))
                givers.append(cursor)
        if len(parts) == 1:
            return parts[0] if self.arrays else _Chunk(parts[0].rows(), ())
        whole = _concat_chunks(parts)
        keys = [
            whole.arrays[j]
            if row
            else np.concatenate(
                [
                    np.full(len(p), c.consts[j], dtype=np.int64)
                    for p, c in zip(parts, givers, strict=True)
                ]
            )
            for row, j in reversed(self.parts)
        ]
        order = np.lexsort(keys)
        return whole.reordered(order) if self.arrays else _Chunk(_take(whole.rows(), order), ())


_Head: TypeAlias = tuple[tuple[int, ...], int]  # (a key, the position of its unit)


def _bound_by(
    cursor: _Cursor, end: int, i: int, limit: _Head | None, top: _Head | None
) -> tuple[_Head | None, _Head | None]:
    """``(limit, top)`` with open unit ``i`` (window up to ``end``) taken in: its key at
    ``end - 1`` lowers ``limit`` if rows of the unit lie beyond the window, else raises
    ``top``."""
    head = (cursor.key(end - 1), i)
    if end < len(cursor.chunk) or not cursor.chunk.last:
        return (head if limit is None or head < limit else limit), top
    return limit, (head if top is None or head > top else top)


def _rebatch(steps: Iterator[_Chunk | None], size: int) -> Iterator[_Chunk]:
    """A merge's rows in chunks of at least ``size`` rows, cut early where it says."""
    out: list[_Chunk] = []
    count = 0
    for step in steps:
        if step is not None:
            out.append(step)
            count += len(step)
            step = None  # noqa: PLW2901 (no reference left while the merge reads on)
            if count < size:
                continue
        if out:
            yield _concat_chunks(out)
            out, count = [], 0
    if out:
        yield _concat_chunks(out)


def _batches(chunks: Iterator[_Chunk], schema: pa.Schema, size: int) -> Iterator[pa.RecordBatch]:
    """Batches of at most ``size`` rows (a batch copies only when it spans several parts).
    Nothing of a chunk is held while the next one is made."""
    for chunk in chunks:
        table = chunk.rows()
        del chunk
        for start in range(0, table.num_rows, size):
            yield from _emit([table.slice(start, size)], schema)
        del table


# -- units of a table --------------------------------------------------------------------

_Mode: TypeAlias = Literal["sorted", "ties", "whole"]


@dataclass(frozen=True)
class _Unit:
    """One unit found by the first pass: the rows of ``file`` whose segment columns have
    the values ``segment``."""

    file: _File
    segment: tuple[int, ...]
    first: tuple[int, ...]
    """The plan's arrays at the unit's first row in key order."""
    mode: _Mode
    """``sorted``: the rows are in key order in the file; ``ties``: the key's first array
    never goes back; ``whole``: neither (loaded whole and sorted)."""
    alone: bool
    """The file holds no other unit (its rows need no segment filter)."""
    symbol: str


class _Scan:
    """What the first pass learns of one unit, row group by row group."""

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.first: tuple[int, ...] | None = None
        self.last: tuple[int, ...] | None = None
        self.rising = True
        self.ordered = True

    def add(self, arrays: tuple[_I64, ...], width: int) -> None:
        keys = arrays[:width]
        if self.rising:
            rising, ordered = _order_of(keys)
            if self.last is not None:
                head = tuple(int(a[0]) for a in keys)
                rising = rising and head[0] >= self.last[0]
                ordered = ordered and head >= self.last
            self.rising = rising
            self.ordered = self.ordered and ordered and rising
            self.last = tuple(int(a[-1]) for a in keys)
        i = _smallest(keys)
        first = tuple(int(a[i]) for a in arrays)
        if self.first is None or first[:width] < self.first[:width]:
            self.first = first

    def unit(self, file: _File, segment: tuple[int, ...], *, alone: bool) -> _Unit:
        assert self.first is not None
        mode: _Mode = "sorted" if self.ordered else "ties" if self.rising else "whole"
        return _Unit(file, segment, self.first, mode, alone, self.symbol)


class _Reads:
    """A file's rows that pass the filters, read by read (a row group or a slice), each
    with whether no rows follow in the file (known from the footer's row counts: a last
    read that no row passes leaves the one before it unmarked). An iterator object rather
    than a generator, so that nothing keeps a read alive while the next one is made."""

    def __init__(self, raw: Iterator[pa.Table], keep: Callable[[pa.Table], pa.Table], total: int):
        self.raw = raw
        self.keep = keep
        self.left = total

    def __iter__(self) -> _Reads:
        return self

    def __next__(self) -> tuple[pa.Table, bool]:
        while True:
            raw = next(self.raw)  # StopIteration ends the reads
            self.left -= raw.num_rows
            rows = self.keep(raw)
            del raw
            if rows.num_rows:
                return rows, self.left <= 0


class _Source:
    """A table's files as units of one plan: the first pass, and the rows of a unit."""

    def __init__(
        self,
        plan: _Plan,
        *,
        schema: pa.Schema,
        time: tuple[str, ...],
        row_filter: _Filter,
        with_symbol: bool,
        read_rows: int | None = None,
    ) -> None:
        self.plan = plan
        self.read_rows = read_rows
        self.arrays = plan.arrays
        self.width = len(plan.rows)
        self.schema = schema
        self.time = time
        self.filter = row_filter
        self.with_symbol = with_symbol
        read = [c for n in self.arrays for c in (time if n == _TIME else (n,))]
        extra = ["symbol"] if with_symbol else []
        self.keys = list(dict.fromkeys([*read, *plan.segment, *row_filter.columns, *extra]))
        stored = [n for n in schema.names if n not in {"exchange", "trading_date"}]
        self.needed = list(dict.fromkeys([*stored, *self.keys]))

    def _values(self, table: pa.Table) -> tuple[_I64, ...]:
        """The plan's arrays of ``table``."""
        out = []
        for name in self.arrays:
            if name == _TIME:
                columns = [table.column(n) for n in self.time]
                values = columns[0] if len(columns) == 1 else pc.coalesce(*columns)
            else:
                values = table.column(name)
            out.append(np.asarray(values.to_numpy(), dtype=np.int64))
        return tuple(out)

    def _groups(
        self,
        file: _File,
        columns: list[str],
        segment: tuple[int, ...] | None = None,
        *,
        rows: int | None = None,
    ) -> _Reads:
        """The file's rows that pass the filters (and belong to ``segment``), one row
        group at a time, or ``rows`` rows at a time (none empty), each with whether it is
        the file's last."""
        parquet = pq.ParquetFile(file.path)
        groups = self.filter.row_groups(parquet)
        total = sum(parquet.metadata.row_group(g).num_rows for g in groups)
        keep = functools.partial(self._keep, segment)
        if rows is None:
            read = functools.partial(parquet.read_row_group, columns=columns)
            return _Reads(map(read, groups), keep, total)
        if not groups:
            return _Reads(iter(()), keep, 0)
        batches = parquet.iter_batches(
            batch_size=rows, row_groups=groups, columns=columns, use_threads=False
        )
        return _Reads(map(pa.Table.from_batches, map(_listed, batches)), keep, total)

    def _keep(self, segment: tuple[int, ...] | None, rows: pa.Table) -> pa.Table:
        """The rows that pass the filters and belong to ``segment``."""
        mask = self.filter.mask(rows)
        for name, value in zip(self.plan.segment, segment or (), strict=False):
            mine = pc.equal(rows.column(name), pa.scalar(value, pa.int64()))
            mask = mine if mask is None else pc.and_(mask, mine)
        return (rows if mask is None else rows.filter(mask)).combine_chunks()

    def _split(self, keys: pa.Table) -> list[tuple[tuple[int, ...], _I64 | None]]:
        """Each segment of a row group and its rows' positions (None: all of them)."""
        if not self.plan.segment:
            return [((), None)]
        columns = [_ints(keys.column(n)) for n in self.plan.segment]
        if all((c == c[0]).all() for c in columns):
            return [(tuple(int(c[0]) for c in columns), None)]
        order = np.lexsort(columns[::-1])  # stable: a segment's rows keep their file order
        values = [c[order] for c in columns]
        change = np.zeros(len(order) - 1, dtype=bool)
        for v in values:
            change |= v[1:] != v[:-1]
        starts = np.flatnonzero(np.r_[True, change])
        ends = np.r_[starts[1:], len(order)]
        return [
            (tuple(int(v[lo]) for v in values), order[lo:hi])
            for lo, hi in zip(starts.tolist(), ends.tolist(), strict=True)
        ]

    def scan(self, file: _File) -> list[_Unit]:
        """First pass over one file's key columns, one row group at a time: its units
        (none if no row passes the filters)."""
        found: dict[tuple[int, ...], _Scan] = {}
        for keys, _ in self._groups(file, self.keys):
            arrays = self._values(keys)
            texts = keys.column("symbol") if self.with_symbol else None
            for segment, at in self._split(keys):
                state = found.get(segment)
                if state is None:
                    text = "" if texts is None else texts[0 if at is None else int(at[0])].as_py()
                    state = found[segment] = _Scan(str(text))
                state.add(arrays if at is None else tuple(a[at] for a in arrays), self.width)
        return [s.unit(file, seg, alone=len(found) == 1) for seg, s in found.items()]

    def chunks(self, unit: _Unit) -> Iterator[_Chunk]:
        """The unit's rows in key order: streamed as they are, streamed with ties sorted
        and carried, or loaded whole and sorted (its ``mode``)."""
        segment = None if unit.alone else unit.segment
        raw = map(
            functools.partial(self._chunk, unit.file),
            self._groups(unit.file, self.needed, segment, rows=self.read_rows),
        )
        if unit.mode == "sorted":
            return raw
        if unit.mode == "ties":
            return _ties(raw, self.width)
        parts = list(raw)
        if not parts:
            return iter(())
        whole = _concat_chunks(parts)
        ordered = whole.reordered(np.lexsort(whole.arrays[: self.width][::-1]))
        return iter([_Chunk(ordered.table, ordered.arrays, ordered.order, last=True)])

    def _chunk(self, file: _File, read: tuple[pa.Table, bool]) -> _Chunk:
        rows, last = read
        return _Chunk(_to_output(rows, file, self.schema), self._values(rows), last=last)


class _Replay:
    """One read: the units of the files, merged by the table's rule."""

    def __init__(
        self,
        files: list[_File],
        rule: _Rule,
        *,
        schema: pa.Schema,
        row_filter: _Filter,
        batch_size: int,
        by_symbol: bool,
    ) -> None:
        self.files = files
        self.rule = rule
        self.schema = schema
        self.batch_size = batch_size
        self.source = _Source(
            rule.plan,
            schema=schema,
            time=rule.time,
            row_filter=row_filter,
            with_symbol=by_symbol,
            read_rows=None if rule.outer is None else _CHANNEL_READ_ROWS,
        )
        self.ranks = {name: i for i, name in enumerate(sorted({f.exchange for f in files}))}
        self.symbols: dict[str, int] = {}

    def batches(self) -> Iterator[pa.RecordBatch]:
        """The rows in replay order (the first pass runs at the first batch)."""
        units = [u for f in self.files for u in self.source.scan(f)]
        self.symbols = {s: i for i, s in enumerate(sorted({u.symbol for u in units}))}
        if self.rule.outer is None:
            pending = [self._pending(u, self.rule.plan) for u in units]
            merge = _Merge(pending, self.rule.plan, self.batch_size, arrays=False)
        else:
            merge = _Merge(self._channels(units), self.rule.outer, self.batch_size, arrays=False)
        del units
        yield from _batches(_rebatch(merge.run(), self.batch_size), self.schema, self.batch_size)

    def _consts(self, plan: _Plan, unit: _Unit) -> tuple[int, ...]:
        values = {
            "exchange": self.ranks[unit.file.exchange],
            "symbol": self.symbols.get(unit.symbol, 0),
            "trading_date": (unit.file.trading_date - _EPOCH).days,
            "file_id": unit.file.file_id,
            **dict(zip(plan.segment, unit.segment, strict=True)),
        }
        return tuple(values[n] for n in plan.consts)

    def _pending(self, unit: _Unit, plan: _Plan) -> _Pending:
        consts = self._consts(plan, unit)
        key = tuple(unit.first[j] if row else consts[j] for row, j in plan.parts)
        return _Pending(key, consts, functools.partial(self.source.chunks, unit))

    def _channels(self, units: list[_Unit]) -> list[_Pending]:
        """CN: one unit of the outer merge per channel (exchange, trading date, channel),
        its first key from the channel's first row (the merge time of a first row is its
        own ts_event_us)."""
        outer, plan = self.rule.outer, self.rule.plan
        assert outer is not None
        groups: dict[tuple[str, datetime.date, int], list[_Unit]] = {}
        for unit in units:
            where = (unit.file.exchange, unit.file.trading_date, unit.segment[0])
            groups.setdefault(where, []).append(unit)
        ts_at = plan.arrays.index("ts_event_us")
        found = []
        for members in groups.values():
            inner = [self._pending(u, plan) for u in members]
            head = members[min(range(len(inner)), key=lambda i: inner[i].key)]
            consts = self._consts(outer, head)
            key = tuple(head.first[ts_at] if row else consts[j] for row, j in outer.parts)
            found.append(_Pending(key, consts, functools.partial(self._channel, inner)))
        return found

    def _channel(self, inner: list[_Pending]) -> Iterator[_Chunk]:
        """One channel's rows in channel order, each with its merge time: the running
        maximum of ts_event_us (carried across chunks)."""
        at = self.rule.plan.arrays.index("ts_event_us")
        merge = _Merge(list(inner), self.rule.plan, self.batch_size, arrays=True)
        high: int | None = None
        for chunk in _rebatch(merge.run(), self.batch_size):
            times = np.maximum.accumulate(chunk.arrays[at])
            if high is not None:
                np.maximum(times, high, out=times)
            high = int(times[-1])
            rows = chunk.rows()
            del chunk
            yield _Chunk(rows, (times,))
            del rows, times


def merge_sorted(
    sources: Sequence[Iterable[pa.RecordBatch]],
    key: Sequence[str],
    *,
    schema: pa.Schema,
    batch_size: int = 65_536,
) -> Iterator[pa.RecordBatch]:
    """One stream of the rows of ``sources``, each already in ``key`` order (integer or
    date32 columns without nulls), merged by ``key`` with :func:`read`'s k-way merge;
    rows of equal keys come source by source (an earlier source first), each source's in
    its own order. Every batch has ``schema``'s columns; batches have at most
    ``batch_size`` rows. Memory: about one batch per source and one output batch.
    Lazy: nothing is read before the first batch is asked for. Raises
    :class:`~pointline.errors.SchemaError` when a source's rows go back.

    >>> a = pa.record_batch({"k": [1, 3, 5]})
    >>> b = pa.record_batch({"k": [2, 3]})
    >>> [r["k"] for x in merge_sorted([[a], [b]], ["k"], schema=a.schema) for r in x.to_pylist()]
    [1, 2, 3, 3, 5]
    """
    plan = _Plan((*key, _SOURCE), segment=(_SOURCE,), fixed=frozenset())
    pending: list[_Pending] = []
    for i, source in enumerate(sources):
        chunks = _sorted_chunks(iter(source), list(key), i)
        first = next(chunks, None)
        if first is not None:
            head = tuple(int(a[0]) for a in first.arrays)
            opener = functools.partial(_chained, first, chunks)
            pending.append(_Pending((*head, i), (i,), opener))
    merge = _Merge(pending, plan, batch_size, arrays=False)
    yield from _batches(_rebatch(merge.run(), batch_size), schema, batch_size)


def _chained(first: _Chunk, rest: Iterator[_Chunk]) -> Iterator[_Chunk]:
    yield first
    del first
    yield from rest


def _sorted_chunks(batches: Iterator[pa.RecordBatch], key: list[str], i: int) -> Iterator[_Chunk]:
    last: tuple[int, ...] | None = None
    for batch in batches:
        if not batch.num_rows:
            continue
        if any(batch.column(n).null_count for n in key):
            msg = f"merge_sorted: source {i} has nulls in its key {key}"
            raise SchemaError(msg)
        arrays = tuple(_ints(batch.column(n)) for n in key)
        head = tuple(int(a[0]) for a in arrays)
        if not _order_of(arrays)[1] or (last is not None and head < last):
            msg = f"merge_sorted: the rows of source {i} go back in its key {key}"
            raise SchemaError(msg)
        last = tuple(int(a[-1]) for a in arrays)
        yield _Chunk(pa.Table.from_batches([batch]), arrays)


# -- the API -----------------------------------------------------------------------------


def _bound(new: object, new_name: str, alias: object, alias_name: str) -> int | None:
    if new is not None and alias is not None:
        msg = f"give {new_name} or {alias_name}, not both (got {new!r} and {alias!r})"
        raise SchemaError(msg)
    value = new if new is not None else alias
    return None if value is None else to_timestamp_us(value)


def read(
    lake: Lake | str | Path,
    table: str,
    *,
    exchange: str | None = None,
    symbols: Sequence[str] | None = None,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
    columns: Sequence[str] | None = None,
    batch_size: int = 65_536,
    order: Order = "time",
    start_us: TimeLike | None = None,
    end_us: TimeLike | None = None,
) -> pa.RecordBatchReader:
    """The rows of ``table`` as one stream in replay order (see the module docstring).

    - ``exchange``: one exchange, or ``None`` for every exchange that has live files of
      the table (merged in time order; one after another, by name, in symbol order).
    - ``symbols``: only these ``symbol`` values (a single string is one symbol).
    - ``start``, ``end``: event-time bounds, ``start <= ts_event_us < end``, each ``None``
      (open), an int (microseconds since the Unix epoch), a ``datetime`` (naive = UTC), a
      ``date`` (midnight UTC) or ISO 8601 text (naive = UTC; ``Z``/offsets accepted); see
      :func:`to_timestamp_us`. ``start_us``/``end_us`` are the older names of the same
      bounds (give one name of each, not both).
    - ``columns``: the output columns in this order (default: every column of the
      table's Arrow schema, ``exchange`` and ``trading_date`` included; types as in
      the schema: times int64 microseconds, prices and quantities decimal128(38, 18)).
    - ``batch_size``: at most this many rows per batch (batches may be smaller).
    - ``order``: ``"time"`` (default), one stream across symbols: crypto
      ``coalesce(ts_local_us, ts_event_us), exchange, symbol_id, file_id, file_seq``; CN
      orders and ticks by ``channel_seq`` within each channel, channels merged by
      ``(trading_date, ts_event_us, exchange, channel_id)`` of their heads; CN L2
      ``ts_event_us, exchange, snapshot_seq, symbol_id, file_id, file_seq``.
      ``"symbol"``: ``exchange, symbol``, then the table's per-symbol key (crypto
      ``coalesce(ts_local_us, ts_event_us)``; CN orders and ticks ``trading_date,
      channel_id, channel_seq``; CN L2 ``ts_event_us, snapshot_seq``), then ``symbol_id,
      file_id, file_seq``.

    Each exchange's zone (for partition pruning) comes from the lake's registry plus the
    registrations stored in the lake. Raises :class:`~pointline.errors.UnknownTableError`,
    :class:`~pointline.errors.UnknownExchangeError` (also for an exchange with Silver rows
    but no zone anywhere, when it must be pruned),
    :class:`~pointline.exchange_store.ExchangeConflictError` (the lake's registry and the
    stored registration disagree), or :class:`~pointline.errors.SchemaError` (a
    ``ValueError``) for a column the table does not have, a bad time bound, an unknown
    ``order``, a table the order does not support, or a ``batch_size`` below 1.
    """
    the_lake = Lake.at(lake)
    finish_publishes(the_lake)  # a crash between a commit and its renames: finish it
    spec = get_table_spec(table)
    if order not in _ORDERS:
        msg = f"order must be one of {list(_ORDERS)}, got {order!r}"
        raise SchemaError(msg)
    if batch_size < 1:
        msg = f"batch_size must be positive, got {batch_size}"
        raise SchemaError(msg)
    names = list(spec.column_names if columns is None else columns)
    unknown = [n for n in names if n not in spec.column_names]
    if unknown or len(set(names)) != len(names):
        what = f"unknown columns {unknown}" if unknown else f"duplicate columns in {names}"
        msg = f"table {table!r}: {what}; its columns are {list(spec.column_names)}"
        raise SchemaError(msg)
    rule = _rule(spec, order)
    low_us = _bound(start, "start", start_us, "start_us")
    high_us = _bound(end, "end", end_us, "end_us")
    if low_us is not None and high_us is not None and low_us >= high_us:
        msg = f"start ({low_us} us) must be before end ({high_us} us): the window is empty"
        raise SchemaError(msg)
    if isinstance(symbols, str):
        symbols = [symbols]
    schema = pa.schema([spec.arrow_schema.field(n) for n in names])
    live = _live_files(the_lake, table)
    if exchange is not None:
        exchange = exchange.strip().lower()  # exchange ids are lower case (SZSE = szse)
        _venue(the_lake, exchange)  # an unknown exchange is an error even without rows
        live = {exchange: live.get(exchange, [])}
    files: dict[str, list[_File]] = {}
    for name in sorted(live):
        found = live[name]
        if low_us is not None or high_us is not None:
            venue = _venue(the_lake, name)
            low = None if low_us is None else _date_of(low_us, venue) - _DAY
            high = None if high_us is None else _date_of(high_us - 1, venue) + _DAY
            found = [
                f
                for f in found
                if (low is None or f.trading_date >= low)
                and (high is None or f.trading_date <= high)
            ]
        files[name] = found
    row_filter = _Filter(low_us, high_us, None if symbols is None else frozenset(symbols))
    replay = _Replay(
        [f for found in files.values() for f in found],
        rule,
        schema=schema,
        row_filter=row_filter,
        batch_size=batch_size,
        by_symbol=order == "symbol",
    )
    return pa.RecordBatchReader.from_batches(schema, replay.batches())
