"""Quant360 (CN A-shares) streams -> Silver, docs/cn.md sections 1-5.

Every good sample row is checked column by column against values this test computes on
its own from the CSV text (``csv``, ``decimal.Decimal``, ``zoneinfo``); the README's hand
computed rows are checked literally; every bad file ends as the samples' README says.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import shutil
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow.dataset as ds
import pytest
from conftest import (
    CN_CASES,
    CN_SAMPLE_FOLDERS,
    cn_bronze,
    cn_bronze_path,
    shared_data,
    silver_digests,
)

from pointline import BronzeFileMetadata, Lake
from pointline.bootstrap import bootstrap_dim_symbol
from pointline.ingest import IngestionResult, ingest_file
from pointline.quarantine import quarantined_rows
from pointline.recovery import verify

SHANGHAI = ZoneInfo("Asia/Shanghai")
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
DAY = dt.date(2024, 1, 2)


def us(text: str | None) -> int | None:
    """17-digit Shanghai wall time -> µs UTC, with zoneinfo (the samples README's way)."""
    if not text:
        return None
    t = dt.datetime.strptime(text, "%Y%m%d%H%M%S%f").replace(tzinfo=SHANGHAI)
    return (t - EPOCH) // dt.timedelta(microseconds=1)


def dec(text: str) -> Decimal:
    return Decimal(text)


def ref(text: str | None) -> int | None:
    return None if not text or int(text) == 0 else int(text)


def levels(text: str) -> list[Decimal]:
    return [Decimal(item) for item in text.strip()[1:-1].split(",")]


def szse_order(r: dict[str, str]) -> dict[str, Any]:
    return {
        "ts_event_us": us(r["TransactTime"]),
        "ts_local_us": None,
        "channel_id": int(r["ChannelNo"]),
        "channel_seq": int(r["ApplSeqNum"]),
        "channel_biz_seq": None,
        "symbol_order_seq": None,
        "order_ref": int(r["ApplSeqNum"]),
        "event_kind": "ADD",
        "side": {"1": "BUY", "2": "SELL"}.get(r["Side"], "UNKNOWN"),
        "order_type": {"1": "MARKET", "2": "LIMIT", "U": "BEST_OWN"}.get(r["OrdType"], "UNKNOWN"),
        "price": dec(r["Price"]),
        "qty": dec(r["OrderQty"]),
    }


def sse_order(r: dict[str, str]) -> dict[str, Any]:
    return {
        "ts_event_us": us(r["TransactTime"]),
        "ts_local_us": None,
        "channel_id": int(r["ChannelNo"]),
        "channel_seq": int(r["BizIndex"]),
        "channel_biz_seq": int(r["BizIndex"]),
        "symbol_order_seq": int(r["OrderIndex"]),
        "order_ref": int(r["OrderNo"]),
        "event_kind": {"A": "ADD", "D": "CANCEL"}[r["OrdType"]],
        "side": {"B": "BUY", "S": "SELL"}.get(r["OrderBSFlag"], "UNKNOWN"),
        "order_type": None,
        "price": dec(r["Price"]),
        "qty": dec(r["Balance"]),
    }


def szse_tick(r: dict[str, str]) -> dict[str, Any]:
    return {
        "ts_event_us": us(r["TransactTime"]),
        "ts_local_us": None,
        "channel_id": int(r["ChannelNo"]),
        "channel_seq": int(r["ApplSeqNum"]),
        "channel_biz_seq": None,
        "symbol_trade_seq": None,
        "bid_order_ref": ref(r["BidApplSeqNum"]),
        "ask_order_ref": ref(r["OfferApplSeqNum"]),
        "event_kind": {"F": "TRADE", "4": "CANCEL"}[r["ExecType"]],
        "aggressor_side": None,
        "price": dec(r["Price"]),
        "qty": dec(r["Qty"]),
    }


def sse_tick(r: dict[str, str]) -> dict[str, Any]:
    flag = r["TradeBSFlag"]
    return {
        "ts_event_us": us(r["TradeTime"]),
        "ts_local_us": None,
        "channel_id": int(r["ChannelNo"]),
        "channel_seq": int(r["BizIndex"]),
        "channel_biz_seq": int(r["BizIndex"]),
        "symbol_trade_seq": int(r["TradeIndex"]),
        "bid_order_ref": ref(r["BuyNo"]),
        "ask_order_ref": ref(r["SellNo"]),
        "event_kind": "TRADE",
        "aggressor_side": {"B": "BUY", "S": "SELL"}.get(flag, "UNKNOWN") if flag else None,
        "price": dec(r["TradePrice"]),
        "qty": dec(r["TradeQty"]),
    }


def szse_l2(r: dict[str, str]) -> dict[str, Any]:
    return {
        "ts_event_us": us(r["QuotTime"]),
        "ts_local_us": us(r["SendingTime"]),
        "snapshot_seq": int(r["MsgSeqNum"]),
        "image_status": r["ImageStatus"] or None,
        "trading_phase_code": r["TradingPhaseCode"].strip() or None,
        "bid_price_levels": levels(r["BidPrice"]),
        "bid_qty_levels": levels(r["BidOrderQty"]),
        "ask_price_levels": levels(r["OfferPrice"]),
        "ask_qty_levels": levels(r["OfferOrderQty"]),
    }


EXPECTED: dict[str, tuple[str, str, str, Callable[[dict[str, str]], dict[str, Any]]]] = {
    "order_new_STK_SZ_20240102": ("cn_order_events", "szse", "000001", szse_order),
    "order_new_STK_SH_20240102": ("cn_order_events", "sse", "600000", sse_order),
    "tick_new_STK_SZ_20240102": ("cn_tick_events", "szse", "000001", szse_tick),
    "tick_new_STK_SH_20240102": ("cn_tick_events", "sse", "600000", sse_tick),
    "L2_new_STK_SZ_20240102": ("cn_l2_snapshots", "szse", "000001", szse_l2),
}


def ingest_all(lake: Lake, paths: list[Path]) -> list[IngestionResult]:
    bootstrap_dim_symbol(lake)
    return [
        ingest_file(BronzeFileMetadata.from_path(p, bronze_root=lake.bronze_root), lake=lake)
        for p in paths
    ]


def log_rows(lake: Lake) -> list[dict[str, Any]]:
    return [row for batch in quarantined_rows(lake) for row in batch.to_pylist()]


def silver_rows(lake: Lake, table: str, exchange: str) -> list[dict[str, Any]]:
    dataset = ds.dataset(lake.table_dir(table), format="parquet", partitioning="hive")
    rows = dataset.to_table().to_pylist()
    return sorted((r for r in rows if r["exchange"] == exchange), key=lambda r: r["file_seq"])


@pytest.fixture(scope="module")
def sample_lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    lake = Lake(tmp_path_factory.mktemp("cn"))
    results = ingest_all(lake, cn_bronze(lake.bronze_root))
    assert [r.status for r in results] == ["success"] * 5, results
    assert all(r.rows_quarantined == 0 for r in results)
    return lake


def test_the_repository_copies_are_the_shared_samples() -> None:
    shared = shared_data("quant360-samples")
    for folder in CN_SAMPLE_FOLDERS:
        for csv_file in (CN_CASES / folder).glob("*.csv"):
            assert csv_file.read_bytes() == (shared / folder / csv_file.name).read_bytes()


@pytest.mark.parametrize("folder", CN_SAMPLE_FOLDERS)
def test_every_good_row_lands_with_independently_computed_values(
    sample_lake: Lake, folder: str
) -> None:
    table, exchange, code, expect = EXPECTED[folder]
    with open(CN_CASES / folder / f"{code}.csv", encoding="utf-8", newline="") as f:
        source = list(csv.DictReader(f))
    rows = silver_rows(sample_lake, table, exchange)
    assert len(rows) == len(source)
    for seq, (got, vendor) in enumerate(zip(rows, source, strict=True), start=1):
        want = expect(vendor)
        assert got["file_seq"] == seq
        assert got["symbol"] == code
        assert str(got["trading_date"]) == str(DAY)  # every sample row is on 2024-01-02 in Shanghai
        assert {k: got[k] for k in want} == want, (folder, seq)


def plain(value: Decimal) -> str:
    return f"{value.normalize():f}"


def test_the_readme_hand_computed_rows(sample_lake: Lake) -> None:
    szse_order = silver_rows(sample_lake, "cn_order_events", "szse")[0]
    assert (szse_order["ts_event_us"], plain(szse_order["price"]), plain(szse_order["qty"])) == (
        1704158100000000,
        "9.39",
        "1000",
    )
    assert (szse_order["side"], szse_order["event_kind"], szse_order["order_type"]) == (
        "BUY",
        "ADD",
        "LIMIT",
    )
    assert (szse_order["channel_id"], szse_order["channel_seq"], szse_order["order_ref"]) == (
        2011,
        485,
        485,
    )
    sse_order = silver_rows(sample_lake, "cn_order_events", "sse")[0]
    assert (sse_order["ts_event_us"], plain(sse_order["price"]), plain(sse_order["qty"])) == (
        1704158100000000,
        "6.62",
        "5000",
    )
    assert (sse_order["side"], sse_order["event_kind"], sse_order["channel_id"]) == (
        "BUY",
        "ADD",
        2,
    )
    assert (sse_order["channel_seq"], sse_order["order_ref"]) == (106, 1119)
    cancel, fill = silver_rows(sample_lake, "cn_tick_events", "szse")[:2]
    assert (cancel["ts_event_us"], plain(cancel["price"]), plain(cancel["qty"])) == (
        1704158282000000,
        "0",
        "2000",
    )
    assert (cancel["event_kind"], cancel["bid_order_ref"], cancel["ask_order_ref"]) == (
        "CANCEL",
        662,
        None,
    )
    assert (cancel["channel_id"], cancel["channel_seq"]) == (2011, 200799)
    assert (fill["ts_event_us"], plain(fill["price"]), plain(fill["qty"])) == (
        1704158700000000,
        "9.39",
        "400",
    )
    assert (fill["event_kind"], fill["aggressor_side"], fill["channel_seq"]) == (
        "TRADE",
        None,
        660798,
    )
    sse_tick = silver_rows(sample_lake, "cn_tick_events", "sse")[0]
    assert (sse_tick["ts_event_us"], plain(sse_tick["price"]), plain(sse_tick["qty"])) == (
        1704158700000000,
        "6.62",
        "1500",
    )
    assert (sse_tick["event_kind"], sse_tick["aggressor_side"]) == ("TRADE", "UNKNOWN")
    assert (sse_tick["channel_id"], sse_tick["channel_seq"]) == (2, 540454)
    snap = silver_rows(sample_lake, "cn_l2_snapshots", "szse")[0]
    assert (snap["ts_event_us"], snap["ts_local_us"]) == (1704158100000000, 1704158100034000)
    assert (plain(snap["bid_price_levels"][0]), plain(snap["bid_qty_levels"][0])) == (
        "9.39",
        "77500",
    )
    assert (snap["trading_phase_code"], snap["snapshot_seq"]) == ("O0", 4021)
    # The first snapshot pads its empty levels with 0, kept as the vendor wrote them.
    assert [plain(p) for p in snap["bid_price_levels"][4:]] == ["0"] * 6
    assert all(len(snap[c]) == 10 for c in ("ask_price_levels", "ask_qty_levels"))


def test_a_shanghai_morning_belongs_to_that_days_partition(sample_lake: Lake) -> None:
    # 09:15 Shanghai = 01:15 UTC on the same date; trading_date is the Shanghai date.
    partitions = sorted(p.name for p in sample_lake.table_dir("cn_order_events").glob("*/*"))
    assert partitions == ["trading_date=2024-01-02", "trading_date=2024-01-02"]


def test_verify_is_clean_and_ingest_is_deterministic(sample_lake: Lake, tmp_path: Path) -> None:
    assert verify(sample_lake) == []
    other = Lake(tmp_path / "reversed")
    results = ingest_all(other, list(reversed(cn_bronze(other.bronze_root))))
    assert all(r.status == "success" for r in results)

    def files(lake: Lake) -> dict[str, bytes]:
        root = lake.root / "silver"
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.parquet"))}

    assert files(other) == files(sample_lake)


# ------------------------------------------------------------------ the bad files

ROW_CASES = {
    # case: (stream folder, code, rule, field, raw value)
    "timestamp_16_digits": (
        "order_new_STK_SZ_20240102",
        "000001",
        "unparseable_value",
        "TransactTime",
        "2024010209150000",
    ),
    "price_two_dots": (
        "tick_new_STK_SZ_20240102",
        "000001",
        "unparseable_value",
        "Price",
        "12.3.4",
    ),
    "security_id_mismatch": (
        "order_new_STK_SH_20240102",
        "600000",
        "symbol_mismatch",
        "SecurityID",
        "600036",
    ),
    "l2_nine_levels": (
        "L2_new_STK_SZ_20240102",
        "000001",
        "invalid_cn_l2",
        "BidPrice",
        "[9.390,9.380,9.370,9.360,9.350,9.340,9.330,9.320,9.310]",
    ),
    "unknown_exec_type": ("tick_new_STK_SZ_20240102", "000001", "invalid_cn_tick", "ExecType", "X"),
}

BAD_CASES = CN_CASES / "bad"


def bad_lake(tmp_path: Path, case: str, folder: str, code: str) -> tuple[Lake, Path]:
    lake = Lake(tmp_path)
    target = cn_bronze_path(lake.bronze_root, folder, code)
    target.parent.mkdir(parents=True)
    source = BAD_CASES / case / folder / f"{code}.csv"
    target.write_bytes(gzip.compress(source.read_bytes(), mtime=0))
    return lake, target


def test_the_repository_copies_are_the_shared_bad_samples() -> None:
    shared = shared_data("quant360-samples") / "bad"
    copies = sorted(p.relative_to(BAD_CASES) for p in BAD_CASES.rglob("*.csv"))
    assert copies == sorted(p.relative_to(shared) for p in shared.rglob("*.csv"))
    for relative in copies:
        assert (BAD_CASES / relative).read_bytes() == (shared / relative).read_bytes()


@pytest.mark.parametrize("case", sorted(ROW_CASES))
def test_a_bad_row_is_quarantined_with_its_reason_field_and_raw_text(
    tmp_path: Path, case: str
) -> None:
    folder, code, rule, field, value = ROW_CASES[case]
    lake, path = bad_lake(tmp_path, case, folder, code)
    [result] = ingest_all(lake, [path])
    assert (result.status, result.rows_total, result.rows_written) == ("success", 3, 2)
    [row] = log_rows(lake)
    assert (row["file_seq"], row["rule_name"], row["field_name"], row["field_value"]) == (
        2,
        rule,
        field,
        value,
    )


def test_a_missing_channel_column_fails_the_file_naming_it(tmp_path: Path) -> None:
    lake, path = bad_lake(tmp_path, "missing_channel_column", "order_new_STK_SZ_20240102", "000001")
    [result] = ingest_all(lake, [path])
    assert (result.status, result.status_reason) == ("failed", "missing_columns")
    assert "ChannelNo" in (result.error_message or "")
    assert "order_new" in (result.error_message or "")
    assert not list(lake.root.glob("silver/**/*.parquet"))


def test_sse_l2_laid_out_by_hand_fails_unsupported_data_type(tmp_path: Path) -> None:
    lake, path = bad_lake(tmp_path, "sse_l2_unsupported", "L2_new_STK_SH_20240102", "600000")
    [result] = ingest_all(lake, [path])
    assert (result.status, result.status_reason) == ("failed", "unsupported_data_type")
    assert "sse_L2_new" in (result.error_message or "")


def test_l1_new_has_no_table(tmp_path: Path) -> None:
    lake, path = bad_lake(tmp_path, "sse_l2_unsupported", "L2_new_STK_SH_20240102", "600000")
    l1 = Path(str(path).replace("type=L2_new", "type=L1_new"))
    l1.parent.mkdir(parents=True)
    shutil.move(path, l1)
    [result] = ingest_all(lake, [l1])
    assert (result.status, result.status_reason) == ("failed", "unsupported_data_type")


def test_a_header_only_file_is_success_with_no_rows(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    path = cn_bronze_path(lake.bronze_root, "order_new_STK_SZ_20240102", "000001")
    path.parent.mkdir(parents=True)
    header = (CN_CASES / "order_new_STK_SZ_20240102/000001.csv").read_text().splitlines()[0]
    path.write_bytes(gzip.compress(f"{header}\n".encode(), mtime=0))
    [result] = ingest_all(lake, [path])
    assert (result.status, result.rows_total) == ("success", 0)


@pytest.mark.parametrize(
    "relative",
    [
        "exchange=szse/type=order_new/date=2024-01-02/000001.csv.gz",  # no symbol folder
        "exchange=hkex/type=order_new/date=2024-01-02/symbol=00700/00700.csv.gz",
        "exchange=szse/type=order_new/date=2024-13-02/symbol=000001/000001.csv.gz",
        "exchange=szse/type=order_new/date=2024-01-02/symbol=000001/000002.csv.gz",
        "type=order_new/exchange=szse/date=2024-01-02/symbol=000001/000001.csv.gz",
    ],
)
def test_a_path_off_the_layout_is_bad_path(tmp_path: Path, relative: str) -> None:
    lake = Lake(tmp_path)
    path = lake.bronze_root / "quant360" / relative
    path.parent.mkdir(parents=True)
    path.write_bytes(gzip.compress(b"ApplSeqNum\n", mtime=0))
    with pytest.raises(Exception, match="quant360/") as raised:
        BronzeFileMetadata.from_path(path, bronze_root=lake.bronze_root)
    assert getattr(raised.value, "reason", None) == "bad_path"


# ------------------------------------------------------------------ row rules, one by one

SZSE_ORDER_HEADER = "ApplSeqNum,Side,OrdType,Price,OrderQty,TransactTime,ChannelNo"
SSE_ORDER_HEADER = (
    "SecurityID,TransactTime,OrderNo,Price,Balance,OrderBSFlag,OrdType,OrderIndex,ChannelNo,"
    "BizIndex"
)
SZSE_TICK_HEADER = (
    "ApplSeqNum,BidApplSeqNum,OfferApplSeqNum,Price,Qty,ExecType,TransactTime,ChannelNo"
)
SSE_TICK_HEADER = (
    "SecurityID,TradeTime,TradePrice,TradeQty,TradeAmount,BuyNo,SellNo,TradeIndex,ChannelNo,"
    "TradeBSFlag,BizIndex"
)

STREAMS = {
    "szse_order": ("order_new_STK_SZ_20240102", "000001", SZSE_ORDER_HEADER),
    "sse_order": ("order_new_STK_SH_20240102", "600000", SSE_ORDER_HEADER),
    "szse_tick": ("tick_new_STK_SZ_20240102", "000001", SZSE_TICK_HEADER),
    "sse_tick": ("tick_new_STK_SH_20240102", "600000", SSE_TICK_HEADER),
}
INEXACT = ("inexact_value", "Price", "9.1234567890123456789")
NO_INDEX = ("missing_field", "OrderIndex", None)
RULE_CASES = [
    # (stream, row, expected (rule, field, value) or None for a good row)
    ("szse_order", "1,1,1,0.000,100,20240102093000000,2011", None),  # market order, price 0
    ("szse_order", "1,2,U,0,100,20240102093000000,2011", None),  # best-own, price 0
    (
        "szse_order",
        "1,1,2,0.000,100,20240102093000000,2011",
        ("invalid_cn_order", "Price", "0.000"),
    ),
    ("szse_order", "1,1,2,9.39,0,20240102093000000,2011", ("invalid_cn_order", "OrderQty", "0")),
    ("szse_order", "1,1,2,-1,100,20240102093000000,2011", ("invalid_cn_order", "Price", "-1")),
    ("szse_order", "1,G,2,9.39,100,20240102093000000,2011", None),  # side G -> UNKNOWN, kept
    ("szse_order", "1,1,2,9.39,100,,2011", ("missing_field", "TransactTime", None)),
    (
        "szse_order",
        "1,1,2,9.39,100,20240230093000000,2011",
        ("unparseable_value", "TransactTime", "20240230093000000"),
    ),
    (
        "szse_order",
        "1,1,2,9.39,100,20240112093000000,2011",
        ("timestamp_out_of_range", "TransactTime", "20240112093000000"),
    ),
    (
        "szse_order",
        "1,1,2,9.39,100,20240102093000000,99999999999",
        ("value_out_of_range", "ChannelNo", "99999999999"),
    ),
    ("szse_order", "1,1,2,9.1234567890123456789,100,20240102093000000,2011", INEXACT),
    (
        "sse_order",
        "600000,20240102093000000,7,6.62,100,B,X,1,2,10",
        ("invalid_cn_order", "OrdType", "X"),
    ),
    ("sse_order", "600000,20240102093000000,7,0,100,B,A,1,2,10", None),  # SSE may price 0
    ("sse_order", "600000,20240102093000000,7,6.62,100,B,A,,2,10", NO_INDEX),
    ("sse_order", "600036,20240102093000000,7,6.62,100,B,A,,2,10", NO_INDEX),  # fields first
    (
        "sse_order",
        "600036,20240102093000000,7,-1,100,B,A,1,2,10",
        ("symbol_mismatch", "SecurityID", "600036"),
    ),
    ("szse_tick", "5,0,3,0.000,100,4,20240102093000000,2011", None),  # cancel of order 3
    ("szse_tick", "5,2,3,0,100,F,20240102093000000,2011", ("invalid_cn_tick", "Price", "0")),
    (
        "szse_tick",
        "5,0,3,-0.01,100,4,20240102093000000,2011",
        ("invalid_cn_tick", "Price", "-0.01"),
    ),
    ("szse_tick", "5,0,3,0,0,4,20240102093000000,2011", ("invalid_cn_tick", "Qty", "0")),
    (
        "sse_tick",
        "600000,20240102093000000,6.62,100,662,,,1,2,,10",
        None,
    ),  # refs and flag may be empty
    (
        "sse_tick",
        "600000,20240102093000000,6.62,0,0,1,2,1,2,B,10",
        ("invalid_cn_tick", "TradeQty", "0"),
    ),
]


@pytest.mark.parametrize(("stream", "row", "expected"), RULE_CASES)
def test_row_rules(
    tmp_path: Path, stream: str, row: str, expected: tuple[str, str, str | None] | None
) -> None:
    folder, code, header = STREAMS[stream]
    lake = Lake(tmp_path)
    path = cn_bronze_path(lake.bronze_root, folder, code)
    path.parent.mkdir(parents=True)
    path.write_bytes(gzip.compress(f"{header}\n{row}\n".encode(), mtime=0))
    [result] = ingest_all(lake, [path])
    assert result.status in ("success", "quarantined"), result
    log = [(r["rule_name"], r["field_name"], r["field_value"]) for r in log_rows(lake)]
    assert log == ([] if expected is None else [expected])


def test_sse_tick_vocabularies(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    path = cn_bronze_path(lake.bronze_root, "tick_new_STK_SH_20240102", "600000")
    path.parent.mkdir(parents=True)
    rows = [
        f"600000,20240102093000000,6.62,100,662,1,2,{i},2,{flag},{10 + i}"
        for i, flag in enumerate(["B", "S", "N", "", "X"], start=1)
    ]
    path.write_bytes(gzip.compress("\n".join([SSE_TICK_HEADER, *rows, ""]).encode(), mtime=0))
    ingest_all(lake, [path])
    got = [r["aggressor_side"] for r in silver_rows(lake, "cn_tick_events", "sse")]
    assert got == ["BUY", "SELL", "UNKNOWN", None, "UNKNOWN"]


def test_l2_without_its_optional_columns(tmp_path: Path) -> None:
    """SendingTime, ImageStatus and TradingPhaseCode may be absent: null, not a failure."""
    lake = Lake(tmp_path)
    path = cn_bronze_path(lake.bronze_root, "L2_new_STK_SZ_20240102", "000001")
    path.parent.mkdir(parents=True)
    with open(CN_CASES / "L2_new_STK_SZ_20240102/000001.csv", encoding="utf-8", newline="") as f:
        source = list(csv.DictReader(f))
    keep = ["MsgSeqNum", "QuotTime", "BidPrice", "BidOrderQty", "OfferPrice", "OfferOrderQty"]
    text = ",".join(keep) + "\n"
    text += "".join(",".join(f'"{r[k]}"' for k in keep) + "\n" for r in source[:2])
    path.write_bytes(gzip.compress(text.encode(), mtime=0))
    [result] = ingest_all(lake, [path])
    assert (result.status, result.rows_written) == ("success", 2)
    rows = silver_rows(lake, "cn_l2_snapshots", "szse")
    assert [(r["ts_local_us"], r["image_status"], r["trading_phase_code"]) for r in rows] == [
        (None, None, None)
    ] * 2


TEN = "[9.390,9.380,9.370,9.360,0.000,0.000,0.000,0.000,0.000,0.000]"


@pytest.mark.parametrize(
    ("bid_price", "expected"),
    [
        (TEN, None),
        (" [ 9.39 , 9.38,9.37,9.36,0,0,0,0,0,0 ] ", None),  # blanks around items
        ("[9.390,9.380,9.370,9.360,0.000,0.000,0.000,0.000,0.000,0.000,0.000]", "invalid_cn_l2"),
        ("[9.390,-9.380,9.370,9.360,0.000,0.000,0.000,0.000,0.000,0.000]", "invalid_cn_l2"),
        ("[9.390,abc,9.370,9.360,0.000,0.000,0.000,0.000,0.000,0.000]", "unparseable_value"),
        ("[9.390,,9.370,9.360,0.000,0.000,0.000,0.000,0.000,0.000]", "unparseable_value"),
        ("9.390,9.380", "unparseable_value"),  # no brackets
        ("[]", "invalid_cn_l2"),
        ("", "missing_field"),
    ],
)
def test_l2_level_lists(tmp_path: Path, bid_price: str, expected: str | None) -> None:
    lake = Lake(tmp_path)
    path = cn_bronze_path(lake.bronze_root, "L2_new_STK_SZ_20240102", "000001")
    path.parent.mkdir(parents=True)
    header = "QuotTime,MsgSeqNum,BidPrice,BidOrderQty,OfferPrice,OfferOrderQty"
    row = f'20240102091500000,1,"{bid_price}","{TEN}","{TEN}","{TEN}"'
    path.write_bytes(gzip.compress(f"{header}\n{row}\n".encode(), mtime=0))
    ingest_all(lake, [path])
    log = [(r["rule_name"], r["field_name"], r["field_value"]) for r in log_rows(lake)]
    value = bid_price or None
    assert log == ([] if expected is None else [(expected, "BidPrice", value)])
    if expected is None:
        [snap] = silver_rows(lake, "cn_l2_snapshots", "szse")
        assert [plain(p) for p in snap["bid_price_levels"]] == [
            "9.39", "9.38", "9.37", "9.36", "0", "0", "0", "0", "0", "0"
        ]  # fmt: skip


def test_tushare_symbols_cover_the_sample_day(tmp_path: Path) -> None:
    """A dim_symbol from Tushare stock_basic alone covers both sample symbols: every row
    lands, joined to the window that opens at the listing's Shanghai midnight."""
    from pointline import dim_symbol
    from pointline.vendors.tushare import read_stock_basic

    lake = Lake(tmp_path)
    found = read_stock_basic(CN_CASES.parent / "tushare" / "stock_basic.csv")
    store = lake.dim_symbol_store()
    version, dim = store.load()
    merged = dim_symbol.merge_windows(dim, found.windows, exchanges=sorted(found.exchanges))
    store.save(merged, expected_version=version)
    results = [
        ingest_file(BronzeFileMetadata.from_path(p, bronze_root=lake.bronze_root), lake=lake)
        for p in cn_bronze(lake.bronze_root)
    ]
    assert [(r.status, r.rows_quarantined) for r in results] == [("success", 0)] * 5
    szse = silver_rows(lake, "cn_order_events", "szse")
    # 000001 listed 1991-04-03: Shanghai midnight, +8 h (1991's DST began on 14 April).
    assert {r["symbol_id"] for r in szse} == {
        dim_symbol.symbol_id("szse", "000001", 670608000000000)
    }


def test_imported_archives_ingest_to_the_same_bytes_in_any_order(tmp_path: Path) -> None:
    """Archives -> Bronze -> Silver: byte-identical whatever the ingest order and block
    size, verify clean (issue 14: the imported CN day is deterministic)."""
    pytest.importorskip("py7zr")
    from pointline.archives import import_archives
    from pointline.vendors.quant360_archives import describe_archive

    archives = sorted((CN_CASES / "archives").glob("*.7z"))
    lakes = []
    for name, order, block in (("one", 1, 1 << 20), ("two", -1, 4096)):
        lake = Lake(tmp_path / name)
        lake.create()
        results = import_archives(lake, archives[::order], describe=describe_archive)
        assert {r.status for r in results} == {"success"}
        bootstrap_dim_symbol(lake)
        paths = sorted(lake.bronze_root.rglob("*.csv.gz"))[::order]
        for path in paths:
            meta = BronzeFileMetadata.from_path(path, bronze_root=lake.bronze_root)
            assert ingest_file(meta, lake=lake, block_size=block).status == "success"
        assert verify(lake) == []
        lakes.append(lake)
    assert silver_digests(lakes[0]) == silver_digests(lakes[1])
    assert len(silver_digests(lakes[0])) == 5


def test_a_generated_day_is_deterministic_and_verifies(tmp_path: Path) -> None:
    from pointline.testing.quant360 import write_bronze_day

    lakes = []
    for name, order in (("one", 1), ("two", -1)):
        lake = Lake(tmp_path / name)
        paths = write_bronze_day(lake.root, exchange="szse", symbols=4, orders=(200, 400))
        paths += write_bronze_day(lake.root, exchange="sse", symbols=3, orders=(200, 400))
        results = ingest_all(lake, paths[::order])
        assert {(r.status, r.rows_quarantined) for r in results} == {("success", 0)}
        assert verify(lake) == []
        lakes.append(lake)
    assert silver_digests(lakes[0]) == silver_digests(lakes[1])


def test_read_takes_the_exchange_in_any_case_and_refuses_an_empty_window(
    sample_lake: Lake,
) -> None:
    from pointline.errors import SchemaError
    from pointline.reader import read

    rows = read(sample_lake, "cn_order_events", exchange=" SZSE", symbols=["000001"])
    assert rows.read_all().num_rows == 32
    with pytest.raises(SchemaError, match="must be before end"):
        read(sample_lake, "cn_order_events", start="2024-01-03", end="2024-01-02")


def test_a_renamed_archive_publishes_nothing_and_fails(tmp_path: Path) -> None:
    """A copy renamed to another day holds its original folder: every member is ignored,
    so the archive fails bad_path (a success would make every later run skip it)."""
    pytest.importorskip("py7zr")
    from pointline.archives import import_archives
    from pointline.vendors.quant360_archives import describe_archive

    renamed = tmp_path / "tick_new_STK_SZ_20240103.7z"
    shutil.copyfile(CN_CASES / "archives" / "tick_new_STK_SZ_20240102.7z", renamed)
    lake = Lake(tmp_path / "lake")
    lake.create()
    [result] = import_archives(lake, [renamed], describe=describe_archive)
    assert (result.status, result.reason, result.published, result.ignored) == (
        "failed",
        "bad_path",
        0,
        1,
    )
    assert not list(lake.bronze_root.rglob("*.csv.gz"))
