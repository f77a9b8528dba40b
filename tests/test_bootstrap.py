"""bootstrap_dim_symbol: what it returns, and every file it skips, with why."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from pointline import Lake
from pointline.bootstrap import BootstrapResult, SkippedFile, bootstrap_dim_symbol
from pointline.errors import PointlineError

TRADES = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount"
QUOTES = "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount"
T0 = 1_714_521_600_000_000  # 2024-05-01T00:00:00Z


def put(lake: Lake, relative: str, data: str | bytes) -> Path:
    path = lake.bronze_root / "tardis" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def test_the_result_is_still_the_pair_it_was() -> None:
    result = BootstrapResult(2, 7)
    added, version = result
    assert (added, version) == (2, 7)
    assert result == (2, 7)
    assert (result.added, result.version, result.skipped) == (2, 7, ())
    assert isinstance(result, tuple)
    assert len(result) == 2
    assert repr(result) == "BootstrapResult(added=2, version=7, skipped=())"


def test_book_ticker_is_bootstrapped_not_skipped(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    put(
        lake,
        "binance_book_ticker_2024-05-01_ETHUSDT.csv",
        f"{QUOTES}\nbinance,ETHUSDT,{T0},{T0},1,2,1,1\n",
    )
    hive = "exchange=binance/type=book_ticker/date=2024-05-01/symbol=BTCUSDT/f.csv"
    put(lake, hive, f"{QUOTES}\nbinance,BTCUSDT,{T0 + 5},{T0 + 6},1,2,1,1\n")
    result = bootstrap_dim_symbol(lake)
    assert result == (2, 1)
    assert result.skipped == ()
    dim = lake.dim_symbol_store().load()[1]
    rows = dim.select(["exchange_symbol", "valid_from_ts_us"]).to_pylist()
    assert sorted((r["exchange_symbol"], r["valid_from_ts_us"]) for r in rows) == [
        ("BTCUSDT", 0),  # bootstrap windows open at the epoch (docs/contracts.md section 5)
        ("ETHUSDT", 0),
    ]


def test_every_skipped_file_is_reported_with_its_reason(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    put(
        lake,
        "binance_trades_2024-05-01_BTCUSDT.csv",
        f"{TRADES}\nbinance,BTCUSDT,{T0},{T0},1,buy,1,1\n",
    )
    put(
        lake,
        "binance_trade_2024-05-01_ETHUSDT.csv",
        f"{TRADES}\nbinance,ETHUSDT,{T0},{T0},1,buy,1,1\n",
    )
    put(lake, "exchange=binance/type=book_tick/date=2024-05-01/symbol=X/f.csv", f"{QUOTES}\n")
    put(lake, "README.txt", "notes\n")
    data = gzip.compress((f"{TRADES}\n" + f"binance,XRPUSDT,{T0},{T0},1,buy,1,1\n" * 5000).encode())
    put(lake, "2024/binance_trades_2024-05-01_XRPUSDT.csv.gz", data[: len(data) // 2])
    put(lake, "binance_quotes_2024-05-01_ADAUSDT.csv", "exchange,symbol\nbinance,ADAUSDT\n")
    put(lake, ".DS_Store", "hidden: not a Bronze file")
    called: list[tuple[str, PointlineError]] = []

    result = bootstrap_dim_symbol(lake, on_skip=lambda path, exc: called.append((path, exc)))

    assert result == (1, 1)
    assert [(s.path, s.reason) for s in result.skipped] == [
        ("tardis/2024/binance_trades_2024-05-01_XRPUSDT.csv.gz", "unreadable_file"),
        ("tardis/README.txt", "bad_path"),
        ("tardis/binance_quotes_2024-05-01_ADAUSDT.csv", "missing_columns"),
        ("tardis/binance_trade_2024-05-01_ETHUSDT.csv", "unsupported_data_type"),
        (
            "tardis/exchange=binance/type=book_tick/date=2024-05-01/symbol=X/f.csv",
            "unsupported_data_type",
        ),
    ]
    by_path = {s.path: s for s in result.skipped}
    trade = by_path["tardis/binance_trade_2024-05-01_ETHUSDT.csv"]
    assert trade.message.startswith(
        "tardis data type 'trade' is not supported; did you mean 'trades'?"
    )
    tick = by_path["tardis/exchange=binance/type=book_tick/date=2024-05-01/symbol=X/f.csv"]
    assert "did you mean 'book_ticker'?" in tick.message
    readme = by_path["tardis/README.txt"]
    assert "bronze/tardis/<exchange>_<data_type>_<YYYY-MM-DD>_<symbol>.csv.gz" in readme.message
    assert str(readme).startswith("tardis/README.txt: bad_path: cannot tell the data type")
    # on_skip still gets every one, with the error
    assert [path for path, _ in called] == [s.path for s in result.skipped]
    assert all(isinstance(exc, PointlineError) for _, exc in called)


def test_nothing_new_still_reports_the_skipped(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    put(lake, "binance_trade_2024-05-01_ETHUSDT.csv", f"{TRADES}\n")
    result = bootstrap_dim_symbol(lake)
    assert result == (0, 0)
    assert [s.reason for s in result.skipped] == ["unsupported_data_type"]


@pytest.mark.parametrize("missing", [True, False])
def test_an_empty_lake_skips_nothing(tmp_path: Path, missing: bool) -> None:
    lake = Lake(tmp_path)
    if not missing:
        (lake.bronze_root / "tardis").mkdir(parents=True)
    result = bootstrap_dim_symbol(lake)
    assert (result, result.skipped) == ((0, 0), ())


def test_skipped_file_text() -> None:
    skipped = SkippedFile("tardis/x.csv", "bad_path", "cannot tell the data type")
    assert str(skipped) == "tardis/x.csv: bad_path: cannot tell the data type"


def test_a_rerun_reads_only_new_or_changed_files(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    names = [f"binance_trades_2024-05-0{d}_BTCUSDT.csv" for d in (1, 2, 3)]
    for day, name in enumerate(names):
        put(lake, name, f"{TRADES}\nbinance,BTCUSDT,{T0 + day},{T0 + day},1,buy,1,1\n")
    first = bootstrap_dim_symbol(lake)
    assert (first, first.read, first.cached) == ((1, 1), 3, 0)
    second = bootstrap_dim_symbol(lake)
    assert (second, second.read, second.cached) == ((0, 1), 0, 3)
    put(
        lake,
        names[1],
        f"{TRADES}\nbinance,ETHUSDT,{T0},{T0},1,buy,1,1\nbinance,BTCUSDT,{T0},{T0},2,buy,1,1\n",
    )
    third = bootstrap_dim_symbol(lake)
    assert (third, third.read, third.cached) == ((1, 2), 1, 2)
    assert len(list(lake.bootstrap_dir.glob("*.arrow"))) == 1  # older records are dropped
    # The record is advisory: a torn one means reading everything again, nothing worse.
    next(lake.bootstrap_dir.glob("*.arrow")).write_bytes(b"torn")
    fourth = bootstrap_dim_symbol(lake)
    assert (fourth, fourth.read, fourth.cached) == ((0, 2), 3, 0)
