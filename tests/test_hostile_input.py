"""Hostile Bronze input (issue 5, item 4): every case has a documented outcome and loses
nothing.

Each case asserts its outcome (a quarantined row with its ``rule_name`` and field, or a
``failed`` file whose ``error_message`` names the file and, where it applies, the row and
field) and the accounting invariant (docs/contracts.md section 7): the file's ``file_seq`` values
in Silver and in ``silver/validation_log`` are disjoint and together exactly
``1..rows_total``; a failed file has no rows of its ``file_id`` anywhere.
"""

from __future__ import annotations

import datetime
import gzip
import io
import os
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from operators.normalize import normalize
from operators.parse import BLOCK_SIZE, ParseError, parse_csv
from pointline import dim_symbol
from pointline.bronze import BronzeError, BronzeFileMetadata
from pointline.chain import Chain, Map, RowFlags
from pointline.cli import main
from pointline.ingest import IngestionResult, ingest_file
from pointline.lake import Lake
from pointline.vendors.tardis import FORMATS, HEADERS

T0 = 1_727_568_000_000_000  # 2024-09-29T00:00:00Z
TRADES = ",".join(HEADERS["trades"])
PARTITIONING = ds.partitioning(
    pa.schema([("exchange", pa.string()), ("trading_date", pa.date32())]), flavor="hive"
)


def row(n: int = 1, *, price: str = "100.5", amount: str = "1", side: str = "buy") -> str:
    return f"binance,BTCUSDT,{T0 + n},{T0 + n + 1},{n},{side},{price},{amount}"


def trades_text(*lines: str, header: str = TRADES, end: str = "\n") -> str:
    return end.join([header, *lines]) + end


# ------------------------------------------------------------------------------ helpers


def write_bronze(
    lake: Lake,
    data: str | bytes,
    *,
    exchange: str = "binance",
    data_type: str = "trades",
    date: str = "2024-09-29",
    symbol: str = "BTCUSDT",
    name: str = "file.csv",
    gz: bool = False,
) -> Path:
    """Write a Bronze file under the Tardis path convention; returns its path."""
    path = (
        lake.bronze_root
        / "tardis"
        / f"exchange={exchange}"
        / f"type={data_type}"
        / f"date={date}"
        / f"symbol={symbol}"
        / name
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode() if isinstance(data, str) else data
    path.write_bytes(gzip.compress(raw, mtime=0) if gz else raw)
    return path


def new_lake(tmp_path: Path, *keys: tuple[str, str]) -> Lake:
    lake = Lake(tmp_path)
    keys = keys or (("binance", "BTCUSDT"),)
    dim = dim_symbol.from_first_seen(
        pa.table(
            {
                "exchange": [k[0] for k in keys],
                "exchange_symbol": [k[1] for k in keys],
                "first_ts_us": pa.array([0] * len(keys), pa.int64()),
            }
        ),
        now_ts_us=1,
    )
    store = lake.dim_symbol_store()
    store.save(dim, expected_version=store.latest_version())
    return lake


def _dataset_table(directory: Path, **kwargs: Any) -> pa.Table | None:
    if not directory.is_dir():
        return None
    dataset = ds.dataset(directory, format="parquet", **kwargs)
    return dataset.to_table() if dataset.files else None


def validation_log(lake: Lake) -> pa.Table | None:
    return _dataset_table(lake.validation_dir)


def _seqs(table: pa.Table | None, file_id: int) -> list[int]:
    if table is None:
        return []
    mine = table.filter(pc.equal(table["file_id"], pa.scalar(file_id, pa.int64())))
    return [int(v) for v in mine["file_seq"].to_pylist()]


def assert_accounting(lake: Lake, result: IngestionResult) -> None:
    """Silver (every table) and the validation log hold the file's rows exactly once;
    a failed file has none anywhere."""
    in_silver: list[int] = []
    if lake.silver_root.is_dir():
        for table_dir in sorted(lake.silver_root.iterdir()):
            if table_dir.is_dir() and table_dir.name != "validation_log":
                table = _dataset_table(table_dir, partitioning=PARTITIONING)
                in_silver += _seqs(table, result.file_id)
    in_log = _seqs(validation_log(lake), result.file_id)
    total = result.rows_total if result.status in ("success", "quarantined") else 0
    assert len(set(in_silver)) == len(in_silver), "duplicate file_seq in Silver"
    assert len(set(in_log)) == len(in_log), "duplicate file_seq in the validation log"
    assert not set(in_silver) & set(in_log), "a row is both in Silver and quarantined"
    assert sorted(in_silver + in_log) == list(range(1, total + 1))
    if result.status in ("success", "quarantined"):
        assert result.rows_total == result.rows_written + result.rows_quarantined
    entry = lake.manifest().get(result.file_id)
    assert entry is not None
    assert entry.status == result.status


def ingest(lake: Lake, path: Path, **kwargs: Any) -> IngestionResult:
    meta = BronzeFileMetadata.from_path(path, bronze_root=lake.bronze_root)
    result = ingest_file(meta, lake=lake, **kwargs)
    assert_accounting(lake, result)
    return result


def quarantined(lake: Lake, result: IngestionResult) -> dict[int, tuple[str, str | None]]:
    """file_seq -> (rule_name, field_name) of the file's quarantined rows."""
    log = validation_log(lake)
    if log is None:
        return {}
    mine = log.filter(pc.equal(log["file_id"], pa.scalar(result.file_id, pa.int64())))
    return {r["file_seq"]: (r["rule_name"], r["field_name"]) for r in mine.to_pylist()}


def assert_failed(result: IngestionResult, reason: str, *fragments: str) -> str:
    assert result.status == "failed"
    assert result.status_reason == reason
    message = result.error_message or ""
    assert result.bronze_path in message, message  # names the file
    for fragment in fragments:
        assert fragment in message, message
    return message


def gzip_of(text: str) -> bytes:
    return gzip.compress(text.encode(), mtime=0)


MANY = [row(i) for i in range(1, 2001)]


# ------------------------------------------------------------------------ gzip framing


def test_truncated_gzip_fails_the_file(tmp_path: Path) -> None:
    lake = new_lake(tmp_path)
    data = gzip_of(trades_text(*MANY))
    result = ingest(lake, write_bronze(lake, data[: len(data) // 2], name="t.csv.gz"))
    assert_failed(result, "unreadable_file", "not a valid gzip file")


def test_gzip_crc_error_in_the_trailer_fails_the_file(tmp_path: Path) -> None:
    lake = new_lake(tmp_path)
    data = bytearray(gzip_of(trades_text(*MANY)))
    data[-8] ^= 0xFF  # the CRC-32 of the trailer
    result = ingest(lake, write_bronze(lake, bytes(data), name="t.csv.gz"))
    assert_failed(result, "unreadable_file", "not a valid gzip file")


def test_gzip_corrupt_compressed_data_fails_the_file(tmp_path: Path) -> None:
    lake = new_lake(tmp_path)
    data = bytearray(gzip_of(trades_text(*MANY)))
    data[len(data) // 2] ^= 0xFF  # inside the deflate stream
    result = ingest(lake, write_bronze(lake, bytes(data), name="t.csv.gz"))
    assert_failed(result, "unreadable_file", "not a valid gzip file")


def test_gz_name_on_plain_text_is_read_as_plain(tmp_path: Path) -> None:
    lake = new_lake(tmp_path)
    result = ingest(lake, write_bronze(lake, trades_text(row(1), row(2)), name="plain.csv.gz"))
    assert (result.status, result.rows_total, result.rows_written) == ("success", 2, 2)


def test_zero_byte_file_is_success_with_no_rows(tmp_path: Path) -> None:
    lake = new_lake(tmp_path)
    result = ingest(lake, write_bronze(lake, b""))
    assert (result.status, result.rows_total) == ("success", 0)


def test_empty_gzip_is_success_with_no_rows(tmp_path: Path) -> None:
    lake = new_lake(tmp_path)
    result = ingest(lake, write_bronze(lake, b"", gz=True, name="e.csv.gz"))
    assert (result.status, result.rows_total) == ("success", 0)


def test_header_only_is_success_with_no_rows(tmp_path: Path) -> None:
    lake = new_lake(tmp_path)
    for name, gz in (("h.csv", False), ("h.csv.gz", True), ("h-no-newline.csv", False)):
        text = TRADES if "no-newline" in name else TRADES + "\n"
        result = ingest(lake, write_bronze(lake, text, name=name, gz=gz))
        assert (result.status, result.rows_total) == ("success", 0), name


# ------------------------------------------------------------------ text encoding, layout


def test_utf8_bom_is_stripped(tmp_path: Path) -> None:
    lake = new_lake(tmp_path)
    data = b"\xef\xbb\xbf" + trades_text(row(1), row(2)).encode()
    result = ingest(lake, write_bronze(lake, data, gz=True, name="bom.csv.gz"))
    assert (result.status, result.rows_total, result.rows_written) == ("success", 2, 2)


def test_crlf_line_ends(tmp_path: Path) -> None:
    lake = new_lake(tmp_path)
    text = trades_text(row(1), row(2, amount="-1"), row(3), end="\r\n")
    result = ingest(lake, write_bronze(lake, text))
    assert (result.status, result.rows_total, result.rows_written) == ("success", 3, 2)
    assert quarantined(lake, result) == {2: ("invalid_trade", "amount")}
    trades = _dataset_table(lake.table_dir("trades"), partitioning=PARTITIONING)
    assert trades is not None
    assert trades["qty"].to_pylist() == [Decimal(1), Decimal(1)]  # no "\r" left


def test_quoted_fields_with_commas(tmp_path: Path) -> None:
    lake = new_lake(tmp_path)
    text = trades_text(
        f'binance,BTCUSDT,{T0},{T0},"id,with,commas",buy,"100.5","1"',
        f'binance,BTCUSDT,{T0},{T0},"say ""hi""",sell,100,2',
    )
    result = ingest(lake, write_bronze(lake, text))
    assert (result.status, result.rows_total, result.rows_written) == ("success", 2, 2)
    trades = _dataset_table(lake.table_dir("trades"), partitioning=PARTITIONING)
    assert trades is not None
    assert sorted(trades["trade_id"].to_pylist()) == ["id,with,commas", 'say "hi"']


def test_extra_unknown_columns_are_ignored(tmp_path: Path) -> None:
    lake = new_lake(tmp_path)
    header = "junk," + TRADES + ",more_junk"
    text = trades_text(f"x,{row(1)},y", f"x,{row(2)},", header=header)
    result = ingest(lake, write_bronze(lake, text))
    assert (result.status, result.rows_total, result.rows_written) == ("success", 2, 2)


def test_reordered_columns_are_matched_by_name(tmp_path: Path) -> None:
    lake = new_lake(tmp_path)
    header = "amount,price,side,id,local_timestamp,timestamp,symbol,exchange"
    text = trades_text(f"2,100.5,sell,7,{T0 + 1},{T0},BTCUSDT,binance", header=header)
    result = ingest(lake, write_bronze(lake, text))
    assert (result.status, result.rows_written) == ("success", 1)
    trades = _dataset_table(lake.table_dir("trades"), partitioning=PARTITIONING)
    assert trades is not None
    got = trades.select(["price", "qty", "side", "ts_event_us", "trade_id"]).to_pylist()
    assert got == [
        {
            "price": Decimal("100.5"),
            "qty": Decimal(2),
            "side": "sell",
            "ts_event_us": T0,
            "trade_id": "7",
        }
    ]


def test_missing_required_column_fails_the_file(tmp_path: Path) -> None:
    lake = new_lake(tmp_path)
    header = TRADES.replace(",price", "")
    text = trades_text(f"binance,BTCUSDT,{T0},{T0},1,buy,1", header=header)
    result = ingest(lake, write_bronze(lake, text))
    assert_failed(result, "missing_columns", "missing column(s) price")


def test_second_header_mid_file_is_quarantined(tmp_path: Path) -> None:
    lake = new_lake(tmp_path)
    result = ingest(lake, write_bronze(lake, trades_text(row(1), TRADES, row(3))))
    assert (result.status, result.rows_total, result.rows_written) == ("success", 3, 2)
    # the first field that fails to parse is the first numeric one: "timestamp"
    assert quarantined(lake, result) == {2: ("unparseable_value", "timestamp")}


# ----------------------------------------------------------------------- field values


def test_nanosecond_timestamps_are_out_of_range(tmp_path: Path) -> None:
    lake = new_lake(tmp_path)
    ns = T0 * 1000
    lines = [
        f"binance,BTCUSDT,{ns},{T0},1,buy,1,1",
        f"binance,BTCUSDT,{T0},{ns},2,buy,1,1",
        f"binance,BTCUSDT,,{ns},3,buy,1,1",
        row(4),
    ]
    result = ingest(lake, write_bronze(lake, trades_text(*lines)))
    assert (result.status, result.rows_total, result.rows_written) == ("success", 4, 1)
    assert quarantined(lake, result) == {
        1: ("timestamp_out_of_range", "timestamp"),
        2: ("timestamp_out_of_range", "local_timestamp"),
        3: ("timestamp_out_of_range", "local_timestamp"),
    }


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("NaN", "unparseable_value"),
        ("nan", "unparseable_value"),
        ("inf", "unparseable_value"),
        ("-Infinity", "unparseable_value"),
        ("1e400", "value_out_of_range"),
        ("123456789012345678901234567890", "value_out_of_range"),
        ("0x10", "unparseable_value"),
        ("1,5", "unparseable_value"),  # quoted below, so one field
    ],
)
@pytest.mark.parametrize("column", ["price", "amount"])
def test_non_finite_and_huge_numbers_are_quarantined(
    tmp_path: Path, value: str, rule: str, column: str
) -> None:
    lake = new_lake(tmp_path)
    cell = f'"{value}"'
    bad = row(2, **{column: cell})
    result = ingest(lake, write_bronze(lake, trades_text(row(1), bad, row(3))))
    assert (result.status, result.rows_total, result.rows_written) == ("success", 3, 2)
    assert quarantined(lake, result) == {2: (rule, column)}


def test_huge_timestamp_is_out_of_range(tmp_path: Path) -> None:
    lake = new_lake(tmp_path)
    lines = [
        f"binance,BTCUSDT,123456789012345678901234567890,{T0},1,buy,1,1",
        f"binance,BTCUSDT,NaN,{T0},2,buy,1,1",
        f"binance,BTCUSDT,1e15,{T0},3,buy,1,1",
    ]
    result = ingest(lake, write_bronze(lake, trades_text(*lines)))
    assert (result.status, result.rows_total, result.rows_quarantined) == ("quarantined", 3, 3)
    assert quarantined(lake, result) == {
        1: ("value_out_of_range", "timestamp"),
        2: ("unparseable_value", "timestamp"),
        3: ("unparseable_value", "timestamp"),
    }


def test_zero_and_negative_prices_are_kept_and_sizes_must_be_positive(tmp_path: Path) -> None:
    """Spreads and combos trade at zero or below (Tardis okex-spreads); a trade of no
    size, or a negative one, is impossible for any instrument."""
    lake = new_lake(tmp_path)
    lines = [
        row(1, price="-1"),
        row(2, price="0"),
        row(3, price="-0.0"),
        row(4, amount="0"),
        row(5, amount="-2"),
        row(6),
    ]
    result = ingest(lake, write_bronze(lake, trades_text(*lines)))
    assert (result.status, result.rows_total, result.rows_written) == ("success", 6, 4)
    assert quarantined(lake, result) == dict.fromkeys((4, 5), ("invalid_trade", "amount"))
    trades = _dataset_table(lake.table_dir("trades"), partitioning=PARTITIONING)
    assert trades is not None
    prices = dict(zip(trades["file_seq"].to_pylist(), trades["price"].to_pylist(), strict=True))
    assert prices == {1: Decimal(-1), 2: Decimal(0), 3: Decimal(0), 6: Decimal("100.5")}


@pytest.mark.parametrize(("bad", "block_size"), [(3, 1 << 20), (4_999, 4_096)])
def test_non_utf8_bytes_fail_the_file_naming_the_row(
    tmp_path: Path, bad: int, block_size: int
) -> None:
    lake = new_lake(tmp_path)
    lines = [row(i).encode() for i in range(1, 5_001)]
    lines[bad - 1] = lines[bad - 1].replace(b"BTCUSDT", b"BTC\xff\xfe")
    data = TRADES.encode() + b"\n" + b"\n".join(lines) + b"\n"
    result = ingest(lake, write_bronze(lake, data), block_size=block_size)
    assert_failed(result, "unreadable_file", "UTF-8", f"row {bad}", "field 'symbol'")


def test_non_utf8_header_fails_the_file(tmp_path: Path) -> None:
    lake = new_lake(tmp_path)
    data = b"exchange\xff," + TRADES.encode() + b"\n" + row(1).encode() + b"\n"
    result = ingest(lake, write_bronze(lake, data))
    assert_failed(result, "unreadable_file", "header", "UTF-8")


def test_a_10mb_line_fails_with_a_block_size_hint(tmp_path: Path) -> None:
    lake = new_lake(tmp_path)
    huge = row(2).replace(",2,buy,", "," + "x" * (10 << 20) + ",buy,")
    data = gzip_of(trades_text(row(1), huge, row(3)))
    result = ingest(lake, write_bronze(lake, data, name="big.csv.gz"))
    assert_failed(
        result, "unreadable_file", "a row after data row", f"block_size={BLOCK_SIZE}", "raise it"
    )


def test_a_10mb_line_is_quarantined_with_a_large_block_size(tmp_path: Path) -> None:
    lake = new_lake(tmp_path)
    huge = row(2, price="x" * (10 << 20))
    data = gzip_of(trades_text(row(1), huge, row(3)))
    result = ingest(lake, write_bronze(lake, data, name="big.csv.gz"), block_size=32 << 20)
    assert (result.status, result.rows_total, result.rows_written) == ("success", 3, 2)
    assert quarantined(lake, result) == {2: ("unparseable_value", "price")}


# ------------------------------------------------------------------ exchanges, symbols


@pytest.mark.parametrize("exchange", ["mexc-futures", "aster-futures"])
def test_an_exchange_tardis_adds_tomorrow_ingests_today_in_utc(
    tmp_path: Path, exchange: str
) -> None:
    """Observed: ids Tardis lists today failed as unknown_exchange."""
    lake = new_lake(tmp_path, (exchange, "BTC_USDT"))
    late = T0 + 86_400_000_000 - 1  # 23:59:59.999999 UTC: still 2024-09-29
    text = trades_text(f"{exchange},BTC_USDT,{late},{late},1,buy,1,1")
    result = ingest(lake, write_bronze(lake, text, exchange=exchange, symbol="BTC_USDT"))
    assert (result.status, result.rows_written) == ("success", 1)
    assert (result.trading_date_min, result.trading_date_max) == (
        datetime.date(2024, 9, 29),
        datetime.date(2024, 9, 29),
    )
    stored = lake.exchange_store().registrations()[exchange]
    assert (stored.exchange.timezone, stored.source) == ("UTC", "vendor_default")
    out = io.StringIO()
    assert main(["--root", str(lake.root), "read", "trades", "--exchange", exchange], out=out) == 0
    assert len(out.getvalue().splitlines()) == 2  # header + the row, in a fresh Lake


def test_unicode_symbols_ingest_when_dim_symbol_has_them(tmp_path: Path) -> None:
    lake = new_lake(tmp_path, ("binance", "币安币USDT"), ("binance", "ÉTH-PERP"))
    lines = [
        f"binance,币安币USDT,{T0},{T0},1,buy,1,1",
        f"binance,ÉTH-PERP,{T0},{T0},2,sell,2,1",
        f"binance,ÉTH-PERP ,{T0},{T0},3,sell,2,1",  # trimmed
        f"binance,ETH-PERP,{T0},{T0},4,sell,2,1",  # not the same symbol
    ]
    path = write_bronze(lake, trades_text(*lines), symbol="币安币USDT")
    result = ingest(lake, path)
    assert (result.status, result.rows_total, result.rows_written) == ("success", 4, 3)
    assert quarantined(lake, result) == {4: ("missing_pit_symbol_coverage", "symbol")}
    trades = _dataset_table(lake.table_dir("trades"), partitioning=PARTITIONING)
    assert trades is not None
    assert sorted(trades["symbol"].to_pylist()) == ["ÉTH-PERP", "ÉTH-PERP", "币安币USDT"]


# -------------------------------------------------------------- a file changing on disk


def test_file_rewritten_after_metadata_fails_the_file(tmp_path: Path) -> None:
    lake = new_lake(tmp_path)
    path = write_bronze(lake, trades_text(row(1), row(2)))
    meta = BronzeFileMetadata.from_path(path, bronze_root=lake.bronze_root)
    path.write_text(trades_text(row(1), row(2), row(3)))
    result = ingest_file(meta, lake=lake)
    assert_accounting(lake, result)
    assert_failed(result, "bronze_changed", "changed on disk")


def test_file_rewritten_during_ingest_fails_the_file(tmp_path: Path) -> None:
    lake = new_lake(tmp_path)
    path = write_bronze(lake, trades_text(row(1), row(2)))
    meta = BronzeFileMetadata.from_path(path, bronze_root=lake.bronze_root)

    def rewrite(batch: pa.RecordBatch, flags: RowFlags) -> dict[str, Any]:
        path.write_text(trades_text(row(1), row(2), row(3)))
        return {}

    step = Map(name="rewrite", requires={}, produces=[], fn=rewrite, flags=True)
    result = ingest_file(meta, lake=lake, extra_steps=[step])
    assert_accounting(lake, result)
    assert_failed(result, "bronze_changed", "changed on disk")


def test_same_size_rewrite_with_mtime_restored_is_detected(tmp_path: Path) -> None:
    lake = new_lake(tmp_path)
    path = write_bronze(lake, trades_text(row(1, price="100.5"), row(2)))
    meta = BronzeFileMetadata.from_path(path, bronze_root=lake.bronze_root)
    stat = path.stat()
    path.write_text(trades_text(row(1, price="999.5"), row(2)))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size
    result = ingest_file(meta, lake=lake)
    assert_accounting(lake, result)
    assert (result.status, result.status_reason) == ("failed", "bronze_changed")
    assert "SHA-256" in (result.error_message or "")


# ---------------------------------------------------------------- paths outside the root


def test_path_outside_the_bronze_root_is_refused(tmp_path: Path) -> None:
    lake = new_lake(tmp_path / "lake")
    outside = tmp_path / "elsewhere" / "tardis" / "exchange=binance" / "type=trades" / "x.csv"
    outside.parent.mkdir(parents=True)
    outside.write_text(trades_text(row(1)))
    for shown in (outside, lake.bronze_root / ".." / ".." / "elsewhere" / outside.name):
        with pytest.raises(BronzeError, match="outside the bronze root") as info:
            BronzeFileMetadata.from_path(shown, bronze_root=lake.bronze_root)
        assert str(shown) in str(info.value)


def test_symlink_escaping_the_bronze_root_is_refused(tmp_path: Path) -> None:
    lake = new_lake(tmp_path / "lake")
    secret = tmp_path / "secret.csv"
    secret.write_text(trades_text(row(1)))
    link = write_bronze(lake, "", name="link.csv")
    link.unlink()
    link.symlink_to(secret)
    with pytest.raises(BronzeError, match="outside the bronze root") as info:
        BronzeFileMetadata.from_path(link, bronze_root=lake.bronze_root)
    assert str(link) in str(info.value)
    # a symlinked directory escaping the root is refused the same way
    outside_dir = tmp_path / "outside_dir"
    outside_dir.mkdir()
    (outside_dir / "f.csv").write_text(trades_text(row(1)))
    dir_link = lake.bronze_root / "tardis" / "exchange=binance" / "type=trades" / "date=x"
    dir_link.symlink_to(outside_dir, target_is_directory=True)
    with pytest.raises(BronzeError, match="outside the bronze root"):
        BronzeFileMetadata.from_path(dir_link / "f.csv", bronze_root=lake.bronze_root)


# -------------------------------------------------------------------------- fuzzing

_GOOD_CELLS = [
    "binance",
    "BTCUSDT",
    str(T0),
    str(T0 + 1),
    "buy",
    "sell",
    "100.5",
    "1",
    "0",
    "-1",
    "1e5",
]
_GARBAGE = st.text(
    alphabet=st.characters(blacklist_characters='\r\n",', blacklist_categories=("Cs",)),
    max_size=12,
)
_QUOTED = st.text(
    alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)),
    max_size=12,
).map(lambda s: '"' + s.replace('"', '""') + '"')
_CELL = st.one_of(
    st.sampled_from(_GOOD_CELLS),
    st.sampled_from(["", "NaN", "inf", "1e400", "9" * 30, " 1 ", "0x10", "é", "-"]),
    _GARBAGE,
    _QUOTED,
)
_FIELDS = len(HEADERS["trades"])
_VALID_ROW = st.builds(
    lambda n, side, price, amount: row(n, side=side, price=price, amount=amount).split(","),
    st.integers(0, 10**9),
    st.sampled_from(["buy", "sell", "unknown", " BUY "]),
    st.sampled_from(["100.5", "0.00000001", '"1"', "27341.52"]),
    st.sampled_from(["1", "0.5", "1e-3"]),
)
_ONE_BAD_CELL = st.builds(
    lambda cells, i, cell: [*cells[:i], cell, *cells[i + 1 :]],
    _VALID_ROW,
    st.integers(0, _FIELDS - 1),
    _CELL,
)
_ROW = st.one_of(
    _VALID_ROW,
    _ONE_BAD_CELL,
    st.lists(_CELL, min_size=_FIELDS, max_size=_FIELDS),
    st.lists(_CELL, min_size=1, max_size=_FIELDS + 3),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(_ROW, max_size=25),
    crlf=st.booleans(),
    bom=st.booleans(),
    block_size=st.sampled_from([64, 4096, 1 << 20]),
)
def test_fuzzed_csv_through_parse_and_normalize(
    rows: list[list[str]], crlf: bool, bom: bool, block_size: int
) -> None:
    lines = [",".join(cells) for cells in rows]
    lines = [line for line in lines if line]  # an empty line is blank: not a data row
    end = "\r\n" if crlf else "\n"
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "fuzz.csv"
        text = ("\ufeff" if bom else "") + trades_text(*lines, end=end)
        path.write_text(text, encoding="utf-8", newline="")
        chain = Chain(
            [
                parse_csv(path, HEADERS["trades"], block_size=block_size),
                normalize(FORMATS["trades"]),
            ]
        )
        failure: ParseError | None = None
        try:
            table = chain.run().read_all()
        except ParseError as exc:  # the documented file-level failure; nothing else
            failure = exc
    if failure is not None:
        assert "fuzz.csv" in str(failure)
        return
    assert table["file_seq"].to_pylist() == list(range(1, len(lines) + 1))
