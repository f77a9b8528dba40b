"""CN replay in ``read`` (docs/contracts.md section 4, docs/cn.md section 4), the research
helper ``cn_events`` and ``pointline read`` on CN tables.

The sample lake is the five Quant360 samples (tests/cases/quant360, as the shared
folder's README describes them: "How they hang together"). The multi-symbol lake adds
SZSE copies of 000001 under other codes: one in the same channel with shifted sequences
(interleaved row by row), one in another channel with the same times (the channel tie
rule), one whose files are in reverse order (the load-and-sort path). Every order is
checked against a reference computed here from the Silver files: the channel head rule
written as a plain heap merge, or a full sort.
"""

from __future__ import annotations

import csv
import datetime
import gzip
import heapq
import io
import itertools
import json
import subprocess
import sys
import textwrap
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from conftest import CN_CASES, cn_bronze, cn_bronze_path

from pointline import Lake, read
from pointline.bootstrap import bootstrap_dim_symbol
from pointline.bronze import BronzeFileMetadata
from pointline.cli import main
from pointline.errors import SchemaError
from pointline.ingest import ingest_file
from pointline.reader import merge_sorted
from pointline.research import CN_EVENTS_SCHEMA, cn_events
from pointline.testing.quant360 import SymbolDay, write_bronze_day, write_symbol_day

SHANGHAI = ZoneInfo("Asia/Shanghai")
SZ_ORDER, SZ_TICK, SZ_L2 = (
    "order_new_STK_SZ_20240102",
    "tick_new_STK_SZ_20240102",
    "L2_new_STK_SZ_20240102",
)
EVENT_TABLES = ("cn_order_events", "cn_tick_events")


def local_us(hms: str) -> int:
    """2024-01-02 ``hms`` (``HH:MM:SS.fff``) in Shanghai as microseconds UTC."""
    moment = datetime.datetime.fromisoformat(f"2024-01-02T{hms}").replace(tzinfo=SHANGHAI)
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


def ingest_all(lake: Lake, paths: list[Path]) -> None:
    bootstrap_dim_symbol(lake)
    for path in paths:
        meta = BronzeFileMetadata.from_path(path, bronze_root=lake.bronze_root)
        result = ingest_file(meta, lake=lake)
        assert result.status == "success", result


def szse_copy(
    bronze_root: Path,
    code: str,
    *,
    shift: int,
    channel: int | tuple[int, ...] | None = None,
    reverse: bool = False,
    back: bool = False,
) -> list[Path]:
    """000001's SZSE order and tick files as ``code``: ApplSeqNum and the non-zero refs
    moved by ``shift`` (the flow stays consistent), ChannelNo replaced by ``channel`` (a
    tuple: row by row in turn), rows in reverse order if ``reverse``, the times of the
    rows at 09:30:00.010 set back to 09:15:00.001 if ``back``; its L2 file with
    SendingTime moved by ``code`` ms (QuotTime and MsgSeqNum as they are)."""
    paths = []
    for folder in (SZ_ORDER, SZ_TICK):
        with (CN_CASES / folder / "000001.csv").open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            header = list(reader.fieldnames or [])
            rows = list(reader)
        turns = (channel,) if isinstance(channel, int) else channel
        for i, row in enumerate(rows):
            for name in ("ApplSeqNum", "BidApplSeqNum", "OfferApplSeqNum"):
                if name in row and row[name] != "0":
                    row[name] = str(int(row[name]) + shift)
            if turns is not None:
                row["ChannelNo"] = str(turns[i % len(turns)])
            if back and row["TransactTime"] == "20240102093000010":
                row["TransactTime"] = "20240102091500001"
        text = io.StringIO()
        writer = csv.DictWriter(text, header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows[::-1] if reverse else rows)
        paths.append(cn_bronze_path(bronze_root, folder, code))
        paths[-1].parent.mkdir(parents=True, exist_ok=True)
        paths[-1].write_bytes(gzip.compress(text.getvalue().encode(), mtime=0))
    with (CN_CASES / SZ_L2 / "000001.csv").open(encoding="utf-8", newline="") as f:
        lines = list(csv.reader(f))
    for line in lines[1:]:  # other bytes (no twin), same QuotTime and MsgSeqNum
        line[0] = str(int(line[0]) + int(code))  # SendingTime, ms
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(lines)
    l2 = cn_bronze_path(bronze_root, SZ_L2, code)
    l2.parent.mkdir(parents=True, exist_ok=True)
    l2.write_bytes(gzip.compress(text.getvalue().encode(), mtime=0))
    return [*paths, l2]


COPIES: dict[str, tuple[int, int | tuple[int, ...] | None, bool]] = {
    # code: (shift, channel, reverse)
    "000002": (7, None, False),  # channel 2011, interleaved with 000001
    "000003": (0, 2012, False),  # same times and sequences, another channel
    "000004": (14, None, True),  # channel 2011, files in reverse order
    "000005": (0, (2013, 2014), False),  # rows in two channels, in turn
    "000006": (0, 2015, False),  # and times that go back (BACK)
}
BACK = "000006"


def multi_paths(bronze_root: Path) -> list[Path]:
    paths = cn_bronze(bronze_root)
    for code, (shift, channel, reverse) in COPIES.items():
        paths += szse_copy(
            bronze_root, code, shift=shift, channel=channel, reverse=reverse, back=code == BACK
        )
    return paths


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    lake = Lake(tmp_path_factory.mktemp("cn-samples"))
    ingest_all(lake, cn_bronze(lake.bronze_root))
    return lake


@pytest.fixture(scope="module")
def multi(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    lake = Lake(tmp_path_factory.mktemp("cn-multi"))
    ingest_all(lake, multi_paths(lake.bronze_root))
    return lake


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """A generated day: 12 SZSE symbols (four channels, sequences interleaved by the
    generator's slots) and 6 SSE ones, all streams."""
    lake = Lake(tmp_path_factory.mktemp("cn-generated"))
    paths = write_bronze_day(lake.root, exchange="szse", symbols=12, orders=(100, 400), seed=5)
    paths += write_bronze_day(lake.root, exchange="sse", symbols=6, orders=(100, 400), seed=6)
    ingest_all(lake, paths)
    return lake


# -- references ----------------------------------------------------------------------------


def silver(lake: Lake, table: str) -> list[dict[str, Any]]:
    """Every live row of ``table``, with ``exchange`` and ``trading_date`` from the path."""
    found: list[dict[str, Any]] = []
    for entry in lake.manifest().entries().values():
        if entry.status not in {"success", "quarantined"} or entry.table_name != table:
            continue
        for name in entry.silver_files:
            exchange = name.split("exchange=")[1].split("/")[0]
            day = datetime.date.fromisoformat(name.split("trading_date=")[1].split("/")[0])
            found.extend(
                {**row, "exchange": exchange, "trading_date": day}
                for row in pq.read_table(lake.root / name).to_pylist()
            )
    return found


def in_window(rows: list[dict[str, Any]], **window: Any) -> list[dict[str, Any]]:
    start, end, symbols = window.get("start"), window.get("end"), window.get("symbols")
    return [
        r
        for r in rows
        if (start is None or r["ts_event_us"] >= start)
        and (end is None or r["ts_event_us"] < end)
        and (symbols is None or r["symbol"] in symbols)
    ]


def head_rule(rows: list[dict[str, Any]]) -> list[tuple[str, int, int]]:
    """The CN time order as stated: each channel (exchange, trading date, channel_id) in
    ``(channel_seq, symbol_id, file_id, file_seq)`` order; channels merged by taking the
    head with the smallest ``(trading_date, ts_event_us, exchange, channel_id)``. Rows as
    ``(exchange, file_id, file_seq)``."""
    channels: dict[tuple[str, datetime.date, int], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        channels[r["exchange"], r["trading_date"], r["channel_id"]].append(r)
    for members in channels.values():
        members.sort(key=lambda r: (r["channel_seq"], r["symbol_id"], r["file_id"], r["file_seq"]))

    def head(where: tuple[str, datetime.date, int], i: int) -> tuple[Any, ...]:
        r = channels[where][i]
        return (r["trading_date"], r["ts_event_us"], r["exchange"], r["channel_id"], where, i)

    heap = [head(where, 0) for where in channels]
    heapq.heapify(heap)
    out = []
    while heap:
        *_, where, i = heapq.heappop(heap)
        r = channels[where][i]
        out.append((r["exchange"], r["file_id"], r["file_seq"]))
        if i + 1 < len(channels[where]):
            heapq.heappush(heap, head(where, i + 1))
    return out


def sorted_by(rows: list[dict[str, Any]], *keys: str) -> list[tuple[str, int, int]]:
    ordered = sorted(rows, key=lambda r: tuple(r[k] for k in keys))
    return [(r["exchange"], r["file_id"], r["file_seq"]) for r in ordered]


def ids(table: pa.Table) -> list[tuple[str, int, int]]:
    return list(
        zip(
            table.column("exchange").to_pylist(),
            table.column("file_id").to_pylist(),
            table.column("file_seq").to_pylist(),
            strict=True,
        )
    )


def assert_channels_rise(table: pa.Table) -> None:
    """channel_seq strictly rises within each (exchange, trading date, channel)."""
    last: dict[tuple[Any, ...], int] = {}
    for r in table.select(["exchange", "trading_date", "channel_id", "channel_seq"]).to_pylist():
        where = (r["exchange"], r["trading_date"], r["channel_id"])
        assert r["channel_seq"] > last.get(where, -1), (where, r["channel_seq"])
        last[where] = r["channel_seq"]


# -- read: CN orders and ticks ---------------------------------------------------------------


def test_the_copies_keep_channel_sequences_apart() -> None:
    """The multi lake's premise: within channel 2011, 000001 and its shifted copies never
    share a channel_seq (orders and ticks together, as on the exchange)."""
    seqs: set[int] = set()
    for folder in (SZ_ORDER, SZ_TICK):
        with (CN_CASES / folder / "000001.csv").open(encoding="utf-8") as f:
            seqs |= {int(r["ApplSeqNum"]) for r in csv.DictReader(f)}
    shifted = [{s + shift for s in seqs} for shift, channel, _ in COPIES.values() if not channel]
    assert len(shifted) == 2
    everything = [seqs, *shifted]
    assert sum(map(len, everything)) == len(set().union(*everything))


def test_first_rows_are_the_readmes(samples: Lake) -> None:
    """The hand-computed first rows of the samples' README, through the default order."""
    order = read(samples, "cn_order_events", exchange="szse", symbols=["000001"]).read_all()
    first = order.slice(0, 1).to_pylist()[0]
    assert first["ts_event_us"] == 1704158100000000 == local_us("09:15:00.000")
    assert (first["price"], first["qty"]) == (Decimal("9.39"), Decimal(1000))
    assert (first["side"], first["event_kind"], first["order_type"]) == ("BUY", "ADD", "LIMIT")
    assert (first["channel_id"], first["channel_seq"], first["order_ref"]) == (2011, 485, 485)
    assert order.num_rows == 32
    sse = read(samples, "cn_order_events", exchange="sse").read_all().slice(0, 1).to_pylist()[0]
    assert (sse["channel_id"], sse["channel_seq"], sse["order_ref"]) == (2, 106, 1119)
    tick = read(samples, "cn_tick_events", exchange="szse").read_all().slice(0, 2).to_pylist()
    assert [t["channel_seq"] for t in tick] == [200799, 660798]
    assert (tick[0]["event_kind"], tick[0]["bid_order_ref"], tick[0]["ask_order_ref"]) == (
        "CANCEL",
        662,
        None,
    )


@pytest.mark.parametrize("table", EVENT_TABLES)
@pytest.mark.parametrize("exchange", [None, "szse", "sse"])
@pytest.mark.parametrize("batch_size", [1, 5, 65_536])
def test_time_order_is_the_channel_head_rule(
    multi: Lake, table: str, exchange: str | None, batch_size: int
) -> None:
    """Five SZSE symbols over four channels (two copies interleaved row by row with
    000001 in 2011, one read from a reversed file; one in 2012 at the very same times;
    one whose files alternate between 2013 and 2014 row by row) and SSE: exactly the
    head rule, per channel in channel_seq order."""
    got = read(multi, table, exchange=exchange, batch_size=batch_size)
    batches = list(got)
    assert all(0 < b.num_rows <= batch_size for b in batches)
    result = pa.Table.from_batches(batches, schema=got.schema)
    rows = [r for r in silver(multi, table) if exchange in (None, r["exchange"])]
    assert ids(result) == head_rule(rows)
    assert result.num_rows == len(rows)
    assert_channels_rise(result)
    if exchange != "sse":
        assert set(result.column("symbol").to_pylist()) >= {"000001", "000003", "000005"}
        assert {2011, 2012, 2013, 2014} <= set(result.column("channel_id").to_pylist())


def test_equal_times_across_channels_go_by_channel_number(multi: Lake) -> None:
    """000003 is 000001 in channel 2012: at every shared time 2011's rows come first."""
    got = read(multi, "cn_order_events", exchange="szse", symbols=["000001", "000003"])
    rows = got.read_all().select(["ts_event_us", "channel_id", "channel_seq"]).to_pylist()
    assert len(rows) == 64
    assert [r["channel_id"] for r in rows[:3]] == [2011, 2011, 2012]  # two rows at 09:15:00.000
    for a, b in itertools.pairwise(rows):
        assert (a["ts_event_us"], a["channel_id"]) <= (b["ts_event_us"], b["channel_id"])


def test_a_time_that_goes_back_keeps_its_place_in_its_channel(multi: Lake) -> None:
    """000006 (channel 2015) has an order whose time goes back to 09:15:00.001 after rows of
    09:24:59.990: it stays behind those in its channel, and the channel's merge time
    there is the running maximum, so 000001's rows (2011) up to 09:24:59.990 come first;
    a sort by time would put it near the start."""
    got = read(multi, "cn_order_events", exchange="szse", symbols=["000001", BACK]).read_all()
    rows = got.to_pylist()
    back = [i for i, r in enumerate(rows) if r["ts_event_us"] == local_us("09:15:00.001")]
    assert len(back) == 1
    i = back[0]
    assert rows[i]["symbol"] == BACK
    before = rows[:i]
    assert max(r["ts_event_us"] for r in before) == local_us("09:24:59.990")
    assert {r["symbol"] for r in before if r["ts_event_us"] > local_us("09:15:00.001")} == {
        "000001",
        BACK,
    }
    assert rows[i + 1]["ts_event_us"] >= local_us("09:24:59.990")
    assert ids(got) == head_rule(
        in_window(silver(multi, "cn_order_events"), symbols=["000001", BACK])
    )
    assert_channels_rise(got)


def test_a_file_out_of_channel_order_is_sorted(multi: Lake) -> None:
    """000004's Silver files are in Bronze order, which is reversed: read sorts them."""
    for table in EVENT_TABLES:
        rows = [r for r in silver(multi, table) if r["symbol"] == "000004"]
        in_file = [r["channel_seq"] for r in sorted(rows, key=lambda r: r["file_seq"])]
        assert in_file == sorted(in_file, reverse=True)
        got = read(multi, table, exchange="szse", symbols=["000004"]).read_all()
        assert got.column("channel_seq").to_pylist() == sorted(in_file)


@pytest.mark.parametrize("table", EVENT_TABLES)
def test_symbol_order(multi: Lake, table: str) -> None:
    got = read(multi, table, order="symbol", batch_size=7).read_all()
    keys = ("exchange", "symbol", "trading_date", "channel_id", "channel_seq", "symbol_id")
    assert ids(got) == sorted_by(silver(multi, table), *keys, "file_id", "file_seq")


WINDOWS = [
    (local_us("09:25:00.000"), None),
    (None, local_us("09:25:00.000")),
    (local_us("09:25:00.000"), local_us("13:00:00.000")),
    (local_us("09:30:00.040"), local_us("09:30:00.041")),  # one SSE millisecond
    (local_us("16:00:00.000"), None),  # nothing
]


@pytest.mark.parametrize(("start", "end"), WINDOWS)
@pytest.mark.parametrize("table", EVENT_TABLES)
def test_start_and_end_bound_ts_event_us(
    multi: Lake, table: str, start: int | None, end: int | None
) -> None:
    """start inclusive, end exclusive, on ts_event_us; the order is the rule applied to
    the rows inside."""
    got = read(multi, table, start=start, end=end).read_all()
    rows = in_window(silver(multi, table), start=start, end=end)
    assert ids(got) == head_rule(rows)
    times = got.column("ts_event_us").to_pylist()
    assert all((start is None or t >= start) and (end is None or t < end) for t in times)
    one = read(multi, table, exchange="szse", symbols=["000001"], start=start, end=end)
    alone = read(multi, table, exchange="szse", symbols=["000001"]).read_all()
    times = alone.column("ts_event_us").to_pylist()
    keep = [(start is None or t >= start) and (end is None or t < end) for t in times]
    assert one.read_all().equals(alone.filter(pa.array(keep)))


def test_row_groups_outside_the_symbols_or_window_are_not_read(
    multi: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Footer statistics prune: a read of one symbol reads that symbol's one row group
    (once for the first pass, once to merge) and no other; a window after the day reads
    none."""
    reads: list[str] = []
    for name in ("read_row_group", "iter_batches"):
        original = getattr(pq.ParquetFile, name)

        def spy(
            self: Any, *args: Any, _name: str = name, _original: Any = original, **kw: Any
        ) -> Any:
            reads.append(_name)
            return _original(self, *args, **kw)

        monkeypatch.setattr(pq.ParquetFile, name, spy)
    got = read(multi, "cn_order_events", exchange="szse", symbols=["000002"]).read_all()
    assert got.num_rows == 32
    assert set(got.column("symbol").to_pylist()) == {"000002"}
    assert sorted(reads) == ["iter_batches", "read_row_group"]
    reads.clear()
    assert read(multi, "cn_order_events", start=local_us("16:00:00.000")).read_all().num_rows == 0
    assert reads == []


def test_read_is_deterministic_whatever_the_ingest_order(multi: Lake, tmp_path: Path) -> None:
    """Same Bronze bytes, ingested in the opposite order into another lake: the same
    stream, row for row and value for value; and twice from one lake."""
    other = Lake(tmp_path / "other")
    ingest_all(other, multi_paths(other.bronze_root)[::-1])
    for table in (*EVENT_TABLES, "cn_l2_snapshots"):
        first = read(multi, table).read_all()
        assert first.equals(read(multi, table).read_all())
        assert first.equals(read(other, table).read_all())


def test_generated_day_follows_the_rules(generated: Lake) -> None:
    """The generator's day: many symbols sharing channels, sequences interleaved."""
    for table in EVENT_TABLES:
        for batch_size in (1_000, 65_536):
            got = read(generated, table, batch_size=batch_size).read_all()
            assert ids(got) == head_rule(silver(generated, table))
            assert_channels_rise(got)
        assert len(set(got.column("channel_id").to_pylist())) > 4  # SZSE and SSE channels
    snapshots = read(generated, "cn_l2_snapshots").read_all()
    keys = ("ts_event_us", "exchange", "snapshot_seq", "symbol_id", "file_id", "file_seq")
    assert ids(snapshots) == sorted_by(silver(generated, "cn_l2_snapshots"), *keys)


# -- read: CN L2 snapshots -------------------------------------------------------------------


def test_l2_time_and_symbol_order(multi: Lake) -> None:
    """Across symbols by (ts_event_us, exchange, snapshot_seq, symbol_id, file_id,
    file_seq): the copies share every QuotTime and MsgSeqNum, so symbol_id decides."""
    rows = silver(multi, "cn_l2_snapshots")
    got = read(multi, "cn_l2_snapshots", batch_size=3).read_all()
    keys = ("ts_event_us", "exchange", "snapshot_seq", "symbol_id", "file_id", "file_seq")
    assert ids(got) == sorted_by(rows, *keys)
    by_symbol = read(multi, "cn_l2_snapshots", order="symbol").read_all()
    keys = ("exchange", "symbol", "ts_event_us", "snapshot_seq", "symbol_id")
    assert ids(by_symbol) == sorted_by(rows, *keys, "file_id", "file_seq")
    start, end = local_us("09:20:03.000"), local_us("15:00:00.000")
    window = read(multi, "cn_l2_snapshots", start=start, end=end).read_all()
    keys = ("ts_event_us", "exchange", "snapshot_seq", "symbol_id", "file_id", "file_seq")
    assert 0 < window.num_rows < len(rows)
    assert ids(window) == sorted_by(in_window(rows, start=start, end=end), *keys)


# -- cn_events -------------------------------------------------------------------------------


def events(lake: Lake, exchange: str, symbol: str, **window: Any) -> list[dict[str, Any]]:
    reader = cn_events(lake, exchange, symbol, **window)
    assert reader.schema == CN_EVENTS_SCHEMA
    return reader.read_all().to_pylist()


@pytest.mark.parametrize(("exchange", "symbol"), [("szse", "000001"), ("sse", "600000")])
def test_cn_events_is_one_stream_in_channel_order(
    samples: Lake, exchange: str, symbol: str
) -> None:
    rows = events(samples, exchange, symbol)
    orders = read(samples, "cn_order_events", exchange=exchange).read_all()
    ticks = read(samples, "cn_tick_events", exchange=exchange).read_all()
    assert len(rows) == orders.num_rows + ticks.num_rows
    assert [r["source"] for r in rows].count("order") == orders.num_rows
    keys = [(r["trading_date"], r["channel_id"], r["channel_seq"]) for r in rows]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)  # strictly rising: no value in both tables
    for r in rows:  # the other table's columns are null
        other = (
            ("bid_order_ref", "symbol_trade_seq")
            if r["source"] == "order"
            else ("order_ref", "side")
        )
        assert all(r[name] is None for name in other), r  # fmt: skip
        kinds = {"ADD", "CANCEL"} if r["source"] == "order" else {"TRADE", "CANCEL"}
        assert r["event_kind"] in kinds
    first_tick = next(r for r in rows if r["source"] == "tick")
    assert first_tick == {**first_tick, **ticks.slice(0, 1).to_pylist()[0]}


def test_szse_every_fill_and_cancel_names_an_earlier_order(samples: Lake) -> None:
    seen: set[int] = set()
    named = 0
    for r in events(samples, "szse", "000001"):
        if r["source"] == "order":
            seen.add(r["order_ref"])
            continue
        refs = [ref for ref in (r["bid_order_ref"], r["ask_order_ref"]) if ref is not None]
        assert refs, r
        assert set(refs) <= seen, r
        named += len(refs)
    assert named > 28  # fills name two orders, cancels one


def test_sse_refs_and_the_readmes_exceptions(samples: Lake) -> None:
    """Every D names an earlier A; a fill's BuyNo/SellNo name an earlier A, or an A
    published later for the order's rest, or an order that never rests (no A at all).

    The orders whose A comes after their first fill are exactly the README's two. The
    README names two orders that never rest as examples (SellNo 625065 at 09:31:00.000,
    BuyNo 1957935 at 10:05:10.250); the data has nine, each the aggressor of every fill
    naming it (TradeBSFlag: filled on arrival), listed here."""
    rows = events(samples, "sse", "600000")
    adds = {r["order_ref"]: r["ts_event_us"] for r in rows if r["event_kind"] == "ADD"}
    seen: set[int] = set()
    later: dict[tuple[str, int], int] = {}
    never: dict[tuple[str, int], set[int]] = defaultdict(set)
    for r in rows:
        if r["source"] == "order":
            if r["event_kind"] == "ADD":
                seen.add(r["order_ref"])
            else:
                assert r["event_kind"] == "CANCEL"
                assert r["order_ref"] in seen, r
            continue
        for name, ref, side in (
            ("BuyNo", r["bid_order_ref"], "BUY"),
            ("SellNo", r["ask_order_ref"], "SELL"),
        ):
            if ref is None or ref in seen:
                continue
            if ref in adds:
                later[name, ref] = adds[ref]
            else:
                assert r["aggressor_side"] == side, r  # it never rests: it took liquidity
                never[name, ref].add(r["ts_event_us"])
    assert later == {
        ("BuyNo", 586247): local_us("09:30:00.040"),
        ("SellNo", 9829191): local_us("14:56:59.990"),
    }
    readme = {
        ("SellNo", 625065): {local_us("09:31:00.000")},
        ("BuyNo", 1957935): {local_us("10:05:10.250")},
    }
    assert readme.items() <= never.items()
    assert sorted(never) == [
        *(("BuyNo", n) for n in (1957935, 4492775, 6852560)),
        *(("SellNo", n) for n in (625065, 1705061, 2966694, 5818095, 6124365, 9640622)),
    ]


def test_cn_events_bounds_and_symbols(multi: Lake) -> None:
    start, end = local_us("09:25:00.000"), local_us("13:00:00.000")
    rows = events(multi, "szse", "000002", start=start, end=end)
    assert rows
    assert {r["symbol"] for r in rows} == {"000002"}
    assert all(start <= r["ts_event_us"] < end for r in rows)
    every = events(multi, "szse", "000002")
    assert rows == [r for r in every if start <= r["ts_event_us"] < end]
    assert events(multi, "szse", "999999") == []


def test_cn_events_on_a_generated_symbol(generated: Lake) -> None:
    """A generated SZSE symbol: every ref names an earlier order of the merged stream."""
    seen: set[int] = set()
    rows = events(generated, "szse", "000001")
    assert len(rows) > 100
    for r in rows:
        if r["source"] == "order":
            seen.add(r["order_ref"])
        else:
            assert {r["bid_order_ref"], r["ask_order_ref"]} - {None} <= seen


def test_merge_sorted_keeps_sources_in_order_and_refuses_going_back() -> None:
    schema = pa.schema([("k", pa.int64()), ("v", pa.string())])
    a = [
        pa.record_batch([[1, 2], ["a1", "a2"]], schema=schema),
        pa.record_batch([[2, 5], ["a3", "a4"]], schema=schema),
    ]
    b = [pa.record_batch([[2, 3], ["b1", "b2"]], schema=schema)]
    got = [r["v"] for x in merge_sorted([a, b], ["k"], schema=schema) for r in x.to_pylist()]
    assert got == ["a1", "a2", "a3", "b1", "b2", "a4"]
    back = [pa.record_batch([[3, 1], ["x", "y"]], schema=schema)]
    with pytest.raises(SchemaError, match="go back"):
        list(merge_sorted([a, back], ["k"], schema=schema))


# -- memory ------------------------------------------------------------------------------------

MEMORY_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import pyarrow as pa
    from pointline import Lake, read
    pool = pa.default_memory_pool()
    rows = nbytes = 0
    for batch in read(Lake(sys.argv[1]), "cn_order_events", batch_size=8192):
        rows += batch.num_rows
        nbytes += batch.nbytes
    print(json.dumps({"rows": rows, "nbytes": nbytes, "peak": pool.max_memory()}))
    """
)


def test_memory_of_a_whole_market_read(tmp_path: Path) -> None:
    """Eight symbols' order files of ~150k rows (each two row groups), sharing two
    channels, read across symbols: every file is open at once, but each is read a slice
    at a time, so the Arrow pool's peak stays well below the bytes read."""
    lake = Lake(tmp_path)
    paths = []
    for i in range(8):
        day = SymbolDay("szse", f"{i + 1:06d}", orders=150_000, seed=i, channel=2011 + i % 2,
                        channel_slot=i // 2, channel_slots=4)  # fmt: skip
        paths.append(write_symbol_day(lake.root, day, streams=["order_new"])["order_new"])
    ingest_all(lake, paths)
    done = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT, str(lake.root)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    stats = json.loads(done.stdout)
    assert stats["rows"] >= 8 * 150_000
    assert stats["peak"] < stats["nbytes"] / 3, stats


# -- the command line --------------------------------------------------------------------------


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def test_cli_read_cn_order_events(samples: Lake) -> None:
    where = ("--exchange", "szse", "--symbol", "000001", "--root", str(samples.root))
    code, text = run("read", "cn_order_events", *where)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 32
    first = rows[0]
    assert first["ts_event_us"] == "1704158100000000"
    assert (first["price"], first["qty"], first["side"]) == ("9.39", "1000", "BUY")
    assert (first["event_kind"], first["order_type"]) == ("ADD", "LIMIT")
    assert (first["channel_id"], first["channel_seq"]) == ("2011", "485")
    code, text = run("read", "cn_order_events", *where, "--format", "jsonl")
    assert code == 0
    line = json.loads(text.splitlines()[0])
    assert (line["price"], line["qty"], line["channel_seq"]) == ("9.39", "1000", 485)
    code, text = run("read", "cn_order_events", *where, "--format", "table")
    assert code == 0
    assert text.splitlines()[1].split()[-2:] == ["9.39", "1000"]
    code, text = run("read", "cn_tick_events", "--root", str(samples.root), "--order", "symbol")
    assert code == 0
    assert len(text.splitlines()) == 1 + 28 + 25


def test_the_time_order_reads_every_cn_table(samples: Lake) -> None:
    """No CN table is refused any more; one symbol's time order is its channel order."""
    for table in (*EVENT_TABLES, "cn_l2_snapshots"):
        by_time = read(samples, table, exchange="szse").read_all()
        by_symbol = read(samples, table, exchange="szse", order="symbol").read_all()
        assert by_time.num_rows > 0
        assert by_time.equals(by_symbol)
    ts = read(samples, "cn_order_events").read_all().column("trading_date")
    assert pc.all(pc.equal(ts, pa.scalar(datetime.date(2024, 1, 2)))).as_py()
