"""A seeded generator of realistic Tardis CSV rows, for tests, benchmarks and the demo.

Rows are produced in vectorised chunks (numpy draws, pyarrow string kernels), so a file of
any length can be streamed to disk without ever being in memory, at well under a
microsecond per row. Each (exchange, symbol) pair follows its own random walk on its own
tick grid; the ``local_timestamp`` column is non-decreasing (Tardis files are written in
arrival order) and each exchange ``timestamp`` lies a little before it. Order-book files
start with a snapshot of every pair's book, as Tardis's start-of-day files do. Prices and
sizes are formatted exactly from integer ticks (no floats): the same seed gives the same
bytes.
"""

from __future__ import annotations

import gzip
import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from pointline.vendors.tardis import HEADERS

__all__ = ["DEFAULT_SYMBOLS", "GENERATED_TYPES", "SymbolSpec", "tardis_lines", "write_tardis_file"]

GENERATED_TYPES = ("trades", "quotes", "incremental_book_L2")

_CHUNK = 65_536
_MAX_DECIMALS = 8
_FRAC_BASE = 10**_MAX_DECIMALS
_I64 = npt.NDArray[np.int64]
_Text: TypeAlias = "pa.Array[Any]"


@dataclass(frozen=True, slots=True)
class SymbolSpec:
    """One instrument: its symbol, a starting mid price in ticks, the tick's number of
    decimals and the size increment's number of decimals (both at most 8)."""

    symbol: str
    mid_ticks: int
    price_decimals: int
    size_decimals: int


DEFAULT_SYMBOLS: tuple[SymbolSpec, ...] = (
    SymbolSpec("BTCUSDT", 650_000, 1, 3),  # 650,000 ticks of 0.1 -> 65,000.0
    SymbolSpec("ETHUSDT", 345_000, 2, 3),  # 3,450.00
    SymbolSpec("DOGEUSDT", 1_234_567, 7, 0),  # 0.1234567
)


def _decimal_text(units: _I64, decimals: _I64) -> _Text:
    """Exact decimal text of ``units / 10**decimals`` per row, the way Tardis writes it (no
    trailing zeros, no trailing point), for non-negative ``units`` and decimals <= 8.

    >>> _decimal_text(np.array([650001, 12, 5, 0]), np.array([1, 2, 0, 3])).to_pylist()
    ['65000.1', '0.12', '5', '0']
    """
    scale = (10 ** decimals.astype(np.int64)).astype(np.int64)
    whole, frac = np.divmod(units, scale)
    whole_text = pc.cast(pa.array(whole), pa.string())
    # Every fraction padded to 8 digits by a leading 1 (then sliced off), trailing zeros cut.
    padded = pc.cast(pa.array(_FRAC_BASE + frac * (_FRAC_BASE // scale)), pa.string())
    frac_text = pc.utf8_rtrim(pc.utf8_slice_codeunits(padded, 1), characters="0")
    frac_text = pc.if_else(pa.array(frac == 0), pa.scalar(None, pa.string()), frac_text)
    joined: _Text = pc.binary_join_element_wise(whole_text, frac_text, ".", null_handling="skip")
    return joined


def _lines(columns: Sequence[Any]) -> _Text:
    """CSV lines (each ending in a newline) from string columns and scalars."""
    *head, last = columns
    lines: _Text = pc.binary_join_element_wise(
        *head, pc.binary_join_element_wise(last, "", "\n"), ","
    )
    return lines


def _text(lines: _Text) -> bytes:
    """The concatenated bytes of a string array."""
    _, offsets_buffer, data = lines.buffers()
    if offsets_buffer is None or data is None:
        return b""
    offsets = np.frombuffer(memoryview(offsets_buffer), dtype=np.int32)
    start, end = int(offsets[lines.offset]), int(offsets[lines.offset + len(lines)])
    return data.slice(start, end - start).to_pybytes()


def _clamped_walk(start: int, steps: _I64) -> _I64:
    """A random walk from ``start`` kept >= 1, exactly like ``mid = max(1, mid + step)``
    step by step (the walk lifted by its running deficit below 1)."""
    walk = start + np.cumsum(steps)
    low = np.minimum.accumulate(np.minimum(walk, 1) - 1)
    return np.asarray(walk - low, dtype=np.int64)


def _text_chunks(
    data_type: str,
    *,
    rows: int,
    seed: int,
    exchanges: Sequence[str],
    symbols: Sequence[SymbolSpec],
    start_us: int,
    mean_gap_us: int,
    snapshot_levels: int,
    chunk: int = _CHUNK,
) -> Iterator[bytes]:
    """The data lines of a generated file, as chunks of UTF-8 text ending in newlines."""
    if not symbols or not exchanges:
        msg = "need at least one exchange and one symbol"
        raise ValueError(msg)
    for spec in symbols:
        if not (0 <= spec.price_decimals <= _MAX_DECIMALS and 0 <= spec.size_decimals <= 8):
            msg = f"{spec.symbol}: decimals must be within 0..{_MAX_DECIMALS}"
            raise ValueError(msg)
    rng = np.random.default_rng(seed)
    pairs = [(e, s) for e in exchanges for s in symbols]
    exchange_names = pa.array([e for e, _ in pairs], pa.string())
    symbol_names = pa.array([s.symbol for _, s in pairs], pa.string())
    price_dec = np.array([s.price_decimals for _, s in pairs], np.int64)
    size_dec = np.array([s.size_decimals for _, s in pairs], np.int64)
    mids = np.array([s.mid_ticks for _, s in pairs], np.int64)
    local = start_us
    emitted = 0
    trade_id = 1_000_000 * (seed + 1)

    if data_type == "incremental_book_L2" and rows > 0:
        k_list: list[int] = []
        ts_list: list[int] = []
        local_list: list[int] = []
        side_list: list[str] = []
        price_list: list[int] = []
        for k in range(len(pairs)):
            ts = local - int(rng.integers(100, 5_000))
            for side, direction in (("bid", -1), ("ask", 1)):
                for level in range(snapshot_levels):
                    k_list.append(k)
                    ts_list.append(ts)
                    local_list.append(local)
                    side_list.append(side)
                    price_list.append(int(mids[k]) + direction * (level + 1))
            local += int(rng.integers(1, 50))
        n = min(rows, len(k_list))
        which = np.array(k_list[:n], np.int64)
        sizes = rng.integers(1, 50_000, len(k_list))[:n] * 10 ** np.maximum(size_dec[which] - 3, 0)
        yield _text(
            _lines(
                [
                    exchange_names.take(which),
                    symbol_names.take(which),
                    pc.cast(pa.array(ts_list[:n], pa.int64()), pa.string()),
                    pc.cast(pa.array(local_list[:n], pa.int64()), pa.string()),
                    "true",
                    pa.array(side_list[:n], pa.string()),
                    _decimal_text(np.array(price_list[:n], np.int64), price_dec[which]),
                    _decimal_text(np.asarray(sizes, np.int64), size_dec[which]),
                ]
            )
        )
        emitted = n

    while emitted < rows:
        n = min(chunk, rows - emitted)
        which = rng.integers(0, len(pairs), n)
        gaps = rng.exponential(mean_gap_us, n).astype(np.int64)
        lags = rng.integers(50, 20_000, n)
        steps = rng.integers(-3, 4, n)
        coins = rng.random(n)
        draws = rng.lognormal(2.0, 1.5, n)
        price = np.empty(n, np.int64)
        for k in range(len(pairs)):
            at = np.flatnonzero(which == k)
            if len(at):
                walk = _clamped_walk(int(mids[k]), steps[at])
                price[at] = walk
                mids[k] = walk[-1]
        local_ts = local + np.cumsum(gaps)
        local = int(local_ts[-1])
        exchange_ts = local_ts - lags
        pdec, sdec = price_dec[which], size_dec[which]
        size = np.maximum(1, (draws * 10.0**sdec / 10).astype(np.int64))
        head = [
            exchange_names.take(which),
            symbol_names.take(which),
            pc.cast(pa.array(exchange_ts), pa.string()),
            pc.cast(pa.array(local_ts), pa.string()),
        ]
        if data_type == "trades":
            ids = np.arange(trade_id + 1, trade_id + 1 + n, dtype=np.int64)
            trade_id += n
            side = pc.if_else(pa.array(coins < 0.5), "buy", "sell")
            body = [
                pc.cast(pa.array(ids), pa.string()),
                side,
                _decimal_text(price, pdec),
                _decimal_text(size, sdec),
            ]
        elif data_type == "quotes":
            ask_size = np.maximum(1, size // 2 + steps**2)
            body = [
                _decimal_text(ask_size, sdec),
                _decimal_text(price + 1, pdec),
                _decimal_text(price, pdec),
                _decimal_text(size, sdec),
            ]
        else:
            bid = coins < 0.5
            offset = 1 + (coins * 1000).astype(np.int64) % max(snapshot_levels, 1)
            level_price = np.where(bid, price - offset, price + offset)
            level_price = np.maximum(level_price, 1)
            amount = np.where((coins * 1000) % 1 < 0.2, 0, size)
            body = [
                "false",
                pc.if_else(pa.array(bid), "bid", "ask"),
                _decimal_text(level_price, pdec),
                _decimal_text(amount, sdec),
            ]
        yield _text(_lines([*head, *body]))
        emitted += n


def _check(data_type: str, rows: int) -> None:
    if data_type not in GENERATED_TYPES:
        msg = f"cannot generate {data_type!r}; generated types: {', '.join(GENERATED_TYPES)}"
        raise ValueError(msg)
    if rows < 0:
        msg = f"rows must be >= 0, got {rows}"
        raise ValueError(msg)


def _exchanges(exchange: str | Sequence[str]) -> tuple[str, ...]:
    return (exchange,) if isinstance(exchange, str) else tuple(exchange)


def tardis_lines(
    data_type: str,
    *,
    rows: int,
    seed: int = 0,
    exchange: str | Sequence[str] = "binance-futures",
    symbols: Sequence[SymbolSpec] = DEFAULT_SYMBOLS,
    start_us: int = 1_727_568_000_000_000,  # 2024-09-29T00:00:00Z
    mean_gap_us: int = 2_000,
    snapshot_levels: int = 20,
) -> Iterator[str]:
    """Yield the header and then ``rows`` data lines (no line ends) of a Tardis CSV.

    ``exchange`` may name several exchanges: rows then mix every (exchange, symbol) pair.

    >>> lines = list(tardis_lines("trades", rows=2, seed=1))
    >>> lines[0]
    'exchange,symbol,timestamp,local_timestamp,id,side,price,amount'
    >>> len(lines)
    3
    """
    _check(data_type, rows)
    yield ",".join(HEADERS[data_type])
    for text in _text_chunks(
        data_type,
        rows=rows,
        seed=seed,
        exchanges=_exchanges(exchange),
        symbols=symbols,
        start_us=start_us,
        mean_gap_us=mean_gap_us,
        snapshot_levels=snapshot_levels,
    ):
        yield from text.decode("utf-8").splitlines()


def write_tardis_file(
    path: str | Path,
    data_type: str,
    *,
    rows: int,
    seed: int = 0,
    exchange: str | Sequence[str] = "binance-futures",
    symbols: Sequence[SymbolSpec] = DEFAULT_SYMBOLS,
    start_us: int = 1_727_568_000_000_000,
    mean_gap_us: int = 2_000,
    snapshot_levels: int = 20,
    compresslevel: int = 6,
) -> Path:
    """Stream a generated Tardis file to ``path`` (gzip if it ends in ``.gz``, with no
    time stamp in the header); the same arguments give the same bytes, the same lines as
    :func:`tardis_lines`.

    Memory stays flat whatever ``rows`` is: chunks of 64k lines are written as they are
    generated, and compressed on a second thread (zlib releases the GIL) with at most a
    few chunks in flight.
    """
    _check(data_type, rows)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    chunks = _text_chunks(
        data_type,
        rows=rows,
        seed=seed,
        exchanges=_exchanges(exchange),
        symbols=symbols,
        start_us=start_us,
        mean_gap_us=mean_gap_us,
        snapshot_levels=snapshot_levels,
    )
    header = (",".join(HEADERS[data_type]) + "\n").encode("utf-8")
    with target.open("wb") as raw:
        if target.suffix != ".gz":
            raw.write(header)
            for text in chunks:
                raw.write(text)
            return target
        # mtime=0: the same rows give the same bytes, hence the same file_id.
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=compresslevel) as out:
            _write_threaded(out, header, chunks)
    return target


def _write_threaded(out: gzip.GzipFile, header: bytes, chunks: Iterator[bytes]) -> None:
    """Write ``header`` and ``chunks`` to ``out`` on a writer thread (bounded queue)."""
    pending: queue.Queue[bytes | None] = queue.Queue(maxsize=4)
    failure: list[BaseException] = []

    def drain() -> None:
        try:
            while (item := pending.get()) is not None:
                out.write(item)
        except BaseException as exc:  # handed to the producer
            failure.append(exc)
            while pending.get() is not None:
                pass

    writer = threading.Thread(target=drain, name="tardis-gzip", daemon=True)
    writer.start()
    try:
        pending.put(header)
        for text in chunks:
            if failure:
                break
            pending.put(text)
    finally:
        pending.put(None)
        writer.join()
    if failure:
        raise failure[0]
