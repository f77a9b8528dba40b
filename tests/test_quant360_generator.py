"""The synthetic Quant360 generator (``pointline.testing.quant360``).

Its files must look like the vendor's: the exact headers and value shapes of the shared
samples (``../shared/data/quant360-samples``, compared when the folder is there; see
``tests/conftest.py``), 17-digit Asia/Shanghai times inside the session, prices on the
0.01 grid, round lots, exactly 10 quoted levels per L2 array. And the order and tick
files of one symbol must agree like the samples': channel sequences rise strictly across
both files, every SZSE fill or cancel names earlier orders, every SSE ``D`` an earlier
``A``. The same day gives the same bytes; memory does not grow with the rows (checked in
a fresh process, no wall-clock limit anywhere).
"""

from __future__ import annotations

import csv
import gzip
import itertools
import json
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pytest
from conftest import shared_data

from pointline.testing.quant360 import (
    DEFAULT_DATE,
    HEADERS,
    STREAMS,
    SymbolDay,
    bronze_path,
    default_symbols,
    quant360_lines,
    write_archive,
    write_benchmark_file,
    write_bronze_day,
    write_quant360_file,
    write_symbol_day,
)
from pointline.testing.quant360 import _ms_ranks as ms_ranks

MIB = 2**20
PAIRS = [(exchange, stream) for exchange in STREAMS for stream in STREAMS[exchange]]
SAMPLE_FOLDERS = {
    ("szse", "order_new"): "order_new_STK_SZ_20240102/000001.csv",
    ("sse", "order_new"): "order_new_STK_SH_20240102/600000.csv",
    ("szse", "tick_new"): "tick_new_STK_SZ_20240102/000001.csv",
    ("sse", "tick_new"): "tick_new_STK_SH_20240102/600000.csv",
    ("szse", "L2_new"): "L2_new_STK_SZ_20240102/000001.csv",
}
CODE = {"szse": "000001", "sse": "600000"}

# The shape of every vendor column, as the samples write it.
TIME = r"20\d{15}"
INT = r"[1-9]\d*"
LOT = r"[1-9]\d*00"
P3 = r"\d+\.\d\d0"  # SZSE: 3 decimals on the 0.01 grid
P2 = r"\d+\.\d\d"  # SSE
D3 = r"-?\d+\.\d{3}"  # averages and changes


def _array(item: str, count: str = "{9}") -> str:
    return rf"\[{item}(,{item}){count}\]"


def _book_side(side: str) -> dict[str, str]:
    """Ten levels of price, size and order count, then the level-1 order sizes (the
    vendor lists up to 50)."""
    return {
        f"{side}Price": _array(P3),
        f"{side}OrderQty": _array(r"(0|[1-9]\d*00)"),
        f"{side}NumOrders": _array(r"\d+"),
        f"{side}Orders": _array(LOT, "{0,49}"),
    }


SHAPES: dict[tuple[str, str], dict[str, str]] = {
    ("szse", "order_new"): {
        "ApplSeqNum": INT,
        "Side": "[12]",
        "OrdType": "[12U]",
        "Price": P3,
        "OrderQty": LOT,
        "TransactTime": TIME,
        "ChannelNo": "201[1-4]",
        "ExpirationDays": "0",
        "ExpirationType": "0",
        "Contactor": "",
        "ConfirmID": "",
    },
    ("sse", "order_new"): {
        "SecurityID": r"6\d{5}",
        "TransactTime": TIME,
        "OrderNo": INT,
        "Price": P2,
        "Balance": LOT,
        "OrderBSFlag": "[BS]",
        "OrdType": "[AD]",
        "OrderIndex": INT,
        "ChannelNo": "[1-6]",
        "BizIndex": INT,
    },
    ("szse", "tick_new"): {
        "ApplSeqNum": INT,
        "BidApplSeqNum": f"0|{INT}",
        "OfferApplSeqNum": f"0|{INT}",
        "Price": P3,
        "Qty": LOT,
        "ExecType": "[F4]",
        "TransactTime": TIME,
        "ChannelNo": "201[1-4]",
    },
    ("sse", "tick_new"): {
        "SecurityID": r"6\d{5}",
        "TradeTime": TIME,
        "TradePrice": P2,
        "TradeQty": LOT,
        "TradeAmount": P2,
        "BuyNo": INT,
        "SellNo": INT,
        "TradeIndex": INT,
        "ChannelNo": "[1-6]",
        "TradeBSFlag": "[BSN]",
        "BizIndex": INT,
    },
    ("szse", "L2_new"): {
        "SendingTime": TIME,
        "MsgSeqNum": INT,
        "ImageStatus": "1",
        "QuotTime": TIME,
        **dict.fromkeys(("PreClosePx", "OpenPx", "HighPx", "LowPx", "LastPx", "ClosePx"), P3),
        "Volume": r"0|[1-9]\d*00",
        "Amount": r"\d+\.\d{3}",
        "AveragePx": r"\d+\.\d{3}",
        **_book_side("Bid"),
        **_book_side("Offer"),
        "NumTrades": r"\d+",
        "TotalBidQty": r"\d+",
        "WeightedAvgBidPx": P3,
        "TotalOfferQty": r"\d+",
        "WeightedAvgOfferPx": P3,
        "Change1": r"-?\d+\.\d\d0",
        "Change2": D3,
        "TotalLongPosition": r"\d+",
        "PeRatio1": P2,
        "PeRatio2": P2,
        "UpperLimitPx": P3,
        "LowerLimitPx": P3,
        "WeightedAvgPxChg": D3,
        "PreWeightedAvgPx": r"\d+\.\d{3}",
        "TradingPhaseCode": "[SOTBCEHAV][01]",
        "NoOrdersB1": r"\d+",
        "NoOrdersS1": r"\d+",
    },
}
QUOTED = ("BidPrice", "BidOrderQty", "BidNumOrders", "BidOrders")


def _read(path: Path) -> dict[str, pa.Array]:
    """Every column of a CSV(.gz) as text, by header."""
    with gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else path.open() as f:
        header = f.readline().lstrip("\ufeff").rstrip("\n").split(",")
    options = pacsv.ConvertOptions(
        column_types=dict.fromkeys(header, pa.string()), strings_can_be_null=False
    )
    table = pacsv.read_csv(path, convert_options=options)
    return {name: table[name].combine_chunks() for name in table.column_names}


def _ints(values: pa.Array) -> npt.NDArray[np.int64]:
    return np.asarray(pc.cast(values, pa.int64()).to_numpy(), np.int64)


def _text(values: pa.Array) -> npt.NDArray[Any]:
    return np.asarray(values.to_numpy(zero_copy_only=False))


def _strictly_increasing(values: npt.NDArray[np.int64]) -> bool:
    return bool((np.diff(values) > 0).all())


def _in_session(times: npt.NDArray[np.int64], date: int = 20240102) -> bool:
    clock = times % 10**9
    morning = (clock >= 91_500_000) & (clock <= 113_000_000)
    afternoon = (clock >= 130_000_000) & (clock <= 150_000_000)
    return bool(((times // 10**9 == date) & (morning | afternoon)).all())


def _found(sorted_keys: npt.NDArray[np.int64], refs: npt.NDArray[np.int64]) -> Any:
    """(found mask, positions) of refs in sorted keys."""
    at = np.clip(np.searchsorted(sorted_keys, refs), 0, max(len(sorted_keys) - 1, 0))
    return sorted_keys[at] == refs, at


def _write(tmp_path: Path, day: SymbolDay) -> dict[str, Path]:
    return write_symbol_day(tmp_path, day)


# --- vendor layout ----------------------------------------------------------------------


@pytest.mark.parametrize(("exchange", "stream"), PAIRS)
def test_headers_and_value_shapes_match_the_vendor_samples(
    exchange: str, stream: str, tmp_path: Path
) -> None:
    sample = shared_data("quant360-samples") / SAMPLE_FOLDERS[exchange, stream]
    first = sample.read_text(encoding="utf-8").splitlines()[0].lstrip("\ufeff")
    assert ",".join(HEADERS[exchange, stream]) == first
    day = SymbolDay(exchange, CODE[exchange], orders=3_000, snapshots=300, seed=5)
    path = tmp_path / "x.csv.gz"
    write_quant360_file(path, day, stream)
    with gzip.open(path, "rt", encoding="utf-8") as f:
        assert f.readline() == first + "\n"
    # The vendor's shapes hold on the sample (so the patterns are right) and on ours.
    for source in (sample, path):
        columns = _read(source)
        assert list(columns) == list(HEADERS[exchange, stream])
        for name, shape in SHAPES[exchange, stream].items():
            bad = pc.invert(pc.match_substring_regex(columns[name], f"^(?:{shape})$"))
            assert not pc.any(bad).as_py(), (source.name, name, columns[name].filter(bad)[:3])


@pytest.mark.parametrize(("exchange", "stream"), PAIRS)
def test_every_pattern_names_every_column_once(exchange: str, stream: str) -> None:
    assert list(SHAPES[exchange, stream]) == list(HEADERS[exchange, stream])


@pytest.mark.parametrize(("exchange", "stream"), PAIRS)
def test_generated_values_have_the_vendor_shapes(
    exchange: str, stream: str, tmp_path: Path
) -> None:
    """The same shape checks without the shared samples (always run)."""
    day = SymbolDay(exchange, CODE[exchange], orders=2_000, snapshots=200, seed=8)
    write_quant360_file(tmp_path / "x.csv.gz", day, stream)
    columns = _read(tmp_path / "x.csv.gz")
    for name, shape in SHAPES[exchange, stream].items():
        assert pc.all(pc.match_substring_regex(columns[name], f"^(?:{shape})$")).as_py(), name


def test_l2_arrays_are_quoted_with_ten_levels(tmp_path: Path) -> None:
    day = SymbolDay("szse", "000001", snapshots=600, seed=2)
    path = tmp_path / "l2.csv.gz"
    assert write_quant360_file(path, day, "L2_new") == 600
    lines = gzip.decompress(path.read_bytes()).decode().splitlines()[1:]
    assert len(lines) == 600
    # Eight quoted arrays a row, nothing else quoted, exactly like the sample rows.
    assert all(line.count('"[') == 8 and line.count(']"') == 8 for line in lines)
    assert all(line.count('"') == 16 for line in lines)
    columns = _read(path)
    levels = {}
    for name in ("BidPrice", "BidOrderQty", "BidNumOrders", "OfferPrice", "OfferOrderQty"):
        items = pc.split_pattern(pc.utf8_slice_codeunits(columns[name], 1, -1), ",")
        assert pc.all(pc.equal(pc.list_value_length(items), 10)).as_py(), name
        levels[name] = np.array(items.to_pylist(), dtype=object)
    bid = np.vectorize(lambda s: round(float(s) * 100))(levels["BidPrice"])
    ask = np.vectorize(lambda s: round(float(s) * 100))(levels["OfferPrice"])
    qty = levels["BidOrderQty"].astype(np.int64)
    phase = _text(columns["TradingPhaseCode"])
    assert set(phase) == {"O0", "T0", "C0"}
    assert (bid[:, 0] <= ask[:, 0]).all()
    assert (bid[phase == "O0", 0] == ask[phase == "O0", 0]).all(), "auction: bid1 = ask1"
    assert ((bid == 0) == (qty == 0)).all(), "a zero-padded level has no size"
    assert (bid == 0).any(), "some snapshots pad empty levels with zeros"
    shown = bid > 0
    assert (np.diff(np.where(shown, bid, 0), axis=1)[shown[:, 1:]] == -1).all()
    orders = levels["BidNumOrders"].astype(np.int64)
    assert (_ints(columns["NoOrdersB1"]) == orders[:, 0]).all()
    quote, sending = _ints(columns["QuotTime"]), _ints(columns["SendingTime"])
    assert _strictly_increasing(quote)
    assert _in_session(quote)
    assert ((sending - quote > 0) & (sending - quote < 1000)).all()
    assert _strictly_increasing(_ints(columns["MsgSeqNum"]))
    volume = _ints(columns["Volume"])
    assert (np.diff(volume) >= 0).all()
    assert volume[-1] > 0


# --- the order and tick flow ------------------------------------------------------------


def _check_szse_symbol(day: SymbolDay, o: dict[str, pa.Array], t: dict[str, pa.Array]) -> None:
    """The properties of one SZSE symbol's order (``o``) and tick (``t``) files."""
    order_seq, tick_seq = _ints(o["ApplSeqNum"]), _ints(t["ApplSeqNum"])
    assert _strictly_increasing(order_seq)
    assert _strictly_increasing(tick_seq)
    merged = np.concatenate((order_seq, tick_seq))
    assert len(np.unique(merged)) == len(merged), "a channel sequence value is used once"
    times = np.concatenate((_ints(o["TransactTime"]), _ints(t["TransactTime"])))
    assert (np.diff(times[np.argsort(merged)]) >= 0).all(), "sequence order is time order"
    assert _in_session(times)
    assert set(_text(o["ChannelNo"])) | set(_text(t["ChannelNo"])) == {str(day.channel_no)}

    side = _text(o["Side"])
    exec_type, price = _text(t["ExecType"]), _text(t["Price"])
    bid, ask = _ints(t["BidApplSeqNum"]), _ints(t["OfferApplSeqNum"])
    fill, cancel = exec_type == "F", exec_type == "4"
    assert (fill | cancel).all()
    assert ((bid > 0) & (ask > 0))[fill].all(), "a fill names both orders"
    assert ((bid == 0) != (ask == 0))[cancel].all(), "a cancel names one order"
    assert (price[cancel] == "0.000").all()
    assert (price[fill] != "0.000").all()
    for refs, want, used in ((bid, "1", bid > 0), (ask, "2", ask > 0)):
        found, at = _found(order_seq, refs[used])
        assert found.all(), "every ref names an order of the order file"
        assert (side[at] == want).all(), "bid refs name buy orders, offer refs sell orders"
        assert (refs[used] < tick_seq[used]).all(), "every ref names an earlier order"
    withdrawn = np.where(bid > 0, bid, ask)[cancel]
    assert len(np.unique(withdrawn)) == len(withdrawn), "an order is cancelled at most once"
    ordtype, order_price = _text(o["OrdType"]), _text(o["Price"])
    assert (order_price[ordtype != "2"] == "0.000").all(), "market and best-own: Price 0"


@pytest.mark.parametrize("orders", [1, 60, 70_000])
def test_szse_ticks_name_earlier_orders_on_one_rising_channel_sequence(
    orders: int, tmp_path: Path
) -> None:
    day = SymbolDay("szse", "000001", orders=orders, seed=11)
    paths = _write(tmp_path, day)
    o, t = _read(paths["order_new"]), _read(paths["tick_new"])
    _check_szse_symbol(day, o, t)
    assert len(o["ApplSeqNum"]) == orders
    exec_type = _text(t["ExecType"])
    fill, cancel = exec_type == "F", exec_type == "4"
    if orders >= 60:
        assert fill.sum() > 0
        assert cancel.sum() > 0
    ordtype = _text(o["OrdType"])
    if orders == 70_000:  # more than two batches: counterparts carried across them
        assert set(ordtype) == {"1", "2", "U"}
        assert (_ints(t["TransactTime"])[fill] % 10**9 == 92_500_000).sum() > 100, "auction"


def _check_sse_symbol(day: SymbolDay, o: dict[str, pa.Array], t: dict[str, pa.Array]) -> None:
    """The properties of one SSE symbol's order (``o``) and tick (``t``) files."""
    order_biz, trade_biz = _ints(o["BizIndex"]), _ints(t["BizIndex"])
    assert _strictly_increasing(order_biz)
    assert _strictly_increasing(trade_biz)
    assert _strictly_increasing(_ints(o["OrderIndex"]))
    assert _strictly_increasing(_ints(t["TradeIndex"]))
    merged = np.concatenate((order_biz, trade_biz))
    assert len(np.unique(merged)) == len(merged)
    times = np.concatenate((_ints(o["TransactTime"]), _ints(t["TradeTime"])))
    assert (np.diff(times[np.argsort(merged)]) >= 0).all()
    assert _in_session(times)
    assert set(_text(o["SecurityID"])) | set(_text(t["SecurityID"])) <= {day.symbol}
    assert set(_text(o["ChannelNo"])) | set(_text(t["ChannelNo"])) <= {str(day.channel_no)}

    kind, number = _text(o["OrdType"]), _ints(o["OrderNo"])
    add = kind == "A"
    add_no, add_biz = number[add], order_biz[add]
    add_side, add_price = _text(o["OrderBSFlag"])[add], _text(o["Price"])[add]
    assert _strictly_increasing(add_no), "one A per order, in arrival order"
    dele = ~add
    found, at = _found(add_no, number[dele])
    assert found.all(), "every D names an A"
    assert (add_biz[at] < order_biz[dele]).all(), "... an earlier one"
    assert (add_side[at] == _text(o["OrderBSFlag"])[dele]).all()
    assert (add_price[at] == _text(o["Price"])[dele]).all()
    assert len(np.unique(number[dele])) == dele.sum(), "an order is deleted at most once"

    flag = _text(t["TradeBSFlag"])
    buy_no, sell_no = _ints(t["BuyNo"]), _ints(t["SellNo"])
    passive = np.where(flag == "B", sell_no, buy_no)
    aggressor = np.where(flag == "B", buy_no, sell_no)
    found, at = _found(add_no, passive)
    assert found.all(), "the resting side is an A"
    assert (add_biz[at] < trade_biz).all(), "... an earlier one"
    assert (add_side[at] == np.where(flag == "B", "S", "B")).all()
    found, at = _found(add_no, aggressor)
    auction = flag == "N"
    continuous = ~auction
    # An aggressor's A (for its rest) comes after its trades, or never.
    assert (~found[continuous] | (add_biz[at][continuous] > trade_biz[continuous])).all()
    assert found[auction].all()
    assert (add_biz[at][auction] < trade_biz[auction]).all()
    clock = _ints(t["TradeTime"]) % 10**9
    assert np.isin(clock[auction], [92_500_000, 150_000_000]).all()
    assert not np.isin(clock[continuous], [92_500_000]).any()
    fen = _ints(pc.replace_substring(t["TradePrice"], ".", ""))
    cents = _ints(pc.replace_substring(t["TradeAmount"], ".", ""))
    assert (fen * _ints(t["TradeQty"]) == cents).all(), "TradeAmount = price x qty"


@pytest.mark.parametrize("orders", [1, 60, 70_000])
def test_sse_deletes_and_trades_name_earlier_adds(orders: int, tmp_path: Path) -> None:
    day = SymbolDay("sse", "600000", orders=orders, seed=12)
    paths = _write(tmp_path, day)
    o, t = _read(paths["order_new"]), _read(paths["tick_new"])
    _check_sse_symbol(day, o, t)
    if orders >= 60:
        assert set(_text(t["TradeBSFlag"])) >= {"B", "S"}
        assert (_text(o["OrdType"]) == "D").sum() > 0


def test_one_file_at_a_time_gives_the_same_files_as_one_pass(tmp_path: Path) -> None:
    day = SymbolDay("szse", "000002", orders=40_000, snapshots=50, seed=4)
    together = write_symbol_day(tmp_path / "a", day)
    for stream, path in together.items():
        alone = write_quant360_file(tmp_path / stream / "x.csv.gz", day, stream)
        assert alone == len(gzip.decompress(path.read_bytes()).splitlines()) - 1
        assert (tmp_path / stream / "x.csv.gz").read_bytes() == path.read_bytes()


# --- determinism, counts, parameters ----------------------------------------------------


@pytest.mark.parametrize(("exchange", "stream"), PAIRS)
def test_same_day_same_bytes_other_seed_other_bytes(
    exchange: str, stream: str, tmp_path: Path
) -> None:
    day = SymbolDay(exchange, CODE[exchange], orders=5_000, snapshots=100, seed=1)
    one = write_quant360_file(tmp_path / "one.csv.gz", day, stream)
    write_quant360_file(tmp_path / "two" / "other-name.csv.gz", day, stream)
    data = (tmp_path / "one.csv.gz").read_bytes()
    assert data == (tmp_path / "two" / "other-name.csv.gz").read_bytes()
    assert data[4:8] == b"\x00\x00\x00\x00", "gzip mtime 0"
    assert not data[3] & 0x08, "no file name stored in the gzip header"
    lines = list(quant360_lines(day, stream))
    assert gzip.decompress(data).decode() == "\n".join(lines) + "\n"
    assert one == len(lines) - 1
    write_quant360_file(tmp_path / "three.csv.gz", replace(day, seed=2), stream)
    assert (tmp_path / "three.csv.gz").read_bytes() != data


def test_symbols_differ_and_keep_their_channel() -> None:
    a = SymbolDay("szse", "000001", orders=200)
    b = SymbolDay("szse", "000002", orders=200)
    assert list(quant360_lines(a, "order_new"))[1:] != list(quant360_lines(b, "order_new"))[1:]
    assert a.channel_no == SymbolDay("szse", "000001", seed=9).channel_no
    assert {SymbolDay("szse", c).channel_no for c in default_symbols("szse", 100)} <= set(
        range(2011, 2015)
    )
    assert {SymbolDay("sse", c).channel_no for c in default_symbols("sse", 100)} <= set(range(1, 7))
    assert SymbolDay("sse", "600000", channel=3).channel_no == 3


def test_rows_cap_and_empty_files(tmp_path: Path) -> None:
    day = SymbolDay("szse", "000001", orders=1_000, snapshots=40)
    for stream in STREAMS["szse"]:
        full = list(quant360_lines(day, stream))
        assert list(quant360_lines(day, stream, rows=7)) == full[:8]
        path = tmp_path / f"{stream}.csv"  # plain CSV when the name does not end in .gz
        assert write_quant360_file(path, day, stream, rows=7) == 7
        assert path.read_text().splitlines() == full[:8]
    empty = SymbolDay("sse", "600000", orders=0)
    for stream in STREAMS["sse"]:
        assert write_quant360_file(tmp_path / f"empty-{stream}.csv.gz", empty, stream) == 0
        text = gzip.decompress((tmp_path / f"empty-{stream}.csv.gz").read_bytes()).decode()
        assert text == ",".join(HEADERS["sse", stream]) + "\n"


@pytest.mark.parametrize(("exchange", "stream"), PAIRS)
def test_benchmark_files_have_exactly_the_rows_asked(
    exchange: str, stream: str, tmp_path: Path
) -> None:
    rows = 20_000 if stream == "L2_new" else 120_000
    path = tmp_path / "big.csv.gz"
    assert write_benchmark_file(path, exchange=exchange, stream=stream, rows=rows) == rows
    with gzip.open(path, "rb") as f:
        assert sum(1 for _ in f) == rows + 1


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot generate sse 'L2_new'"):
        write_quant360_file(tmp_path / "x.csv.gz", SymbolDay("sse", "600000"), "L2_new")
    with pytest.raises(ValueError, match="cannot generate szse 'L1_new'"):
        next(quant360_lines(SymbolDay("szse", "000001"), "L1_new"))
    with pytest.raises(ValueError, match="6-digit code"):
        SymbolDay("szse", "1")
    with pytest.raises(ValueError, match="exchange must be one of"):
        SymbolDay("bse", "430047")
    with pytest.raises(ValueError, match="orders, snapshots and seed must be >= 0"):
        SymbolDay("szse", "000001", orders=-1)
    with pytest.raises(ValueError, match="orders, snapshots and seed must be >= 0"):
        SymbolDay("szse", "000001", seed=-1)
    with pytest.raises(ValueError, match="rows must be >= 0"):
        write_quant360_file(tmp_path / "x.csv", SymbolDay("szse", "000001"), "order_new", rows=-1)
    with pytest.raises(ValueError, match="too many orders for the channel sequences"):
        SymbolDay("szse", "000001", orders=10**12)
    with pytest.raises(ValueError, match=r"channel_slots must be <= \d+ \(int64\)"):
        SymbolDay("sse", "600000", channel_slot=0, channel_slots=10**7)


# --- Bronze layout, archives ------------------------------------------------------------


def test_bronze_day_layout_and_disjoint_channel_sequences(tmp_path: Path) -> None:
    paths = write_bronze_day(
        tmp_path, exchange="szse", symbols=40, orders=(50, 300), snapshots=(5, 30), seed=3
    )
    codes = default_symbols("szse", 40)
    assert len(set(codes)) == 40
    assert all(re.fullmatch(r"\d{6}", c) for c in codes)
    expected = {
        bronze_path(tmp_path, "szse", s, DEFAULT_DATE, c) for c in codes for s in STREAMS["szse"]
    }
    assert set(paths) == expected
    assert len(paths) == 120
    one = paths[0].relative_to(tmp_path).as_posix()
    assert re.fullmatch(
        r"bronze/quant360/exchange=szse/type=(order_new|tick_new|L2_new)/date=2024-01-02/"
        r"symbol=(\d{6})/\2\.csv\.gz",
        one,
    ), one
    by_channel: dict[str, list[npt.NDArray[np.int64]]] = {}
    orders = []
    for code in codes:
        for stream in ("order_new", "tick_new"):
            columns = _read(bronze_path(tmp_path, "szse", stream, DEFAULT_DATE, code))
            channel = _text(columns["ChannelNo"])
            if len(channel):
                by_channel.setdefault(channel[0], []).append(_ints(columns["ApplSeqNum"]))
            if stream == "order_new":
                orders.append(len(channel))
    assert min(orders) >= 50
    assert max(orders) <= 300
    assert len(set(orders)) > 5
    for channel, parts in by_channel.items():
        values = np.concatenate(parts)
        assert len(np.unique(values)) == len(values), f"channel {channel}: values shared"
    # Same arguments, same files.
    again = write_bronze_day(
        tmp_path / "again",
        exchange="szse",
        symbols=40,
        orders=(50, 300),
        snapshots=(5, 30),
        seed=3,
    )
    for a, b in zip(sorted(paths), sorted(again), strict=True):
        assert a.read_bytes() == b.read_bytes()


FLOW = ("order_new", "tick_new")
SEQ_COLUMN = {"szse": "ApplSeqNum", "sse": "BizIndex"}  # channel_seq
INDEX_COLUMN = {"order_new": "OrderIndex", "tick_new": "TradeIndex"}  # SSE, per channel


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _in_time_order(keyed: list[tuple[int, str, str]], what: str) -> None:
    """(key, 17-digit time text, symbol) rows: keys unique, and key order is time order
    (the fixed-width text sorts as time)."""
    keyed.sort()
    keys = [key for key, _, _ in keyed]
    assert len(set(keys)) == len(keys), f"{what}: a value is used twice"
    backwards = [(a, b) for a, b in itertools.pairwise(keyed) if b[1] < a[1]]
    assert not backwards, f"{what}: {len(backwards)} steps back in time, first {backwards[0]}"


@pytest.mark.parametrize("exchange", ["szse", "sse"])
def test_bronze_day_channel_sequences_are_time_order_across_symbols(
    exchange: str, tmp_path: Path
) -> None:
    """The exchanges number a channel's messages in publication order (docs/cn.md section
    4): over all the order and tick rows of a channel, whatever the symbol, channel_seq
    order is time order (equal ms allowed) and no value repeats. SSE OrderIndex and
    TradeIndex are channel-wide keys the same way."""
    codes = default_symbols(exchange, 30)
    write_bronze_day(tmp_path, exchange=exchange, symbols=30, orders=(50, 400), streams=FLOW)
    seq: dict[str, list[tuple[int, str, str]]] = {}
    index: dict[tuple[str, str], list[tuple[int, str, str]]] = {}
    codes_by_ms: dict[tuple[str, str], set[str]] = {}
    for code in codes:
        for stream in FLOW:
            for row in _csv_rows(bronze_path(tmp_path, exchange, stream, DEFAULT_DATE, code)):
                time = row.get("TradeTime") or row["TransactTime"]  # SSE ticks: TradeTime
                channel = row["ChannelNo"]
                seq.setdefault(channel, []).append((int(row[SEQ_COLUMN[exchange]]), time, code))
                if exchange == "sse":
                    key = int(row[INDEX_COLUMN[stream]])
                    index.setdefault((channel, stream), []).append((key, time, code))
                codes_by_ms.setdefault((channel, time), set()).add(code)
    assert len(seq) == (4 if exchange == "szse" else 6)
    for channel, rows in seq.items():
        assert len({code for _, _, code in rows}) > 1, f"channel {channel}: one symbol"
        _in_time_order(rows, f"channel {channel}")
    assert len(index) == (0 if exchange == "szse" else 12)
    for (channel, stream), rows in index.items():
        _in_time_order(rows, f"channel {channel} {INDEX_COLUMN[stream]}")
    # Symbols of a channel share milliseconds (the auctions' at least): the ties are
    # ordered above, not merged.
    assert any(len(codes) > 1 for codes in codes_by_ms.values())


@pytest.mark.parametrize("exchange", ["szse", "sse"])
def test_symbols_of_a_bronze_day_keep_their_own_properties(exchange: str, tmp_path: Path) -> None:
    """Each symbol's files, with its channel slot, hold what a lone symbol's hold."""
    write_bronze_day(tmp_path, exchange=exchange, symbols=12, streams=FLOW, seed=2)
    check = _check_szse_symbol if exchange == "szse" else _check_sse_symbol
    for code in default_symbols(exchange, 12):
        o, t = (_read(bronze_path(tmp_path, exchange, s, DEFAULT_DATE, code)) for s in FLOW)
        check(SymbolDay(exchange, code), o, t)


def test_ranks_within_a_millisecond_continue_across_batches() -> None:
    rng = np.random.default_rng(1)
    time = np.cumsum(rng.random(400) < 0.3).astype(np.int64)  # runs of equal ms
    whole, _ = ms_ranks(time, (-1, 0))
    assert (whole[np.r_[True, np.diff(time) > 0]] == 0).all()
    for cuts in ([0, 400], [0, 1, 2, 400], [0, 37, 38, 200, 201, 399, 400]):
        carry = (-1, 0)
        parts = []
        for a, b in itertools.pairwise(cuts):
            rank, carry = ms_ranks(time[a:b], carry)
            parts.append(rank)
        assert (np.concatenate(parts) == whole).all(), cuts


def test_bronze_day_sse_has_no_l2(tmp_path: Path) -> None:
    paths = write_bronze_day(tmp_path, exchange="sse", symbols=["600000", "688981"], orders=80)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in paths) == [
        f"bronze/quant360/exchange=sse/type={s}/date=2024-01-02/symbol={c}/{c}.csv.gz"
        for s in ("order_new", "tick_new")
        for c in ("600000", "688981")
    ]


def test_archive_holds_one_csv_per_symbol_like_the_vendor(tmp_path: Path) -> None:
    py7zr = pytest.importorskip("py7zr")
    days = [SymbolDay("szse", c, orders=300, seed=6) for c in ("000001", "000002", "300750")]
    archive = write_archive(tmp_path / "out", days, "tick_new")
    stem = "tick_new_STK_SZ_20240102"
    assert archive == tmp_path / "out" / f"{stem}.7z"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"{stem}.7z"]
    with py7zr.SevenZipFile(archive) as seven:
        assert sorted(seven.getnames()) == [stem] + [f"{stem}/{d.symbol}.csv" for d in days]
        seven.extractall(tmp_path / "x")
    for day in days:
        write_quant360_file(tmp_path / f"{day.symbol}.csv", day, "tick_new")
        got = (tmp_path / "x" / stem / f"{day.symbol}.csv").read_bytes()
        assert got == (tmp_path / f"{day.symbol}.csv").read_bytes()
    with pytest.raises(ValueError, match="share the exchange"):
        write_archive(tmp_path, [*days, SymbolDay("sse", "600000")], "tick_new")


def test_archive_layout_matches_the_vendor_sample(tmp_path: Path) -> None:
    py7zr = pytest.importorskip("py7zr")
    sample = shared_data("quant360-samples") / "archives" / "order_new_STK_SH_20240102.7z"
    ours = write_archive(tmp_path, [SymbolDay("sse", "600000", orders=50)], "order_new")
    assert ours.name == sample.name
    listings = []
    for path in (sample, ours):
        with py7zr.SevenZipFile(path) as seven:
            listings.append(sorted((i.filename, i.is_directory) for i in seven.list()))
    assert listings[0] == listings[1]


# --- memory -----------------------------------------------------------------------------

_GENERATE = """
import json, sys
from pathlib import Path
from pointline.testing.quant360 import write_benchmark_file
rows = write_benchmark_file(sys.argv[1], exchange="szse", stream="order_new",
                            rows=int(sys.argv[2]))
status = Path("/proc/self/status").read_text().splitlines()
hwm = [line.split()[1] for line in status if line.startswith("VmHWM")]
print(json.dumps({"rows": rows, "max_rss": int(hwm[0]) * 1024}))
"""


def _generate_in_fresh_process(path: Path, rows: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", _GENERATE, str(path), str(rows)],
        capture_output=True,
        text=True,
        check=True,
    )
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["rows"] == rows
    return report


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_generation_memory_does_not_grow_with_the_rows(tmp_path: Path) -> None:
    small = _generate_in_fresh_process(tmp_path / "small.csv.gz", 100_000)
    large = _generate_in_fresh_process(tmp_path / "large.csv.gz", 2_000_000)
    summary = (
        f"peak RSS {small['max_rss'] / MIB:.1f} MiB at 100k rows, "
        f"{large['max_rss'] / MIB:.1f} MiB at 2M rows"
    )
    print(summary)
    # Both runs fill the same few 32k-order batches; measured 120.7 and 124.5 MiB (the
    # rest is numpy and pyarrow themselves). The file (~22 MB gzip, ~100 MB of text) is
    # never in memory.
    assert large["max_rss"] <= small["max_rss"] + 24 * MIB, summary
