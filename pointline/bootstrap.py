"""dim_symbol from the Bronze rows: every (exchange, symbol) found gets a window.

The quick start for a lake with no vendor instrument metadata: each file's parse and
normalize steps (from its vendor) run over its rows, and each symbol not yet in dim_symbol
opens a window at its first good event (docs/contracts.md section 5, source (a)).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from pointline import dim_symbol
from pointline.bronze import BronzeFileMetadata, walk_bronze
from pointline.chain import FLAG_COLUMN, Chain
from pointline.errors import PointlineError
from pointline.ingest import bronze_steps
from pointline.lake import Lake

__all__ = ["bootstrap_dim_symbol", "first_seen"]


def first_seen(meta: BronzeFileMetadata, *, lake: Lake) -> dict[tuple[str, str], int]:
    """The first event time (µs since the epoch) of every (exchange, symbol) in a Bronze
    file, over its good rows."""
    seen: dict[tuple[str, str], int] = {}
    for batch in Chain(bronze_steps(meta, lake=lake)[1]).run():
        good = pa.Table.from_batches([batch]).filter(pc.is_null(batch[FLAG_COLUMN]))
        grouped = good.group_by(["exchange", "symbol"]).aggregate([("ts_event_us", "min")])
        for row in grouped.to_pylist():
            key = (str(row["exchange"]), str(row["symbol"]))
            ts = int(row["ts_event_us_min"])
            seen[key] = min(ts, seen.get(key, ts))
    return seen


def bootstrap_dim_symbol(
    lake: Lake | str | Path,
    *,
    on_skip: Callable[[str, PointlineError], None] | None = None,
) -> tuple[int, int]:
    """Add every (exchange, symbol) found in the lake's Bronze files that dim_symbol does
    not know yet, valid from its first event. Returns (symbols added, new version).

    A file that cannot be read (a corrupt gzip, missing columns, a path outside its
    vendor's rules, a data type its vendor does not ship) is skipped, not fatal:
    ingesting it fails on its own with the same error. ``on_skip`` is called with its
    path (relative to the bronze root) and the error.
    """
    the_lake = Lake.at(lake)
    store = the_lake.dim_symbol_store()
    version, dim = store.load()
    known = set(zip(dim["exchange"].to_pylist(), dim["exchange_symbol"].to_pylist(), strict=True))
    seen: dict[tuple[str, str], int] = {}
    root = the_lake.bronze_root
    for path in walk_bronze([root] if root.is_dir() else []):
        try:
            meta = BronzeFileMetadata.from_path(path, bronze_root=root, vendors=the_lake.vendors)
            found = first_seen(meta, lake=the_lake)
        except PointlineError as exc:
            if on_skip is not None:
                on_skip(path.relative_to(root).as_posix(), exc)
            continue
        for key, ts in found.items():
            seen[key] = min(ts, seen.get(key, ts))
    new = sorted(key for key in seen if key not in known)
    if not new:
        return 0, version
    first = pa.table(
        {
            "exchange": [k[0] for k in new],
            "exchange_symbol": [k[1] for k in new],
            "first_ts_us": pa.array([seen[k] for k in new], pa.int64()),
        }
    )
    merged = pa.concat_tables([dim, dim_symbol.from_first_seen(first)])
    return len(new), store.save(merged, expected_version=version)
