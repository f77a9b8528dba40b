"""A seeded generator of Quant360 CN A-share files (SSE/SZSE Level-2/3), for tests,
benchmarks and the demo.

The layouts are those of docs/cn.md section 3 and of the shared samples
(``../shared/data/quant360-samples``): exact vendor headers, 17-digit Asia/Shanghai wall
times ``YYYYMMDDHHMMSSmmm`` inside the session (09:15-11:30, 13:00-15:00), prices on the
0.01 grid (SZSE with 3 decimals ``9.390``, SSE with 2 ``6.62``), sizes in round lots.

One :class:`SymbolDay` is one symbol's trading day. Its order and tick files come from
one message flow (a toy matching of random orders), so the two files of a symbol agree:

- SZSE: every message (order, fill, cancel) takes an ``ApplSeqNum`` of the channel (see
  below), rising strictly across both files; a fill (``F``) names an earlier buy order in
  ``BidApplSeqNum`` and an earlier sell order in ``OfferApplSeqNum`` (the aggressor's own
  number and a resting order's); a cancel (``4``, Price ``0.000``) names one earlier
  order, the other ref ``0`` (a delayed cancel of a resting order, or the withdrawn rest
  of a market order).
- SSE: ``BizIndex`` likewise over both files; every ``D`` repeats the ``OrderNo`` of an
  earlier ``A``; a trade names a resting order (an earlier ``A``) and the aggressor, whose
  ``A`` (for its rest) follows its trades or never comes (filled on arrival);
  ``TradeBSFlag`` is ``B``/``S`` by the aggressor, ``N`` for the call-auction trades at
  09:25:00.000 and 15:00:00.000; ``OrderIndex``/``TradeIndex`` rise strictly.

Channel sequences follow time across all the symbols of a channel, as the exchanges number
a channel's messages in publication order (docs/cn.md section 4): a message at ``t`` ms
after 09:00, the ``k``-th of its symbol in that millisecond, gets
``(t x 100000 + k) x channel_slots + channel_slot`` (a symbol never has 100000 messages in
one millisecond; :class:`SymbolDay` refuses a day that could). So the values are unique on
the channel (distinct slots), rise with time across its symbols (ties within a millisecond
by ``k``, then slot) and strictly within a symbol; they are not contiguous (gaps are not
checked at ingest). SSE ``OrderIndex`` and ``TradeIndex`` are made the same way from the
``A``/``D`` rows and the trades alone: channel-wide keys in time order, not contiguous
counts (a channel count would need every symbol's flow at once).

The flow is made in vectorised batches of 32k orders (numpy draws, pyarrow string
kernels) and streamed through gzip on a writer thread, so memory stays flat whatever the
number of orders (a busy SZSE stock has millions of order events a day). The same
:class:`SymbolDay` gives the same bytes (gzip without a name or time stamp). The SZSE
``L2_new`` snapshots (all 38 vendor columns, four quoted 10-level arrays) are independent
of the flow, as in the samples.

:func:`write_bronze_day` lays out a whole day for many symbols in the Bronze layout of
docs/cn.md section 1, :func:`write_benchmark_file` writes one big file, and
:func:`write_archive` a vendor-style ``.7z`` (with py7zr).
"""

from __future__ import annotations

import datetime as dt
import functools
import gzip
import io
import math
import queue
import tempfile
import threading
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from pointline.vendors import quant360

__all__ = [
    "DEFAULT_DATE",
    "EXCHANGES",
    "HEADERS",
    "STREAMS",
    "SymbolDay",
    "bronze_path",
    "default_symbols",
    "quant360_lines",
    "write_archive",
    "write_benchmark_file",
    "write_bronze_day",
    "write_quant360_file",
    "write_symbol_day",
]

DEFAULT_DATE = dt.date(2024, 1, 2)
EXCHANGES = ("szse", "sse")
STREAMS: Mapping[str, tuple[str, ...]] = quant360.STREAMS
"""The streams generated per exchange: those with a table (SSE ships no ``L2_new``)."""

HEADERS: Mapping[tuple[str, str], tuple[str, ...]] = {
    ("szse", "order_new"): (
        *("ApplSeqNum", "Side", "OrdType", "Price", "OrderQty", "TransactTime", "ChannelNo"),
        *("ExpirationDays", "ExpirationType", "Contactor", "ConfirmID"),
    ),
    ("sse", "order_new"): (
        *("SecurityID", "TransactTime", "OrderNo", "Price", "Balance", "OrderBSFlag"),
        *("OrdType", "OrderIndex", "ChannelNo", "BizIndex"),
    ),
    ("szse", "tick_new"): (
        *("ApplSeqNum", "BidApplSeqNum", "OfferApplSeqNum", "Price", "Qty", "ExecType"),
        *("TransactTime", "ChannelNo"),
    ),
    ("sse", "tick_new"): (
        *("SecurityID", "TradeTime", "TradePrice", "TradeQty", "TradeAmount", "BuyNo"),
        *("SellNo", "TradeIndex", "ChannelNo", "TradeBSFlag", "BizIndex"),
    ),
    ("szse", "L2_new"): (
        *("SendingTime", "MsgSeqNum", "ImageStatus", "QuotTime", "PreClosePx", "OpenPx"),
        *("HighPx", "LowPx", "LastPx", "ClosePx", "Volume", "Amount", "AveragePx"),
        *("BidPrice", "BidOrderQty", "BidNumOrders", "BidOrders", "OfferPrice"),
        *("OfferOrderQty", "OfferNumOrders", "OfferOrders", "NumTrades", "TotalBidQty"),
        *("WeightedAvgBidPx", "TotalOfferQty", "WeightedAvgOfferPx", "Change1", "Change2"),
        *("TotalLongPosition", "PeRatio1", "PeRatio2", "UpperLimitPx", "LowerLimitPx"),
        *("WeightedAvgPxChg", "PreWeightedAvgPx", "TradingPhaseCode", "NoOrdersB1"),
        "NoOrdersS1",
    ),
}
"""The vendor header of each (exchange, stream), in file order (docs/cn.md section 3)."""

_HEADER_LINES = {key: (",".join(names) + "\n").encode() for key, names in HEADERS.items()}

_I64: TypeAlias = npt.NDArray[np.int64]
_Bool: TypeAlias = npt.NDArray[np.bool_]
_Text: TypeAlias = "pa.Array[Any]"

_BATCH = 32_768  # orders per flow batch
_L2_BATCH = 4_096  # snapshots per batch (rows of ~900 bytes)
_RING = 4_096  # resting orders per side kept as counterparts across batches
_MAX_DELAY = 20_000  # orders between a resting order and its cancel, at most
_LEVELS = 10
_LEVEL1_ORDERS = 12  # BidOrders/OfferOrders items at most (the vendor has up to 50)

# Kinds of flow messages.
_ADD, _FILL, _CANCEL, _AUCTION = 0, 1, 2, 3
_BUY, _SELL = 1, 2
_LIMIT, _MARKET, _BEST_OWN = 0, 1, 2


def _ms(hour: int, minute: int, second: int = 0) -> int:
    return ((hour * 60 + minute) * 60 + second) * 1000


# Order arrivals per session segment: start, end (local ms of day), share of the orders.
# Segments 0 and 3 are the call auctions (orders rest; they match at the auction times).
_SEG_START = np.array([_ms(9, 15), _ms(9, 30), _ms(13, 0), _ms(14, 57)], np.int64)
_SEG_END = np.array([_ms(9, 25), _ms(11, 30), _ms(14, 57), _ms(15, 0)], np.int64)
_SEG_SHARE = np.array([0.05, 0.50, 0.42, 0.03])
_OPEN_AUCTION, _CLOSE_AUCTION = _ms(9, 25), _ms(15, 0)
_NO_CANCEL_FROM = _ms(9, 20)  # cancels are refused 09:20-09:25 and in the closing call
_L2_PHASES = ("O0", "T0", "T0", "C0")

_LOT_CHOICES = np.array([1, 1, 1, 2, 2, 3, 5, 5, 10, 10, 20, 30, 50, 100], np.int64)

# Channel sequences: ((ms after 09:00) x _SEQ_WIDTH + rank in the ms) x slots + slot.
_SEQ_ORIGIN = _ms(9, 0)
_SEQ_WIDTH = 100_000  # room for a symbol's messages in one ms (see _busiest_ms)
_MAX_SLOTS = (2**63 - 1) // ((_CLOSE_AUCTION - _SEQ_ORIGIN + 1) * _SEQ_WIDTH)


@dataclass(frozen=True, slots=True)
class SymbolDay:
    """One symbol's generated trading day.

    ``orders`` is the number of order arrivals (SZSE: the order file's rows; SSE: the
    ``A``/``D`` rows depend on the flow) and drives the tick file too; ``snapshots`` the
    number of SZSE ``L2_new`` rows. ``channel`` (SZSE 2011-2014, SSE 1-6) and
    ``prev_close`` (in fen, 0.01 yuan) default to values stable per symbol. Channel
    sequences come from the messages' times (module docstring); symbols sharing a channel
    get disjoint values, in time order across them, with distinct ``channel_slot`` of
    ``channel_slots``. SSE ``OrderNo`` rises by random gaps of mean about ``seq_gap / 2``
    (other symbols' orders), also disjoint by slot (``OrderNo`` = value x slots + slot).
    """

    exchange: str
    symbol: str
    orders: int = 10_000
    snapshots: int = 4_800
    seed: int = 0
    date: dt.date = DEFAULT_DATE
    channel: int | None = None
    prev_close: int | None = None
    seq_gap: int = 8
    channel_slot: int = 0
    channel_slots: int = 1
    _stable: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.exchange not in EXCHANGES:
            msg = f"exchange must be one of {', '.join(EXCHANGES)}, got {self.exchange!r}"
            raise ValueError(msg)
        if len(self.symbol) != 6 or not self.symbol.isdigit():
            msg = f"symbol must be a 6-digit code, got {self.symbol!r}"
            raise ValueError(msg)
        if min(self.orders, self.snapshots, self.seed) < 0:
            msg = (
                "orders, snapshots and seed must be >= 0, got "
                f"{self.orders}, {self.snapshots}, {self.seed}"
            )
            raise ValueError(msg)
        if self.seq_gap < 1 or not 0 <= self.channel_slot < self.channel_slots:
            msg = "need seq_gap >= 1 and 0 <= channel_slot < channel_slots"
            raise ValueError(msg)
        if self.channel_slots > _MAX_SLOTS:
            msg = f"channel_slots must be <= {_MAX_SLOTS} (int64), got {self.channel_slots}"
            raise ValueError(msg)
        if _busiest_ms(self.orders) >= _SEQ_WIDTH:
            msg = f"too many orders for the channel sequences: {self.orders}"
            raise ValueError(msg)
        if self.prev_close is not None and not 100 <= self.prev_close <= 1_000_000:
            msg = f"prev_close is in fen, 100..1000000, got {self.prev_close}"
            raise ValueError(msg)
        object.__setattr__(self, "_stable", zlib.crc32(f"{self.exchange}:{self.symbol}".encode()))

    @property
    def channel_no(self) -> int:
        """ChannelNo: SZSE 2011-2014, SSE 1-6, stable per symbol unless given."""
        if self.channel is not None:
            return self.channel
        return 2011 + self._stable % 4 if self.exchange == "szse" else 1 + self._stable % 6

    @property
    def prev_close_fen(self) -> int:
        """The previous close in fen (2.00-61.99 yuan unless given)."""
        return self.prev_close if self.prev_close is not None else 200 + (self._stable >> 4) % 6000

    @property
    def limits(self) -> tuple[int, int]:
        """The day's price band in fen: previous close -10% and +10%, rounded half up."""
        prev = self.prev_close_fen
        return (prev * 9 + 5) // 10, (prev * 11 + 5) // 10

    def rng(self, stream: str) -> np.random.Generator:
        """The random stream of one part of the day (``flow`` or ``l2``)."""
        tag = {"flow": 1, "l2": 2}[stream]
        return np.random.default_rng(
            [self.seed, EXCHANGES.index(self.exchange), int(self.symbol), tag]
        )


# --- text helpers -----------------------------------------------------------------------
# Constants go to pyarrow as ready scalars: a Python literal is converted on every call
# (with a failed optional import each time: about 20 times slower for small batches).


@functools.lru_cache(maxsize=4096)
def _lit(text: str) -> Any:  # a StringScalar; Any for the kernels' overloads
    """A string scalar, made once."""
    return pa.scalar(text, pa.string())


@functools.cache
def _codes(*texts: str) -> _Text:
    """A string array to ``take`` codes from, made once."""
    return pa.array(texts, pa.string())


def _arrow(values: npt.NDArray[Any]) -> Any:  # an Array; Any for the kernels' overloads
    """An Arrow array of a numpy array."""
    return pa.array(values)


def _str(values: npt.NDArray[Any]) -> _Text:
    """Decimal text of integers."""
    text: _Text = pc.cast(_arrow(values), pa.string())
    return text


def _fixed(units: _I64, decimals: int, *, pad: int = 0) -> _Text:
    """Text of ``units / 10**decimals`` with exactly ``decimals`` digits after the point,
    then ``pad`` zeros (``_fixed(939, 2, pad=1)`` -> ``9.390``); negatives get a ``-``.

    >>> _fixed(np.array([939, 0, -2, 12345]), 2, pad=1).to_pylist()
    ['9.390', '0.000', '-0.020', '123.450']
    """
    scale = 10**decimals
    whole, frac = np.divmod(np.abs(units), scale)
    frac_text = pc.utf8_slice_codeunits(_str(frac + scale), 1)
    if pad:
        frac_text = pc.binary_join_element_wise(frac_text, _lit("0" * pad), _lit(""))
    text: _Text = pc.binary_join_element_wise(_str(whole), frac_text, _lit("."))
    if (units < 0).any():
        sign = pc.if_else(_arrow(units < 0), _lit("-"), _lit(""))
        text = pc.binary_join_element_wise(sign, text, _lit(""))
    return text


def _lines(columns: Sequence[Any]) -> bytes:
    """The bytes of CSV lines (each ending in a newline) from string columns and scalars."""
    *head, last = [_lit(c) if isinstance(c, str) else c for c in columns]
    lines: _Text = pc.binary_join_element_wise(
        *head, pc.binary_join_element_wise(last, _lit(""), _lit("\n")), _lit(",")
    )
    _, offsets_buffer, data = lines.buffers()
    if offsets_buffer is None or data is None:
        return b""
    offsets = np.frombuffer(memoryview(offsets_buffer), dtype=np.int32)
    start, end = int(offsets[lines.offset]), int(offsets[lines.offset + len(lines)])
    return data.slice(start, end - start).to_pybytes()


def _wall_times(date: dt.date, ms_of_day: _I64) -> _I64:
    """17-digit ``YYYYMMDDHHMMSSmmm`` integers of local times given in ms of the day."""
    hours, rest = np.divmod(ms_of_day, 3_600_000)
    minutes, rest = np.divmod(rest, 60_000)
    prefix = (date.year * 10_000 + date.month * 100 + date.day) * 1_000_000_000
    return np.asarray(prefix + hours * 10**7 + minutes * 10**5 + rest, np.int64)


def _quoted_lists(flat: _Text, counts: _I64) -> _Text:
    """``"[a,b,...]"`` per row from the row-major items ``flat`` and the items per row."""
    offsets = np.zeros(len(counts) + 1, np.int32)
    np.cumsum(counts, out=offsets[1:])
    lists = pa.ListArray.from_arrays(_arrow(offsets), flat)
    joined = pc.binary_join(lists, _lit(","))
    text: _Text = pc.binary_join_element_wise(_lit('"['), joined, _lit(']"'), _lit(""))
    return text


# --- the order and tick flow ------------------------------------------------------------


@dataclass(slots=True)
class _Messages:
    """One batch of a symbol's messages in channel order (all arrays of one length)."""

    kind: npt.NDArray[np.int8]
    time: _I64  # local ms of the day
    seq: _I64  # SZSE ApplSeqNum, SSE BizIndex
    side: npt.NDArray[np.int8]  # order side; fill: aggressor side; auction: 0
    ordtype: npt.NDArray[np.int8]
    price: _I64  # fen
    lots: _I64
    ref: _I64  # SSE OrderNo of an A/D
    bid_ref: _I64
    ask_ref: _I64
    index: _I64  # SSE OrderIndex (A/D) or TradeIndex (trades)


def _segment_ends(orders: int) -> _I64:
    """Cumulative order counts at the end of each session segment."""
    ends: _I64 = np.rint(orders * np.cumsum(_SEG_SHARE)).astype(np.int64)
    ends[-1] = orders
    return ends


def _geometric(rng: np.random.Generator, p: float, n: int | tuple[int, ...]) -> _I64:
    """Geometric draws (1, 2, ...; mean 1/p) by inversion: several times faster than
    ``Generator.geometric``."""
    uniform = rng.random(n)
    if p >= 1.0:
        return np.ones_like(uniform, dtype=np.int64)
    draws: _I64 = 1 + np.floor(np.log(1.0 - uniform) / np.log1p(-p)).astype(np.int64)
    return draws


def _lots(rng: np.random.Generator, n: int | tuple[int, ...], top: int = 14) -> _I64:
    """Order sizes in lots, from the first ``top`` typical sizes."""
    picked: _I64 = _LOT_CHOICES[rng.integers(0, top, n)]
    return picked


def _counter(rng: np.random.Generator, start: int, n: int, p: float) -> _I64:
    """``n`` strictly increasing values after ``start`` with geometric gaps (mean 1/p)."""
    out: _I64 = start + np.cumsum(_geometric(rng, p, n))
    return out


def _busiest_ms(orders: int) -> int:
    """At most how many messages of a ``orders`` day share one millisecond (the flow's
    times come from :func:`_segment_ends`): per order arriving in it at most 7 (the order,
    up to 5 fills, its rest), plus cancels due at those orders, each of a distinct order
    at most ``_MAX_DELAY`` orders before; the auction milliseconds hold only their trades
    (at most 2000, and at most the orders)."""
    if orders == 0:
        return 0
    counts = np.diff(_segment_ends(orders), prepend=0)
    per_ms = int(np.ceil(counts / (_SEG_END - _SEG_START)).max()) + 2  # + float slack
    return min(8 * orders, 8 * per_ms + _MAX_DELAY)


def _ms_ranks(time: _I64, carry: tuple[int, int]) -> tuple[_I64, tuple[int, int]]:
    """The rank of each message among the earlier ones of its millisecond, for ``time``
    non-decreasing; ``carry`` (last ms, messages in it) continues from the previous batch
    and is returned updated.

    >>> _ms_ranks(np.array([5, 5, 7, 7, 7]), (5, 2))[0].tolist()
    [2, 3, 0, 1, 2]
    """
    n = len(time)
    if n == 0:
        return np.zeros(0, np.int64), carry
    at = np.arange(n, dtype=np.int64)
    start = np.ones(n, bool)
    start[1:] = time[1:] != time[:-1]
    rank: _I64 = at - np.maximum.accumulate(np.where(start, at, 0))
    if int(time[0]) == carry[0]:
        rank[rank == at] += carry[1]  # the first run continues the previous batch's
    return rank, (int(time[-1]), int(rank[-1]) + 1)


def _channel_seq(day: SymbolDay, time: _I64, rank: _I64) -> _I64:
    """Channel sequence values of messages at ``time`` (ms of the day) with ``rank``."""
    if len(rank) and (rank.max() >= _SEQ_WIDTH or (np.diff(time) < 0).any()):  # pragma: no cover
        msg = "channel sequence out of range or out of time order (a generator bug)"
        raise RuntimeError(msg)
    seq: _I64 = ((time - _SEQ_ORIGIN) * _SEQ_WIDTH + rank) * day.channel_slots
    return seq + day.channel_slot


def _flow(day: SymbolDay, batch: int = _BATCH) -> Iterator[_Messages]:
    """The symbol's messages, batch by batch, in channel order."""
    n = day.orders
    if n == 0:
        return
    sse = day.exchange == "sse"
    rng = day.rng("flow")
    lower, upper = day.limits
    seg_end = _segment_ends(n)
    seg_begin = np.concatenate(([0], seg_end[:-1])).astype(np.int64)
    seg_count = np.maximum(seg_end - seg_begin, 1)
    n_open = int(seg_end[0])
    n_close = int(seg_end[3] - seg_end[2])
    bursts = {}  # order index -> (auction ms, trades wanted)
    if n_open:
        bursts[n_open - 1] = (_OPEN_AUCTION, min(max(1, n_open // 6), 2000))
    if n_close:
        bursts[n - 1] = (_CLOSE_AUCTION, min(max(1, n_close // 6), 2000))
    p_step = min(0.3, 600 / n)
    mean_delay = min(max(n // 100, 3), 40)
    lanes, slot = day.channel_slots, day.channel_slot
    p_order_gap = 1.0 / max(1.0, day.seq_gap / 2 / lanes)

    mid = day.prev_close_fen
    order_no_at = int(rng.integers(100, 2_000))
    # (last ms, messages in it) of all messages, of the A/D rows and of the trades (SSE).
    carry = carry_book = carry_trade = (-1, 0)
    empty = np.zeros(0, np.int64)
    ring_ref = [empty, empty]  # resting counterparts: buy, sell
    ring_price = [empty, empty]
    # Cancels of earlier batches' orders, not yet due: due order index, order index,
    # ref (SZSE ApplSeqNum, SSE OrderNo), side, price, lots.
    pend = dict.fromkeys(("due", "order", "ref", "side", "price", "lots"), empty)

    for k0 in range(0, n, batch):
        b = min(batch, n - k0)
        k = np.arange(k0, k0 + b, dtype=np.int64)
        # Fixed draws, in a fixed order: the flow depends only on the day.
        u_time = rng.random(b)
        u_step = rng.random(b)
        buy = rng.random(b) < 0.5
        u_type = rng.random(b)
        u_aggr = rng.random(b)
        cancel_fate = rng.random(b) < 0.55
        offset = np.minimum(_geometric(rng, 0.45, b) - 1, 9)
        call_offset = rng.integers(-5, 3, b)
        lots = np.where(rng.random(b) < 0.7, _lots(rng, b), rng.integers(1, 31, b)).astype(np.int64)
        partial = rng.random(b) < 0.3
        rest_draw = rng.integers(1, 6, b)
        skip = _geometric(rng, 0.6, b) - 1
        wanted = np.minimum(_geometric(rng, 0.55, b), 5)
        delay = np.minimum(_geometric(rng, 1.0 / mean_delay, b), _MAX_DELAY)
        order_no = _counter(rng, order_no_at, b, p_order_gap)
        order_no_at = int(order_no[-1])
        order_no = order_no * lanes + slot

        seg = np.searchsorted(seg_end, k, side="right")
        call = (seg == 0) | (seg == 3)
        within = (k - seg_begin[seg] + u_time) * (_SEG_END - _SEG_START)[seg] / seg_count[seg]
        time = _SEG_START[seg] + np.floor(within).astype(np.int64)
        step = (u_step > 1 - p_step / 2).astype(np.int64) - (u_step < p_step / 2)
        mids = np.clip(mid + np.cumsum(step), lower, upper - 1)
        mid = int(mids[-1])
        side = np.where(buy, _BUY, _SELL).astype(np.int8)
        if sse:
            ordtype = np.zeros(b, np.int8)
        else:
            ordtype = np.where(u_type < 0.9, _LIMIT, np.where(u_type < 0.95, _MARKET, _BEST_OWN))
            ordtype = np.where(call, _LIMIT, ordtype).astype(np.int8)
        market = ordtype == _MARKET
        aggressive = ~call & (market | ((ordtype == _LIMIT) & (u_aggr < 0.25)))
        pool = ~aggressive & (ordtype == _LIMIT) & ~cancel_fate
        passive = np.where(buy, mids - offset, mids + 1 + offset)
        in_call = np.where(buy, mids + call_offset, mids - call_offset)
        price = np.clip(np.where(call, in_call, passive), lower, upper)

        # Fills: an aggressor takes the latest resting orders of the other side, skipping
        # ``skip`` of them; only orders published before it qualify.
        pool_side = [pool & buy, pool & ~buy]
        before = [np.cumsum(p) - p for p in pool_side]
        avail = np.where(buy, len(ring_ref[1]) + before[1], len(ring_ref[0]) + before[0])
        fills = np.where(aggressive, np.clip(avail - skip, 0, wanted), 0).astype(np.int64)
        has_fills = fills > 0
        rest = np.where(has_fills, np.where(partial, rest_draw, 0), lots)
        filled = np.where(has_fills, np.maximum(lots - rest, fills), 0)
        lots = filled + rest
        owner = np.repeat(np.arange(b), fills)
        nth = np.arange(len(owner)) - np.repeat(np.cumsum(fills) - fills, fills)
        pick = avail[owner] - 1 - skip[owner] - nth
        pool_idx = [np.flatnonzero(p) for p in pool_side]
        comb_price = [np.concatenate((ring_price[s], price[pool_idx[s]])) for s in (0, 1)]
        owner_buy = buy[owner]
        fill_price = np.where(
            owner_buy,
            comb_price[1][np.where(owner_buy, pick, 0)] if len(comb_price[1]) else 0,
            comb_price[0][np.where(owner_buy, 0, pick)] if len(comb_price[0]) else 0,
        ).astype(np.int64)
        base, extra = np.divmod(filled[owner], np.maximum(fills[owner], 1))
        fill_lots = base + np.where(nth == 0, extra, 0)
        if len(owner):  # a buyer pays up to its highest fill, a seller down to its lowest
            starts = np.flatnonzero(nth == 0)
            high = np.maximum.reduceat(fill_price, starts)
            low = np.minimum.reduceat(fill_price, starts)
            who = owner[starts]
            price[who] = np.where(buy[who], high, low)
        shown = np.where((ordtype == _LIMIT), price, 0)  # SZSE market and best-own: 0
        if sse:
            first = ~aggressive  # an A on arrival; an aggressor's A follows its trades
            after = aggressive & (rest > 0)
        else:
            first = np.ones(b, bool)
            after = market & (rest > 0)  # the withdrawn rest of a market order

        # Cancels due in this batch (earlier ones carried over, then this batch's).
        cancel = cancel_fate & (rest > 0) & ~market
        new_at = np.flatnonzero(cancel & (k + delay < n))
        due = np.concatenate((pend["due"], k[new_at] + delay[new_at]))
        target = np.concatenate((pend["order"], k[new_at]))
        c_side = np.concatenate((pend["side"], side[new_at].astype(np.int64)))
        c_price = np.concatenate((pend["price"], price[new_at]))
        c_lots = np.concatenate((pend["lots"], rest[new_at]))
        c_ref = np.concatenate((pend["ref"], np.zeros(len(new_at), np.int64)))
        now = due < k0 + b
        due_time = time[np.where(now, due - k0, 0)]
        refused = ((due_time >= _NO_CANCEL_FROM) & (due_time < _SEG_START[1])) | (
            due_time >= _SEG_START[3]
        )
        keep = now & ~refused
        order = np.lexsort((target[keep], due[keep]))
        c_at = (due[keep] - k0)[order]
        cancels = np.bincount(c_at, minlength=b)
        c_nth = np.arange(len(c_at)) - (np.cumsum(cancels) - cancels)[c_at]

        # Call auctions: buyers at or above the mid cross sellers at or below it.
        auction = np.zeros(b, np.int64)
        auction_rows: list[tuple[int, int, _I64, _I64, int]] = []
        for at, (when, trades) in bursts.items():
            if not k0 <= at < k0 + b:
                continue
            i = at - k0
            level = int(mids[i])
            cand = []
            for s, crosses in ((0, np.greater_equal), (1, np.less_equal)):
                upto = int(np.searchsorted(pool_idx[s], i, side="right"))
                usable = len(ring_price[s]) + upto
                cand.append(np.flatnonzero(crosses(comb_price[s][:usable], level)))
            if len(cand[0]) and len(cand[1]):
                auction[i] = trades
                bids = cand[0][rng.integers(0, len(cand[0]), trades)]
                asks = cand[1][rng.integers(0, len(cand[1]), trades)]
                auction_rows.append((i, when, bids, asks, level))

        # Positions in channel order: per order its arrival, fills, rest, due cancels,
        # auction trades.
        size = first + fills + after + cancels + auction
        block = np.cumsum(size) - size
        total = int(size.sum())
        msg_time = np.repeat(time, size)
        for i, when, *_ in auction_rows:
            msg_time[block[i] + size[i] - auction[i] : block[i] + size[i]] = when
        rank, carry = _ms_ranks(msg_time, carry)
        seq = _channel_seq(day, msg_time, rank)
        own = seq[block] if not sse else order_no  # the ref naming each order
        pool_ref = [np.concatenate((ring_ref[s], own[pool_idx[s]])) for s in (0, 1)]
        # Refs of this batch's cancels are now known.
        fresh = np.arange(len(pend["due"]), len(due))
        c_ref[fresh] = own[target[fresh] - k0]

        out = _Messages(
            kind=np.full(total, _ADD, np.int8),
            time=msg_time,
            seq=seq,
            side=np.repeat(side, size),
            ordtype=np.repeat(ordtype, size),
            price=np.zeros(total, np.int64),
            lots=np.zeros(total, np.int64),
            ref=np.zeros(total, np.int64),
            bid_ref=np.zeros(total, np.int64),
            ask_ref=np.zeros(total, np.int64),
            index=np.zeros(total, np.int64),
        )
        at = block[first]
        out.price[at] = shown[first] if not sse else price[first]
        out.lots[at] = lots[first]
        out.ref[at] = own[first]

        at = block[owner] + first[owner] + nth
        counter_ref = np.where(
            owner_buy,
            pool_ref[1][np.where(owner_buy, pick, 0)] if len(pool_ref[1]) else 0,
            pool_ref[0][np.where(owner_buy, 0, pick)] if len(pool_ref[0]) else 0,
        )
        out.kind[at] = _FILL
        out.price[at] = fill_price
        out.lots[at] = fill_lots
        out.bid_ref[at] = np.where(owner_buy, own[owner], counter_ref)
        out.ask_ref[at] = np.where(owner_buy, counter_ref, own[owner])

        at = block[after] + first[after] + fills[after]
        out.lots[at] = rest[after]
        if sse:  # an A for the rest, at the aggressor's limit
            out.price[at] = price[after]
            out.ref[at] = own[after]
        else:  # SZSE: cancel (4) of the market order's rest, Price 0
            out.kind[at] = _CANCEL
            out.bid_ref[at] = np.where(buy[after], own[after], 0)
            out.ask_ref[at] = np.where(buy[after], 0, own[after])

        sel = np.flatnonzero(keep)[order]
        at = block[c_at] + first[c_at] + fills[c_at] + after[c_at] + c_nth
        out.kind[at] = _CANCEL
        out.side[at] = c_side[sel]
        out.lots[at] = c_lots[sel]
        if sse:  # D: the order's number and price, the size withdrawn
            out.ref[at] = c_ref[sel]
            out.price[at] = c_price[sel]
        else:
            out.bid_ref[at] = np.where(c_side[sel] == _BUY, c_ref[sel], 0)
            out.ask_ref[at] = np.where(c_side[sel] == _BUY, 0, c_ref[sel])

        for i, _, bids, asks, level in auction_rows:
            at = block[i] + size[i] - auction[i] + np.arange(auction[i])
            out.kind[at] = _AUCTION
            out.side[at] = 0
            out.price[at] = level
            out.lots[at] = _lots(rng, len(at), top=9)
            out.bid_ref[at] = pool_ref[0][bids]
            out.ask_ref[at] = pool_ref[1][asks]

        if sse:
            book = (out.kind == _ADD) | (out.kind == _CANCEL)
            rank, carry_book = _ms_ranks(msg_time[book], carry_book)
            out.index[book] = _channel_seq(day, msg_time[book], rank)
            trade = ~book
            rank, carry_trade = _ms_ranks(msg_time[trade], carry_trade)
            out.index[trade] = _channel_seq(day, msg_time[trade], rank)

        for s in (0, 1):
            ring_ref[s] = pool_ref[s][-_RING:]
            ring_price[s] = comb_price[s][-_RING:]
        later = ~now
        pend = {
            "due": due[later],
            "order": target[later],
            "ref": c_ref[later],
            "side": c_side[later],
            "price": c_price[later],
            "lots": c_lots[later],
        }
        yield out


# --- formatting -------------------------------------------------------------------------


def _check(day: SymbolDay, stream: str) -> tuple[str, str]:
    if (day.exchange, stream) not in HEADERS:
        known = ", ".join(f"{e} {s}" for e, s in HEADERS)
        msg = f"cannot generate {day.exchange} {stream!r}; generated: {known}"
        raise ValueError(msg)
    return day.exchange, stream


class _Format:
    """Formats the rows of one symbol-day's stream."""

    def __init__(self, day: SymbolDay, stream: str) -> None:
        _check(day, stream)
        self.day = day
        self.stream = stream
        _, upper = day.limits
        units = np.arange(upper + 1, dtype=np.int64)
        # Price text of every fen value up to the upper limit, looked up by `take`.
        self.prices = _fixed(units, 2, pad=1) if day.exchange == "szse" else _fixed(units, 2)
        self.channel = str(day.channel_no)

    def select(self, m: _Messages) -> _Bool:
        """The messages of this stream."""
        if self.day.exchange == "szse":  # orders; fills and cancels are ticks
            order: _Bool = m.kind == _ADD
        else:  # A and D orders; trades are ticks
            order = (m.kind == _ADD) | (m.kind == _CANCEL)
        return order if self.stream == "order_new" else ~order

    def lines(self, m: _Messages, rows: _I64) -> bytes:
        """CSV lines of the messages at ``rows``."""
        if not len(rows):
            return b""
        when = _str(_wall_times(self.day.date, m.time[rows]))
        price = self.prices.take(m.price[rows])
        qty = _str(m.lots[rows] * 100)
        kind, side = m.kind[rows], m.side[rows]
        if self.day.exchange == "szse" and self.stream == "order_new":
            ordtype = _codes("2", "1", "U").take(m.ordtype[rows])
            sides = _codes("", "1", "2").take(side)
            seq = _str(m.seq[rows])
            return _lines([seq, sides, ordtype, price, qty, when, self.channel, "0", "0", "", ""])
        if self.day.exchange == "szse":
            exec_type = _codes("", "F", "4", "F").take(kind)
            refs = [_str(m.seq[rows]), _str(m.bid_ref[rows]), _str(m.ask_ref[rows])]
            return _lines([*refs, price, qty, exec_type, when, self.channel])
        code, biz, index = self.day.symbol, _str(m.seq[rows]), _str(m.index[rows])
        if self.stream == "order_new":
            flag = _codes("", "B", "S").take(side)
            kinds = _codes("A", "", "D").take(kind)
            ref = _str(m.ref[rows])
            return _lines([code, when, ref, price, qty, flag, kinds, index, self.channel, biz])
        amount = _fixed(m.price[rows] * m.lots[rows] * 100, 2)
        flag = _codes("N", "B", "S").take(side)
        refs = [_str(m.bid_ref[rows]), _str(m.ask_ref[rows])]
        return _lines([code, when, price, qty, amount, *refs, index, self.channel, flag, biz])


def _flow_chunks(day: SymbolDay, streams: Sequence[str]) -> Iterator[dict[str, bytes]]:
    """Per flow batch, the lines of each of ``streams`` (order_new, tick_new)."""
    formats = [_Format(day, s) for s in streams]
    for m in _flow(day):
        yield {f.stream: f.lines(m, np.flatnonzero(f.select(m))) for f in formats}


# --- SZSE L2 snapshots ------------------------------------------------------------------


def _l2_chunks(day: SymbolDay) -> Iterator[bytes]:
    """The lines of the SZSE ``L2_new`` file, batch by batch."""
    fmt = _Format(day, "L2_new")
    n = day.snapshots
    if n == 0:
        return
    rng = day.rng("l2")
    lower, upper = day.limits
    prev = day.prev_close_fen
    durations = _SEG_END - _SEG_START
    seg_ends = np.cumsum(durations)
    span = int(seg_ends[-1])
    pe = (day._stable % 5000 + 300, day._stable % 3000 + 250)
    constants = {
        "pre": fmt.prices[prev].as_py(),
        "upper": fmt.prices[upper].as_py(),
        "lower": fmt.prices[lower].as_py(),
        "pe1": _fixed(np.array([pe[0]]), 2)[0].as_py(),
        "pe2": _fixed(np.array([pe[1]]), 2)[0].as_py(),
        "prew": _fixed(np.array([prev * 10 + day._stable % 21 - 10]), 3)[0].as_py(),
    }
    mid, opened, high, low = prev, 0, 0, 0
    volume, amount, trades = 0, 0, 0
    msg_seq = int(rng.integers(1_000, 5_000))
    p_msg = 1.0 / max(1.0, 2_400_000 / n)
    levels = np.arange(_LEVELS)
    for i0 in range(0, n, _L2_BATCH):
        b = min(_L2_BATCH, n - i0)
        u_step = rng.random(b)
        lag = rng.integers(30, 61, b)
        open_levels = rng.integers(1, _LEVELS + 1, (b, 2))
        qty = rng.integers(1, 2_500, (b, 2, _LEVELS)) * 100
        per_order = rng.integers(2_000, 5_000, (b, 2, _LEVELS))
        level1_lots = _lots(rng, (b, 2, _LEVEL1_ORDERS))
        vol_step = rng.integers(50, 5_000, b) * 100
        trade_step = rng.integers(5, 200, b)
        total_extra = rng.integers(0, 50_000, (b, 2)) * 100
        avg_gap = rng.integers(5, 20, (b, 2))
        seq = _counter(rng, msg_seq, b, p_msg)
        msg_seq = int(seq[-1])

        pos = (np.arange(i0, i0 + b, dtype=np.int64) * span) // n
        seg = np.searchsorted(seg_ends, pos, side="right")
        quote = _SEG_START[seg] + pos - (seg_ends - durations)[seg]
        if span // n >= 1000:  # snapshots every few seconds, at whole seconds
            quote -= quote % 1000
        auction = seg == 0
        trading = ~auction
        continuous = (seg == 1) | (seg == 2)
        step = (u_step > 0.7).astype(np.int64) - (u_step < 0.3)
        mids = np.clip(mid + np.cumsum(step), lower, upper - 1)
        mid = int(mids[-1])
        last = np.where(trading, mids, 0)
        if not opened and trading.any():
            opened = int(last[np.argmax(trading)])
            high = low = opened
        vol = np.where(continuous, vol_step, 0)
        volumes = volume + np.cumsum(vol)
        amounts = amount + np.cumsum(vol * mids)
        trade_counts = trades + np.cumsum(np.where(continuous, trade_step, 0))
        volume, amount, trades = int(volumes[-1]), int(amounts[-1]), int(trade_counts[-1])
        highs = np.maximum(np.maximum.accumulate(np.where(trading, last, 0)), high)
        lows = np.minimum.accumulate(np.where(trading, last, upper + 1))
        lows = np.minimum(lows, low) if low else lows
        highs, lows = np.where(trading, highs, 0), np.where(trading, lows, 0)
        if trading.any():
            high, low = int(highs[-1]), int(lows[-1])
        average = np.where(volumes > 0, amounts * 10 // np.maximum(volumes, 1), 0)

        # Ten levels a side, best first, one tick apart; levels beyond the price band (and,
        # in the opening call, beyond the orders entered so far) are zero-padded.
        bid1 = mids
        ask1 = np.where(auction | (seg == 3), mids, mids + 1)  # calls: indicative bid = ask
        bid = bid1[:, None] - levels
        ask = ask1[:, None] + levels
        in_call = auction[:, None]
        shown = np.stack(
            (
                (bid >= lower) & (~in_call | (levels < open_levels[:, :1])),
                (ask <= upper) & (~in_call | (levels < open_levels[:, 1:])),
            ),
            axis=1,
        )
        level_price = np.where(shown, np.stack((bid, ask), axis=1), 0)
        level_qty = np.where(shown, qty, 0)
        level_qty[auction, 1, 0] = level_qty[auction, 0, 0]  # matched volume on both sides
        orders = np.where(shown, np.maximum(1, level_qty // per_order), 0)
        orders[auction, 1, 0] = orders[auction, 0, 0]
        first_orders = np.minimum(orders[:, :, 0], _LEVEL1_ORDERS).astype(np.int64)
        picks = np.arange(_LEVEL1_ORDERS) < first_orders[:, :, None]
        totals = level_qty.sum(axis=2) + total_extra
        weighted = np.stack(
            (np.maximum(bid1 - avg_gap[:, 0], lower), np.minimum(ask1 + avg_gap[:, 1], upper)), 1
        )
        tens = np.full(b, _LEVELS, np.int64)
        arrays: list[_Text] = []
        for s in (0, 1):
            arrays += [
                _quoted_lists(fmt.prices.take(level_price[:, s].ravel()), tens),
                _quoted_lists(_str(level_qty[:, s].ravel()), tens),
                _quoted_lists(_str(orders[:, s].ravel()), tens),
                _quoted_lists(_str((level1_lots[:, s] * 100)[picks[:, s]]), first_orders[:, s]),
            ]
        phase = _codes(*_L2_PHASES).take(seg)
        change = np.where(trading, last - prev, 0)
        yield _lines(
            [
                _str(_wall_times(day.date, quote + lag)),
                _str(seq),
                "1",
                _str(_wall_times(day.date, quote)),
                constants["pre"],
                fmt.prices.take(np.where(trading, opened, 0)),
                fmt.prices.take(highs),
                fmt.prices.take(lows),
                fmt.prices.take(last),
                "0.000",
                _str(np.where(trading, volumes, 0)),
                _fixed(np.where(trading, amounts, 0), 2, pad=1),
                _fixed(np.where(trading, average, 0), 3),
                *arrays,
                _str(trade_counts),
                _str(totals[:, 0]),
                fmt.prices.take(weighted[:, 0]),
                _str(totals[:, 1]),
                fmt.prices.take(weighted[:, 1]),
                _fixed(change, 2, pad=1),
                "0.000",
                "0",
                constants["pe1"],
                constants["pe2"],
                constants["upper"],
                constants["lower"],
                "0.000",
                constants["prew"],
                phase,
                _str(orders[:, 0, 0]),
                _str(orders[:, 1, 0]),
            ]
        )


# --- writing ----------------------------------------------------------------------------


class _Writer:
    """A CSV file written from byte chunks: gzip (no name, mtime 0) if it ends in ``.gz``,
    compressed on a thread with a bounded queue when ``threaded``."""

    def __init__(self, path: Path, compresslevel: int, *, threaded: bool) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.raw = path.open("wb")
        self.out: io.BufferedIOBase = self.raw
        if path.suffix == ".gz":
            self.out = gzip.GzipFile(
                filename="", fileobj=self.raw, mode="wb", mtime=0, compresslevel=compresslevel
            )
        self.failure: list[BaseException] = []
        self.pending: queue.Queue[bytes | None] | None = None
        self.thread: threading.Thread | None = None
        if threaded:
            self.pending = queue.Queue(maxsize=4)
            self.thread = threading.Thread(target=self._drain, name="quant360-gzip", daemon=True)
            self.thread.start()

    def _drain(self) -> None:
        assert self.pending is not None
        try:
            while (item := self.pending.get()) is not None:
                self.out.write(item)
        except BaseException as exc:  # handed to the producer
            self.failure.append(exc)
            while self.pending.get() is not None:
                pass

    def write(self, data: bytes) -> None:
        if self.failure:
            raise self.failure[0]
        if self.pending is None:
            self.out.write(data)
        elif data:
            self.pending.put(data)

    def close(self) -> None:
        try:
            if self.pending is not None and self.thread is not None:
                self.pending.put(None)
                self.thread.join()
        finally:
            if self.out is not self.raw:
                self.out.close()
            self.raw.close()
        if self.failure:
            raise self.failure[0]


def _cap(chunks: Iterator[bytes], rows: int | None) -> Iterator[tuple[bytes, int]]:
    """The chunks with their line counts, cut after ``rows`` lines."""
    left = rows
    for chunk in chunks:
        count = chunk.count(b"\n")
        if left is not None and count >= left:
            if left:
                cut = -1
                for _ in range(left):
                    cut = chunk.index(b"\n", cut + 1)
                yield chunk[: cut + 1], left
            return
        if left is not None:
            left -= count
        yield chunk, count


def _chunks(day: SymbolDay, stream: str) -> Iterator[bytes]:
    if stream == "L2_new":
        return _l2_chunks(day)
    _Format(day, stream)  # checks the pair
    return (chunk[stream] for chunk in _flow_chunks(day, (stream,)))


def _threaded(day: SymbolDay) -> bool:
    return day.orders > _BATCH or day.snapshots > _L2_BATCH


def quant360_lines(day: SymbolDay, stream: str, *, rows: int | None = None) -> Iterator[str]:
    """Yield the header and then the data lines (no line ends) of a stream of ``day``,
    at most ``rows`` of them.

    >>> lines = list(quant360_lines(SymbolDay("szse", "000001", orders=5), "order_new"))
    >>> lines[0]
    'ApplSeqNum,Side,OrdType,Price,OrderQty,TransactTime,ChannelNo,ExpirationDays,ExpirationType,Contactor,ConfirmID'
    >>> len(lines)
    6
    """
    yield ",".join(HEADERS[_check(day, stream)])
    for chunk, _ in _cap(_chunks(day, stream), rows):
        yield from chunk.decode("utf-8").splitlines()


def write_quant360_file(
    path: str | Path,
    day: SymbolDay,
    stream: str,
    *,
    rows: int | None = None,
    compresslevel: int = 6,
) -> int:
    """Stream one file of ``day`` to ``path`` (gzip if it ends in ``.gz``: no stored name,
    mtime 0) and return its number of data rows; ``rows`` stops after that many.

    The same day gives the same bytes, and the order and tick files of one day agree
    (whichever is written, in one call or two). Memory stays flat: batches of 32k orders
    (16k snapshots) are formatted and handed to a gzip thread, a few in flight.
    """
    _check(day, stream)
    if rows is not None and rows < 0:
        msg = f"rows must be >= 0, got {rows}"
        raise ValueError(msg)
    writer = _Writer(Path(path), compresslevel, threaded=_threaded(day))
    written = 0
    try:
        writer.write(_HEADER_LINES[day.exchange, stream])
        for chunk, count in _cap(_chunks(day, stream), rows):
            writer.write(chunk)
            written += count
    finally:
        writer.close()
    return written


def bronze_path(root: str | Path, exchange: str, stream: str, date: dt.date, symbol: str) -> Path:
    """``ROOT/bronze/quant360/exchange=<x>/type=<stream>/date=<YYYY-MM-DD>/symbol=<code>/<code>.csv.gz``
    (docs/cn.md section 1)."""
    return (
        Path(root)
        / "bronze/quant360"
        / f"exchange={exchange}/type={stream}/date={date.isoformat()}/symbol={symbol}"
        / f"{symbol}.csv.gz"
    )


def write_symbol_day(
    root: str | Path,
    day: SymbolDay,
    *,
    streams: Sequence[str] | None = None,
    compresslevel: int = 6,
) -> dict[str, Path]:
    """Write the streams of ``day`` (default: all of its exchange's) under ``root`` in the
    Bronze layout, the order and tick files from one pass over the flow; returns stream ->
    path."""
    wanted = tuple(STREAMS[day.exchange] if streams is None else streams)
    for stream in wanted:
        _check(day, stream)
    paths = {s: bronze_path(root, day.exchange, s, day.date, day.symbol) for s in wanted}
    flow = [s for s in wanted if s != "L2_new"]
    if flow:
        writers = {s: _Writer(paths[s], compresslevel, threaded=_threaded(day)) for s in flow}
        try:
            for s in flow:
                writers[s].write(_HEADER_LINES[day.exchange, s])
            for chunk in _flow_chunks(day, flow):
                for s in flow:
                    writers[s].write(chunk[s])
        finally:
            for w in writers.values():
                w.close()
    if "L2_new" in wanted:
        write_quant360_file(paths["L2_new"], day, "L2_new", compresslevel=compresslevel)
    return paths


def default_symbols(exchange: str, count: int) -> tuple[str, ...]:
    """``count`` distinct plausible codes: SZSE main board 000001-003999 then ChiNext
    300001-301999; SSE 600000-605999 then STAR 688001-688999."""
    ranges = (
        [(1, 4_000), (300_001, 302_000)]
        if exchange == "szse"
        else [(600_000, 606_000), (688_001, 689_000)]
    )
    codes = [f"{c:06d}" for lo, hi in ranges for c in range(lo, hi)]
    if not 0 <= count <= len(codes):
        msg = f"count must be within 0..{len(codes)}, got {count}"
        raise ValueError(msg)
    return tuple(codes[:count])


def write_bronze_day(
    root: str | Path,
    *,
    exchange: str = "szse",
    symbols: int | Sequence[str] = 2_300,
    orders: int | tuple[int, int] = (50, 500),
    snapshots: int | tuple[int, int] = (20, 200),
    seed: int = 0,
    date: dt.date = DEFAULT_DATE,
    streams: Sequence[str] | None = None,
    seq_gap: int = 8,
    compresslevel: int = 6,
) -> list[Path]:
    """Lay out one generated day of many symbols in the Bronze layout under ``root``
    (every stream of the exchange unless ``streams`` says otherwise) and return the paths.

    ``symbols`` is a count (:func:`default_symbols`) or the codes; ``orders`` and
    ``snapshots`` per symbol are a number or an inclusive range drawn per symbol from
    ``seed``. Symbols sharing a channel get disjoint channel sequences (slots), in time
    order across them.
    """
    if exchange not in EXCHANGES:
        msg = f"exchange must be one of {', '.join(EXCHANGES)}, got {exchange!r}"
        raise ValueError(msg)
    codes = default_symbols(exchange, symbols) if isinstance(symbols, int) else tuple(symbols)
    rng = np.random.default_rng([seed, EXCHANGES.index(exchange), 360])

    def sizes(spec: int | tuple[int, int]) -> list[int]:
        lo, hi = (spec, spec) if isinstance(spec, int) else spec
        return [int(v) for v in rng.integers(lo, hi + 1, len(codes))]

    order_counts, snapshot_counts = sizes(orders), sizes(snapshots)
    days = [
        SymbolDay(exchange, code, orders=o, snapshots=s, seed=seed, date=date, seq_gap=seq_gap)
        for code, o, s in zip(codes, order_counts, snapshot_counts, strict=True)
    ]
    by_channel: dict[int, list[int]] = {}
    for i, day in enumerate(days):
        by_channel.setdefault(day.channel_no, []).append(i)
    for members in by_channel.values():
        for slot, i in enumerate(members):
            days[i] = replace(days[i], channel_slot=slot, channel_slots=len(members))
    paths: list[Path] = []
    for day in days:
        paths.extend(
            write_symbol_day(root, day, streams=streams, compresslevel=compresslevel).values()
        )
    return paths


# Rows per order arrival, measured about 0.9 (SZSE ticks), 0.42 (SSE trades) and 1.27
# (SSE A/D rows), taken low so that a benchmark file reaches its rows before the orders run
# out.
_ROWS_PER_ORDER = {
    ("szse", "order_new"): 1.0,
    ("szse", "tick_new"): 0.7,
    ("sse", "order_new"): 1.0,
    ("sse", "tick_new"): 0.3,
}


def write_benchmark_file(
    path: str | Path,
    *,
    exchange: str = "szse",
    stream: str = "order_new",
    rows: int = 10_000_000,
    symbol: str | None = None,
    seed: int = 0,
    compresslevel: int = 1,
) -> int:
    """Write one big file of exactly ``rows`` data rows and return ``rows``.

    SZSE ``order_new``: a day of ``rows`` orders; the other flow streams: a day with enough
    orders, cut at ``rows`` (so it may end before 15:00); ``L2_new``: ``rows`` snapshots.
    ``compresslevel`` 1 keeps gzip from being the bottleneck (about 1M rows/s or more).
    """
    code = symbol or ("000001" if exchange == "szse" else "600000")
    _check(SymbolDay(exchange, code, orders=0), stream)
    if (exchange, stream) == ("szse", "order_new"):
        orders = rows
    elif stream == "L2_new":
        orders = 0
    else:
        orders = math.ceil(rows / _ROWS_PER_ORDER.get((exchange, stream), 1.0)) + 1_000
    day = SymbolDay(exchange, code, orders=orders, snapshots=rows, seed=seed, seq_gap=20)
    written = write_quant360_file(path, day, stream, rows=rows, compresslevel=compresslevel)
    if written != rows:  # pragma: no cover - the margin above is generous
        msg = f"generated {written} rows of {exchange} {stream}, wanted {rows}"
        raise RuntimeError(msg)
    return written


def write_archive(
    directory: str | Path,
    days: Sequence[SymbolDay],
    stream: str,
    *,
    market: str = "STK",
    preset: int = 1,
) -> Path:
    """Write ``<directory>/<stream>_<market>_<SZ|SH>_<YYYYMMDD>.7z`` as Quant360 ships it:
    a folder ``<archive stem>/`` holding one ``<code>.csv`` per day (all of one exchange
    and date), LZMA2 in one solid block (``preset`` 1: fast; the vendor's is higher).

    Needs py7zr (imported here, not at module import). The archive's bytes hold file
    times, so only the member CSVs are deterministic.
    """
    import py7zr  # noqa: PLC0415 (optional: only this function needs it)

    if not days:
        msg = "need at least one symbol day"
        raise ValueError(msg)
    exchange, date = days[0].exchange, days[0].date
    if any(d.exchange != exchange or d.date != date for d in days):
        msg = "all days of an archive must share the exchange and the date"
        raise ValueError(msg)
    stem = f"{stream}_{market}_{'SZ' if exchange == 'szse' else 'SH'}_{date:%Y%m%d}"
    target = Path(directory) / f"{stem}.7z"
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        folder = Path(scratch) / stem
        folder.mkdir()
        for day in days:
            write_quant360_file(folder / f"{day.symbol}.csv", day, stream)
        filters = [{"id": py7zr.FILTER_LZMA2, "preset": preset}]
        with py7zr.SevenZipFile(target, "w", filters=filters) as archive:
            archive.writeall(folder, arcname=stem)
    return target
