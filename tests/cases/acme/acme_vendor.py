"""A made-up third vendor, "acme": one module and nothing else.

Acme ships one data type, ``ticks``: a CSV of two columns, ``time`` (µs since the epoch)
and ``price`` (a decimal), one file per exchange and symbol at
``bronze/acme/<exchange>/<symbol>/ticks.csv``. Each tick becomes a trade of size 1 with
an unknown side; exchange and symbol come from the path.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

import pyarrow as pa

from operators.normalize import normalize
from operators.parse import parse_csv
from pointline.chain import RowFlags
from pointline.vendors import BadPathError, Derived, Field, FileFormat, PathFacts, ReadFields
from pointline.vendors import Vendor as _Vendor


def _from_path(read: ReadFields, flags: RowFlags) -> dict[str, Any]:
    n = read.n
    return {
        "exchange": pa.repeat(pa.scalar(read.facts.extras["exchange"]), n),
        "symbol": pa.repeat(pa.scalar(read.facts.extras["symbol"]), n),
        "ts_local_us": pa.nulls(n, pa.int64()),
        "trade_id": pa.nulls(n, pa.string()),
        "side": pa.repeat(pa.scalar("unknown"), n),
        "is_buyer_maker": pa.nulls(n, pa.bool_()),
        "qty": pa.repeat(pa.scalar(10**9, pa.int64()), n),
    }


TICKS = FileFormat(
    data_type="ticks",
    table="trades",
    fields=(
        Field("time", "ts_us", to="ts_event_us", required=True),
        Field("price", "decimal", required=True),
    ),
    derived=(
        Derived(
            ("exchange", "symbol", "ts_local_us", "trade_id", "side", "is_buyer_maker", "qty"),
            _from_path,
        ),
    ),
)


def describe(relative: PurePosixPath) -> PathFacts:
    if len(relative.parts) != 3:
        msg = "expected acme/<exchange>/<symbol>/<data_type>.csv"
        raise BadPathError(msg)
    exchange, symbol, name = relative.parts
    return PathFacts(data_type=name.split(".")[0], extras={"exchange": exchange, "symbol": symbol})


VENDOR = _Vendor(
    name="acme",
    timezone="UTC",
    formats={"ticks": TICKS},
    describe=describe,
    parse=lambda fmt, path, **options: parse_csv(path, fmt.header, **options),
    normalize=normalize,
)
