"""Tests for pointline.dim_symbol: the SCD2 symbol dimension and its versioned store."""

from __future__ import annotations

import hashlib
import os
import struct
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pointline.dim_symbol import (
    DIM_SCHEMA,
    OPEN_END_TS_US,
    DimSymbolError,
    DimSymbolStore,
    StaleDimSymbolError,
    bootstrap,
    changed_keys,
    empty_dim,
    from_first_seen,
    merge_windows,
    read_dim_file,
    read_snapshot,
    symbol_id,
    symbol_ids,
    upsert,
    validate,
)
from pointline.errors import PointlineError

OPEN = OPEN_END_TS_US
WINDOW = ("exchange", "exchange_symbol", "valid_from_ts_us", "valid_until_ts_us", "is_current")


def snapshot(*rows: tuple[Any, ...], **columns: list[Any]) -> pa.Table:
    """A snapshot from (exchange, exchange_symbol) pairs plus extra columns."""
    data: dict[str, Any] = {
        "exchange": [r[0] for r in rows],
        "exchange_symbol": [r[1] for r in rows],
    }
    data.update(columns)
    return pa.table(data)


def windows(dim: pa.Table, *extra: str) -> list[tuple[Any, ...]]:
    names = [*WINDOW, *extra]
    return [tuple(row[n] for n in names) for row in dim.select(names).to_pylist()]


def dim_rows(*rows: dict[str, Any]) -> pa.Table:
    """A dim table from partial rows; the rest filled with consistent defaults."""
    full = []
    for row in rows:
        r = {
            "exchange": "x",
            "exchange_symbol": "A",
            "valid_from_ts_us": 0,
            "valid_until_ts_us": OPEN,
            "canonical_symbol": None,
            "market_type": "spot",
            "updated_at_ts_us": 1,
        }
        r.update(row)
        r.setdefault(
            "symbol_id", symbol_id(r["exchange"], r["exchange_symbol"], r["valid_from_ts_us"])
        )
        r.setdefault("is_current", r["valid_until_ts_us"] == OPEN)
        r["canonical_symbol"] = r["canonical_symbol"] or r["exchange_symbol"]
        full.append(r)
    return pa.Table.from_pylist(full, schema=DIM_SCHEMA)


# ------------------------------------------------------------------------------ ids


def test_symbol_id_is_blake2b_little_endian_signed() -> None:
    digest = hashlib.blake2b(b"binance|BTCUSDT|100").digest()
    assert len(digest) == 64
    assert symbol_id("binance", "BTCUSDT", 100) == struct.unpack("<q", digest[:8])[0]
    assert symbol_id("binance", "BTCUSDT", 100) == -6216199531909158099


def test_symbol_ids_match_the_scalar_form() -> None:
    ids = symbol_ids(
        pa.array(["binance", "deribit"]),
        pa.array(["BTCUSDT", "BTC-PERPETUAL"]),
        pa.array([100, -5], pa.int64()),
    )
    assert ids.type == pa.int64()
    assert ids.to_pylist() == [
        symbol_id("binance", "BTCUSDT", 100),
        symbol_id("deribit", "BTC-PERPETUAL", -5),
    ]


def test_empty_dim_has_the_schema() -> None:
    dim = empty_dim()
    assert dim.num_rows == 0
    assert dim.schema.equals(DIM_SCHEMA, check_metadata=True)
    validate(dim)


# ------------------------------------------------------------------------- bootstrap


def test_bootstrap_opens_one_window_per_row_with_defaults() -> None:
    snap = snapshot(
        ("binance", "ETHUSDT"),
        ("binance", "BTCUSDT"),
        canonical_symbol=["ETH-USDT", None],
        market_type=["spot", None],
        base_asset=["ETH", None],
        tick_size=["0.1", None],
        lot_size=pa.array([1_000, None], pa.int64()),
    )
    dim = bootstrap(snap, 100, now_ts_us=7)
    assert dim.schema.equals(DIM_SCHEMA, check_metadata=True)
    assert dim.to_pylist() == [
        {
            "symbol_id": symbol_id("binance", "BTCUSDT", 100),
            "exchange": "binance",
            "exchange_symbol": "BTCUSDT",
            "canonical_symbol": "BTCUSDT",
            "market_type": "unknown",
            "base_asset": None,
            "quote_asset": None,
            "valid_from_ts_us": 100,
            "valid_until_ts_us": OPEN,
            "is_current": True,
            "tick_size": None,
            "lot_size": None,
            "contract_size": None,
            "expiry_ts_us": None,
            "board": None,
            "min_qty": None,
            "is_inverse": None,
            "updated_at_ts_us": 7,
        },
        {
            "symbol_id": symbol_id("binance", "ETHUSDT", 100),
            "exchange": "binance",
            "exchange_symbol": "ETHUSDT",
            "canonical_symbol": "ETH-USDT",
            "market_type": "spot",
            "base_asset": "ETH",
            "quote_asset": None,
            "valid_from_ts_us": 100,
            "valid_until_ts_us": OPEN,
            "is_current": True,
            "tick_size": Decimal("0.1"),
            "lot_size": 1000,  # an integer is a number of units
            "contract_size": None,
            "expiry_ts_us": None,
            "board": None,
            "min_qty": None,
            "is_inverse": None,
            "updated_at_ts_us": 7,
        },
    ]


def test_bootstrap_uses_the_clock_for_updated_at_only() -> None:
    import time

    before = time.time_ns() // 1000
    dim = bootstrap(snapshot(("x", "A")), 5)
    after = time.time_ns() // 1000
    assert before <= dim["updated_at_ts_us"][0].as_py() <= after
    assert dim["valid_from_ts_us"][0].as_py() == 5


def test_decimal_text_sizes_are_exact() -> None:
    snap = snapshot(
        ("x", "A"),
        ("x", "B"),
        tick_size=["0.1", "1e-05"],
        lot_size=["0.001", "5.5E-7"],
        contract_size=["100", "0.000000001"],
    )
    dim = bootstrap(snap, 0, now_ts_us=0)
    assert dim.select(["tick_size", "lot_size", "contract_size"]).to_pylist() == [
        {"tick_size": Decimal("0.1"), "lot_size": Decimal("0.001"), "contract_size": 100},
        {
            "tick_size": Decimal("0.00001"),
            "lot_size": Decimal("0.00000055"),
            "contract_size": Decimal("1e-9"),
        },
    ]


@pytest.mark.parametrize(
    ("snap", "match"),
    [
        (snapshot(("x", "A"), colour=["red"]), r"snapshot has unknown columns \['colour'\]"),
        (
            pa.table({"exchange": ["x"]}),
            r"snapshot is missing required columns \['exchange_symbol'\]",
        ),
        (
            snapshot(("x", "A"), ("x", "B"), ("x", "A")),
            r"snapshot lists these symbols more than once: \('x', 'A'\)",
        ),
        (
            snapshot(("x", "A"), tick_size=[0.1]),
            r"column 'tick_size' is double; give decimal text, decimals or integers",
        ),
        (
            snapshot(("x", "A"), ("x", "B"), lot_size=["1", "1.2.3"]),
            r"column 'lot_size' has values that are not exact decimals .*'1.2.3' for \('x', 'B'\)",
        ),
        (snapshot(("x", None)), r"column 'exchange_symbol' is empty in rows 1"),
        (snapshot(("x", "A"), market_type=[3]), r"column 'market_type' must be text, got int64"),
    ],
)
def test_bad_snapshots_are_rejected(snap: pa.Table, match: str) -> None:
    with pytest.raises(DimSymbolError, match=match):
        bootstrap(snap, 0)


def test_errors_are_pointline_value_errors() -> None:
    assert issubclass(DimSymbolError, PointlineError)
    assert issubclass(DimSymbolError, ValueError)
    assert issubclass(StaleDimSymbolError, DimSymbolError)


# ---------------------------------------------------------------------------- upsert


@pytest.fixture
def base() -> pa.Table:
    snap = snapshot(
        ("binance", "BTCUSDT"),
        ("binance", "ETHUSDT"),
        ("deribit", "BTC-PERP"),
        tick_size=["0.1", "0.01", "0.5"],
    )
    return bootstrap(snap, 100, now_ts_us=1)


def test_upsert_unchanged_rows_keep_their_window(base: pa.Table) -> None:
    snap = snapshot(("binance", "BTCUSDT"), ("binance", "ETHUSDT"), tick_size=["0.1", "0.01"])
    out = upsert(base, snap, 200, now_ts_us=2)
    assert out.equals(base)


def test_upsert_changed_row_closes_and_reopens(base: pa.Table) -> None:
    snap = snapshot(("binance", "BTCUSDT"), ("binance", "ETHUSDT"), tick_size=["0.2", "0.01"])
    out = upsert(base, snap, 200, now_ts_us=2)
    assert windows(out, "tick_size", "updated_at_ts_us", "symbol_id") == [
        (
            "binance",
            "BTCUSDT",
            100,
            200,
            False,
            Decimal("0.1"),
            2,
            symbol_id("binance", "BTCUSDT", 100),
        ),
        (
            "binance",
            "BTCUSDT",
            200,
            OPEN,
            True,
            Decimal("0.2"),
            2,
            symbol_id("binance", "BTCUSDT", 200),
        ),
        (
            "binance",
            "ETHUSDT",
            100,
            OPEN,
            True,
            Decimal("0.01"),
            1,
            symbol_id("binance", "ETHUSDT", 100),
        ),
        (
            "deribit",
            "BTC-PERP",
            100,
            OPEN,
            True,
            Decimal("0.5"),
            1,
            symbol_id("deribit", "BTC-PERP", 100),
        ),
    ]


def test_upsert_new_symbol_opens_at_effective(base: pa.Table) -> None:
    snap = snapshot(
        ("binance", "BTCUSDT"), ("binance", "ETHUSDT"), ("binance", "XRPUSDT"),
        tick_size=["0.1", "0.01", None],
    )  # fmt: skip
    out = upsert(base, snap, 300, now_ts_us=3)
    assert windows(out, "updated_at_ts_us") == [
        ("binance", "BTCUSDT", 100, OPEN, True, 1),
        ("binance", "ETHUSDT", 100, OPEN, True, 1),
        ("binance", "XRPUSDT", 300, OPEN, True, 3),
        ("deribit", "BTC-PERP", 100, OPEN, True, 1),
    ]


def test_upsert_missing_symbol_is_delisted_implicitly(base: pa.Table) -> None:
    out = upsert(base, snapshot(("binance", "BTCUSDT"), tick_size=["0.1"]), 300, now_ts_us=3)
    assert windows(out, "updated_at_ts_us") == [
        ("binance", "BTCUSDT", 100, OPEN, True, 1),
        ("binance", "ETHUSDT", 100, 300, False, 3),
        ("deribit", "BTC-PERP", 100, OPEN, True, 1),
    ]


def test_upsert_explicit_delistings_close_only_listed_symbols_at_their_time() -> None:
    dim = bootstrap(snapshot(("x", "A"), ("x", "B"), ("x", "C"), ("x", "D")), 100, now_ts_us=1)
    delistings = pa.table(
        {
            "exchange": ["x", "x", "x", "y"],
            "exchange_symbol": ["B", "C", "Z", "A"],  # Z and y:A have no open window: ignored
            "delisted_ts_us": [150, 250, 50, 10],
        }
    )
    out = upsert(dim, snapshot(("x", "A")), 300, delistings=delistings, now_ts_us=3)
    assert windows(out, "updated_at_ts_us") == [
        ("x", "A", 100, OPEN, True, 1),
        ("x", "B", 100, 150, False, 3),
        ("x", "C", 100, 250, False, 3),
        ("x", "D", 100, OPEN, True, 1),  # missing but not listed: stays open
    ]


def test_upsert_delisting_a_listed_symbol_is_an_error(base: pa.Table) -> None:
    delistings = pa.table(
        {"exchange": ["binance"], "exchange_symbol": ["BTCUSDT"], "delisted_ts_us": [150]}
    )
    snap = snapshot(("binance", "BTCUSDT"), tick_size=["0.1"])
    with pytest.raises(
        DimSymbolError, match=r"delistings name symbols that are in the snapshot: \('binance'"
    ):
        upsert(base, snap, 200, delistings=delistings)


def test_upsert_leaves_other_exchanges_untouched(base: pa.Table) -> None:
    out = upsert(base, snapshot(("deribit", "ETH-PERP")), 400, now_ts_us=4)
    assert windows(out, "updated_at_ts_us") == [
        ("binance", "BTCUSDT", 100, OPEN, True, 1),
        ("binance", "ETHUSDT", 100, OPEN, True, 1),
        ("deribit", "BTC-PERP", 100, 400, False, 4),
        ("deribit", "ETH-PERP", 400, OPEN, True, 4),
    ]


@pytest.mark.parametrize(
    ("column", "before", "after"),
    [
        ("base_asset", None, "BTC"),
        ("base_asset", "BTC", None),
        ("quote_asset", None, "USDT"),
        ("canonical_symbol", None, "BTC-USDT"),  # default (the exchange symbol) -> other
        ("market_type", "spot", "perpetual"),
        ("contract_size", None, "1"),
        ("lot_size", "1", None),
    ],
)
def test_upsert_any_tracked_change_including_null_to_value_opens_a_window(
    column: str, before: Any, after: Any
) -> None:
    dim = bootstrap(snapshot(("x", "A"), **{column: [before]}), 100, now_ts_us=1)
    out = upsert(dim, snapshot(("x", "A"), **{column: [after]}), 200, now_ts_us=2)
    assert windows(out) == [("x", "A", 100, 200, False), ("x", "A", 200, OPEN, True)]


def test_upsert_null_equals_null() -> None:
    dim = bootstrap(snapshot(("x", "A"), base_asset=[None]), 100, now_ts_us=1)
    out = upsert(dim, snapshot(("x", "A"), base_asset=[None]), 200, now_ts_us=2)
    assert out.equals(dim)


def test_upsert_keeps_history_and_relists() -> None:
    dim = bootstrap(snapshot(("x", "A"), ("x", "B")), 100, now_ts_us=1)
    dim = upsert(dim, snapshot(("x", "B")), 200, now_ts_us=2)  # A delisted
    dim = upsert(dim, snapshot(("x", "A"), ("x", "B")), 300, now_ts_us=3)  # A relisted
    assert windows(dim) == [
        ("x", "A", 100, 200, False),
        ("x", "A", 300, OPEN, True),
        ("x", "B", 100, OPEN, True),
    ]


def test_upsert_cannot_close_a_window_before_it_starts(base: pa.Table) -> None:
    snap = snapshot(("binance", "BTCUSDT"), ("binance", "ETHUSDT"), tick_size=["9", "0.01"])
    with pytest.raises(
        DimSymbolError,
        match=r"cannot close open windows at or before their start: \('binance', 'BTCUSDT'\) "
        r"opened at 100, closing at 100",
    ):
        upsert(base, snap, 100)


def test_upsert_rejects_a_dim_with_the_wrong_schema(base: pa.Table) -> None:
    with pytest.raises(
        DimSymbolError, match=r"dim schema mismatch: missing columns \['lot_size'\]"
    ):
        upsert(base.drop_columns(["lot_size"]), snapshot(("x", "A")), 200)


# -------------------------------------------------------------------------- validate


def test_validate_accepts_adjacent_windows() -> None:
    validate(
        dim_rows(
            {"valid_from_ts_us": 0, "valid_until_ts_us": 10},
            {"valid_from_ts_us": 10, "valid_until_ts_us": 20},
            {"valid_from_ts_us": 30},
            {"exchange_symbol": "B"},
        )
    )


@pytest.mark.parametrize(
    ("dim", "match"),
    [
        (
            dim_rows({"valid_from_ts_us": 10, "valid_until_ts_us": 10}),
            r"valid_until_ts_us <= valid_from_ts_us for \('x', 'A', from 10, until 10\)",
        ),
        (
            dim_rows({"valid_from_ts_us": 0}, {"valid_from_ts_us": 5}),
            r"more than one current row for \('x', 'A'\)",
        ),
        (
            dim_rows(
                {"valid_from_ts_us": 0, "valid_until_ts_us": 100},
                {"valid_from_ts_us": 10, "valid_until_ts_us": 20},
            ),
            r"overlapping windows: \('x', 'A'\) \[0, 100\) and \[10, 20\)",
        ),
        (
            dim_rows({"symbol_id": 7}, {"exchange_symbol": "B", "symbol_id": 7}),
            r"duplicate symbol_id: 7 \('x', 'A', from 0\), 7 \('x', 'B', from 0\)",
        ),
        (
            dim_rows({"valid_until_ts_us": 10, "is_current": True}),
            r"is_current disagrees with valid_until_ts_us == 2\*\*63-1 for \('x', 'A'",
        ),
        (
            dim_rows({}).drop_columns(["market_type"]),
            r"schema mismatch: missing columns \['market_type'\]",
        ),
        (
            dim_rows({}).set_column(0, "symbol_id", pa.array([1], pa.int32())),
            r"schema mismatch: wrong types: symbol_id is int32, not int64",
        ),
        (
            dim_rows({}).select(["exchange", *DIM_SCHEMA.names[:1], *DIM_SCHEMA.names[2:]]),
            r"schema mismatch: columns out of order",
        ),
        (
            pa.Table.from_pylist(
                [dict(dim_rows({}).to_pylist()[0], market_type=None)],
                schema=pa.schema([f.with_nullable(True) for f in DIM_SCHEMA]),
            ),
            r"column 'market_type' has 1 null values",
        ),
    ],
)
def test_validate_rejects(dim: pa.Table, match: str) -> None:
    with pytest.raises(DimSymbolError, match=match):
        validate(dim)


def test_validate_lists_every_problem() -> None:
    dim = dim_rows(
        {"valid_from_ts_us": 10, "valid_until_ts_us": 5, "symbol_id": 1},
        {"exchange_symbol": "B", "symbol_id": 1},
    )
    with pytest.raises(DimSymbolError) as info:
        validate(dim)
    message = str(info.value)
    assert message.startswith("dim_symbol is invalid (2 problems): valid_until_ts_us <= ")
    assert "duplicate symbol_id: 1 ('x', 'A', from 10), 1 ('x', 'B', from 0)" in message


# ----------------------------------------------------------------------------- files


def test_read_dim_file_csv_with_defaults_and_exact_decimals(tmp_path: Path) -> None:
    path = tmp_path / "dim.csv"
    path.write_text(
        "exchange,exchange_symbol,valid_from_ts_us,valid_until_ts_us,tick_size,market_type\n"
        "binance,BTCUSDT,100,200,0.1,spot\n"
        "binance,BTCUSDT,200,,0.01,\n"
        "deribit,BTC-PERP,5,,,perpetual\n"
    )
    dim = read_dim_file(path, now_ts_us=9)
    assert dim.schema.equals(DIM_SCHEMA, check_metadata=True)
    assert windows(dim, "tick_size", "market_type", "canonical_symbol", "updated_at_ts_us") == [
        ("binance", "BTCUSDT", 100, 200, False, Decimal("0.1"), "spot", "BTCUSDT", 9),
        ("binance", "BTCUSDT", 200, OPEN, True, Decimal("0.01"), "unknown", "BTCUSDT", 9),
        ("deribit", "BTC-PERP", 5, OPEN, True, None, "perpetual", "BTC-PERP", 9),
    ]
    assert dim["symbol_id"].to_pylist() == [
        symbol_id("binance", "BTCUSDT", 100),
        symbol_id("binance", "BTCUSDT", 200),
        symbol_id("deribit", "BTC-PERP", 5),
    ]


def test_read_dim_file_csv_gz(tmp_path: Path) -> None:
    import gzip

    path = tmp_path / "dim.csv.gz"
    path.write_bytes(
        gzip.compress(b"exchange,exchange_symbol,valid_from_ts_us,valid_until_ts_us\nx,A,1,\n")
    )
    assert windows(read_dim_file(path)) == [("x", "A", 1, OPEN, True)]


def test_read_dim_file_parquet_trusts_symbol_id_and_takes_decimals(tmp_path: Path) -> None:
    path = tmp_path / "dim.parquet"
    pq.write_table(
        pa.table(
            {
                "symbol_id": pa.array([11, 12], pa.int64()),
                "exchange": ["x", "x"],
                "exchange_symbol": ["A", "B"],
                "valid_from_ts_us": pa.array([1, 2], pa.int64()),
                "valid_until_ts_us": pa.array([5, None], pa.int64()),
                "tick_size": pa.array([Decimal("0.1"), None], pa.decimal128(10, 4)),
                "lot_size": ["0.1", None],
                "contract_size": pa.array([Decimal("1e-9"), None], pa.decimal128(38, 20)),
                "is_current": [False, True],
            }
        ),
        path,
    )
    dim = read_dim_file(path, now_ts_us=3)
    assert windows(dim, "symbol_id", "tick_size", "lot_size", "contract_size") == [
        ("x", "A", 1, 5, False, 11, Decimal("0.1"), Decimal("0.1"), Decimal("1e-9")),
        ("x", "B", 2, OPEN, True, 12, None, None, None),
    ]


def test_read_dim_file_missing_column_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("exchange,exchange_symbol,valid_from_ts_us\nx,A,1\n")
    with pytest.raises(
        DimSymbolError, match=r"bad\.csv: .*missing required columns \['valid_until_ts_us'\]"
    ) as info:
        read_dim_file(path)
    assert info.value.file == str(path)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (
            "exchange,exchange_symbol,valid_from_ts_us,valid_until_ts_us,x\n",
            r"unknown columns \['x'\]",
        ),
        (
            "exchange,exchange_symbol,valid_from_ts_us,valid_until_ts_us,is_current\nx,A,1,5,true\n",
            r"is_current disagrees with valid_until_ts_us .* for \('x', 'A', from 1\)",
        ),
        (
            "exchange,exchange_symbol,valid_from_ts_us,valid_until_ts_us\nx,A,1,\nx,A,3,\n",
            r"more than one current row for \('x', 'A'\)",
        ),
        (
            "exchange,exchange_symbol,valid_from_ts_us,valid_until_ts_us\nx,A,,\n",
            r"'valid_from_ts_us' is empty in rows 1",
        ),
        (
            "exchange,exchange_symbol,valid_from_ts_us,valid_until_ts_us\nx,A,soon,\n",
            r"cannot read the file: column 'valid_from_ts_us' \(integer microseconds since the "
            r"epoch\): .*invalid value 'soon'",
        ),
    ],
)
def test_read_dim_file_errors(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "dim.csv"
    path.write_text(text)
    with pytest.raises(DimSymbolError, match=match):
        read_dim_file(path)


def test_read_dim_file_unsupported_or_absent(tmp_path: Path) -> None:
    (tmp_path / "dim.json").write_text("{}")
    with pytest.raises(DimSymbolError, match=r"dim\.json: unsupported file type"):
        read_dim_file(tmp_path / "dim.json")
    with pytest.raises(DimSymbolError, match=r"nope\.csv: no such file"):
        read_dim_file(tmp_path / "nope.csv")


def test_read_snapshot_csv_gives_a_normalised_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "instruments.csv"
    path.write_text("exchange,exchange_symbol,tick_size,quote_asset\nx,A,0.1,USDT\nx,B,,\n")
    snap = read_snapshot(path)
    assert snap.to_pylist() == [
        {
            "exchange": "x",
            "exchange_symbol": "A",
            "canonical_symbol": "A",
            "market_type": "unknown",
            "base_asset": None,
            "quote_asset": "USDT",
            "tick_size": Decimal("0.1"),
            "lot_size": None,
            "contract_size": None,
            "expiry_ts_us": None,
            "board": None,
            "min_qty": None,
            "is_inverse": None,
        },
        {
            "exchange": "x",
            "exchange_symbol": "B",
            "canonical_symbol": "B",
            "market_type": "unknown",
            "base_asset": None,
            "quote_asset": None,
            "tick_size": None,
            "lot_size": None,
            "contract_size": None,
            "expiry_ts_us": None,
            "board": None,
            "min_qty": None,
            "is_inverse": None,
        },
    ]
    assert windows(bootstrap(snap, 1)) == [("x", "A", 1, OPEN, True), ("x", "B", 1, OPEN, True)]


def test_read_snapshot_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "s.parquet"
    pq.write_table(pa.table({"exchange": ["x", "x"], "exchange_symbol": ["A", "A"]}), path)
    with pytest.raises(DimSymbolError, match=r"s\.parquet: .*more than once: \('x', 'A'\)"):
        read_snapshot(path)


# -------------------------------------------------------------------- from_first_seen


def test_from_first_seen_opens_a_window_at_the_first_event() -> None:
    first = pa.table(
        {
            "exchange": ["x", "y", "x"],
            "exchange_symbol": ["B", "A", "B"],
            "first_ts_us": pa.array([50, 7, 40], pa.int64()),
        }
    )
    dim = from_first_seen(first, now_ts_us=2)
    assert windows(dim, "canonical_symbol", "market_type", "updated_at_ts_us", "symbol_id") == [
        ("x", "B", 40, OPEN, True, "B", "unknown", 2, symbol_id("x", "B", 40)),
        ("y", "A", 7, OPEN, True, "A", "unknown", 2, symbol_id("y", "A", 7)),
    ]
    assert from_first_seen(first.slice(0, 0)).equals(empty_dim())


def test_from_first_seen_requires_its_columns() -> None:
    with pytest.raises(
        DimSymbolError, match=r"first_seen is missing required columns \['first_ts_us'\]"
    ):
        from_first_seen(pa.table({"exchange": ["x"], "exchange_symbol": ["A"]}))


# ----------------------------------------------------------------------------- store


def test_store_load_empty(tmp_path: Path) -> None:
    version, dim = DimSymbolStore(tmp_path / "dim_symbol").load()
    assert version == 0
    assert dim.equals(empty_dim())


def test_store_round_trip(tmp_path: Path) -> None:
    store = DimSymbolStore(tmp_path / "dim_symbol")
    dim = bootstrap(snapshot(("x", "B"), ("x", "A"), tick_size=["0.1", None]), 1, now_ts_us=1)
    assert store.save(dim, expected_version=0) == 1
    version, loaded = store.load()
    assert version == 1
    assert loaded.equals(dim)
    assert loaded.schema.equals(DIM_SCHEMA, check_metadata=True)
    assert sorted(p.name for p in store.directory.iterdir()) == ["00000000000000000001.parquet"]


def test_store_stale_save_raises_and_writes_nothing(tmp_path: Path) -> None:
    store = DimSymbolStore(tmp_path)
    one = bootstrap(snapshot(("x", "A")), 1, now_ts_us=1)
    two = upsert(one, snapshot(("x", "A"), ("x", "B")), 2, now_ts_us=2)
    store.save(one, expected_version=0)
    store.save(two, expected_version=1)
    files = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(
        StaleDimSymbolError, match=r"expected version 1 but version 2 exists; load the latest"
    ):
        store.save(one, expected_version=1)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == files
    assert store.load() == (2, two)
    assert store.load(1) == (1, one)


def test_store_versions_are_never_overwritten_even_in_a_race(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = DimSymbolStore(tmp_path)
    first = bootstrap(snapshot(("x", "A")), 1, now_ts_us=1)
    store.save(first, expected_version=0)
    original = store.path_of(1).read_bytes()
    # A writer that read version 0 just before the first save landed: its check passes,
    # but os.link finds version 1 and refuses.
    monkeypatch.setattr(DimSymbolStore, "latest_version", lambda self: 0)
    with pytest.raises(StaleDimSymbolError, match=r"expected version 0"):
        store.save(bootstrap(snapshot(("x", "Z")), 1), expected_version=0)
    assert store.path_of(1).read_bytes() == original
    assert sorted(os.listdir(tmp_path)) == ["00000000000000000001.parquet"]  # no temp left


def test_store_validates_before_writing(tmp_path: Path) -> None:
    store = DimSymbolStore(tmp_path / "d")
    bad = dim_rows({"valid_from_ts_us": 0}, {"valid_from_ts_us": 5})
    with pytest.raises(DimSymbolError, match="more than one current row"):
        store.save(bad, expected_version=0)
    with pytest.raises(DimSymbolError, match="expected_version must be >= 0"):
        store.save(empty_dim(), expected_version=-1)
    assert not (tmp_path / "d").exists()


# -------------------------------------------------------------------------- property

SYMBOLS = ["A", "B", "C", "D"]
snapshot_rows = st.dictionaries(
    st.tuples(st.sampled_from(["x", "y"]), st.sampled_from(SYMBOLS)),
    st.tuples(st.sampled_from([None, "0.1", "0.5"]), st.sampled_from(["spot", "future"])),
    max_size=8,
)


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=1_000),
            snapshot_rows,
            st.lists(st.sampled_from(SYMBOLS), max_size=2),
            st.booleans(),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_upserts_keep_one_window_per_key_and_time(
    steps: list[tuple[int, dict[tuple[str, str], tuple[str | None, str]], list[str], bool]],
) -> None:
    dim = empty_dim()
    t = 0
    times = []
    for gap, rows, delisted, explicit in steps:
        t += gap
        times.append(t)
        keys = sorted(rows)
        snap = snapshot(
            *keys,
            tick_size=[rows[k][0] for k in keys],
            market_type=[rows[k][1] for k in keys],
        )
        delistings = None
        if explicit:
            gone = sorted({s for s in delisted if ("x", s) not in rows})
            delistings = pa.table(
                {
                    "exchange": ["x"] * len(gone),
                    "exchange_symbol": gone,
                    "delisted_ts_us": pa.array([t + 1] * len(gone), pa.int64()),
                }
            )
        dim = upsert(dim, snap, t, delistings=delistings, now_ts_us=t)
        validate(dim)
        # The snapshot is what is valid at t.
        at_t = {
            (r["exchange"], r["exchange_symbol"]): r["tick_size"]
            for r in dim.to_pylist()
            if r["valid_from_ts_us"] <= t < r["valid_until_ts_us"]
        }
        for key in keys:
            assert key in at_t
    rows_ = dim.to_pylist()
    probes = {ts + d for ts in times for d in (-1, 0, 1)}
    for key in {(r["exchange"], r["exchange_symbol"]) for r in rows_}:
        for ts in probes:
            covering = [
                r
                for r in rows_
                if (r["exchange"], r["exchange_symbol"]) == key
                and r["valid_from_ts_us"] <= ts < r["valid_until_ts_us"]
            ]
            assert len(covering) <= 1


# ---------------------------------------------------------------------- merge_windows


def test_merge_replaces_only_the_symbols_the_source_carries() -> None:
    dim = dim_rows(
        {"exchange_symbol": "A"},
        {"exchange_symbol": "B", "updated_at_ts_us": 5},
        {"exchange": "y", "exchange_symbol": "A"},
    )
    vendor = dim_rows(
        {"exchange_symbol": "A", "valid_from_ts_us": 100, "valid_until_ts_us": 200},
        {"exchange_symbol": "A", "valid_from_ts_us": 200, "tick_size": Decimal("0.5")},
    )
    out = merge_windows(dim, vendor, now_ts_us=9)
    assert windows(out, "updated_at_ts_us") == [
        ("x", "A", 100, 200, False, 9),
        ("x", "A", 200, OPEN, True, 9),
        ("x", "B", 0, OPEN, True, 5),  # outside the scope: untouched
        ("y", "A", 0, OPEN, True, 1),  # same symbol on another exchange: untouched
    ]
    assert changed_keys(dim, out) == {("x", "A")}


def test_merge_keeps_unchanged_windows_their_ids_and_their_update_time() -> None:
    custom = dim_rows({"exchange_symbol": "A", "symbol_id": 42, "updated_at_ts_us": 3})
    same = dim_rows({"exchange_symbol": "A", "updated_at_ts_us": 7})
    out = merge_windows(custom, same, now_ts_us=9)
    assert out.equals(custom)  # an imported custom id survives; nothing changed
    assert changed_keys(custom, out) == set()
    retick = dim_rows({"exchange_symbol": "A", "tick_size": Decimal("0.1")})
    out = merge_windows(custom, retick, now_ts_us=9)
    assert out.select(["symbol_id", "updated_at_ts_us"]).to_pylist() == [
        {"symbol_id": 42, "updated_at_ts_us": 9}  # same window start: the id stays
    ]
    assert out["tick_size"].to_pylist() == [Decimal("0.1")]


def test_merge_with_an_exchange_scope_removes_what_the_source_no_longer_lists() -> None:
    dim = dim_rows({"exchange_symbol": "A"}, {"exchange_symbol": "B"}, {"exchange": "y"})
    out = merge_windows(dim, dim_rows({"exchange_symbol": "B"}), exchanges=["x"], now_ts_us=9)
    assert windows(out) == [("x", "B", 0, OPEN, True), ("y", "A", 0, OPEN, True)]
    with pytest.raises(DimSymbolError, match=r"windows outside the exchanges \['z'\]"):
        merge_windows(dim, dim_rows({"exchange_symbol": "B"}), exchanges=["z"])


def test_merge_result_must_be_valid() -> None:
    overlapping = dim_rows(
        {"valid_from_ts_us": 0, "valid_until_ts_us": 10},
        {"valid_from_ts_us": 5, "valid_until_ts_us": 20},
    )
    with pytest.raises(DimSymbolError, match="overlapping windows"):
        merge_windows(empty_dim(), overlapping)


def test_upsert_takes_the_latest_untracked_values_without_a_new_window() -> None:
    dim = bootstrap(snapshot(("x", "A"), min_qty=["1"], board=["main"]), 100, now_ts_us=1)
    out = upsert(dim, snapshot(("x", "A"), min_qty=["5"], board=[None]), 200, now_ts_us=2)
    assert windows(out, "min_qty", "board", "updated_at_ts_us") == [
        ("x", "A", 100, OPEN, True, Decimal(5), "main", 2)  # null in a snapshot keeps "main"
    ]
    assert upsert(out, snapshot(("x", "A"), min_qty=["5"]), 300, now_ts_us=3).equals(out)


def test_expiry_is_tracked_and_opens_a_window() -> None:
    dim = bootstrap(snapshot(("huobi-dm", "BTC_CW"), expiry_ts_us=[1000]), 100, now_ts_us=1)
    out = upsert(dim, snapshot(("huobi-dm", "BTC_CW"), expiry_ts_us=[2000]), 1000, now_ts_us=2)
    assert windows(out, "expiry_ts_us") == [
        ("huobi-dm", "BTC_CW", 100, 1000, False, 1000),
        ("huobi-dm", "BTC_CW", 1000, OPEN, True, 2000),
    ]


def test_a_version_saved_before_the_new_columns_loads_with_nulls(tmp_path: Path) -> None:
    dim = dim_rows({"exchange_symbol": "A", "tick_size": Decimal("0.1")})
    old = dim.drop_columns(["expiry_ts_us", "board", "min_qty", "is_inverse"])
    store = DimSymbolStore(tmp_path)
    pq.write_table(old, store.path_of(1))
    version, loaded = store.load()
    assert version == 1
    assert loaded.equals(dim)
