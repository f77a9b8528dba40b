"""Shared pieces of the benchmarks, ``rss.py`` and ``cn_day.py``: cached generated files,
a lake ready to ingest one of them, and the bare pyarrow reference (read CSV -> write
Parquet).

Inputs are named by ``(exchange, stream)``: the Tardis L2 file (``binance-futures``,
``incremental_book_L2``) or a Quant360 CN file (``szse``/``sse`` with ``order_new``,
``tick_new`` or, SZSE only, ``L2_new``). Generated files are cached under
``benchmarks/.data`` (gitignored), one per (exchange, stream, rows, seed): the 10M-row L2
file takes ~15 s to generate and is reused by every later run.
"""

from __future__ import annotations

import os
import shutil
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pointline import dim_symbol
from pointline.bronze import BronzeFileMetadata
from pointline.lake import Lake
from pointline.testing import quant360
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

#: The CN streams benchmarked, ``(exchange, stream)``, in report order.
CN_INPUTS: tuple[tuple[str, str], ...] = (
    ("szse", "order_new"),
    ("szse", "tick_new"),
    ("szse", "L2_new"),
    ("sse", "order_new"),
    ("sse", "tick_new"),
)
#: The one symbol of a generated CN benchmark file (``write_benchmark_file``'s default).
CN_SYMBOL = {"szse": "000001", "sse": "600000"}

# The CN columns read as text (codes with letters or leading zeros, flags, the quoted L2
# arrays, the always-empty SZSE order columns) and as float64 (prices and amounts); every
# other CN column is an integer (times, sequence numbers, refs, sizes, counts).
_CN_STRINGS = frozenset(
    {
        *("Side", "OrdType", "ExecType", "SecurityID", "OrderBSFlag", "TradeBSFlag"),
        *("ImageStatus", "TradingPhaseCode", "Contactor", "ConfirmID"),
        *("BidPrice", "BidOrderQty", "BidNumOrders", "BidOrders"),
        *("OfferPrice", "OfferOrderQty", "OfferNumOrders", "OfferOrders"),
    }
)
_CN_FLOATS = frozenset(
    {
        *("Price", "TradePrice", "TradeAmount", "Amount", "AveragePx", "Change1", "Change2"),
        *("PeRatio1", "PeRatio2", "WeightedAvgPxChg", "PreWeightedAvgPx"),
        *("PreClosePx", "OpenPx", "HighPx", "LowPx", "LastPx", "ClosePx"),
        *("WeightedAvgBidPx", "WeightedAvgOfferPx", "UpperLimitPx", "LowerLimitPx"),
    }
)


def is_cn(exchange: str) -> bool:
    """Whether ``exchange`` names a Quant360 (CN) input."""
    return exchange in quant360.EXCHANGES


def bare_types(exchange: str = EXCHANGE, stream: str = DATA_TYPE) -> dict[str, pa.DataType]:
    """The bare reference's explicit types for an input: :data:`BARE_TYPES` for the
    Tardis L2 file (trades: the same, and the trade id as text); for CN every vendor
    column with its natural type (int64, float64, or string for codes, flags and the L2
    arrays).

    >>> bare_types("szse", "order_new")["OrdType"], bare_types("sse", "tick_new")["TradePrice"]
    (DataType(string), DataType(double))
    """
    if stream == "trades":
        return {**BARE_TYPES, "id": pa.string()}  # its is_snapshot column is absent
    if not is_cn(exchange):
        return dict(BARE_TYPES)
    return {
        name: pa.string()
        if name in _CN_STRINGS
        else pa.float64()
        if name in _CN_FLOATS
        else pa.int64()
        for name in quant360.HEADERS[exchange, stream]
    }


def generator_tag(name: str) -> str:
    """8 hex digits of the SHA-256 of ``pointline/testing/<name>.py``: cached inputs are
    keyed by it, so a changed generator never leaves stale files in use."""
    import hashlib
    import importlib

    module = importlib.import_module(f"pointline.testing.{name}")
    assert module.__file__ is not None
    return hashlib.sha256(Path(module.__file__).read_bytes()).hexdigest()[:8]


def cached_input(
    rows: int,
    *,
    exchange: str = EXCHANGE,
    stream: str = DATA_TYPE,
    seed: int = SEED,
    data_dir: Path = DATA_DIR,
) -> Path:
    """The generated ``rows``-row ``.csv.gz`` of an input (made once, then reused): a
    Tardis file (``write_tardis_file``, gzip 6: L2 or trades) or a CN file
    (``quant360.write_benchmark_file``, one symbol, gzip 1)."""
    cn = is_cn(exchange)
    tag = generator_tag("quant360" if cn else "tardis")
    tardis = "l2" if stream == DATA_TYPE else stream  # l2: the name older caches have
    name = (
        f"cn-{exchange}-{stream}-{rows}-s{seed}-{tag}" if cn else f"{tardis}-{rows}-s{seed}-{tag}"
    )
    path = data_dir / f"{name}.csv.gz"
    if not path.is_file():
        data_dir.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + f".{os.getpid()}.partial.gz")
        if cn:
            quant360.write_benchmark_file(
                partial, exchange=exchange, stream=stream, rows=rows, seed=seed
            )
        else:
            write_tardis_file(partial, stream, rows=rows, seed=seed, exchange=exchange)
        os.replace(partial, path)
    return path


def cached_l2(rows: int, *, seed: int = SEED, data_dir: Path = DATA_DIR) -> Path:
    """The generated ``rows``-row Tardis L2 ``.csv.gz`` (:func:`cached_input`)."""
    return cached_input(rows, seed=seed, data_dir=data_dir)


def prepare_lake(
    root: Path, source: Path, *, exchange: str = EXCHANGE, stream: str = DATA_TYPE
) -> tuple[Lake, BronzeFileMetadata]:
    """A lake under ``root`` holding ``source`` as its one Bronze file (hard-linked when
    possible) and a dim_symbol covering its symbols from the epoch on.

    The dim_symbol rows are those ``bootstrap_dim_symbol`` would add (one window from 0
    per symbol), written directly: the generated symbols are known, and bootstrap would
    parse the whole file first (~10 s for 10M CN rows).
    """
    lake = Lake(root)
    if is_cn(exchange):
        symbols = [CN_SYMBOL[exchange]]
        target = quant360.bronze_path(
            lake.root, exchange, stream, quant360.DEFAULT_DATE, symbols[0]
        )
    else:
        symbols = [s.symbol for s in DEFAULT_SYMBOLS]
        target = (
            lake.bronze_root
            / f"tardis/exchange={exchange}/type={stream}/date=2024-09-29/symbol=PERPETUALS"
            / f"{exchange}_{stream}_2024-09-29_PERPETUALS.csv.gz"
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
                "exchange": [exchange] * len(symbols),
                "exchange_symbol": symbols,
                "first_ts_us": pa.array([0] * len(symbols), pa.int64()),
            }
        )
        store.save(dim_symbol.from_first_seen(first, now_ts_us=1), expected_version=0)
    return lake, BronzeFileMetadata.from_path(target, bronze_root=lake.bronze_root)


def reference_env() -> dict[str, str]:
    """This process's environment without ``ARROW_DEFAULT_MEMORY_POOL``, which
    ``import pointline`` sets (to jemalloc, on Linux): a reference tool (bare pyarrow,
    Polars, DuckDB) runs with its own default allocator, as its users would run it."""
    return {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}


def child_report(code: str, *args: str, reference: bool = False) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter (``python -c``, this folder on ``PYTHONPATH`` so
    it and its workers import ``bench_support``); the JSON object its last output line
    holds. ``reference``: run it in :func:`reference_env`. Raises naming the exit status,
    after echoing the child's stderr."""
    import json
    import subprocess
    import sys

    here = str(Path(__file__).resolve().parent)
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        check=False,
        env={**(reference_env() if reference else os.environ), "PYTHONPATH": here},
    )
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        msg = f"child {args[:1]} failed ({done.returncode})"
        raise RuntimeError(msg)
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def measured_ingest(root: str, meta: BronzeFileMetadata) -> dict[str, Any]:
    """``ingest_file`` of ``meta`` into the lake at ``root`` in whatever process runs it
    (``scale_out.py``: this process, a pool worker or a Ray worker): its status and rows,
    the process id and its peak RSS so far (``ru_maxrss``, MiB)."""
    import resource

    from pointline.ingest import ingest_file

    result = ingest_file(meta, lake=Lake(Path(root)))
    return {
        "status": result.status,
        "rows": result.rows_total,
        "pid": os.getpid(),
        "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def bare_convert(
    source: Path,
    target: Path,
    *,
    column_types: dict[str, pa.DataType] | None = None,
    block_size: int = BLOCK_SIZE,
) -> int:
    """The reference: ``open_csv`` with explicit types (default :data:`BARE_TYPES`; see
    :func:`bare_types`) -> one zstd ``ParquetWriter``, one write per batch; returns the
    rows written."""
    reader = pacsv.open_csv(
        source,
        read_options=pacsv.ReadOptions(block_size=block_size, use_threads=False),
        convert_options=pacsv.ConvertOptions(column_types=column_types or BARE_TYPES),
    )
    rows = 0
    with pq.ParquetWriter(target, reader.schema, compression="zstd") as writer:
        for batch in reader:
            writer.write_batch(batch)
            rows += batch.num_rows
    return rows


def bare_vs_pointline(
    benchmark: Any,
    *,
    rows: int,
    rounds: int,
    bare: Callable[[], int],
    pointline: Callable[[], int],
) -> dict[str, Any]:
    """Run ``bare`` and ``pointline`` (each returns the rows it wrote, checked against
    ``rows``) once per round under ``benchmark.pedantic``, alternating which goes first;
    returns the medians and runs for ``extra_info`` (``ratio = bare_s / pointline_s``)."""
    times: dict[str, list[float]] = {"bare": [], "pointline": []}

    def timed(kind: str, run: Callable[[], int]) -> None:
        started = time.perf_counter()
        written = run()
        times[kind].append(time.perf_counter() - started)
        assert written == rows, (kind, written, rows)

    def one_round() -> None:
        order = [("bare", bare), ("pointline", pointline)]
        for kind, run in order if len(times["bare"]) % 2 == 0 else order[::-1]:
            timed(kind, run)

    benchmark.pedantic(one_round, rounds=rounds, iterations=1)
    bare_s = statistics.median(times["bare"])
    pointline_s = statistics.median(times["pointline"])
    return {
        "e2e_rows": rows,
        "bare_s": bare_s,
        "pointline_s": pointline_s,
        "bare_runs_s": times["bare"],
        "pointline_runs_s": times["pointline"],
        "bare_rows_per_s": rows / bare_s,
        "pointline_rows_per_s": rows / pointline_s,
        "bare_ns_per_row": bare_s / rows * 1e9,
        "pointline_ns_per_row": pointline_s / rows * 1e9,
        "ratio": bare_s / pointline_s,
    }
