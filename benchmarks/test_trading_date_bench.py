"""Trading-date kernel throughput, in ns per row (see conftest's summary).

Input: ``bench_rows`` sorted-ish timestamps spread over 2024 (sorted, then jittered by up to
a second, the way exchange times sit in a receive-ordered Tardis file). The array path is
timed for a zone without transitions (UTC), one without DST since 1991 (Asia/Shanghai) and
one with two transitions inside the year (America/New_York). The reference is per-row
Python ``zoneinfo`` on a small slice, the approach docs/contracts.md section 6 rules out.
"""

from __future__ import annotations

import datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pytest

from pointline.exchanges import DEFAULT_EXCHANGES
from pointline.kernels.trading_date import derive_trading_date, local_dates

YEAR_START_US = 1_704_067_200_000_000  # 2024-01-01T00:00:00Z
YEAR_US = 366 * 86_400 * 1_000_000
REFERENCE_ROWS = 20_000
REGISTRY = DEFAULT_EXCHANGES.register("nyse", timezone="America/New_York")
ZONES = {"binance": "UTC", "szse": "Asia/Shanghai", "nyse": "America/New_York"}


@pytest.fixture(scope="module")
def stamps(bench_rows: int) -> npt.NDArray[np.int64]:
    rng = np.random.default_rng(2024)
    ts = np.sort(rng.integers(YEAR_START_US, YEAR_START_US + YEAR_US, bench_rows))
    ts += rng.integers(-1_000_000, 1_000_000, bench_rows)
    return ts.astype(np.int64)


@pytest.mark.parametrize("exchange", list(ZONES))
def test_bench_local_dates(benchmark: Any, stamps: npt.NDArray[np.int64], exchange: str) -> None:
    venue = REGISTRY.get(exchange)
    local_dates(stamps, venue)  # build and cache the zone's table outside the timing
    benchmark.extra_info["rows"] = len(stamps)
    benchmark.extra_info["zone"] = ZONES[exchange]
    days = benchmark(local_dates, stamps, venue)
    assert len(days) == len(stamps)


@pytest.mark.parametrize("exchange", list(ZONES))
def test_bench_derive_arrow(benchmark: Any, stamps: npt.NDArray[np.int64], exchange: str) -> None:
    column = pa.array(stamps)
    derive_trading_date(column[:10], exchange, exchanges=REGISTRY)
    benchmark.extra_info["rows"] = len(column)
    benchmark.extra_info["zone"] = ZONES[exchange]
    dates = benchmark(derive_trading_date, column, exchange, exchanges=REGISTRY)
    assert len(dates) == len(column)


@pytest.mark.parametrize("exchange", ["nyse"])
def test_bench_reference_zoneinfo_per_row(
    benchmark: Any, stamps: npt.NDArray[np.int64], exchange: str
) -> None:
    zone = ZoneInfo(ZONES[exchange])
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
    rows = stamps[:: max(1, len(stamps) // REFERENCE_ROWS)][:REFERENCE_ROWS].tolist()

    def per_row() -> list[datetime.date]:
        step = datetime.timedelta
        return [(epoch + step(microseconds=ts)).astimezone(zone).date() for ts in rows]

    benchmark.extra_info["rows"] = len(rows)
    dates = benchmark(per_row)
    assert len(dates) == len(rows)
