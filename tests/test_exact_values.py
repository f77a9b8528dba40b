"""Exact values and row rules end to end (issue 10): Bronze text -> Silver -> read.

Every example the issue observed is a test here, with its exact expected value compared as
``decimal.Decimal``: sub-nano prices that used to merge, a 4e-10 size that used to become
an L2 delete, PEPE-class sizes that used to overflow int64 at 10^9, spread instruments
trading at zero and below, tickers without a mark price, a row of another exchange than
its path says, and times bounded by the file's date rather than the wall clock. Then a
property test (any decimal with up to 18 fractional digits below 10^20 survives text ->
Silver -> ``pointline read`` text), and DuckDB and Polars reading every table's decimals.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import shutil
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from conftest import cn_bronze
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pointline.bootstrap import bootstrap_dim_symbol
from pointline.bronze import BronzeFileMetadata
from pointline.cli import main
from pointline.ingest import IngestionResult, ingest_file
from pointline.lake import Lake
from pointline.schemas import DECIMAL_TYPE, get_table_spec
from pointline.schemas import EVENT_TABLES as EVENT_TABLE_SPECS
from pointline.vendors.tardis import HEADERS

T0 = 1_727_568_000_000_000  # 2024-09-29T00:00:00Z
DATE = "2024-09-29"
CASES = Path(__file__).resolve().parent / "cases" / "tardis"


# ------------------------------------------------------------------------------ helpers


def bronze(
    lake: Lake,
    data_type: str,
    rows: list[str],
    *,
    exchange: str = "gate-io",
    symbol: str = "X",
    date: str = DATE,
) -> Path:
    """A gzip Tardis file (header + ``rows``) in the hive layout; returns its path."""
    path = (
        lake.bronze_root
        / f"tardis/exchange={exchange}/type={data_type}/date={date}/symbol={symbol}"
        / f"{exchange}_{data_type}_{date}_{symbol}.csv.gz"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join([",".join(HEADERS[data_type]), *rows]) + "\n"
    path.write_bytes(gzip.compress(text.encode(), mtime=0))
    return path


def ingest_all(lake: Lake, *paths: Path) -> list[IngestionResult]:
    bootstrap_dim_symbol(lake)
    return [
        ingest_file(BronzeFileMetadata.from_path(p, bronze_root=lake.bronze_root), lake=lake)
        for p in paths
    ]


def silver(lake: Lake, table: str) -> list[dict[str, Any]]:
    """The table's rows, sorted by file_seq (one file per test)."""
    dataset = ds.dataset(lake.table_dir(table), format="parquet", partitioning="hive")
    return dataset.to_table().sort_by("file_seq").to_pylist()


def quarantined(lake: Lake) -> dict[int, tuple[str, str | None, str | None]]:
    if not lake.validation_dir.is_dir():
        return {}
    log = ds.dataset(lake.validation_dir, format="parquet").to_table().to_pylist()
    return {r["file_seq"]: (r["rule_name"], r["field_name"], r["field_value"]) for r in log}


def read_csv(lake: Lake, table: str, exchange: str) -> list[dict[str, str]]:
    """``pointline read TABLE --format csv`` as dicts of text."""
    out = io.StringIO()
    code = main(["--root", str(lake.root), "read", table, "--exchange", exchange], out=out)
    assert code == 0
    return list(csv.DictReader(io.StringIO(out.getvalue())))


def trade(n: int, price: str, amount: str, *, exchange: str = "gate-io", side: str = "buy") -> str:
    return f"{exchange},X,{T0 + n},{T0 + n},{n},{side},{price},{amount}"


# ---------------------------------------------------------------- 1. exact decimals


def test_sub_nano_prices_stay_distinct_and_exact(tmp_path: Path) -> None:
    """A token near 1e-9 USD: 0.0000000012345 and ...12355 used to both become 1."""
    lake = Lake(tmp_path)
    quotes = bronze(lake, "quotes", [f"gate-io,X,{T0},{T0},5,0.0000000012355,0.0000000012345,7"])
    trades = bronze(lake, "trades", [trade(1, "0.00000798374123", "1")])
    assert [r.status for r in ingest_all(lake, quotes, trades)] == ["success", "success"]
    [quote] = silver(lake, "quotes")
    assert quote["bid_price"] == Decimal("0.0000000012345")
    assert quote["ask_price"] == Decimal("0.0000000012355")
    assert quote["bid_price"] != quote["ask_price"]
    assert silver(lake, "trades")[0]["price"] == Decimal("0.00000798374123")
    [text] = read_csv(lake, "quotes", "gate-io")
    assert (text["bid_price"], text["ask_price"]) == ("0.0000000012345", "0.0000000012355")


def test_a_tiny_l2_size_is_not_a_level_delete(tmp_path: Path) -> None:
    """qty 0 deletes an L2 level: 0.0000000004 used to round to exactly that."""
    lake = Lake(tmp_path)
    path = bronze(
        lake,
        "incremental_book_L2",
        [
            f"gate-io,X,{T0},{T0},false,bid,0.00001,0.0000000004",
            f"gate-io,X,{T0},{T0},false,bid,0.00002,0",
        ],
    )
    [result] = ingest_all(lake, path)
    assert (result.status, result.rows_written) == ("success", 2)
    qtys = [r["qty"] for r in silver(lake, "orderbook_updates")]
    assert qtys == [Decimal("0.0000000004"), Decimal(0)]
    assert qtys[0] != 0
    assert [r["qty"] for r in read_csv(lake, "orderbook_updates", "gate-io")] == [
        "0.0000000004",
        "0",
    ]


def test_pepe_class_sizes_fit_and_keep_their_whole_row(tmp_path: Path) -> None:
    """1e10-unit sizes used to overflow int64 at 10^9 and take the whole row with them."""
    lake = Lake(tmp_path)
    trades = bronze(
        lake,
        "trades",
        [trade(1, "0.0000042298", "23640926208", exchange="binance")],
        exchange="binance",
    )
    levels = ["0.00000423,12500000000,0.00000422,880000000.5"] + ["0.00000424,1,0.00000421,1"] * 4
    snapshot = bronze(
        lake,
        "book_snapshot_5",
        [f"binance,X,{T0},{T0}," + ",".join(levels)],
        exchange="binance",
    )
    ticker = bronze(
        lake,
        "derivative_ticker",
        [
            f"binance-futures,X,{T0},{T0},{T0 + 3_600_000_000},0.0001,-0.00005,"
            "41234567890.5,0.0000042,0.00000421,0.00000422"
        ],
        exchange="binance-futures",
    )
    results = ingest_all(lake, trades, snapshot, ticker)
    assert [(r.status, r.rows_written, r.rows_quarantined) for r in results] == [
        ("success", 1, 0)
    ] * 3
    assert silver(lake, "trades")[0]["qty"] == Decimal("23640926208")
    [book] = silver(lake, "book_snapshots")
    assert book["ask_qtys"][0] == Decimal("12500000000")
    assert book["bid_qtys"][0] == Decimal("880000000.5")
    assert book["ask_prices"][:2] == [Decimal("0.00000423"), Decimal("0.00000424")]
    [text] = read_csv(lake, "book_snapshots", "binance")
    assert json.loads(text["ask_qtys"]) == ["12500000000", "1", "1", "1", "1"]
    assert json.loads(text["bid_prices"])[0] == "0.00000422"
    [row] = silver(lake, "derivative_ticker")
    assert row["open_interest"] == Decimal("41234567890.5")
    assert (row["funding_rate"], row["predicted_funding_rate"]) == (0.0001, -0.00005)
    assert (row["last_price"], row["index_price"], row["mark_price"]) == (
        Decimal("0.0000042"),
        Decimal("0.00000421"),
        Decimal("0.00000422"),
    )


def test_values_past_the_type_are_quarantined_one_row_at_a_time(tmp_path: Path) -> None:
    """A 19th fractional digit is inexact_value, 10^20 is value_out_of_range; the rows
    around them are untouched and nothing is rounded."""
    lake = Lake(tmp_path)
    rows = [
        trade(1, "1.5", "1"),
        trade(2, "1.0000000000000000001", "1"),
        trade(3, "100000000000000000000", "1"),
        trade(4, "99999999999999999999.999999999999999999", "0.000000000000000001"),
        trade(5, "2.5", "1e-19"),
        trade(6, "5.5E-7", "1e-05"),
    ]
    [result] = ingest_all(lake, bronze(lake, "trades", rows))
    assert (result.rows_total, result.rows_written, result.rows_quarantined) == (6, 3, 3)
    assert quarantined(lake) == {
        2: ("inexact_value", "price", "1.0000000000000000001"),
        3: ("value_out_of_range", "price", "100000000000000000000"),
        5: ("inexact_value", "amount", "1e-19"),
    }
    got = [(r["file_seq"], r["price"], r["qty"]) for r in silver(lake, "trades")]
    assert got == [
        (1, Decimal("1.5"), Decimal(1)),
        (4, Decimal("99999999999999999999.999999999999999999"), Decimal("1E-18")),
        (6, Decimal("5.5E-7"), Decimal("0.00001")),
    ]


# ------------------------------------------------------------------ 2. row rules


def test_spread_instruments_trade_and_quote_at_zero_and_below(tmp_path: Path) -> None:
    """okex-spreads (and calendar spreads, combos) trade at zero or negative prices; books
    cross and empty out. None of it is impossible, so none of it is quarantined."""
    lake = Lake(tmp_path)
    spread = "BTC-USDT_BTC-USDT-SWAP"
    trades = bronze(
        lake,
        "trades",
        [
            f"okex-spreads,{spread},{T0 + 1},{T0 + 1},1,buy,-12.5,0.01",
            f"okex-spreads,{spread},{T0 + 2},{T0 + 2},2,sell,0,0.02",
            f"okex-spreads,{spread},{T0 + 3},{T0 + 3},3,buy,-0.0,1",
        ],
        exchange="okex-spreads",
        symbol=spread,
    )
    book = bronze(
        lake,
        "incremental_book_L2",
        [
            f"okex-spreads,{spread},{T0},{T0},true,bid,-13,2",
            f"okex-spreads,{spread},{T0},{T0},true,ask,0,1.5",
            f"okex-spreads,{spread},{T0 + 5},{T0 + 5},false,bid,-13,0",
        ],
        exchange="okex-spreads",
        symbol=spread,
    )
    quotes = bronze(
        lake,
        "quotes",
        [
            f"okex-spreads,{spread},{T0},{T0},1.5,-12,-11,2",  # crossed: bid > ask
            f"okex-spreads,{spread},{T0 + 1},{T0 + 1},,,,",  # both sides empty
        ],
        exchange="okex-spreads",
        symbol=spread,
    )
    results = ingest_all(lake, trades, book, quotes)
    assert [(r.status, r.rows_quarantined) for r in results] == [("success", 0)] * 3
    assert [r["price"] for r in silver(lake, "trades")] == [Decimal("-12.5"), 0, 0]
    assert [(r["side"], r["price"], r["qty"]) for r in silver(lake, "orderbook_updates")] == [
        ("bid", Decimal(-13), Decimal(2)),
        ("ask", Decimal(0), Decimal("1.5")),
        ("bid", Decimal(-13), Decimal(0)),
    ]
    assert [(r["bid_price"], r["ask_price"]) for r in silver(lake, "quotes")] == [
        (Decimal(-11), Decimal(-12)),
        (None, None),
    ]
    assert [r["price"] for r in read_csv(lake, "trades", "okex-spreads")] == ["-12.5", "0", "0"]


def test_tickers_without_a_mark_price_keep_their_funding_and_open_interest(
    tmp_path: Path,
) -> None:
    """huobi-dm tickers carry no mark price; whole files used to end `quarantined`."""
    lake = Lake(tmp_path)
    rows = [
        f"huobi-dm-swap,BTC-USD,{T0 + i},{T0 + i},{T0 + 8 * 3_600_000_000},0.0001,0.00012,"
        f"{1000 + i},65000.{i},65001.{i},"
        for i in range(3)
    ]
    path = bronze(lake, "derivative_ticker", rows, exchange="huobi-dm-swap", symbol="BTC-USD")
    [result] = ingest_all(lake, path)
    assert (result.status, result.rows_written, result.rows_quarantined) == ("success", 3, 0)
    got = [
        (r["mark_price"], r["index_price"], r["last_price"], r["open_interest"], r["funding_rate"])
        for r in silver(lake, "derivative_ticker")
    ]
    assert got == [
        (None, Decimal(f"65001.{i}"), Decimal(f"65000.{i}"), Decimal(1000 + i), 0.0001)
        for i in range(3)
    ]


@pytest.mark.parametrize(
    ("side", "amount", "blamed"),
    [
        ("buy", "0", ("amount", "0")),
        ("sell", "-1", ("amount", "-1")),
        ("hold", "1", ("side", "hold")),
    ],
)
def test_sizes_keep_their_sign_rules_and_the_log_names_the_field(
    tmp_path: Path, side: str, amount: str, blamed: tuple[str, str]
) -> None:
    lake = Lake(tmp_path)
    path = bronze(lake, "trades", [trade(1, "1", "1"), trade(2, "1", amount, side=side)])
    [result] = ingest_all(lake, path)
    assert (result.rows_written, result.rows_quarantined) == (1, 1)
    assert quarantined(lake) == {2: ("invalid_trade", *blamed)}


def test_a_row_of_another_exchange_is_quarantined_not_partitioned(tmp_path: Path) -> None:
    """A garbage exchange cell must not silently create a partition."""
    lake = Lake(tmp_path)
    rows = [
        trade(1, "1", "1", exchange="binance"),
        trade(2, "1", "1", exchange="binance-futures"),
        trade(3, "1", "1", exchange=" BINANCE "),  # the same venue, written loosely
        trade(4, "1", "1", exchange="x0x0"),
    ]
    path = bronze(lake, "trades", rows, exchange="binance")
    [result] = ingest_all(lake, path)
    assert (result.status, result.rows_written, result.rows_quarantined) == ("success", 2, 2)
    assert quarantined(lake) == {
        2: ("exchange_mismatch", "exchange", "binance-futures"),
        4: ("exchange_mismatch", "exchange", "x0x0"),
    }
    partitions = sorted(p.name for p in lake.table_dir("trades").glob("exchange=*"))
    assert partitions == ["exchange=binance"]


def test_times_are_bounded_by_the_file_date_not_the_wall_clock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A row more than 2 days after the file's date is timestamp_out_of_range, whatever
    the clock says: a rebuild years later gives the same Silver bytes."""
    day = 86_400_000_000
    rows = [trade(1, "1", "1"), trade(3 * day - 2, "1", "1"), trade(3 * day, "1", "1")]
    outputs = []
    for fake_now in (946_684_800.0, 4_102_444_800.0):  # 2000-01-01, 2100-01-01
        monkeypatch.setattr(time, "time", lambda now=fake_now: now)
        monkeypatch.setattr(time, "time_ns", lambda now=fake_now: int(now * 1e9))
        lake = Lake(tmp_path / str(int(fake_now)))
        [result] = ingest_all(lake, bronze(lake, "trades", rows))
        assert (result.rows_written, result.rows_quarantined) == (2, 1)
        assert quarantined(lake) == {3: ("timestamp_out_of_range", "timestamp", str(T0 + 3 * day))}
        outputs.append(
            {
                p.relative_to(lake.silver_root): p.read_bytes()
                for p in lake.silver_root.rglob("*.parquet")
            }
        )
    assert outputs[0] == outputs[1]


# ------------------------------------------------- 3. any decimal survives the trip

_FRACTION = st.integers(0, 18)
_DECIMALS = st.builds(
    lambda units, places: Decimal(units).scaleb(-places),
    st.integers(-(10**38) + 1, 10**38 - 1),
    _FRACTION,
).filter(lambda d: abs(d) < Decimal(10) ** 20)


def _spellings(value: Decimal) -> st.SearchStrategy[str]:
    """Ways a vendor may write ``value``: plain, padded with zeros, in exponent form."""
    plain = format(value, "f")
    return st.sampled_from(
        [
            plain,
            plain + ("" if "." in plain else ".") + "000",
            ("-" if value < 0 else "") + "00" + plain.lstrip("-"),
            f"{value:e}",
            f"{value:E}".replace("E+", "E"),
        ]
    )


def canonical(value: Decimal) -> str:
    """The canonical text (docs/contracts.md section 3), computed independently."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.data(),
    prices=st.lists(_DECIMALS, min_size=1, max_size=40),
)
def test_any_exact_decimal_survives_text_to_silver_to_read_text(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject, prices: list[Decimal]
) -> None:
    lake = Lake(tmp_path_factory.mktemp("roundtrip"))
    texts = [data.draw(_spellings(p)) for p in prices]
    sizes = [abs(p) or Decimal("0.000000000000000001") for p in reversed(prices)]
    size_texts = [data.draw(_spellings(s)) for s in sizes]
    rows = [trade(i + 1, t, s) for i, (t, s) in enumerate(zip(texts, size_texts, strict=True))]
    [result] = ingest_all(lake, bronze(lake, "trades", rows))
    assert (result.rows_total, result.rows_written, result.rows_quarantined) == (
        len(rows),
        len(rows),
        0,
    )
    stored = silver(lake, "trades")
    assert [r["price"] for r in stored] == prices
    assert [r["qty"] for r in stored] == sizes
    text = read_csv(lake, "trades", "gate-io")
    by_seq = {int(r["file_seq"]): r for r in text}
    assert [by_seq[i + 1]["price"] for i in range(len(rows))] == [canonical(p) for p in prices]
    assert [Decimal(by_seq[i + 1]["qty"]) for i in range(len(rows))] == sizes


_BAD_VALUES = st.sampled_from(
    [
        ("1.0000000000000000001", "inexact_value"),
        ("-0.00000000000000000005", "inexact_value"),
        ("1e-19", "inexact_value"),
        ("100000000000000000000", "value_out_of_range"),
        ("-123456789012345678901234567890", "value_out_of_range"),
        ("1e20", "value_out_of_range"),
        ("1.2.3", "unparseable_value"),
        ("NaN", "unparseable_value"),
        ("0x10", "unparseable_value"),
    ]
)


@settings(max_examples=40, deadline=None)
@given(
    cells=st.lists(
        st.one_of(_DECIMALS.map(lambda d: (format(d, "f"), None)), _BAD_VALUES),
        min_size=1,
        max_size=30,
    )
)
def test_every_row_lands_once_whatever_the_mix_of_good_and_bad_values(
    tmp_path_factory: pytest.TempPathFactory, cells: list[tuple[str, str | None]]
) -> None:
    lake = Lake(tmp_path_factory.mktemp("mix"))
    rows = [trade(i + 1, text, "1") for i, (text, _) in enumerate(cells)]
    [result] = ingest_all(lake, bronze(lake, "trades", rows))
    expected_bad = {i + 1: reason for i, (_, reason) in enumerate(cells) if reason}
    assert result.rows_total == len(rows)
    assert (result.rows_written, result.rows_quarantined) == (
        len(rows) - len(expected_bad),
        len(expected_bad),
    )
    log = quarantined(lake)
    assert {seq: rule for seq, (rule, _, _) in log.items()} == expected_bad
    assert all(field == "price" for _, field, _ in log.values())
    written = [r["file_seq"] for r in silver(lake, "trades")] if result.rows_written else []
    assert sorted(written + list(log)) == list(range(1, len(rows) + 1))


# ------------------------------------------- 4. every reader reads every table's decimals


def _case_lake(root: Path) -> Lake:
    """Every hand-made Tardis case (all eight data types, seven tables) and the Quant360
    samples (three CN tables) in one lake."""
    lake = Lake(root)
    paths = []
    for expected in sorted(CASES.glob("*/expected.json")):
        where = json.loads(expected.read_text(encoding="utf-8"))["bronze"]
        [source] = sorted(expected.parent.glob("*.csv"))
        target = (
            lake.bronze_root
            / f"tardis/exchange={where['exchange']}/type={where['data_type']}"
            / f"date={where['date']}/symbol={where['symbol']}/{source.name}"
        )
        target.parent.mkdir(parents=True)
        shutil.copyfile(source, target)
        paths.append(target)
    paths.extend(cn_bronze(lake.bronze_root))
    results = ingest_all(lake, *paths)
    assert all(r.status in ("success", "quarantined") for r in results)
    return lake


@pytest.fixture(scope="module")
def case_lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    return _case_lake(tmp_path_factory.mktemp("cases"))


EVENT_TABLES = [spec.name for spec in EVENT_TABLE_SPECS]


def _decimal_columns(table: str) -> list[str]:
    return [
        c.name
        for c in get_table_spec(table).columns
        if c.dtype == DECIMAL_TYPE
        or (pa.types.is_list(c.dtype) and c.dtype.value_type == DECIMAL_TYPE)
    ]


def _arrow_rows(lake: Lake, table: str, columns: list[str]) -> list[tuple[Any, ...]]:
    dataset = ds.dataset(lake.table_dir(table), format="parquet", partitioning="hive")
    rows = dataset.to_table(columns=["file_id", "file_seq", *columns]).to_pylist()
    return sorted(tuple(r.values()) for r in rows)


@pytest.mark.parametrize("table", EVENT_TABLES)
def test_duckdb_reads_every_table_with_exact_decimals(case_lake: Lake, table: str) -> None:
    columns = _decimal_columns(table)
    assert columns
    pattern = f"{case_lake.table_dir(table)}/**/*.parquet"
    con = duckdb.connect()
    relation = con.sql(f"SELECT * FROM read_parquet('{pattern}', hive_partitioning=true)")
    types = dict(zip(relation.columns, map(str, relation.types), strict=True))
    for column in columns:
        assert types[column] in ("DECIMAL(38,18)", "DECIMAL(38,18)[]"), (column, types[column])
    got = sorted(
        con.sql(f"SELECT file_id, file_seq, {', '.join(columns)} FROM relation").fetchall()
    )
    assert got == _arrow_rows(case_lake, table, columns)
    assert len(got) > 0


@pytest.mark.parametrize("table", EVENT_TABLES)
def test_polars_reads_every_table_with_exact_decimals(case_lake: Lake, table: str) -> None:
    columns = _decimal_columns(table)
    pattern = f"{case_lake.table_dir(table)}/**/*.parquet"
    frame = (
        pl.scan_parquet(pattern, hive_partitioning=True)
        .select(["file_id", "file_seq", *columns])
        .collect()
    )
    for column in columns:
        dtype = frame.schema[column]
        inner = dtype.inner if isinstance(dtype, pl.List) else dtype  # type: ignore[union-attr]
        assert inner == pl.Decimal(38, 18), (column, dtype)
    got = sorted(tuple(r) for r in frame.rows())
    assert got == _arrow_rows(case_lake, table, columns)
