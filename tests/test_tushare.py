"""Tushare ``stock_basic`` -> dim_symbol (docs/cn.md section 6) and ``dim-symbol
import-tushare``.

The sample is ``tests/cases/tushare/stock_basic.csv``, a copy of the shared
``../shared/data/quant360-samples/tushare_stock_basic.csv`` (a test checks they are still
equal when the shared folder is there). The expected values are those that folder's README
lists in its "Tushare" paragraph, written here as literals; the times are also recomputed
independently with ``zoneinfo`` and ``datetime`` (never with Pointline's code).
"""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest
from conftest import shared_data

from pointline.cli import main
from pointline.dim_symbol import (
    DIM_SCHEMA,
    DimSymbolError,
    bootstrap,
    merge_windows,
    symbol_id,
    validate,
)
from pointline.vendors.tushare import (
    REQUIRED_COLUMNS,
    TushareSymbols,
    read_stock_basic,
    shanghai_midnight_us,
)

CASES = Path(__file__).resolve().parent / "cases" / "tushare"
SAMPLE = CASES / "stock_basic.csv"
HEADER = "ts_code,symbol,name,area,industry,market,exchange,list_status,list_date,delist_date"
OPEN = 2**63 - 1
NOW = 1_700_000_000_000_000
SHANGHAI = ZoneInfo("Asia/Shanghai")
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

# The README's values, as literals.
FROM_000001 = 670608000000000  # 19910403 -> 1991-04-02T16:00Z (+8 h: DST began 14 April)
FROM_P_ROW = 679503600000000  # 19910715 -> 1991-07-14T15:00Z (+9 h: DST)
UNTIL_D_ROW = 1686758400000000  # 20230615 -> 2023-06-14T16:00Z


def midnight(text: str) -> int:
    """``YYYYMMDD`` 00:00 in Asia/Shanghai, us since the epoch, by zoneinfo alone."""
    local = dt.datetime.strptime(text, "%Y%m%d").replace(tzinfo=SHANGHAI)
    return (local - EPOCH) // dt.timedelta(microseconds=1)


# The sample's kept rows: exchange, code, name, market, list_date, delist_date (D rows).
KEPT: list[tuple[str, str, str, str, str, str | None]] = [
    ("szse", "000001", "平安银行", "主板", "19910403", None),
    ("szse", "000002", "万科A", "主板", "19910129", None),
    ("szse", "300750", "宁德时代", "创业板", "20180611", None),
    ("sse", "600000", "浦发银行", "主板", "19991110", None),
    ("sse", "600519", "贵州茅台", "主板", "20010827", None),
    ("sse", "688981", "中芯国际", "科创板", "20200716", None),
    ("sse", "688111", "金山办公", "科创板", "20191118", None),
    ("sse", "600099", "示例退市", "主板", "19960701", "20230615"),
    ("szse", "000687", "示例暂停", "主板", "19910715", None),
    ("sse", "900901", "示例沪B", "主板", "19920326", None),
    ("szse", "200011", "示例深B", "主板", "19930510", None),
]
# quote, tick, lot, min_qty: CNY 0.01 100 100 but for these (the README's list).
TERMS = ("CNY", "0.01", "100", "100")
SPECIAL_TERMS = {
    "900901": ("USD", "0.001", "1000", "1000"),
    "200011": ("HKD", "0.01", "100", "100"),
    "688981": ("CNY", "0.01", "1", "200"),
    "688111": ("CNY", "0.01", "1", "200"),
}


def expected_rows() -> list[dict[str, Any]]:
    """The dim_symbol rows the sample must give, sorted like dim_symbol."""
    out = []
    for exchange, code, name, market, listed, delisted in KEPT:
        start = midnight(listed)
        quote, tick, lot, min_qty = SPECIAL_TERMS.get(code, TERMS)
        values = {
            "symbol_id": symbol_id(exchange, code, start),
            "exchange": exchange,
            "exchange_symbol": code,
            "canonical_symbol": f"{code}.{'SZ' if exchange == 'szse' else 'SH'}",
            "market_type": "stock",
            "base_asset": name,
            "quote_asset": quote,
            "valid_from_ts_us": start,
            "valid_until_ts_us": OPEN if delisted is None else midnight(delisted),
            "is_current": delisted is None,
            "tick_size": Decimal(tick),
            "lot_size": Decimal(lot),
            "contract_size": None,
            "expiry_ts_us": None,
            "board": market,
            "min_qty": Decimal(min_qty),
            "is_inverse": None,
            "updated_at_ts_us": NOW,
        }
        out.append({column: values[column] for column in DIM_SCHEMA.names})
    return sorted(out, key=lambda r: (r["exchange"], r["exchange_symbol"], r["valid_from_ts_us"]))


def by_code(result: TushareSymbols) -> dict[str, dict[str, Any]]:
    return {str(r["exchange_symbol"]): r for r in result.windows.to_pylist()}


def write(tmp_path: Path, *rows: str, header: str = HEADER, name: str = "basic.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def row(
    code: str = "600000",
    *,
    exchange: str = "SSE",
    status: str = "L",
    listed: str = "19991110",
    delisted: str = "",
    name: str = "浦发银行",
    market: str = "主板",
    ts_code: str | None = None,
) -> str:
    """One CSV line of a stock_basic export."""
    suffix = {"SSE": "SH", "SZSE": "SZ"}.get(exchange, "BJ")
    ts = f"{code}.{suffix}" if ts_code is None else ts_code
    return f"{ts},{code},{name},上海,银行,{market},{exchange},{status},{listed},{delisted}"


# --------------------------------------------------------------------------- the sample


@pytest.fixture(scope="module")
def sample() -> TushareSymbols:
    return read_stock_basic(SAMPLE, now_ts_us=NOW)


def test_the_sample_gives_exactly_the_expected_rows(sample: TushareSymbols) -> None:
    assert sample.windows.schema == DIM_SCHEMA
    assert sample.windows.to_pylist() == expected_rows()
    validate(sample.windows)


def test_the_readme_values(sample: TushareSymbols) -> None:
    rows = by_code(sample)
    assert rows["000001"]["valid_from_ts_us"] == FROM_000001 == midnight("19910403")
    assert rows["000687"]["valid_from_ts_us"] == FROM_P_ROW == midnight("19910715")
    assert (rows["000687"]["valid_until_ts_us"], rows["000687"]["is_current"]) == (OPEN, True)
    assert rows["600099"]["valid_until_ts_us"] == UNTIL_D_ROW == midnight("20230615")
    assert rows["600099"]["is_current"] is False
    assert {r["market_type"] for r in rows.values()} == {"stock"}
    for code, r in rows.items():
        quote, tick, lot, min_qty = SPECIAL_TERMS.get(code, TERMS)
        assert (r["quote_asset"], r["tick_size"], r["lot_size"], r["min_qty"]) == (
            quote,
            Decimal(tick),
            Decimal(lot),
            Decimal(min_qty),
        ), code
        assert r["contract_size"] is r["expiry_ts_us"] is r["is_inverse"] is None
    assert rows["300750"]["board"] == "创业板"
    assert rows["688111"]["board"] == "科创板"
    assert rows["000001"]["board"] == "主板"


def test_the_bse_row_is_dropped_and_counted(sample: TushareSymbols) -> None:
    assert (sample.rows, sample.kept) == (12, 11)
    assert sample.dropped == {"unsupported_exchange": 1, "unusable_listing": 0}
    assert sample.exchanges == frozenset({"sse", "szse"})
    assert "430047" not in by_code(sample)
    assert sample.notes == ()


def test_symbol_id_is_the_contract_formula(sample: TushareSymbols) -> None:
    assert by_code(sample)["000001"]["symbol_id"] == symbol_id("szse", "000001", 670608000000000)


def test_sizes_are_exact_decimals(sample: TushareSymbols) -> None:
    assert sample.windows.schema.field("tick_size").type == pa.decimal128(38, 18)
    assert by_code(sample)["900901"]["tick_size"] == Decimal("0.001")


def test_the_copy_equals_the_shared_sample() -> None:
    shared = shared_data("quant360-samples") / "tushare_stock_basic.csv"
    assert SAMPLE.read_bytes() == shared.read_bytes()
    assert read_stock_basic(shared, now_ts_us=NOW).windows.equals(
        read_stock_basic(SAMPLE, now_ts_us=NOW).windows
    )


def test_updated_at_is_the_clock_by_default() -> None:
    before = dt.datetime.now(dt.UTC)
    result = read_stock_basic(SAMPLE)
    stamp = set(result.windows["updated_at_ts_us"].to_pylist())
    assert len(stamp) == 1
    assert stamp.pop() >= (before - EPOCH) // dt.timedelta(microseconds=1)


# --------------------------------------------------------------------------- times


def test_shanghai_midnight_matches_zoneinfo_on_every_day_1986_to_2030() -> None:
    day, last = dt.date(1986, 1, 1), dt.date(2030, 12, 31)
    while day <= last:
        text = day.strftime("%Y%m%d")
        assert shanghai_midnight_us(text) == midnight(text), text
        day += dt.timedelta(days=1)


@pytest.mark.parametrize(
    ("text", "hours"),
    [("19910403", 8), ("19910415", 9), ("19910715", 9), ("19910916", 8), ("19860505", 9)],
)
def test_china_daylight_saving_is_not_a_fixed_8_hours(text: str, hours: int) -> None:
    utc_midnight = (dt.datetime.strptime(text, "%Y%m%d").replace(tzinfo=dt.UTC) - EPOCH) // (
        dt.timedelta(microseconds=1)
    )
    assert shanghai_midnight_us(text) == utc_midnight - hours * 3_600_000_000


@pytest.mark.parametrize(
    "text", ["", "1991-04-03", "19910230", "00000101", "1991040", "\u0662\u0660\u0662\u06600101"]
)
def test_what_is_not_a_date(text: str) -> None:
    assert shanghai_midnight_us(text) is None


# --------------------------------------------------------------------------- rules


@pytest.mark.parametrize(
    ("line", "why"),
    [
        (row(status="G"), "list_status 'G' is not L, P or D"),
        (row(status=""), "list_status '' is not L, P or D"),
        (row(listed=""), "list_date '' is not a YYYYMMDD date"),
        (row(listed="1999-11-10"), "list_date '1999-11-10' is not a YYYYMMDD date"),
        (row(listed="19991131"), "list_date '19991131' is not a YYYYMMDD date"),
        (row(status="P", listed=""), "list_date '' is not a YYYYMMDD date"),
        (row(status="D"), "status D with delist_date '', not a YYYYMMDD date"),
        (row(status="D", delisted="20230615.0"), "status D with delist_date '20230615.0'"),
        (row(status="D", delisted="19991110"), "delist_date 19991110 is not after list_date"),
        (row(status="D", delisted="19991109"), "delist_date 19991109 is not after list_date"),
    ],
)
def test_unusable_listings_are_dropped_with_a_note(tmp_path: Path, line: str, why: str) -> None:
    path = write(tmp_path, line, row("600519", listed="20010827"))
    result = read_stock_basic(path, now_ts_us=NOW)
    assert (result.rows, result.kept) == (2, 1)
    assert result.dropped == {"unsupported_exchange": 0, "unusable_listing": 1}
    assert list(by_code(result)) == ["600519"]
    (note,) = result.notes
    assert note.startswith(f"{path}: line 2 (600000.SH): {why}")
    assert note.endswith("dropped (unusable_listing)")


def test_an_unsupported_exchange_drops_before_any_other_check(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        row("430047", exchange="BSE", market="北交所", status="G", listed=""),
        row("830799", exchange="", market=""),
        row("600000", exchange="sse"),  # case matters: the export writes SSE
        row("000001", exchange="SZSE", listed="19910403"),
    )
    result = read_stock_basic(path, now_ts_us=NOW)
    assert result.dropped == {"unsupported_exchange": 3, "unusable_listing": 0}
    assert (result.rows, result.kept, result.exchanges) == (4, 1, frozenset({"szse"}))


def test_cdr_star_and_fallbacks(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        row("689009", market="CDR", name="九号公司", listed="20201029"),  # STAR by code, CDR
        row("600001", market="科创板"),  # STAR by market text alone
        row("000003", exchange="SZSE", market="CDR"),  # a CDR on SZSE: not STAR
        row("600002", name="", market=""),  # no name, no market
        row("200012", exchange="SZSE", market="主板"),  # SZSE B: lot and tick as A-shares
        row("900902", market="主板", status="P"),
    )
    rows = by_code(read_stock_basic(path, now_ts_us=NOW))

    def terms(code: str) -> tuple[Any, ...]:
        r = rows[code]
        return r["market_type"], r["quote_asset"], r["tick_size"], r["lot_size"], r["min_qty"]

    d = Decimal
    assert terms("689009") == ("cdr", "CNY", d("0.01"), d("1"), d("200"))
    assert terms("600001") == ("stock", "CNY", d("0.01"), d("1"), d("200"))
    assert terms("000003") == ("cdr", "CNY", d("0.01"), d("100"), d("100"))
    assert terms("200012") == ("stock", "HKD", d("0.01"), d("100"), d("100"))
    assert terms("900902") == ("stock", "USD", d("0.001"), d("1000"), d("1000"))
    assert rows["689009"]["board"] == "CDR"
    assert (rows["600002"]["base_asset"], rows["600002"]["board"]) == ("600002", None)


def test_a_bom_other_column_orders_and_extra_columns_are_fine(tmp_path: Path) -> None:
    text = (
        "\ufeffexchange,list_date,symbol,ts_code,curr_type,name,market,list_status,delist_date\n"
        "SZSE,19910403,000001,000001.SZ,CNY,平安银行,主板,L,\n"
    )
    path = tmp_path / "bom.csv"
    path.write_bytes(text.encode("utf-8"))
    result = read_stock_basic(path, now_ts_us=NOW)
    assert result.windows.to_pylist() == [
        r for r in expected_rows() if r["exchange_symbol"] == "000001"
    ]


def test_crlf_line_ends_and_quoted_values(tmp_path: Path) -> None:
    path = tmp_path / "crlf.csv"
    path.write_bytes(
        (
            HEADER + '\r\n"600000.SH","600000","浦发,银行",上海,银行,主板,SSE,L,19991110,\r\n'
        ).encode()
    )
    (r,) = read_stock_basic(path, now_ts_us=NOW).windows.to_pylist()
    assert (r["base_asset"], r["valid_from_ts_us"]) == ("浦发,银行", midnight("19991110"))


def test_a_relisted_code_keeps_both_windows(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        row("600001", status="D", listed="19980101", delisted="20050101"),
        row("600001", status="L", listed="20050101"),
    )
    windows = read_stock_basic(path, now_ts_us=NOW).windows.to_pylist()
    assert [(w["valid_from_ts_us"], w["valid_until_ts_us"]) for w in windows] == [
        (midnight("19980101"), midnight("20050101")),
        (midnight("20050101"), OPEN),
    ]


# --------------------------------------------------------------------------- errors


def test_a_missing_required_column_names_the_file_and_every_missing_column(
    tmp_path: Path,
) -> None:
    for column in REQUIRED_COLUMNS:
        names = [n for n in HEADER.split(",") if n != column]
        path = tmp_path / f"no_{column}.csv"
        path.write_text(",".join(names) + "\n", encoding="utf-8")
        with pytest.raises(
            DimSymbolError, match=rf"missing required columns \['{column}'\]"
        ) as err:
            read_stock_basic(path)
        assert err.value.file == str(path)
        assert str(err.value).startswith(f"{path}: ")
    path = write(tmp_path, header="ts_code,symbol,name")
    with pytest.raises(DimSymbolError) as err:
        read_stock_basic(path)
    assert "['market', 'exchange', 'list_status', 'list_date', 'delist_date']" in str(err.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file: expected a header"),
        (HEADER.encode() + b"\n" + row().encode("gbk") + b"\n", "not UTF-8 text"),
        (HEADER.encode() + b"\n600000.SH,600000\n", "line 2 has 2 values, the header 10"),
        (f"{HEADER}\n{row()}\n{HEADER}\n".encode(), "line 3 repeats the header"),
        (f"{HEADER},name\n".encode(), "the header repeats columns ['name']"),
        (f'{HEADER}\n"600000.SH,600000\n'.encode(), "not a readable CSV"),
        (f"{HEADER}\n{row('1', ts_code='000001.SZ')}\n".encode(), "symbol '1' is not a 6-digit"),
        (f"{HEADER}\n{row(ts_code='')}\n".encode(), "line 2 (symbol 600000): ts_code is empty"),
        (
            f"{HEADER}\n{row()}\n{row(status='P', listed='20000101')}\n".encode(),
            "lines 2 and 3 list sse 600000 with overlapping windows",
        ),
    ],
)
def test_unreadable_files_are_errors_naming_the_file(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(DimSymbolError) as err:
        read_stock_basic(path)
    assert err.value.file == str(path)
    assert message in str(err.value)


def test_a_missing_path_or_a_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DimSymbolError, match="no such file") as err:
        read_stock_basic(tmp_path / "nope.csv")
    assert err.value.file == str(tmp_path / "nope.csv")
    with pytest.raises(DimSymbolError, match="is a folder"):
        read_stock_basic(tmp_path)


# --------------------------------------------------------------------------- the exchange scope


def other_venue() -> pa.Table:
    """One binance window, already in dim_symbol."""
    snap = pa.table({"exchange": ["binance"], "exchange_symbol": ["BTCUSDT"], "tick_size": ["0.1"]})
    return bootstrap(snap, 0, now_ts_us=1)


def without(code: str) -> str:
    """The sample's text without the row of ``code``."""
    lines = SAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)
    return "".join(line for line in lines if f",{code}," not in line)


def test_a_later_file_without_a_listing_removes_it_within_its_exchange_only(
    tmp_path: Path,
) -> None:
    first = read_stock_basic(SAMPLE, now_ts_us=NOW)
    dim = merge_windows(
        other_venue(), first.windows, exchanges=sorted(first.exchanges), now_ts_us=NOW
    )
    later = tmp_path / "later.csv"
    later.write_text(without("600519"), encoding="utf-8")
    second = read_stock_basic(later, now_ts_us=NOW + 1)
    merged = merge_windows(
        dim, second.windows, exchanges=sorted(second.exchanges), now_ts_us=NOW + 1
    )
    before = {(r["exchange"], r["exchange_symbol"]): r for r in dim.to_pylist()}
    after = {(r["exchange"], r["exchange_symbol"]): r for r in merged.to_pylist()}
    assert set(before) - set(after) == {("sse", "600519")}
    assert set(after) <= set(before)
    for key, r in after.items():
        assert r == before[key], key  # same windows, ids and updated_at: nothing else moved


def test_a_file_of_one_exchange_leaves_the_other_untouched(tmp_path: Path) -> None:
    first = read_stock_basic(SAMPLE, now_ts_us=NOW)
    dim = merge_windows(
        other_venue(), first.windows, exchanges=sorted(first.exchanges), now_ts_us=NOW
    )
    szse_only = write(
        tmp_path, row("000001", exchange="SZSE", listed="19910403", status="D", delisted="20240101")
    )
    second = read_stock_basic(szse_only, now_ts_us=NOW + 1)
    assert second.exchanges == frozenset({"szse"})
    merged = merge_windows(
        dim, second.windows, exchanges=sorted(second.exchanges), now_ts_us=NOW + 1
    )
    rows = merged.to_pylist()
    assert [r for r in rows if r["exchange"] != "szse"] == [
        r for r in dim.to_pylist() if r["exchange"] != "szse"
    ]
    (szse,) = [r for r in rows if r["exchange"] == "szse"]
    assert (szse["exchange_symbol"], szse["valid_until_ts_us"], szse["is_current"]) == (
        "000001",
        midnight("20240101"),
        False,
    )
    assert szse["symbol_id"] == symbol_id("szse", "000001", FROM_000001)  # same start, same id


# --------------------------------------------------------------------------- the command


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def shown(root: str) -> list[dict[str, Any]]:
    code, text = run("--root", root, "dim-symbol", "show", "--json")
    assert code == 0
    return [json.loads(line) for line in text.splitlines()]


def test_cli_summary_counts_and_rerun(tmp_path: Path) -> None:
    root = str(tmp_path / "lake")
    code, text = run("--root", root, "dim-symbol", "import-tushare", str(SAMPLE))
    assert (code, text) == (
        0,
        f"read 12 rows of Tushare stock_basic {SAMPLE}: 11 kept, dropped: unsupported_exchange 1\n"
        "synced sse, szse as 11 windows: dim_symbol version 1 (11 windows); 11 symbols changed, "
        "11 with new windows\n",
    )
    stored = {(r["exchange"], r["exchange_symbol"]): r for r in shown(root)}
    assert stored[("szse", "000001")]["valid_from_ts_us"] == FROM_000001
    assert stored[("szse", "000001")]["symbol_id"] == symbol_id("szse", "000001", FROM_000001)
    assert stored[("sse", "900901")]["tick_size"] == "0.001"
    code, text = run("--root", root, "dim-symbol", "import-tushare", str(SAMPLE))
    assert (code, text.splitlines()[-1]) == (
        0,
        "synced sse, szse as 11 windows: dim_symbol unchanged (version 1)",
    )


def test_cli_json_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = str(tmp_path / "lake")
    path = tmp_path / "g.csv"
    path.write_text(
        SAMPLE.read_text(encoding="utf-8") + row("600003", status="G", listed="") + "\n",
        encoding="utf-8",
    )
    code, text = run("--root", root, "dim-symbol", "import-tushare", str(path), "--json")
    assert code == 0
    (obj,) = [json.loads(line) for line in text.splitlines()]
    assert obj == {
        "file": str(path),
        "rows": 13,
        "kept": 11,
        "dropped": {"unsupported_exchange": 1, "unusable_listing": 1},
        "notes": [
            f"{path}: line 14 (600003.SH): list_status 'G' is not L, P or D: "
            "dropped (unusable_listing)"
        ],
        "exchanges": ["sse", "szse"],
        "windows_imported": 11,
        "dim_symbol_version_before": 0,
        "dim_symbol_version": 1,
        "dim_symbol_windows": 11,
        "symbols_changed": 11,
        "symbols_with_new_windows": 11,
        "stale_files": 0,
    }
    assert capsys.readouterr().err == ""


def test_cli_text_prints_notes_and_every_drop_reason(tmp_path: Path) -> None:
    root = str(tmp_path / "lake")
    path = write(
        tmp_path, row(status="G"), row("430047", exchange="BSE"), row("600519", listed="20010827")
    )
    code, text = run("--root", root, "dim-symbol", "import-tushare", str(path))
    assert code == 0
    assert text.splitlines()[:2] == [
        f"note: {path}: line 2 (600000.SH): list_status 'G' is not L, P or D: "
        "dropped (unusable_listing)",
        f"read 3 rows of Tushare stock_basic {path}: 1 kept, dropped: unsupported_exchange 1, "
        "unusable_listing 1",
    ]


def test_cli_a_later_file_removes_a_listing_within_its_exchange(tmp_path: Path) -> None:
    root = str(tmp_path / "lake")
    other = tmp_path / "other.csv"
    other.write_text(
        "exchange,exchange_symbol,valid_from_ts_us,valid_until_ts_us,tick_size\n"
        "binance,BTCUSDT,0,,0.1\n",
        encoding="utf-8",
    )
    assert run("--root", root, "dim-symbol", "import", str(other))[0] == 0
    assert run("--root", root, "dim-symbol", "import-tushare", str(SAMPLE))[0] == 0
    before = shown(root)
    later = tmp_path / "later.csv"
    later.write_text(without("000002"), encoding="utf-8")
    code, text = run("--root", root, "dim-symbol", "import-tushare", str(later))
    assert (code, text.splitlines()[-1]) == (
        0,
        "synced sse, szse as 10 windows: dim_symbol version 3 (11 windows); 1 symbol changed, "
        "1 with new windows",
    )
    after = shown(root)
    assert [r for r in before if r["exchange_symbol"] != "000002"] == after
    assert any(r["exchange"] == "binance" for r in after)


def test_cli_errors_name_the_file_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = str(tmp_path / "lake")
    path = write(tmp_path, "x", header="ts_code,symbol,name,market,exchange,list_status,list_date")
    assert run("--root", root, "dim-symbol", "import-tushare", str(path))[0] == 1
    assert capsys.readouterr().err == (
        f"pointline dim-symbol import-tushare: {path}: missing required columns "
        "['delist_date'] (a stock_basic export has ts_code, symbol, name, market, exchange, "
        "list_status, list_date, delist_date); the header has ['ts_code', 'symbol', 'name', "
        "'market', 'exchange', 'list_status', 'list_date']\n"
    )
    assert run("--root", root, "dim-symbol", "import-tushare", str(tmp_path / "nope.csv"))[0] == 1
    assert f"{tmp_path / 'nope.csv'}: no such file" in capsys.readouterr().err
    bse = write(tmp_path, row("430047", exchange="BSE"), name="bse.csv")
    code, text = run("--root", root, "dim-symbol", "import-tushare", str(bse), "--json")
    assert (code, text) == (1, "")
    assert "no SSE or SZSE listing to import in" in capsys.readouterr().err
