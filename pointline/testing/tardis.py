"""A seeded generator of realistic Tardis CSV rows, for tests, benchmarks and the demo.

Rows are produced lazily, so a file of any length can be streamed to disk without ever
being in memory. Each symbol follows its own random walk on its own tick grid; the
``local_timestamp`` column is strictly non-decreasing (Tardis files are written in arrival
order) and each exchange ``timestamp`` lies a little before it. Order-book files start with
a snapshot of the book, as Tardis's start-of-day files do. The same seed gives the same
bytes.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pointline.vendors.tardis import HEADERS

__all__ = ["GENERATED_TYPES", "SymbolSpec", "tardis_lines", "write_tardis_file"]

GENERATED_TYPES = ("trades", "quotes", "incremental_book_L2")

_CHUNK = 4096


@dataclass(frozen=True, slots=True)
class SymbolSpec:
    """One instrument: its symbol, a starting mid price in ticks, the tick's number of
    decimals and the size increment's number of decimals."""

    symbol: str
    mid_ticks: int
    price_decimals: int
    size_decimals: int


DEFAULT_SYMBOLS: tuple[SymbolSpec, ...] = (
    SymbolSpec("BTCUSDT", 650_000, 1, 3),  # 650,000 ticks of 0.1 -> 65,000.0
    SymbolSpec("ETHUSDT", 345_000, 2, 3),  # 3,450.00
    SymbolSpec("DOGEUSDT", 1_234_567, 7, 0),  # 0.1234567
)


def _fmt(units: int, decimals: int) -> str:
    """Exact decimal text of ``units / 10**decimals`` the way Tardis writes it (no trailing
    zeros, no trailing point)."""
    if decimals == 0:
        return str(units)
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), 10**decimals)
    frac_text = f"{frac:0{decimals}d}".rstrip("0")
    return f"{sign}{whole}.{frac_text}" if frac_text else f"{sign}{whole}"


def tardis_lines(
    data_type: str,
    *,
    rows: int,
    seed: int = 0,
    exchange: str = "binance-futures",
    symbols: Sequence[SymbolSpec] = DEFAULT_SYMBOLS,
    start_us: int = 1_727_568_000_000_000,  # 2024-09-29T00:00:00Z
    mean_gap_us: int = 2_000,
    snapshot_levels: int = 20,
) -> Iterator[str]:
    """Yield the header and then ``rows`` data lines (no line ends) of a Tardis CSV.

    >>> lines = list(tardis_lines("trades", rows=2, seed=1))
    >>> lines[0]
    'exchange,symbol,timestamp,local_timestamp,id,side,price,amount'
    >>> len(lines)
    3
    """
    if data_type not in GENERATED_TYPES:
        msg = f"cannot generate {data_type!r}; generated types: {', '.join(GENERATED_TYPES)}"
        raise ValueError(msg)
    if rows < 0:
        msg = f"rows must be >= 0, got {rows}"
        raise ValueError(msg)
    yield ",".join(HEADERS[data_type])
    rng = np.random.default_rng(seed)
    mids = [s.mid_ticks for s in symbols]
    local = start_us
    emitted = 0
    trade_id = 1_000_000 * (seed + 1)

    if data_type == "incremental_book_L2":
        for k, spec in enumerate(symbols):
            ts = local - int(rng.integers(100, 5_000))
            for side, direction in (("bid", -1), ("ask", 1)):
                for level in range(snapshot_levels):
                    if emitted == rows:
                        return
                    price = mids[k] + direction * (level + 1)
                    size = int(rng.integers(1, 50_000)) * 10 ** max(spec.size_decimals - 3, 0)
                    yield (
                        f"{exchange},{spec.symbol},{ts},{local},true,{side},"
                        f"{_fmt(price, spec.price_decimals)},{_fmt(size, spec.size_decimals)}"
                    )
                    emitted += 1
            local += int(rng.integers(1, 50))

    while emitted < rows:
        n = min(_CHUNK, rows - emitted)
        which = rng.integers(0, len(symbols), n)
        gaps = rng.exponential(mean_gap_us, n).astype(np.int64)
        lags = rng.integers(50, 20_000, n)
        steps = rng.integers(-3, 4, n)
        coins = rng.random(n)
        sizes = rng.lognormal(2.0, 1.5, n)
        for i in range(n):
            k = int(which[i])
            spec = symbols[k]
            mids[k] = max(1, mids[k] + int(steps[i]))
            local += int(gaps[i])
            ts = local - int(lags[i])
            size = max(1, int(sizes[i] * 10**spec.size_decimals / 10))
            p = spec.price_decimals
            if data_type == "trades":
                side = "buy" if coins[i] < 0.5 else "sell"
                trade_id += 1
                yield (
                    f"{exchange},{spec.symbol},{ts},{local},{trade_id},{side},"
                    f"{_fmt(mids[k], p)},{_fmt(size, spec.size_decimals)}"
                )
            elif data_type == "quotes":
                ask_size = max(1, size // 2 + int(steps[i]) ** 2)
                yield (
                    f"{exchange},{spec.symbol},{ts},{local},{_fmt(ask_size, spec.size_decimals)},"
                    f"{_fmt(mids[k] + 1, p)},{_fmt(mids[k], p)},{_fmt(size, spec.size_decimals)}"
                )
            else:
                side = "bid" if coins[i] < 0.5 else "ask"
                offset = 1 + int(coins[i] * 1000) % snapshot_levels
                price = mids[k] - offset if side == "bid" else mids[k] + offset
                amount = 0 if coins[i] * 1000 % 1 < 0.2 else size
                yield (
                    f"{exchange},{spec.symbol},{ts},{local},false,{side},"
                    f"{_fmt(price, p)},{_fmt(amount, spec.size_decimals)}"
                )
        emitted += n


def write_tardis_file(path: str | Path, data_type: str, *, rows: int, seed: int = 0) -> Path:
    """Stream a generated Tardis file to ``path`` (gzip if it ends in ``.gz``); the same
    arguments give the same bytes.

    Memory stays flat whatever ``rows`` is: lines are written as they are generated.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as raw:
        # mtime=0: the same rows give the same bytes, hence the same file_id.
        binary = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) if target.suffix == ".gz" else raw
        with io.TextIOWrapper(binary, encoding="utf-8", newline="\n") as out:
            for line in tardis_lines(data_type, rows=rows, seed=seed):
                out.write(line)
                out.write("\n")
    return target
