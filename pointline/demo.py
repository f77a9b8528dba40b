"""``pointline demo``: generate a small realistic Bronze set, ingest it, show what landed.

The set: three exchanges, three data types, several symbols, a few bad rows (they land in
the validation log with their reason) and one file that crosses midnight UTC (its rows
land in two trading_date partitions).
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import TextIO

import pyarrow.dataset as ds

from pointline.bronze import BronzeFileMetadata
from pointline.ingest import bootstrap_dim_symbol, ingest_file
from pointline.lake import Lake
from pointline.testing.tardis import SymbolSpec, tardis_lines

__all__ = ["run_demo", "write_demo_bronze"]

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
        ("binance-futures,BTCUSDT,1727568000500000,1727568000600000,false,bid,-1,0.5",),
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
        ("deribit,BTC-PERPETUAL,1727571600100000,1727571600200000,10,65000.5,65001.0,20",),
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


def write_demo_bronze(bronze_root: Path) -> list[Path]:
    """Write the demo's Bronze files (Tardis path convention); returns their paths."""
    paths = []
    for seed, (exchange, data_type, symbols, rows, offset, bad) in enumerate(_FILES):
        group = symbols[0].symbol if len(symbols) == 1 else "PERPETUALS"
        path = (
            bronze_root
            / "tardis"
            / f"exchange={exchange}"
            / f"type={data_type}"
            / "date=2024-09-29"
            / f"symbol={group}"
            / f"{exchange}_{data_type}_2024-09-29_{group}.csv.gz"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = tardis_lines(
            data_type,
            rows=rows,
            seed=seed,
            exchange=exchange,
            symbols=symbols,
            start_us=START_US + offset,
            snapshot_levels=10,
        )
        with gzip.open(path, "wt", encoding="utf-8", newline="\n") as out:
            for number, line in enumerate(lines):
                out.write(line + "\n")
                if number == rows // 2:
                    out.writelines(row + "\n" for row in bad)
        paths.append(path)
    return paths


def run_demo(lake: Lake, *, out: TextIO) -> int:
    """Generate, bootstrap dim_symbol, ingest, and print a summary. Returns 0."""
    out.write(f"pointline demo: lake at {lake.root.resolve()}\n")
    paths = write_demo_bronze(lake.bronze_root)
    out.write(f"wrote {len(paths)} Bronze files under {lake.bronze_root}\n")
    added, version = bootstrap_dim_symbol(lake)
    out.write(f"dim_symbol: {added} symbols bootstrapped from Bronze (version {version})\n\n")
    for path in paths:
        meta = BronzeFileMetadata.from_path(path, bronze_root=lake.bronze_root)
        result = ingest_file(meta, lake=lake)
        out.write(
            f"  {result.status:<11} {result.rows_total:>6} rows: {result.rows_written:>6} "
            f"written, {result.rows_quarantined} quarantined  {meta.bronze_path}\n"
        )
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
    return 0
