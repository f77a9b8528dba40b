from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from operators.pit_join import pit_join
from pointline.chain import FLAG_COLUMN, Chain, decode_flags
from pointline.kernels.pit import SymbolIndex, check_pit_coverage
from pointline.testing import batches_from_rows, collect

T0, T1, MAX = 1_000, 2_000, 2**63 - 1


def dim(rows: list[tuple[str, str, int, int, int]]) -> pa.Table:
    return pa.table(
        {
            "exchange": [r[0] for r in rows],
            "exchange_symbol": [r[1] for r in rows],
            "valid_from_ts_us": pa.array([r[2] for r in rows], pa.int64()),
            "valid_until_ts_us": pa.array([r[3] for r in rows], pa.int64()),
            "symbol_id": pa.array([r[4] for r in rows], pa.int64()),
        }
    )


DIM = dim(
    [
        ("deribit", "BTC-PERPETUAL", T0, T1, 11),
        ("deribit", "BTC-PERPETUAL", T1, MAX, 12),
        ("binance", "BTCUSDT", T0, MAX, 21),
        ("binance", "ETHUSDT", T0, T1, 31),  # delisted at T1
    ]
)
SCHEMA = pa.schema(
    [("exchange", pa.string()), ("symbol", pa.string()), ("ts_event_us", pa.int64())]
)


def rows(*items: tuple[Any, Any, Any]) -> list[dict[str, Any]]:
    return [{"exchange": e, "symbol": s, "ts_event_us": t} for e, s, t in items]


def test_window_boundaries_are_half_open_and_uncovered_rows_are_flagged() -> None:
    data = rows(
        ("deribit", "BTC-PERPETUAL", T1 - 1),  # first window
        ("deribit", "BTC-PERPETUAL", T1),  # second window
        ("deribit", "BTC-PERPETUAL", T0 - 1),  # before any window
        ("binance", "ETHUSDT", T1),  # after delisting
        ("binance", "BTCUSDT", T0),
        ("binance", "NEWCOIN", T1),  # unknown symbol
        ("kraken", "BTC-PERPETUAL", T1),  # same symbol, other exchange
        ("deribit", None, T1),
    )
    chain = Chain([pit_join(DIM)], input_schema=SCHEMA)
    out = collect(chain.run(batches_from_rows(data, SCHEMA)))
    assert out["symbol_id"].to_pylist() == [11, 12, None, None, 21, None, None, None]
    _, rule, field = decode_flags(out[FLAG_COLUMN].combine_chunks())
    assert (
        rule.to_pylist()
        == [None, None]
        + ["missing_pit_symbol_coverage"] * 2
        + [None]
        + ["missing_pit_symbol_coverage"] * 3
    )
    assert set(field.drop_null().to_pylist()) == {"symbol"}


@pytest.mark.parametrize("batch_size", [1, 3, 65_536])
def test_lookup_is_batch_size_invariant(batch_size: int) -> None:
    data = rows(*[("deribit", "BTC-PERPETUAL", t) for t in range(T0 - 5, T1 + 5)])
    chain = Chain([pit_join(DIM)], input_schema=SCHEMA)
    out = collect(chain.run(batches_from_rows(data, SCHEMA, batch_size=batch_size)))
    expected = [None] * 5 + [11] * (T1 - T0) + [12] * 5
    assert out["symbol_id"].to_pylist() == expected


def test_check_pit_coverage_splits_rows() -> None:
    table = pa.Table.from_pylist(
        rows(("deribit", "BTC-PERPETUAL", T1 - 1), ("deribit", "BTC-PERPETUAL", T0 - 1)),
        schema=SCHEMA,
    )
    valid, quarantined, reason = check_pit_coverage(table, DIM)
    assert valid["symbol_id"].to_pylist() == [11]
    assert quarantined["ts_event_us"].to_pylist() == [T0 - 1]
    assert reason == "missing_pit_symbol_coverage"
    assert len(SymbolIndex(DIM)) == 4


def test_empty_dim_covers_nothing() -> None:
    empty = DIM.slice(0, 0)
    table = pa.Table.from_pylist(rows(("deribit", "BTC-PERPETUAL", T1)), schema=SCHEMA)
    valid, quarantined, _ = check_pit_coverage(table, empty)
    assert valid.num_rows == 0
    assert quarantined.num_rows == 1


@pytest.mark.parametrize(
    ("symbols", "expected"),
    [
        (["BTC-PERPETUAL"] * 4, [None, 11, 12, 12]),  # one key: no sort, one slice
        (["BTC-PERPETUAL", None, "BTC-PERPETUAL", "BTC-PERPETUAL"], [None, None, 12, 12]),
        (["BTC-PERPETUAL", "NEWCOIN", "BTC-PERPETUAL", "BTC-PERPETUAL"], [None, None, 12, 12]),
    ],
)
def test_a_batch_of_one_exchange_and_one_symbol(
    symbols: list[str | None], expected: list[int | None]
) -> None:
    times = [T0 - 1, T0, T1, T1 + 5]
    index = SymbolIndex(DIM)
    result = index.lookup(pa.array(["deribit"] * 4), pa.array(symbols), pa.array(times, pa.int64()))
    assert result.symbol_id.to_pylist() == expected
    assert result.covered.tolist() == [v is not None for v in expected]
