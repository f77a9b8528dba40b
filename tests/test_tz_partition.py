from __future__ import annotations

import datetime

import pyarrow as pa
import pytest

from operators.tz_partition import tz_partition
from pointline.chain import Chain
from pointline.errors import UnknownExchangeError
from pointline.exchanges import DEFAULT_EXCHANGES
from pointline.testing import collect

SCHEMA = pa.schema([("exchange", pa.string()), ("ts_event_us", pa.int64())])
T = 1_727_627_400_000_000  # 2024-09-29T16:30:00Z


def run(venues: list[str | None], ts: list[int | None], **kw: object) -> list[object]:
    batch = pa.record_batch(
        [pa.array(venues, pa.string()), pa.array(ts, pa.int64())], schema=SCHEMA
    )
    chain = Chain([tz_partition(**kw)], input_schema=SCHEMA)  # type: ignore[arg-type]
    return collect(chain.run([batch]))["trading_date"].to_pylist()


def test_seed_signal_szse_and_utc_exchange_at_the_same_instant() -> None:
    assert run(["szse", "binance"], [T, T]) == [
        datetime.date(2024, 9, 30),
        datetime.date(2024, 9, 29),
    ]


def test_nulls_give_null_dates() -> None:
    assert run([None, "deribit"], [T, None]) == [None, None]


def test_unknown_exchange_fails_naming_it() -> None:
    with pytest.raises(UnknownExchangeError, match=r"step 'tz_partition'.*unknown exchange 'okx'"):
        run(["okx"], [T])


def test_registered_exchange_is_used() -> None:
    registry = DEFAULT_EXCHANGES.register("tokyo-x", timezone="Asia/Tokyo")
    assert run(["tokyo-x"], [T], exchanges=registry) == [datetime.date(2024, 9, 30)]
