"""The read API: live files only, partition pruning, tie-break order, filters, memory, CLI."""

from __future__ import annotations

import datetime
import io
import json
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from pointline import DEFAULT_EXCHANGES, Lake, read
from pointline.bootstrap import bootstrap_dim_symbol
from pointline.bronze import BronzeFileMetadata
from pointline.cli import main
from pointline.errors import SchemaError, UnknownExchangeError, UnknownTableError
from pointline.ingest import ingest_file
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


KEYS = ("symbol_id", "ts_local_us", "file_id", "file_seq")


def reference(lake: Lake, exchange: str, **window: Any) -> pa.Table:
    """Every live row of ``exchange`` read in full, filtered and fully sorted in memory."""
    tables = []
    for entry in lake.manifest().entries().values():
        if entry.status not in {"success", "quarantined"}:
            continue
        for name in entry.silver_files:
            if f"/exchange={exchange}/" not in name:
                continue
            day = datetime.date.fromisoformat(name.split("trading_date=")[1].split("/")[0])
            t = pq.ParquetFile(lake.root / name).read()
            t = t.append_column("exchange", pa.repeat(pa.scalar(exchange), t.num_rows))
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
    order = pc.sort_indices(keyed, sort_keys=[(name, "ascending") for name in (
        "symbol", "_ts", "symbol_id", "file_id", "file_seq")])  # fmt: skip
    return full.take(order)


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


@pytest.mark.parametrize(("exchange", "start", "end", "batch_size"), CASES)
def test_read_equals_full_sort(
    lake: Lake, exchange: str, start: int | None, end: int | None, batch_size: int
) -> None:
    reader = read(lake, "trades", exchange=exchange, start_us=start, end_us=end,
                  batch_size=batch_size)  # fmt: skip
    got = reader.read_all()
    want = reference(lake, exchange, start_us=start, end_us=end)
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
    for batch in read(lake, "trades", exchange="binance-futures", batch_size=8192):
        rows += batch.num_rows
        nbytes += batch.nbytes
    print(json.dumps({"rows": rows, "nbytes": nbytes, "peak": pool.max_memory()}))
    """
)


def test_memory_stays_bounded(tmp_path: Path) -> None:
    symbols = ["BTCUSDT", "ETHUSDT"]
    the_lake = Lake(tmp_path)
    for day in range(10):  # ten days, one file per symbol and day: 1M rows
        for symbol in symbols:
            spec = [s for s in DEFAULT_SYMBOLS if s.symbol == symbol]
            date = (datetime.date(2024, 9, 29) + datetime.timedelta(days=day)).isoformat()
            path = bronze(tmp_path, "binance-futures", f"{symbol}-{day}", date)
            write_tardis_file(path, "trades",
                              rows=50_000, seed=day, symbols=spec,
                              start_us=T0 + day * 86_400_000_000 + 3_600_000_000,
                              mean_gap_us=1_000_000)  # fmt: skip
    ingest_all(the_lake)
    result = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT, str(tmp_path)],
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


def test_out_of_order_arrival_is_sorted_and_in_order_files_stream(tmp_path: Path) -> None:
    """A file whose local_timestamp goes back (not Tardis's promise, but possible) takes
    the load-and-sort path; the in-order files stream; the merged result is the same as a
    full sort either way."""
    the_lake = Lake(tmp_path)
    write_tardis_file(bronze(tmp_path, "binance-futures", "ok"), "trades", rows=2000, seed=3)
    lines = ["exchange,symbol,timestamp,local_timestamp,id,side,price,amount"]
    for i, local in enumerate([T0 + 900, T0 + 100, T0 + 500, T0 + 100, T0 + 50]):
        lines.append(f"binance-futures,BTCUSDT,{local - 10},{local},{i},buy,65000.{i},1")
    odd = bronze(tmp_path, "binance-futures", "odd")
    odd.parent.mkdir(parents=True, exist_ok=True)
    odd.with_suffix("").write_text("\n".join(lines) + "\n")
    odd.with_suffix("").rename(odd.with_name("odd.csv"))
    ingest_all(the_lake)
    meta = BronzeFileMetadata.from_path(odd.with_name("odd.csv"), bronze_root=the_lake.bronze_root)
    assert ingest_file(meta, lake=the_lake).status == "success"
    got = read(the_lake, "trades", exchange="binance-futures", batch_size=333).read_all()
    want = reference(the_lake, "binance-futures")
    columns = lake_schema_names()
    assert rows(got, columns) == rows(want, columns)
