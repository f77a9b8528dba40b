"""Tests of the parse operator: Tardis CSV (plain or gzip) to string batches with file_seq."""

from __future__ import annotations

import csv
import gzip
import hashlib
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from operators.columns import FILE_SEQ, RAW_LINE, raw
from operators.parse import MALFORMED_ROW, ParseError, parse_csv, parse_schema
from pointline.chain import FLAG_COLUMN, FLAG_FIELD, Chain, Source
from pointline.testing import assert_tables_equal, collect
from pointline.testing.tardis import write_tardis_file
from pointline.vendors.tardis import HEADERS

SAMPLE_TYPES = {
    "deribit_incremental_book_L2_BTC-PERPETUAL.csv": ("incremental_book_L2", 15),
    "bitmex_trades_XBTUSD.csv": ("trades", 10),
    "huobi-dm-swap_quotes_BTC-USD.csv": ("quotes", 10),
    "binance-futures_book_snapshot_5_BTCUSDT.csv": ("book_snapshot_5", 10),
    "binance-futures_book_snapshot_25_BTCUSDT.csv": ("book_snapshot_25", 10),
    "options_chain.csv": ("options_chain", 7),
    "derivative_ticker_1.csv": ("derivative_ticker", 2),
    "deltas_with_snapshot.csv": ("incremental_book_L2", 9),
}

TRADES = ",".join(HEADERS["trades"])


def parse_tardis(path: str | Path, data_type: str, **kwargs: Any) -> Source:
    return parse_csv(path, HEADERS[data_type], **kwargs)


def run(path: Path, data_type: str = "trades", **kwargs: Any) -> pa.Table:
    source = parse_tardis(path, data_type, **kwargs)
    return collect(Chain([source]).run())


def write(tmp_path: Path, text: str | bytes, name: str = "f.csv") -> Path:
    path = tmp_path / name
    data = text.encode() if isinstance(text, str) else text
    if name.endswith(".gz"):
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


def raw_rows(table: pa.Table, data_type: str = "trades") -> list[list[str | None]]:
    return [[row[raw(h)] for h in HEADERS[data_type]] for row in table.to_pylist()]


def expected_rows(path: Path, data_type: str) -> list[list[str | None]]:
    """The sample's rows by Python's csv module, reordered to the HEADERS order."""
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    return [[row[h] or None for h in HEADERS[data_type]] for row in rows]


# -- schema ------------------------------------------------------------------------------


def test_schema() -> None:
    schema = parse_schema(HEADERS["quotes"])
    assert schema.names == [*(raw(h) for h in HEADERS["quotes"]), FILE_SEQ, RAW_LINE, FLAG_COLUMN]
    assert all(schema.field(raw(h)).type == pa.string() for h in HEADERS["quotes"])
    assert schema.field(FILE_SEQ).type == pa.int64()
    assert not schema.field(FILE_SEQ).nullable
    assert schema.field(RAW_LINE).type == pa.string()
    assert schema.field(FLAG_COLUMN).equals(FLAG_FIELD)
    assert parse_tardis("nowhere.csv", "quotes").schema.equals(schema)


# -- golden: the real samples ------------------------------------------------------------


@pytest.mark.parametrize("file_name", sorted(SAMPLE_TYPES))
def test_real_samples(file_name: str, tmp_path: Path, tardis_samples: Path) -> None:
    data_type, rows = SAMPLE_TYPES[file_name]
    path = tardis_samples / file_name
    table = run(path, data_type)
    assert table.schema.equals(parse_schema(HEADERS[data_type]))
    assert table.num_rows == rows
    assert table[FILE_SEQ].to_pylist() == list(range(1, rows + 1))
    assert table[RAW_LINE].null_count == rows
    assert table[FLAG_COLUMN].null_count == rows
    assert raw_rows(table, data_type) == expected_rows(path, data_type)
    # the same bytes gzipped (under a name without .gz) give the same table
    zipped = tmp_path / "sample.csv"
    zipped.write_bytes(gzip.compress(path.read_bytes()))
    assert_tables_equal(run(zipped, data_type), table)


def test_real_sample_values_exact(tardis_samples: Path) -> None:
    trades = run(tardis_samples / "bitmex_trades_XBTUSD.csv", "trades")
    assert raw_rows(trades)[0] == [
        "bitmex", "XBTUSD", "1583020803145000", "1583020803307160",
        "ccc3c1fa-212c-e8b0-1706-9b9c4f3d5ecf", "sell", "8531.5", "2152",
    ]  # fmt: skip
    assert raw_rows(trades)[-1] == [
        "bitmex", "XBTUSD", "1583020803276000", "1583020803336743",
        "7cae8d7b-b69d-025b-cc3c-84b911f37a8a", "sell", "8531.5", "1",
    ]  # fmt: skip
    ticker = run(
        tardis_samples / "derivative_ticker_1.csv", "derivative_ticker"
    )  # no final newline
    assert ticker.to_pylist()[-1][raw("mark_price")] == "9500.75"
    assert ticker.to_pylist()[0][raw("index_price")] == "9500.0"  # text kept as written
    book = run(
        tardis_samples / "deribit_incremental_book_L2_BTC-PERPETUAL.csv", "incremental_book_L2"
    )
    first, last = book.to_pylist()[0], book.to_pylist()[-1]
    assert (first[raw("is_snapshot")], first[raw("side")], first[raw("price")]) == (
        "true",
        "ask",
        "6421.5",
    )
    assert last[FILE_SEQ] == 15
    options = run(tardis_samples / "options_chain.csv", "options_chain")
    assert options[raw("bid_price")].null_count > 0  # empty fields are null


# -- block-size invariance on a generated file -------------------------------------------


def test_generated_file_block_size_invariance(tmp_path: Path) -> None:
    path = write_tardis_file(tmp_path / "l2.csv.gz", "incremental_book_L2", rows=20_000, seed=3)
    plain = write_tardis_file(tmp_path / "l2.csv", "incremental_book_L2", rows=20_000, seed=3)
    sizes = [(1 << 10, 1), (1 << 10, 5_000), (1 << 16, 1), (1 << 16, 7_000), (1 << 20, 65_536)]
    tables = [
        run(path, "incremental_book_L2", block_size=size, batch_rows=rows) for size, rows in sizes
    ]
    small = tables[0]
    assert small.num_rows == 20_000
    assert small[FILE_SEQ].to_pylist() == list(range(1, 20_001))
    assert len(small.to_batches()) > 100  # really streamed in many batches
    joined = [b.num_rows for b in tables[1].to_batches()]
    assert len(joined) == 4  # 1 KiB blocks joined until >= 5,000 rows
    assert all(n >= 5_000 for n in joined[:-1])
    for other in tables[1:]:
        assert_tables_equal(other.combine_chunks(), small.combine_chunks())
    assert_tables_equal(run(plain, "incremental_book_L2").combine_chunks(), small.combine_chunks())
    with plain.open() as f:
        lines = f.read().splitlines()
    assert ",".join(v or "" for v in raw_rows(small, "incremental_book_L2")[-1]) == lines[-1]


def test_runs_twice(tmp_path: Path) -> None:
    path = write_tardis_file(tmp_path / "t.csv", "trades", rows=50)
    chain = Chain([parse_tardis(path, "trades")])
    assert_tables_equal(collect(chain.run()), collect(chain.run()))


# -- header handling -----------------------------------------------------------------------


def test_missing_column_names_file_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "exchange,symbol,timestamp,local_timestamp,id,side,amount\n")
    with pytest.raises(ParseError, match=r"f\.csv: is missing column\(s\) price") as info:
        run(path, display_path="bronze/f.csv")
    assert info.value.file == "bronze/f.csv"
    with pytest.raises(ParseError, match=r"missing column\(s\) side, price"):
        run(write(tmp_path, "exchange,symbol,timestamp,local_timestamp,id,amount\n1,2,3,4,5,6\n"))


def test_repeated_column(tmp_path: Path) -> None:
    path = write(tmp_path, TRADES + ",price\n")
    with pytest.raises(ParseError, match=r"column\(s\) \['price'\] more than once"):
        run(path)


def test_reordered_and_extra_columns(tmp_path: Path) -> None:
    text = (
        "price,amount,extra,side,id,local_timestamp,timestamp,symbol,exchange\n"
        "1.5,2,junk,buy,7,20,10,BTC,ex\n"
    )
    table = run(write(tmp_path, text))
    assert raw_rows(table) == [["ex", "BTC", "10", "20", "7", "buy", "1.5", "2"]]
    assert table.schema.equals(parse_schema(HEADERS["trades"]))


def test_bom_and_crlf(tmp_path: Path) -> None:
    text = (
        "\ufeff" + TRADES + "\r\nex,BTC,1,2,3,buy,4,5\r\nex,BTC,1,2,3\r\nex,BTC,6,7,8,sell,9,10\r\n"
    )
    table = run(write(tmp_path, text))
    assert raw_rows(table) == [
        ["ex", "BTC", "1", "2", "3", "buy", "4", "5"],
        [None] * 8,
        ["ex", "BTC", "6", "7", "8", "sell", "9", "10"],
    ]
    assert table[RAW_LINE].to_pylist() == [None, "ex,BTC,1,2,3", None]
    assert table[FILE_SEQ].to_pylist() == [1, 2, 3]


# -- cells ---------------------------------------------------------------------------------


def test_empty_cells_are_null_and_other_text_is_kept(tmp_path: Path) -> None:
    text = TRADES + '\nex,BTC,1,2,,"",NA,null\nex,BTC,1,2,nan,N/A," ",-\n'
    table = run(write(tmp_path, text))
    assert raw_rows(table) == [
        ["ex", "BTC", "1", "2", None, None, "NA", "null"],
        ["ex", "BTC", "1", "2", "nan", "N/A", " ", "-"],
    ]


def test_quoted_field_with_comma(tmp_path: Path) -> None:
    table = run(write(tmp_path, TRADES + '\nex,"BTC,USD",1,2,"a ""b""",buy,3,4\n'))
    assert raw_rows(table) == [["ex", "BTC,USD", "1", "2", 'a "b"', "buy", "3", "4"]]


# -- malformed rows ------------------------------------------------------------------------


def test_malformed_rows_are_flagged_in_place(tmp_path: Path) -> None:
    text = (
        TRADES + "\n"
        "ex,A,1,1,1,buy,1,1\n"
        "ex,B,2,2\n"  # too few
        "ex,C,3,3,3,buy,3,3\n"
        "\n"  # blank: not a data row
        "ex,D,4,4,4,buy,4,4,extra\n"  # too many
        "ex,E,5,5,5,buy,5,5\n"
        "only-one-field\n"  # last row
    )
    table = run(write(tmp_path, text))
    assert table[FILE_SEQ].to_pylist() == [1, 2, 3, 4, 5, 6]
    assert table[raw("symbol")].to_pylist() == ["A", None, "C", None, "E", None]
    assert table[RAW_LINE].to_pylist() == [
        None,
        "ex,B,2,2",
        None,
        "ex,D,4,4,4,buy,4,4,extra",
        None,
        "only-one-field",
    ]
    flag = f"parse.{MALFORMED_ROW}"
    assert table[FLAG_COLUMN].to_pylist() == [None, flag, None, flag, None, flag]
    assert raw_rows(table)[4] == ["ex", "E", "5", "5", "5", "buy", "5", "5"]
    renamed = run(write(tmp_path, text), name="read")
    assert renamed[FLAG_COLUMN].to_pylist()[1] == f"read.{MALFORMED_ROW}"


@pytest.mark.parametrize("block_size", [64, 1 << 10, 1 << 20])
def test_malformed_rows_any_block_size(tmp_path: Path, block_size: int) -> None:
    lines = [TRADES]
    bad: dict[int, str] = {}
    for seq in range(1, 2_001):
        if seq % 37 in (0, 1, 2) or seq > 1_990:  # runs of bad rows, also at the very end
            bad[seq] = f"ex,S{seq},{seq}"
            lines.append(bad[seq])
        else:
            lines.append(f"ex,S{seq},{seq},{seq},{seq},buy,{seq},{seq}")
        if seq % 101 == 0:
            lines.append("")
    table = run(write(tmp_path, "\n".join(lines) + "\n", "m.csv.gz"), block_size=block_size)
    assert table[FILE_SEQ].to_pylist() == list(range(1, 2_001))
    symbols = table[raw("symbol")].to_pylist()
    raw_lines = table[RAW_LINE].to_pylist()
    flags = table[FLAG_COLUMN].to_pylist()
    for seq in range(1, 2_001):
        i = seq - 1
        if seq in bad:
            assert (symbols[i], raw_lines[i], flags[i]) == (
                None,
                bad[seq],
                "parse.unparseable_value",
            )
        else:
            assert (symbols[i], raw_lines[i], flags[i]) == (f"S{seq}", None, None)


def test_file_of_only_malformed_rows(tmp_path: Path) -> None:
    table = run(write(tmp_path, TRADES + "\na,b\nc\n"), block_size=16)
    assert table[FILE_SEQ].to_pylist() == [1, 2]
    assert table[RAW_LINE].to_pylist() == ["a,b", "c"]


# -- empty files ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("zero.csv", b""),
        ("empty.csv.gz", b""),
        ("header.csv", (TRADES + "\n").encode()),
        ("header-no-newline.csv", TRADES.encode()),
        ("header.csv.gz", (TRADES + "\r\n").encode()),
        ("blank-lines.csv", (TRADES + "\n\n\n").encode()),
    ],
)
def test_no_rows(tmp_path: Path, name: str, text: bytes) -> None:
    table = run(write(tmp_path, text, name))
    assert table.num_rows == 0
    assert table.schema.equals(parse_schema(HEADERS["trades"]))


def test_header_only_still_checks_columns(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="missing column"):
        run(write(tmp_path, "exchange,symbol\n"))


# -- file-level failures -------------------------------------------------------------------


def test_not_gzip_but_named_gz(tmp_path: Path) -> None:
    path = tmp_path / "plain.csv.gz"
    path.write_text(TRADES + "\nex,BTC,1,2,3,buy,4,5\n")
    assert run(path).num_rows == 1


def test_truncated_gzip(tmp_path: Path) -> None:
    path = write_tardis_file(tmp_path / "t.csv.gz", "trades", rows=20_000)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ParseError, match=r"bronze/t\.csv\.gz: is not a valid gzip file") as info:
        run(path, display_path="bronze/t.csv.gz", block_size=1 << 12)
    assert "ended before the end-of-stream marker" in str(info.value)
    assert isinstance(info.value.__cause__, EOFError)
    assert info.value.step == "parse"


def test_every_member_of_a_multi_member_gzip_is_read(tmp_path: Path) -> None:
    # gzip files may be concatenated (RFC 1952 members); pyarrow's zlib reader and the
    # gzip module read them all, and so must the ISA-L inflater.
    path = tmp_path / "two.csv.gz"
    rows = [f"ex,BTC,{i},{i},{i},buy,4,5" for i in range(3)]
    path.write_bytes(
        gzip.compress(f"{TRADES}\n{rows[0]}\n".encode())
        + gzip.compress(f"{rows[1]}\n{rows[2]}\n".encode())
    )
    table = run(path)
    assert table["raw:timestamp"].to_pylist() == ["0", "1", "2"]
    assert table["file_seq"].to_pylist() == [1, 2, 3]


def test_tiny_truncated_gzip(tmp_path: Path) -> None:
    path = tmp_path / "x.csv.gz"
    path.write_bytes(gzip.compress((TRADES + "\n").encode())[:15])
    with pytest.raises(ParseError, match=r"x\.csv\.gz: is not a valid gzip file"):
        run(path)


def test_corrupt_gzip(tmp_path: Path) -> None:
    path = write_tardis_file(tmp_path / "c.csv.gz", "trades", rows=20_000)
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(64)
    path.write_bytes(bytes(data))
    with pytest.raises(ParseError, match=r"c\.csv\.gz: is not a valid gzip file"):
        run(path)


def test_non_utf8_names_row_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, TRADES.encode() + b"\nex,BTC,1,2,3,buy,4,5\n\nex,BTC,1,2,3,\xff,4,5\n")
    with pytest.raises(ParseError, match="is not valid UTF-8") as info:
        run(path)
    assert (info.value.file, info.value.row, info.value.field) == (str(path), 2, "side")


def test_non_utf8_header(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="header that is not UTF-8"):
        run(write(tmp_path, b"\xffexchange," + TRADES.encode() + b"\n"))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="cannot be opened"):
        run(tmp_path / "absent.csv")


def test_bad_block_size() -> None:
    with pytest.raises(ValueError, match="block_size"):
        parse_tardis("x.csv", "trades", block_size=0)


def test_long_header_small_blocks(tardis_samples: Path) -> None:
    path = tardis_samples / "binance-futures_book_snapshot_25_BTCUSDT.csv"  # header ~2.5 KB
    table = run(path, "book_snapshot_25", block_size=1 << 12)
    assert table.num_rows == 10
    assert_tables_equal(table, run(path, "book_snapshot_25"))


def test_row_longer_than_block_size(tmp_path: Path) -> None:
    path = write(tmp_path, TRADES + "\nex,BTC,1,2,3,buy,4,5\nex," + "x" * 500 + ",1,2,3,buy,4,5\n")
    with pytest.raises(ParseError, match=r"longer than block_size=64 bytes"):
        run(path, block_size=64)


def test_a_gzip_read_closes_every_file_it_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The inflater wraps the raw file; closing it must close the file too (as pyarrow's
    # own gzip stream does), not leave the descriptor to garbage collection.
    path = write_tardis_file(tmp_path / "t.csv.gz", "trades", rows=20_000)
    opened: list[pa.NativeFile] = []
    real = pa.OSFile

    def recording(*args: Any, **kwargs: Any) -> pa.NativeFile:
        opened.append(real(*args, **kwargs))
        return opened[-1]

    monkeypatch.setattr(pa, "OSFile", recording)
    source = parse_tardis(path, "trades", block_size=1 << 14)
    assert Chain([source]).run().read_all().num_rows == 20_000
    assert opened
    assert all(f.closed for f in opened)
    assert source.position is not None
    assert source.position() == path.stat().st_size


# -- what was read is what was hashed ---------------------------------------------------------


@pytest.mark.parametrize("form", ["plain", "gzip", "two gzip members"])
def test_a_whole_run_reports_the_sha256_of_every_byte_it_read(tmp_path: Path, form: str) -> None:
    head = f"{TRADES}\n" + "".join(f"ex,BTC,{i},{i},{i},buy,4,5\n" for i in range(3000))
    tail = "".join(f"ex,ETH,{i},{i},{i},sell,4,5\n" for i in range(3000))
    data = {
        "plain": (head + tail).encode(),
        "gzip": gzip.compress((head + tail).encode()),
        "two gzip members": gzip.compress(head.encode()) + gzip.compress(tail.encode()),
    }[form]
    path = tmp_path / ("f.csv" if form == "plain" else "f.csv.gz")
    path.write_bytes(data)
    source = parse_tardis(path, "trades", block_size=4096, batch_rows=100)
    assert source.sha256 is not None
    assert source.sha256() is None  # nothing read yet
    reader = Chain([source]).run()
    first = reader.read_next_batch()
    assert first.num_rows >= 100
    assert source.sha256() is None  # part of the file read: no digest
    rest = reader.read_all()
    assert first.num_rows + rest.num_rows == 6000
    assert source.sha256() == hashlib.sha256(data).hexdigest()


def test_a_file_with_no_rows_has_no_read_digest(tmp_path: Path) -> None:
    """Its header is read apart; ingest hashes such a file again instead."""
    source = parse_tardis(write(tmp_path, TRADES + "\n"), "trades")
    assert collect(Chain([source]).run()).num_rows == 0
    assert source.sha256 is not None
    assert source.sha256() is None
