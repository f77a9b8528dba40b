"""The read API: live files only, partition pruning, replay order (by time across symbols
and exchanges, or symbol by symbol), time bounds, filters, memory, CLI."""

from __future__ import annotations

import dataclasses
import datetime
import gzip
import io
import itertools
import json
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from operators.silver_sink import SilverSink
from pointline import DEFAULT_EXCHANGES, Lake, get_table_spec, read
from pointline import reader as reader_module
from pointline.bootstrap import bootstrap_dim_symbol
from pointline.bronze import BronzeFileMetadata
from pointline.cli import main
from pointline.errors import SchemaError, UnknownExchangeError, UnknownTableError
from pointline.ingest import ingest_file
from pointline.reader import Order, to_timestamp_us
from pointline.testing.tardis import DEFAULT_SYMBOLS, write_tardis_file

T0 = 1_727_568_000_000_000  # 2024-09-29T00:00:00Z
TOKYO_MIDNIGHT = 1_727_622_000_000_000  # 2024-09-30T00:00:00+09:00
HOUR = 3_600_000_000


def bronze(root: Path, exchange: str, name: str, date: str = "2024-09-29") -> Path:
    return root / f"bronze/tardis/exchange={exchange}/type=trades/date={date}/{name}.csv.gz"


def ingest_all(lake: Lake) -> None:
    bootstrap_dim_symbol(lake)
    for path in sorted(lake.bronze_root.rglob("*.csv.gz")):
        meta = BronzeFileMetadata.from_path(path, bronze_root=lake.bronze_root)
        assert ingest_file(meta, lake=lake).status == "success"


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    root = tmp_path_factory.mktemp("lake")
    registry = DEFAULT_EXCHANGES.register("tokyo-x", timezone="Asia/Tokyo")
    the_lake = Lake(root, exchanges=registry)
    for i in range(3):  # overlapping files around UTC midnight, interleaved symbols
        start = T0 - 3_000_000 + i * 1_500_000
        write_tardis_file(bronze(root, "binance-futures", f"b{i}"), "trades", rows=3000,
                          seed=i, start_us=start)  # fmt: skip
    for i in range(2):  # spans Tokyo midnight (15:00 UTC)
        start = TOKYO_MIDNIGHT - 4_000_000 + i * 1_000_000
        write_tardis_file(bronze(root, "tokyo-x", f"t{i}"), "trades", rows=4000, seed=10 + i,
                          exchange="tokyo-x", start_us=start)  # fmt: skip
    ingest_all(the_lake)
    return the_lake


SORT_KEYS = {
    "time": ("_ts", "exchange", "symbol_id", "file_id", "file_seq"),
    "symbol": ("exchange", "symbol", "_ts", "symbol_id", "file_id", "file_seq"),
}


def reference(lake: Lake, exchange: str | None, order: str = "time", **window: Any) -> pa.Table:
    """Every live row of ``exchange`` (None: every exchange) read in full, filtered and
    fully sorted in memory by the ``order``'s keys (docs/contracts.md section 4)."""
    tables = []
    for entry in lake.manifest().entries().values():
        if entry.status not in {"success", "quarantined"}:
            continue
        for name in entry.silver_files:
            if exchange is not None and f"/exchange={exchange}/" not in name:
                continue
            venue = name.split("exchange=")[1].split("/")[0]
            day = datetime.date.fromisoformat(name.split("trading_date=")[1].split("/")[0])
            t = pq.ParquetFile(lake.root / name).read()
            t = t.append_column("exchange", pa.repeat(pa.scalar(venue), t.num_rows))
            t = t.append_column("trading_date", pa.repeat(pa.scalar(day), t.num_rows))
            tables.append(t)
    full = pa.concat_tables(tables, promote_options="default")
    ts = full.column("ts_event_us")
    mask = pc.is_valid(ts)
    if window.get("start_us") is not None:
        mask = pc.and_(mask, pc.greater_equal(ts, window["start_us"]))
    if window.get("end_us") is not None:
        mask = pc.and_(mask, pc.less(ts, window["end_us"]))
    if window.get("symbols") is not None:
        mask = pc.and_(mask, pc.is_in(full.column("symbol"), pa.array(window["symbols"])))
    full = full.filter(mask)
    keyed = full.append_column(
        "_ts", pc.coalesce(full.column("ts_local_us"), full.column("ts_event_us"))
    )
    sort_keys = [(name, "ascending") for name in SORT_KEYS[order]]
    return full.take(pc.sort_indices(keyed, sort_keys=sort_keys))


def lake_schema_names() -> list[str]:
    from pointline import get_table_spec

    return list(get_table_spec("trades").column_names)


def rows(table: pa.Table, columns: list[str]) -> list[dict[str, Any]]:
    return table.select(columns).to_pylist()


WINDOWS = [
    ("binance-futures", None, None),
    ("binance-futures", T0 - 1_000_000, T0 + 1_000_000),  # crosses UTC midnight
    ("binance-futures", T0, None),
    ("binance-futures", None, T0),
    ("tokyo-x", None, None),
    ("tokyo-x", TOKYO_MIDNIGHT - 2_000_000, TOKYO_MIDNIGHT + 2_000_000),  # Tokyo midnight
    ("tokyo-x", TOKYO_MIDNIGHT, TOKYO_MIDNIGHT + HOUR),
    ("tokyo-x", TOKYO_MIDNIGHT - HOUR, TOKYO_MIDNIGHT),
]


CASES = [(*w, size) for w in WINDOWS for size in (777, 65_536)] + [(*WINDOWS[5], 1)]


@pytest.mark.parametrize("order", ["time", "symbol"])
@pytest.mark.parametrize(("exchange", "start", "end", "batch_size"), CASES)
def test_read_equals_full_sort(
    lake: Lake, exchange: str, start: int | None, end: int | None, *, batch_size: int,
    order: Order,
) -> None:  # fmt: skip
    reader = read(lake, "trades", exchange=exchange, start_us=start, end_us=end,
                  batch_size=batch_size, order=order)  # fmt: skip
    got = reader.read_all()
    want = reference(lake, exchange, order, start_us=start, end_us=end)
    assert want.num_rows > 0
    assert got.schema.names == list(lake_schema_names())
    assert got.num_rows == want.num_rows
    assert rows(got, got.schema.names) == rows(want, got.schema.names)
    assert all(b.num_rows <= batch_size for b in read(lake, "trades", exchange=exchange,
               start_us=start, end_us=end, batch_size=batch_size))  # fmt: skip


def test_tokyo_window_spans_two_trading_dates(lake: Lake) -> None:
    got = read(lake, "trades", exchange="tokyo-x", start_us=TOKYO_MIDNIGHT - 2_000_000,
               end_us=TOKYO_MIDNIGHT + 2_000_000).read_all()  # fmt: skip
    days = set(got.column("trading_date").to_pylist())
    assert days == {datetime.date(2024, 9, 29), datetime.date(2024, 9, 30)}
    ts = got.column("ts_event_us").to_numpy()
    assert ts.min() >= TOKYO_MIDNIGHT - 2_000_000
    assert ts.max() < TOKYO_MIDNIGHT + 2_000_000


def test_symbols_filter_and_columns_subset(lake: Lake) -> None:
    got = read(lake, "trades", exchange="binance-futures", symbols=["ETHUSDT"],
               columns=["price", "symbol", "trading_date"]).read_all()  # fmt: skip
    want = reference(lake, "binance-futures", symbols=["ETHUSDT"])
    assert got.schema.names == ["price", "symbol", "trading_date"]
    assert got.column("price").type == pa.decimal128(38, 18)
    assert got.num_rows == want.num_rows > 0
    assert set(got.column("symbol").to_pylist()) == {"ETHUSDT"}
    assert rows(got, got.schema.names) == rows(want, got.schema.names)
    none = read(lake, "trades", exchange="binance-futures", symbols=["NOPE"]).read_all()
    assert none.num_rows == 0


def test_clear_errors(lake: Lake) -> None:
    with pytest.raises(UnknownTableError):
        read(lake, "tradez", exchange="binance-futures")
    with pytest.raises(UnknownExchangeError):
        read(lake, "trades", exchange="nowhere")
    with pytest.raises(SchemaError, match="unknown columns"):
        read(lake, "trades", exchange="binance-futures", columns=["price", "bogus"])
    with pytest.raises(SchemaError, match="order must be one of"):
        read(lake, "trades", order="random")  # type: ignore[arg-type]
    with pytest.raises(SchemaError, match="batch_size"):
        read(lake, "trades", batch_size=0)


def test_superseded_and_failed_files_are_never_read(tmp_path: Path) -> None:
    the_lake = Lake(tmp_path)
    good = write_tardis_file(bronze(tmp_path, "binance-futures", "good"), "trades", rows=500)
    ingest_all(the_lake)
    manifest = the_lake.manifest()
    (entry,) = manifest.entries().values()
    # a stray file the manifest never published, in the table's folder
    stray = the_lake.root / entry.silver_files[0].replace(str(entry.file_id), "123")
    pq.write_table(pq.read_table(the_lake.root / entry.silver_files[0]), stray)
    before = read(the_lake, "trades", exchange="binance-futures").read_all()
    assert before.num_rows == 500
    assert set(before.column("file_id").to_pylist()) == {entry.file_id}
    # the same file marked failed: nothing is live any more
    manifest.commit([entry.replace(status="failed", silver_files=())])
    assert read(the_lake, "trades", exchange="binance-futures").read_all().num_rows == 0
    manifest.commit([entry.replace(status="failed")])  # failed, files still listed
    assert read(the_lake, "trades", exchange="binance-futures").read_all().num_rows == 0
    assert good.exists()


MEMORY_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import pyarrow as pa
    from pointline import Lake, read
    lake = Lake(sys.argv[1])
    pool = pa.default_memory_pool()
    rows = nbytes = 0
    for batch in read(lake, "trades", exchange="binance-futures", batch_size=8192,
                      order=sys.argv[2]):
        rows += batch.num_rows
        nbytes += batch.nbytes
    print(json.dumps({"rows": rows, "nbytes": nbytes, "peak": pool.max_memory()}))
    """
)


def memory_lake(root: Path, *, mixed: bool) -> Path:
    """Ten days of 1M trades rows: two files a day, overlapping in time (an hour after
    midnight for ~14 hours); one symbol per file, or (``mixed``) both symbols in each."""
    the_lake = Lake(root)
    for day in range(10):
        date = (datetime.date(2024, 9, 29) + datetime.timedelta(days=day)).isoformat()
        for i, symbol in enumerate(["BTCUSDT", "ETHUSDT"]):
            spec = [s for s in DEFAULT_SYMBOLS if mixed or s.symbol == symbol]
            path = bronze(root, "binance-futures", f"{symbol}-{day}", date)
            write_tardis_file(path, "trades",
                              rows=50_000, seed=day * 2 + i if mixed else day, symbols=spec,
                              start_us=T0 + day * 86_400_000_000 + 3_600_000_000,
                              mean_gap_us=1_000_000)  # fmt: skip
    ingest_all(the_lake)
    return root


@pytest.fixture(scope="module")
def one_symbol_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return memory_lake(tmp_path_factory.mktemp("memory-one"), mixed=False)


@pytest.fixture(scope="module")
def mixed_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return memory_lake(tmp_path_factory.mktemp("memory-mixed"), mixed=True)


@pytest.mark.parametrize(
    ("layout", "order"),
    [("one_symbol_files", "symbol"), ("one_symbol_files", "time"), ("mixed_files", "time"),
     ("mixed_files", "symbol")],
)  # fmt: skip
def test_memory_stays_bounded(request: pytest.FixtureRequest, layout: str, order: str) -> None:
    """The Arrow pool's peak stays far below the bytes read: in time order the two files of
    a day are open together (one row group each) and interleave row by row."""
    root = request.getfixturevalue(layout)
    result = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT, str(root), order],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    stats = json.loads(result.stdout)
    assert stats["rows"] == 1_000_000
    assert stats["peak"] < stats["nbytes"] / 4, stats


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


@pytest.fixture
def small(tmp_path: Path) -> Path:
    path = bronze(tmp_path, "binance-futures", "s").with_suffix("")
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["exchange,symbol,timestamp,local_timestamp,id,side,price,amount"]
    for i in range(4):
        ts = T0 + i * 1_000_000
        lines.append(
            f"binance-futures,BTCUSDT,{ts},{ts + 500},{i},buy,65000.5{i},0.00000000{i + 1}"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    the_lake = Lake(tmp_path)
    bootstrap_dim_symbol(the_lake)
    meta = BronzeFileMetadata.from_path(path, bronze_root=the_lake.bronze_root)
    assert ingest_file(meta, lake=the_lake).status == "success"
    return tmp_path


def test_cli_read_csv_exact_decimals(small: Path) -> None:
    code, text = run("read", "trades", "--exchange", "binance-futures", "--root", str(small),
                     "--start", "2024-09-29T00:00:01", "--end", str(T0 + 3_000_000))  # fmt: skip
    assert code == 0
    lines = text.splitlines()
    header = lines[0].split(",")
    assert header[:3] == ["exchange", "trading_date", "symbol"]
    body = [dict(zip(header, line.split(","), strict=True)) for line in lines[1:]]
    assert [r["price"] for r in body] == ["65000.51", "65000.52"]
    assert [r["qty"] for r in body] == ["0.000000002", "0.000000003"]
    assert body[0]["trading_date"] == "2024-09-29"


def test_cli_read_jsonl_and_parquet(small: Path, tmp_path: Path) -> None:
    code, text = run("read", "trades", "--exchange", "binance-futures", "--root", str(small),
                     "--format", "jsonl", "--symbol", "BTCUSDT", "--start",
                     "2024-09-29T09:00:00+09:00")  # fmt: skip
    assert code == 0
    records = [json.loads(line) for line in text.splitlines()]
    assert [r["price"] for r in records] == ["65000.5", "65000.51", "65000.52", "65000.53"]
    assert records[0]["qty"] == "0.000000001"
    assert records[0]["ts_event_us"] == T0
    target = tmp_path / "out.parquet"
    code, _ = run("read", "trades", "--exchange", "binance-futures", "--root", str(small),
                  "--format", "parquet", "--output", str(target))  # fmt: skip
    assert code == 0
    table = pq.read_table(target)
    assert table.num_rows == 4
    assert table.column("price").to_pylist()[1] == Decimal("65000.51")


def test_cli_read_errors(small: Path) -> None:
    assert run("read", "trades", "--exchange", "nowhere", "--root", str(small))[0] == 1
    assert run("read", "trades", "--exchange", "binance-futures", "--root", str(small),
               "--start", "yesterday")[0] == 1  # fmt: skip
    assert run("read", "trades", "--exchange", "binance-futures", "--root", str(small),
               "--format", "parquet")[0] == 1  # fmt: skip


@pytest.mark.parametrize("order", ["time", "symbol"])
@pytest.mark.parametrize("batch_size", [1, 333])
def test_out_of_order_arrival_is_sorted_and_in_order_files_stream(
    tmp_path: Path, order: Order, batch_size: int
) -> None:
    """A file whose local_timestamp goes back (not Tardis's promise, but possible) takes
    the load-and-sort path; the in-order files stream; the merged result is the same as a
    full sort either way (equal times across symbols inside the odd file included)."""
    the_lake = Lake(tmp_path)
    write_tardis_file(bronze(tmp_path, "binance-futures", "ok"), "trades", rows=2000, seed=3)
    lines = ["exchange,symbol,timestamp,local_timestamp,id,side,price,amount"]
    for i, local in enumerate([T0 + 900, T0 + 100, T0 + 500, T0 + 100, T0 + 50, T0 + 100]):
        symbol = ("BTCUSDT", "ETHUSDT")[i % 2 if i < 5 else 0]
        lines.append(f"binance-futures,{symbol},{local - 10},{local},{i},buy,65000.{i},1")
    odd = bronze(tmp_path, "binance-futures", "odd")
    odd.parent.mkdir(parents=True, exist_ok=True)
    odd.with_suffix("").write_text("\n".join(lines) + "\n")
    odd.with_suffix("").rename(odd.with_name("odd.csv"))
    ingest_all(the_lake)
    meta = BronzeFileMetadata.from_path(odd.with_name("odd.csv"), bronze_root=the_lake.bronze_root)
    assert ingest_file(meta, lake=the_lake).status == "success"
    got = read(the_lake, "trades", exchange="binance-futures", batch_size=batch_size,
               order=order).read_all()  # fmt: skip
    want = reference(the_lake, "binance-futures", order)
    columns = lake_schema_names()
    assert rows(got, columns) == rows(want, columns)


# -- time order: equal times across symbols, files, row groups and exchanges -------------

ROW_GROUP = 7
TINY_T0 = T0 + 60_000_000  # a minute after midnight: no row falls on the day before


def write_ties(path: Path) -> Path:
    """A hand-made trades file: runs of rows sharing one local_timestamp, three symbols
    alternating, each run longer than several 7-row row groups."""
    lines = ["exchange,symbol,timestamp,local_timestamp,id,side,price,amount"]
    symbols = [s.symbol for s in DEFAULT_SYMBOLS]
    n = 0
    for run, length in enumerate([23, 1, 2, 30, 5]):
        for k in range(length):
            local = TINY_T0 + 1_000 + run
            symbol = symbols[(k * 2 + run) % 3]
            lines.append(f"binance-futures,{symbol},{local - 7},{local},{n},sell,1.{n},2")
            n += 1
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Lake]:
    """Lakes whose Silver files have 7-row row groups (ingest's SilverSink default is
    patched: the writer's constant is bound at definition time), full of equal times:
    with a mean gap of 1 us, most rows share their local_timestamp with the previous one.

    - ``one``: one file, three symbols interleaved;
    - ``two``: two files overlapping in time (ETHUSDT in both);
    - ``all``: those three files, the hand-made runs of equal times, and a second
      exchange (bybit) whose file has exactly the times of ``one``'s file."""
    lakes: dict[str, Lake] = {}
    btc_eth, eth_doge = list(DEFAULT_SYMBOLS[:2]), list(DEFAULT_SYMBOLS[1:])
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(SilverSink.__init__.__kwdefaults__, "row_group_rows", ROW_GROUP)
        for name in ("one", "two", "all"):
            root = tmp_path_factory.mktemp(name)
            if name in {"one", "all"}:
                write_tardis_file(bronze(root, "binance-futures", "one"), "trades", rows=500,
                                  seed=1, mean_gap_us=1, start_us=TINY_T0)  # fmt: skip
            if name in {"two", "all"}:
                for part, seed, symbols in (("a", 2, btc_eth), ("b", 3, eth_doge)):
                    write_tardis_file(bronze(root, "binance-futures", f"two-{part}"), "trades",
                                      rows=300, seed=seed, mean_gap_us=1, start_us=TINY_T0,
                                      symbols=symbols)  # fmt: skip
            if name == "all":
                write_ties(bronze(root, "binance-futures", "ties"))
                write_tardis_file(bronze(root, "bybit", "one"), "trades", rows=500, seed=1,
                                  mean_gap_us=1, start_us=TINY_T0, exchange="bybit")  # fmt: skip
            lakes[name] = Lake(root)
            ingest_all(lakes[name])
    return lakes


def straddles(lake: Lake) -> int:
    """Row-group boundaries of the lake's Silver files where the next group starts at the
    previous one's last time with a smaller symbol_id: a row the merge must not emit
    before the one that follows it in the file."""
    count = 0
    for path in lake.root.glob("silver/trades/**/*.parquet"):
        parquet = pq.ParquetFile(path)
        assert parquet.num_row_groups > 1
        assert parquet.metadata.row_group(0).num_rows == ROW_GROUP
        groups = [parquet.read_row_group(g) for g in range(parquet.num_row_groups)]
        for before, after in itertools.pairwise(groups):
            last, first = before.slice(before.num_rows - 1).to_pylist()[0], after.to_pylist()[0]
            same = last["ts_local_us"] == first["ts_local_us"]
            count += same and first["symbol_id"] < last["symbol_id"]
    return count


@pytest.mark.parametrize("batch_size", [1, 7, 65_536])
@pytest.mark.parametrize("name", ["one", "two", "all"])
def test_time_order_equals_full_sort_with_equal_times(
    tiny: dict[str, Lake], name: str, batch_size: int
) -> None:
    """Equal times across symbols in one file, across two files, across row groups (the
    carry-over) and across exchanges: exactly the full sort by (time, exchange,
    symbol_id, file_id, file_seq), in batches of at most ``batch_size`` rows."""
    lake = tiny[name]
    assert straddles(lake) > 0
    batches = list(read(lake, "trades", batch_size=batch_size))
    assert all(0 < b.num_rows <= batch_size for b in batches)
    got = pa.Table.from_batches(batches)
    want = reference(lake, None)
    assert got.num_rows == want.num_rows
    ts = pc.coalesce(want.column("ts_local_us"), want.column("ts_event_us")).to_numpy()
    assert (np.diff(ts) == 0).mean() > 0.3  # most rows tie with the previous one
    columns = lake_schema_names()
    assert rows(got, columns) == rows(want, columns)
    if name == "all":
        assert set(got.column("exchange").to_pylist()) == {"binance-futures", "bybit"}


@pytest.mark.parametrize("exchange", [None, "binance-futures", "bybit"])
@pytest.mark.parametrize("order", ["time", "symbol"])
def test_exchange_none_merges_every_exchange(
    tiny: dict[str, Lake], exchange: str | None, order: Order
) -> None:
    """exchange=None: every exchange with live files (time order: merged, equal times by
    exchange name; symbol order: one exchange after the other); one exchange: only it."""
    lake = tiny["all"]
    got = read(lake, "trades", exchange=exchange, order=order, batch_size=50).read_all()
    want = reference(lake, exchange, order)
    columns = lake_schema_names()
    assert rows(got, columns) == rows(want, columns)


@pytest.mark.parametrize("order", ["time", "symbol"])
def test_time_order_with_window_symbols_and_columns(tiny: dict[str, Lake], order: Order) -> None:
    lake = tiny["all"]
    start, end = TINY_T0 + 100, TINY_T0 + 1_003
    got = read(lake, "trades", start=start, end=end, symbols=["ETHUSDT", "DOGEUSDT"],
               columns=["file_seq", "symbol", "exchange"], batch_size=7,
               order=order).read_all()  # fmt: skip
    want = reference(lake, None, order, start_us=start, end_us=end,
                     symbols=["ETHUSDT", "DOGEUSDT"])  # fmt: skip
    assert got.schema.names == ["file_seq", "symbol", "exchange"]
    assert 0 < got.num_rows == want.num_rows
    assert rows(got, got.schema.names) == rows(want, got.schema.names)


def test_time_order_needs_arrival_order_keys(lake: Lake, monkeypatch: pytest.MonkeyPatch) -> None:
    """A table whose tie-break keys are not the crypto shape (CN tables, later) is refused
    in time order rather than merged by a guess; the symbol order is unchanged."""
    spec = get_table_spec("trades")
    cn_like = dataclasses.replace(
        spec, tie_break_keys=("exchange", "symbol_id", "trading_date", "file_id", "file_seq")
    )
    monkeypatch.setattr(reader_module, "get_table_spec", lambda name: cn_like)
    with pytest.raises(SchemaError, match="order='time' needs tie-break keys"):
        read(lake, "trades", exchange="binance-futures")
    assert read(lake, "trades", exchange="binance-futures", order="symbol").read_all().num_rows


# -- time bounds ---------------------------------------------------------------------------

TOKYO = datetime.timezone(datetime.timedelta(hours=9))
START = T0 - 1_000_000  # 2024-09-28T23:59:59Z
SAME_START: list[Any] = [
    START,
    np.int64(START),
    str(START),
    "2024-09-28T23:59:59Z",
    "2024-09-28T23:59:59+00:00",
    "2024-09-28T23:59:59",
    " 2024-09-29T08:59:59+09:00 ",
    datetime.datetime(2024, 9, 28, 23, 59, 59),  # noqa: DTZ001 (naive = UTC)
    datetime.datetime(2024, 9, 29, 8, 59, 59, tzinfo=TOKYO),
]
SAME_END: list[Any] = [
    T0,
    "2024-09-29",
    "2024-09-29T00:00:00Z",
    "2024-09-29T09:00+09:00",
    datetime.date(2024, 9, 29),
    datetime.datetime(2024, 9, 29, tzinfo=datetime.UTC),
]


@pytest.mark.parametrize("value", SAME_START)
def test_start_forms_are_the_same_bound(lake: Lake, value: Any) -> None:
    assert to_timestamp_us(value) == START
    want = read(lake, "trades", start=START, end=T0 + 500_000).read_all()
    assert want.num_rows > 0
    assert want.column("ts_event_us").to_numpy().min() >= START
    for kwargs in ({"start": value}, {"start_us": value}):
        got = read(lake, "trades", end=T0 + 500_000, **kwargs).read_all()
        assert got.equals(want)


@pytest.mark.parametrize("value", SAME_END)
def test_end_forms_are_the_same_bound(lake: Lake, value: Any) -> None:
    assert to_timestamp_us(value) == T0
    want = read(lake, "trades", exchange="binance-futures", start=START, end=T0).read_all()
    assert want.num_rows > 0
    assert want.column("ts_event_us").to_numpy().max() < T0  # end exclusive
    got = read(lake, "trades", exchange="binance-futures", start=START, end=value).read_all()
    assert got.equals(want)
    got = read(lake, "trades", exchange="binance-futures", start_us=START, end_us=value)
    assert got.read_all().equals(want)


def test_to_timestamp_us_exact_integer_arithmetic() -> None:
    assert to_timestamp_us("2024-09-29T00:00:00.000001Z") == T0 + 1
    assert to_timestamp_us("2024-09-28T23:59:59.999999") == T0 - 1
    assert to_timestamp_us(datetime.datetime(1969, 12, 31, 23, 59, 59, 999_999)) == -1  # noqa: DTZ001
    assert to_timestamp_us(datetime.date(1970, 1, 1)) == 0
    assert to_timestamp_us("-5") == -5
    far = datetime.datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=datetime.UTC)
    assert to_timestamp_us(far) == 253_402_300_799_999_999  # exact: no float on the way
    assert to_timestamp_us("2024-09-29T09:00:00.123456+09:00") == T0 + 123_456


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (1.5, "got 1.5 \\(float\\)"),
        (True, "got True \\(bool\\)"),
        (None, "got None"),
        ([T0], "list"),
        (Decimal(T0), "Decimal"),
        ("yesterday", "'yesterday' is neither ISO 8601"),
        ("", "neither ISO 8601"),
        ("2024-13-01", "neither ISO 8601"),
        ("1.5", "neither ISO 8601"),
        (2**63, "outside int64"),
    ],
)
def test_bad_time_bounds_raise_clear_errors(lake: Lake, value: Any, match: str) -> None:
    with pytest.raises(SchemaError, match=match):
        to_timestamp_us(value)
    if value is not None:
        with pytest.raises(ValueError, match=match):
            read(lake, "trades", start=value)
        with pytest.raises(SchemaError, match=match):
            read(lake, "trades", end_us=value)


def test_a_bound_under_both_names_is_refused(lake: Lake) -> None:
    with pytest.raises(SchemaError, match="give start or start_us, not both"):
        read(lake, "trades", start=T0, start_us=T0)
    with pytest.raises(SchemaError, match="give end or end_us, not both"):
        read(lake, "trades", end="2024-09-29", end_us=T0)
