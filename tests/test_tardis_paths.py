"""Tardis path rules: the tardis-dev client's flat file names and hive folders, anywhere
under ``bronze/tardis/`` (docs/contracts.md section 11), and the files they describe
ingested end to end, from Python and from the command line."""

from __future__ import annotations

import datetime
import gzip
import io
import json
import shutil
from pathlib import Path, PurePosixPath
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest

from pointline import BronzeFileMetadata, Lake
from pointline.bootstrap import bootstrap_dim_symbol
from pointline.cli import main
from pointline.ingest import ingest_file
from pointline.vendors import BadPathError, PathFacts, UnsupportedDataTypeError
from pointline.vendors.registry import DEFAULT_VENDORS
from pointline.vendors.tardis import FLAT_LAYOUT, FORMATS, HIVE_LAYOUT, VENDOR, describe

CASES = Path(__file__).resolve().parent / "cases" / "tardis"
CASE_DIRS = sorted(p.parent for p in CASES.glob("*/expected.json"))
PARTITIONING = ds.partitioning(
    pa.schema([("exchange", pa.string()), ("trading_date", pa.date32())]), flavor="hive"
)
TRADES = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount"
MAY_1 = 1_714_521_600_000_000  # 2024-05-01T00:00:00Z


def facts(data_type: str, date: str, exchange: str, symbol: str) -> PathFacts:
    return PathFacts(
        data_type=data_type,
        date=datetime.date.fromisoformat(date),
        extras={"exchange": exchange, "symbol": symbol},
    )


def described(relative: str) -> PathFacts:
    """What the registry reads from a path relative to the bronze root."""
    vendor, found = DEFAULT_VENDORS.describe(PurePosixPath(relative))
    assert vendor.name == "tardis"
    return found


# ------------------------------------------------------------------------ flat names

FLAT_NAMES = {
    "binance-futures_incremental_book_L2_2024-09-29_BTCUSDT.csv.gz": facts(
        "incremental_book_L2", "2024-09-29", "binance-futures", "BTCUSDT"
    ),
    "deribit_options_chain_2020-06-07_OPTIONS.csv.gz": facts(
        "options_chain", "2020-06-07", "deribit", "OPTIONS"
    ),
    "gate-io_trades_2024-05-01_BTC_USDT.csv.gz": facts(
        "trades", "2024-05-01", "gate-io", "BTC_USDT"
    ),
    "okex-spreads_trades_2024-05-01_BTC-USDT_BTC-USDT-SWAP.csv.gz": facts(
        "trades", "2024-05-01", "okex-spreads", "BTC-USDT_BTC-USDT-SWAP"
    ),
    "binance_book_snapshot_25_2024-05-01_ETHUSDT.csv.gz": facts(
        "book_snapshot_25", "2024-05-01", "binance", "ETHUSDT"
    ),
    "binance_book_ticker_2024-05-01_ETHUSDT.csv": facts(
        "book_ticker", "2024-05-01", "binance", "ETHUSDT"
    ),
    "mexc-futures_trades_2025-01-02_BTC_USDT.csv.gz": facts(
        "trades", "2025-01-02", "mexc-futures", "BTC_USDT"
    ),
    "deribit_trades_2024-09-27_ETH-27SEP24-2500-C.csv.gz": facts(
        "trades", "2024-09-27", "deribit", "ETH-27SEP24-2500-C"
    ),
    "deribit_derivative_ticker_2024-09-27_BTC-PERPETUAL.csv.gz": facts(
        "derivative_ticker", "2024-09-27", "deribit", "BTC-PERPETUAL"
    ),
    "binance-futures_book_snapshot_5_2024-09-29_PERPETUALS.csv.gz": facts(
        "book_snapshot_5", "2024-09-29", "binance-futures", "PERPETUALS"
    ),
}


@pytest.mark.parametrize("name", FLAT_NAMES)
def test_a_flat_name_says_its_facts(name: str) -> None:
    assert described(f"tardis/{name}") == FLAT_NAMES[name]


@pytest.mark.parametrize("name", FLAT_NAMES)
def test_a_flat_name_in_nested_folders_says_the_same(name: str) -> None:
    assert described(f"tardis/2024/05/{name}") == FLAT_NAMES[name]
    assert described(f"tardis/downloads/{name}") == FLAT_NAMES[name]


@pytest.mark.parametrize("data_type", sorted(FORMATS))
def test_every_known_data_type_is_read_from_a_flat_name(data_type: str) -> None:
    """The flat names are matched against the one list of data types, FORMATS."""
    for symbol in ("BTCUSDT", "BTC_USDT", "BTC-PERPETUAL", "OPTIONS"):
        for ext in (".csv.gz", ".csv"):
            name = f"tardis/some-exchange_{data_type}_2024-05-01_{symbol}{ext}"
            assert described(name) == facts(data_type, "2024-05-01", "some-exchange", symbol)


def test_flat_name_metadata_from_a_file_under_nested_folders(tmp_path: Path) -> None:
    root = tmp_path / "bronze"
    name = "gate-io_trades_2024-05-01_BTC_USDT.csv.gz"
    for folder in ("tardis", "tardis/2024/05"):
        path = root / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(f"{TRADES}\n".encode()))
        meta = BronzeFileMetadata.from_path(path, bronze_root=root)
        assert (meta.vendor, meta.data_type, meta.date) == (
            "tardis",
            "trades",
            datetime.date(2024, 5, 1),
        )
        assert dict(meta.extras) == {"exchange": "gate-io", "symbol": "BTC_USDT"}
        assert meta.bronze_path == f"{folder}/{name}"


# ------------------------------------------------------------------------- hive folders


def test_the_hive_layout_still_works() -> None:
    got = described("tardis/exchange=deribit/type=trades/date=2024-09-29/symbol=BTC-PERPETUAL/a")
    assert got == facts("trades", "2024-09-29", "deribit", "BTC-PERPETUAL")
    got = described("tardis/exchange=binance/type=book_ticker/date=2024-05-01/symbol=X/f.csv.gz")
    assert got == facts("book_ticker", "2024-05-01", "binance", "X")


def test_hive_folders_win_over_the_file_name() -> None:
    hive = "tardis/exchange=binance/type=quotes/date=2024-05-02/symbol=ETHUSDT"
    got = described(f"{hive}/binance-futures_trades_2024-05-01_BTCUSDT.csv.gz")
    assert got == facts("quotes", "2024-05-02", "binance", "ETHUSDT")
    # a file name that names no known data type is no error when the folders say it
    got = described(f"{hive}/binance_trade_2024-01-01_X.csv.gz")
    assert got == facts("quotes", "2024-05-02", "binance", "ETHUSDT")


def test_the_file_name_fills_in_what_the_folders_do_not_say() -> None:
    got = described("tardis/exchange=binance/binance-futures_trades_2024-05-01_BTCUSDT.csv")
    assert got == facts("trades", "2024-05-01", "binance", "BTCUSDT")
    got = described("tardis/type=quotes/binance_book_ticker_2024-05-01_ETHUSDT.csv")
    assert got == facts("quotes", "2024-05-01", "binance", "ETHUSDT")
    got = described("tardis/type=trades/date=bad/binance_trades_2024-05-01_ETHUSDT.csv")
    assert got == facts("trades", "2024-05-01", "binance", "ETHUSDT")


# ------------------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("name", "unknown", "hint"),
    [
        ("binance_trade_2024-01-01_X.csv.gz", "trade", "did you mean 'trades'?"),
        ("binance_book_tickers_2024-01-01_X.csv", "book_tickers", "did you mean 'book_ticker'?"),
        ("deribit_options_2024-01-01_OPTIONS.csv.gz", "options", "did you mean 'options_chain'?"),
        ("binance_ticks_2024-01-01_X.csv.gz", "ticks", ""),
    ],
)
def test_a_flat_name_of_an_unknown_data_type_says_so(name: str, unknown: str, hint: str) -> None:
    with pytest.raises(UnsupportedDataTypeError) as info:
        described(f"tardis/2024/{name}")
    message = str(info.value)
    assert message.startswith(f"tardis/2024/{name}: tardis data type {unknown!r} is not supported")
    assert hint in message
    assert "(supported: book_snapshot_25, book_snapshot_5, book_ticker, " in message
    assert info.value.reason == "unsupported_data_type"


@pytest.mark.parametrize(
    "name",
    [
        "README.txt",
        "notes.csv",
        "binance_trades_BTCUSDT.csv.gz",  # no date
        "binance_trades_2024-05-01.csv.gz",  # no symbol
        "binance_trades_2024-05-01_BTCUSDT.parquet",  # not a CSV
        "_trades_2024-05-01_BTCUSDT.csv",  # no exchange
        "2024/05/binance-futures-trades-2024-05-01-BTCUSDT.csv.gz",  # no underscores
    ],
)
def test_a_path_in_neither_layout_shows_both(name: str) -> None:
    with pytest.raises(BadPathError) as info:
        described(f"tardis/{name}")
    message = str(info.value)
    assert message.startswith(f"tardis/{name}: cannot tell the data type from the path")
    assert FLAT_LAYOUT in message
    assert HIVE_LAYOUT in message
    assert FLAT_LAYOUT == "bronze/tardis/<exchange>_<data_type>_<YYYY-MM-DD>_<symbol>.csv.gz"
    assert HIVE_LAYOUT == (
        "bronze/tardis/exchange=<exchange>/type=<data_type>/date=<YYYY-MM-DD>/symbol=<symbol>/"
        "<file>"
    )
    for python in ("=...", "vendor=", "data_type=", "from_path"):
        assert python not in message
    assert info.value.reason == "bad_path"


def test_a_flat_name_with_an_impossible_date_is_a_bad_path() -> None:
    with pytest.raises(BadPathError, match=r"date '2024-02-30' is not a calendar date"):
        described("tardis/binance_trades_2024-02-30_BTCUSDT.csv.gz")


def test_describe_alone_reads_paths_below_the_vendor_folder() -> None:
    assert VENDOR.describe is describe
    assert describe(PurePosixPath("binance_book_ticker_2024-05-01_ETHUSDT.csv")) == facts(
        "book_ticker", "2024-05-01", "binance", "ETHUSDT"
    )


# -------------------------------------------------------------------- end to end: Python


def test_every_data_type_has_a_hand_made_case() -> None:
    assert {p.name for p in CASE_DIRS} == set(FORMATS)


def read_table(directory: Path, file_id: int) -> pa.Table:
    dataset = ds.dataset(directory, format="parquet", partitioning=PARTITIONING)
    return dataset.to_table(filter=pc.field("file_id") == pa.scalar(file_id, pa.int64()))


@pytest.mark.parametrize("case", CASE_DIRS, ids=[p.name for p in CASE_DIRS])
@pytest.mark.parametrize("folder", ["tardis", "tardis/2024/05"])
def test_every_case_ingests_from_its_flat_name(case: Path, folder: str, tmp_path: Path) -> None:
    """The hand-made cases' CSVs carry tardis-dev client names: placed flat, they give the
    facts their hive placement gives, and the same ingest result."""
    expected: dict[str, Any] = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    [csv] = sorted(case.glob("*.csv"))
    lake = Lake(tmp_path / "lake")
    path = lake.bronze_root / folder / csv.name
    path.parent.mkdir(parents=True)
    shutil.copyfile(csv, path)

    added, _ = bootstrap_dim_symbol(lake)
    assert added > 0
    meta = BronzeFileMetadata.from_path(path, bronze_root=lake.bronze_root)
    bronze = expected["bronze"]
    assert meta.facts == facts(
        bronze["data_type"], bronze["date"], bronze["exchange"], bronze["symbol"]
    )
    result = ingest_file(meta, lake=lake)
    assert {k: getattr(result, k) for k in expected["result"]} == expected["result"]
    assert result.table_name == expected["table"]
    table = read_table(lake.table_dir(expected["table"]), result.file_id)
    got = sorted(
        zip(
            table["file_seq"].to_pylist(),
            table["exchange"].to_pylist(),
            [d.isoformat() for d in table["trading_date"].to_pylist()],
            strict=True,
        )
    )
    want = [(r["file_seq"], r["exchange"], r["trading_date"]) for r in expected["silver"]]
    assert got == want


def test_a_gzipped_flat_file_in_nested_folders_lands_by_exchange_and_date(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    path = lake.bronze_root / "tardis/2024/05/gate-io_trades_2024-05-01_BTC_USDT.csv.gz"
    path.parent.mkdir(parents=True)
    rows = [
        f"gate-io,BTC_USDT,{MAY_1 - 1_000},{MAY_1 + 2_000},1,buy,60000.5,0.1",  # eve: 04-30
        f"gate-io,BTC_USDT,{MAY_1 + 5_000},{MAY_1 + 6_000},2,sell,60000,0.2",
        f"binance,BTC_USDT,{MAY_1 + 7_000},{MAY_1 + 8_000},3,sell,60000,0.3",  # other exchange
    ]
    path.write_bytes(gzip.compress("\n".join([TRADES, *rows, ""]).encode()))
    assert bootstrap_dim_symbol(lake) == (1, 1)
    meta = BronzeFileMetadata.from_path(path, bronze_root=lake.bronze_root)
    result = ingest_file(meta, lake=lake)
    assert (result.status, result.table_name) == ("success", "trades")
    assert (result.rows_total, result.rows_written, result.rows_quarantined) == (3, 2, 1)
    assert (result.trading_date_min, result.trading_date_max) == (
        datetime.date(2024, 4, 30),
        datetime.date(2024, 5, 1),
    )
    partitions = sorted(
        p.relative_to(lake.table_dir("trades")).parent.as_posix()
        for p in lake.table_dir("trades").rglob("*.parquet")
    )
    assert partitions == [
        "exchange=gate-io/trading_date=2024-04-30",
        "exchange=gate-io/trading_date=2024-05-01",
    ]
    log = ds.dataset(lake.validation_dir).to_table().to_pylist()
    assert [(r["file_seq"], r["rule_name"], r["field_value"]) for r in log] == [
        (3, "exchange_mismatch", "binance")
    ]


# ---------------------------------------------------------------- end to end: the CLI


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def test_the_cli_bootstraps_and_ingests_flat_files(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    bronze = root / "bronze" / "tardis"
    ticker = CASES / "book_ticker" / "binance_book_ticker_2024-05-01_ETHUSDT.csv"
    (bronze / "2024" / "05").mkdir(parents=True)
    shutil.copyfile(ticker, bronze / "2024" / "05" / ticker.name)
    deribit = bronze / "deribit_trades_2024-09-27_ETH-27SEP24-2500-C.csv.gz"
    t0 = 1_727_395_200_000_000  # 2024-09-27T00:00:00Z
    deribit.write_bytes(
        gzip.compress(
            f"{TRADES}\nderibit,ETH-27SEP24-2500-C,{t0},{t0 + 9},7,sell,0.0005,3\n".encode()
        )
    )
    code, text = run("--root", str(root), "dim-symbol", "bootstrap")
    assert code == 0
    assert text == (  # nothing skipped
        "bootstrapped 2 symbols from Bronze (2 files read, 0 files known from earlier runs); "
        "dim_symbol version 1\n"
    )

    code, text = run("--root", str(root), "ingest", "--json", str(root / "bronze"))
    assert code == 0
    rows = {r["bronze_path"]: r for r in map(json.loads, text.splitlines())}
    assert set(rows) == {
        "tardis/2024/05/binance_book_ticker_2024-05-01_ETHUSDT.csv",
        "tardis/deribit_trades_2024-09-27_ETH-27SEP24-2500-C.csv.gz",
    }
    ticker_row = rows["tardis/2024/05/binance_book_ticker_2024-05-01_ETHUSDT.csv"]
    assert (ticker_row["status"], ticker_row["table_name"]) == ("success", "quotes")
    assert (ticker_row["rows_written"], ticker_row["rows_quarantined"]) == (5, 2)
    assert (ticker_row["trading_date_min"], ticker_row["trading_date_max"]) == (
        "2024-04-30",
        "2024-05-01",
    )
    trades_row = rows["tardis/deribit_trades_2024-09-27_ETH-27SEP24-2500-C.csv.gz"]
    assert (trades_row["status"], trades_row["table_name"]) == ("success", "trades")
    assert (trades_row["trading_date_min"], trades_row["rows_written"]) == ("2024-09-27", 1)

    code, text = run("--root", str(root), "manifest", "--json")
    assert sorted((r["data_type"], r["status"]) for r in map(json.loads, text.splitlines())) == [
        ("book_ticker", "success"),
        ("trades", "success"),
    ]
    code, text = run("--root", str(root), "read", "quotes", "--exchange", "binance")
    assert code == 0
    assert len(text.splitlines()) == 1 + 5  # header and the five good rows
