"""``pointline demo``: generate a small realistic Bronze set, ingest it, show what landed.

The set: Tardis crypto files on three exchanges, three data types, several symbols, a few
bad rows (they land in the validation log with their reason) and one file that crosses
midnight UTC (its rows land in two trading_date partitions); and a small CN day from
Quant360 (SZSE order, tick and L2 files of two stocks, SSE order and tick files of one),
whose 09:15 Shanghai events (01:15 UTC) land in that day's Shanghai trading date.
"""

from __future__ import annotations

import datetime
import gzip
import sys
from pathlib import Path
from typing import TextIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from pointline.bootstrap import bootstrap_dim_symbol
from pointline.bronze import BronzeFileMetadata, walk_bronze
from pointline.ingest import ingest_file
from pointline.kernels.decimal import decimal_text
from pointline.lake import Lake
from pointline.schemas import DECIMAL_TYPE, get_table_spec
from pointline.testing.quant360 import STREAMS, SymbolDay, write_symbol_day
from pointline.testing.quant360 import bronze_path as cn_bronze_path
from pointline.testing.tardis import SymbolSpec, tardis_lines

__all__ = ["demo_paths", "run_demo", "write_demo_bronze"]

DAY_US = 86_400_000_000
START_US = 1_727_568_000_000_000  # 2024-09-29T00:00:00Z

# (exchange, data type, symbols, rows, start offset, bad rows to inject)
_FILES: tuple[tuple[str, str, tuple[SymbolSpec, ...], int, int, tuple[str, ...]], ...] = (
    (
        "binance-futures",
        "incremental_book_L2",
        (SymbolSpec("BTCUSDT", 650_000, 1, 3),),
        5_000,
        0,
        ("binance-futures,BTCUSDT,1727568000500000,1727568000600000,false,bid,64999.5,-0.5",),
    ),
    (
        "binance-futures",
        "trades",
        (SymbolSpec("BTCUSDT", 650_000, 1, 3), SymbolSpec("ETHUSDT", 345_000, 2, 3)),
        3_000,
        DAY_US - 3_000_000,  # starts 3 s before midnight: crosses into 2024-09-30
        ("binance-futures,ETHUSDT,1727654400100000,1727654400200000,77,buy,3450.1,abc",),
    ),
    (
        "deribit",
        "quotes",
        (SymbolSpec("BTC-PERPETUAL", 130_000, 1, 0),),
        2_000,
        3_600_000_000,
        (  # a bid price with a 19th fractional digit: inexact_value, never rounded
            "deribit,BTC-PERPETUAL,1727571600100000,1727571600200000,10,65000.5,"
            "64999.0000000000000000001,20",
        ),
    ),
    (
        "bitmex",
        "trades",
        (SymbolSpec("XBTUSD", 130_000, 1, 0),),
        1_000,
        7_200_000_000,
        ("bitmex,XBTUSD,1727575200100000,1727575200200000,x1,hold,65000,10",),
    ),
)


CN_DATE = datetime.date(2024, 1, 2)
_CN_DAYS: tuple[SymbolDay, ...] = (
    SymbolDay("szse", "000001", orders=600, snapshots=60, seed=1, date=CN_DATE),
    SymbolDay("szse", "000002", orders=300, snapshots=30, seed=2, date=CN_DATE),
    SymbolDay("sse", "600000", orders=400, seed=3, date=CN_DATE),
)
"""The CN day: SZSE 000001 and 000002 (order, tick, L2), SSE 600000 (order, tick)."""


def _cn_paths(bronze_root: Path) -> list[Path]:
    root = bronze_root.parent
    return [
        cn_bronze_path(root, day.exchange, stream, day.date, day.symbol)
        for day in _CN_DAYS
        for stream in STREAMS[day.exchange]
    ]


def _demo_path(bronze_root: Path, exchange: str, data_type: str, group: str) -> Path:
    return (
        bronze_root
        / "tardis"
        / f"exchange={exchange}"
        / f"type={data_type}"
        / "date=2024-09-29"
        / f"symbol={group}"
        / f"{exchange}_{data_type}_2024-09-29_{group}.csv.gz"
    )


def demo_paths(bronze_root: Path) -> list[Path]:
    """Where :func:`write_demo_bronze` writes its files."""
    return [
        *(
            _demo_path(bronze_root, exchange, data_type, _group(symbols))
            for exchange, data_type, symbols, *_ in _FILES
        ),
        *_cn_paths(bronze_root),
    ]


def _group(symbols: tuple[SymbolSpec, ...]) -> str:
    return symbols[0].symbol if len(symbols) == 1 else "PERPETUALS"


def write_demo_bronze(bronze_root: Path) -> list[Path]:
    """Write the demo's Bronze files (Tardis path convention); returns their paths.

    The bytes are deterministic (gzip header without a time stamp) and a file that already
    holds them is left alone, so a second run finds the same file identities.
    """
    paths = []
    for seed, (exchange, data_type, symbols, rows, offset, bad) in enumerate(_FILES):
        path = _demo_path(bronze_root, exchange, data_type, _group(symbols))
        lines = list(
            tardis_lines(
                data_type,
                rows=rows,
                seed=seed,
                exchange=exchange,
                symbols=symbols,
                start_us=START_US + offset,
                snapshot_levels=10,
            )
        )
        cut = rows // 2 + 1  # the bad rows follow the header and rows // 2 data lines
        text = "".join(line + "\n" for line in [*lines[:cut], *bad, *lines[cut:]])
        payload = gzip.compress(text.encode("utf-8"), mtime=0)
        if not (path.is_file() and path.read_bytes() == payload):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(payload)
        paths.append(path)
    cn = _cn_paths(bronze_root)
    if not all(p.is_file() for p in cn):  # the generator's bytes are deterministic
        for day in _CN_DAYS:
            write_symbol_day(bronze_root.parent, day)
    return [*paths, *cn]


def _foreign_bronze(bronze_root: Path) -> list[Path]:
    """Bronze files in the lake that are not the demo's."""
    if not bronze_root.is_dir():
        return []
    ours = set(demo_paths(bronze_root))
    return [p for p in walk_bronze([bronze_root]) if p not in ours]


def _write_decimal_sample(lake: Lake, out: TextIO) -> None:
    """One stored row per table, its prices and quantities as the exact decimals they are
    (the best level of a level list)."""
    out.write(f"\nPrices and quantities are {DECIMAL_TYPE}: exact, never rounded. First rows:\n")
    for table in sorted(p.name for p in lake.silver_root.iterdir() if p.is_dir()):
        if table == "validation_log":
            continue
        spec = get_table_spec(table)
        columns = [c.name for c in spec.columns if c.dtype == DECIMAL_TYPE]
        lists = [c.name for c in spec.columns if c.dtype == pa.list_(DECIMAL_TYPE)]
        dataset = ds.dataset(lake.table_dir(table), format="parquet", partitioning="hive")
        first = dataset.to_table(columns=["symbol", "file_seq", *columns, *lists])
        first = first.sort_by([("symbol", "ascending"), ("file_seq", "ascending")]).slice(0, 1)
        values = {name: first[name].combine_chunks() for name in columns}
        values |= {f"{name}[0]": pc.list_element(first[name].combine_chunks(), 0) for name in lists}
        shown = " ".join(
            f"{name}={'null' if text is None else text}"
            for name, value in values.items()
            for text in decimal_text(value).to_pylist()
        )
        out.write(f"  {table:<18} {first['symbol'][0]}  {shown}\n")


def run_demo(lake: Lake, *, out: TextIO) -> int:
    """Generate, bootstrap dim_symbol, ingest, and print a summary.

    Returns the CLI exit status: 0 when every file ended ``success`` (or was skipped), 2
    when one ended ``failed`` or ``quarantined``, 1 (writing nothing) when the lake's
    Bronze already holds files that are not the demo's: the demo's synthetic rows and
    symbols do not belong in a real lake. Running it again on its own lake is a no-op
    that prints the same summary.
    """
    foreign = _foreign_bronze(lake.bronze_root)
    if foreign:
        sys.stderr.write(
            f"pointline demo: {lake.bronze_root} already holds {len(foreign)} Bronze "
            f"file(s) that are not the demo's (e.g. {foreign[0]}); the demo writes "
            "synthetic data, so run it in an empty or demo-only lake, e.g. "
            "pointline demo --root ./demo-lake\n"
        )
        return 1
    out.write(f"pointline demo: lake at {lake.root.resolve()}\n")
    paths = write_demo_bronze(lake.bronze_root)
    out.write(f"wrote {len(paths)} Bronze files under {lake.bronze_root}\n")
    added, version = bootstrap_dim_symbol(lake)
    out.write(f"dim_symbol: {added} symbols bootstrapped from Bronze (version {version})\n\n")
    status = 0
    for path in paths:
        meta = BronzeFileMetadata.from_path(
            path, bronze_root=lake.bronze_root, vendors=lake.vendors
        )
        result = ingest_file(meta, lake=lake)
        if result.status in {"failed", "quarantined"}:
            status = 2
        state = "skipped" if result.skipped else result.status
        out.write(
            f"  {state:<11} {result.rows_total:>6} rows: {result.rows_written:>6} "
            f"written, {result.rows_quarantined} quarantined  {meta.bronze_path}\n"
        )
        if result.error_message:
            out.write(f"    {result.status_reason}: {result.error_message}\n")
    out.write("\nSilver partitions:\n")
    for table in sorted(p.name for p in lake.silver_root.iterdir() if p.is_dir()):
        if table == "validation_log":
            continue
        dataset = ds.dataset(lake.table_dir(table), format="parquet", partitioning="hive")
        counts = (
            dataset.to_table(columns=["exchange", "trading_date"])
            .group_by(["exchange", "trading_date"])
            .aggregate([([], "count_all")])
            .sort_by([("exchange", "ascending"), ("trading_date", "ascending")])
        )
        for row in counts.to_pylist():
            out.write(
                f"  {table:<18} exchange={row['exchange']:<16} "
                f"trading_date={row['trading_date']}  {row['count_all']:>6} rows\n"
            )
    out.write(
        f"  (CN: the first events, 09:15 in Shanghai = 01:15 UTC, belong to trading_date "
        f"{CN_DATE}: trading dates are exchange-local)\n"
    )
    _write_decimal_sample(lake, out)
    if lake.validation_dir.is_dir():
        log = ds.dataset(lake.validation_dir, format="parquet").to_table()
        out.write(f"\nValidation log: {log.num_rows} quarantined rows\n")
        for row in log.sort_by("file_seq").to_pylist():
            out.write(
                f"  {row['table_name']:<18} row {row['file_seq']:>5}  {row['rule_name']:<28} "
                f"{row['field_name'] or '':<8} {row['field_value'] or '':<6} {row['raw_row']}\n"
            )
    out.write(
        "\nRead it back: pyarrow.dataset.dataset("
        f"'{lake.table_dir('trades')}', partitioning='hive')\n"
    )
    return status
