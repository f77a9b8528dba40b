"""Shared pieces of the benchmarks and of ``rss.py``: cached generated files, a lake
ready to ingest one of them, and the bare pyarrow reference (read CSV -> write Parquet).

Generated files are cached under ``benchmarks/.data`` (gitignored), one per (rows, seed):
the 10M-row L2 file takes ~15 s to generate and is reused by every later run.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pointline import dim_symbol
from pointline.bronze import BronzeFileMetadata
from pointline.lake import Lake
from pointline.testing.tardis import DEFAULT_SYMBOLS, write_tardis_file

DATA_DIR = Path(__file__).resolve().parent / ".data"
SEED = 7
EXCHANGE = "binance-futures"
DATA_TYPE = "incremental_book_L2"
BLOCK_SIZE = 1 << 20

#: The bare reference's explicit column types (the L2 header).
BARE_TYPES: dict[str, pa.DataType] = {
    "exchange": pa.string(),
    "symbol": pa.string(),
    "timestamp": pa.int64(),
    "local_timestamp": pa.int64(),
    "is_snapshot": pa.string(),
    "side": pa.string(),
    "price": pa.float64(),
    "amount": pa.float64(),
}


def cached_l2(rows: int, *, seed: int = SEED, data_dir: Path = DATA_DIR) -> Path:
    """The generated ``rows``-row L2 ``.csv.gz`` (made once, then reused)."""
    path = data_dir / f"l2-{rows}-s{seed}.csv.gz"
    if not path.is_file():
        data_dir.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + f".{os.getpid()}.partial.gz")
        write_tardis_file(partial, DATA_TYPE, rows=rows, seed=seed, exchange=EXCHANGE)
        os.replace(partial, path)
    return path


def prepare_lake(root: Path, source: Path) -> tuple[Lake, BronzeFileMetadata]:
    """A lake under ``root`` holding ``source`` as its one Bronze file (hard-linked when
    possible) and a dim_symbol covering the generated symbols from the epoch on."""
    lake = Lake(root)
    target = (
        lake.bronze_root
        / f"tardis/exchange={EXCHANGE}/type={DATA_TYPE}/date=2024-09-29/symbol=PERPETUALS"
        / f"{EXCHANGE}_{DATA_TYPE}_2024-09-29_PERPETUALS.csv.gz"
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)
    store = lake.dim_symbol_store()
    if store.latest_version() == 0:
        first = pa.table(
            {
                "exchange": [EXCHANGE] * len(DEFAULT_SYMBOLS),
                "exchange_symbol": [s.symbol for s in DEFAULT_SYMBOLS],
                "first_ts_us": pa.array([0] * len(DEFAULT_SYMBOLS), pa.int64()),
            }
        )
        store.save(dim_symbol.from_first_seen(first, now_ts_us=1), expected_version=0)
    return lake, BronzeFileMetadata.from_path(target, bronze_root=lake.bronze_root)


def bare_convert(source: Path, target: Path, *, block_size: int = BLOCK_SIZE) -> int:
    """The reference: ``open_csv`` with explicit types -> one zstd ``ParquetWriter``, one
    write per batch; returns the rows written."""
    reader = pacsv.open_csv(
        source,
        read_options=pacsv.ReadOptions(block_size=block_size, use_threads=False),
        convert_options=pacsv.ConvertOptions(column_types=BARE_TYPES),
    )
    rows = 0
    with pq.ParquetWriter(target, reader.schema, compression="zstd") as writer:
        for batch in reader:
            writer.write_batch(batch)
            rows += batch.num_rows
    return rows
