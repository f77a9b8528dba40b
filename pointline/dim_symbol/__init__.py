"""dim_symbol: the SCD2 symbol dimension, its maintenance and its versioned store.

A dim_symbol table (:data:`~pointline.schemas.dimensions.DIM_SYMBOL`) holds, for every
natural key ``(exchange, exchange_symbol)``, a history of half-open validity windows
``[valid_from_ts_us, valid_until_ts_us)``; the open window ends at ``2**63 - 1`` and is the
only one with ``is_current``. Each window has its own ``symbol_id``: the first 8 bytes of
``blake2b("exchange|exchange_symbol|valid_from_ts_us")`` as a little-endian signed int64.

A *snapshot* is the instrument list of some exchanges at one moment: columns ``exchange``,
``exchange_symbol`` and optionally the tracked columns ``canonical_symbol`` (default: the
exchange symbol), ``market_type`` (default ``"unknown"``), ``base_asset``, ``quote_asset``,
``tick_size``, ``lot_size``, ``contract_size`` (default null). The three sizes are exact
``decimal128(38, 18)``, from decimal text, decimals or integers (``"0.1"``, ``1``).

* :func:`bootstrap` opens one window per snapshot row; :func:`upsert` applies a later
  snapshot to the exchanges it names (a change of a tracked column closes the window and
  opens a new one; a missing symbol is delisted);
* :func:`merge_windows` applies a source's windows inside a scope (the symbols it carries
  or whole exchanges), keeping unchanged windows and their ids; :func:`changed_keys` says
  which symbols' windows differ between two versions;
* :func:`from_first_seen` builds open windows from given start times (bootstrap opens
  them at 0);
* :func:`read_dim_file` imports a whole history from CSV or Parquet, :func:`read_snapshot`
  reads a snapshot file;
* :func:`validate` checks the SCD2 invariants; :class:`DimSymbolStore` keeps versions on
  disk with optimistic concurrency.

Modules (each imports only those above it): ``model`` (schema, column groups, errors,
natural key, message listing), ``coerce`` (input tables to exact types, with the checks),
``scd2`` (ids, bootstrap, upsert, from_first_seen, validate), ``files`` (CSV/Parquet
import), ``store`` (:class:`DimSymbolStore` on :class:`~pointline.storage.VersionedDir`).

>>> import pyarrow as pa
>>> snap = pa.table({"exchange": ["binance"], "exchange_symbol": ["BTCUSDT"],
...                  "tick_size": ["0.1"]})
>>> dim = bootstrap(snap, 100, now_ts_us=1)
>>> dim.select(["exchange_symbol", "valid_from_ts_us", "is_current", "tick_size"]).to_pylist()
... # doctest: +NORMALIZE_WHITESPACE
[{'exchange_symbol': 'BTCUSDT', 'valid_from_ts_us': 100, 'is_current': True,
  'tick_size': Decimal('0.100000000000000000')}]
>>> changed = snap.set_column(2, "tick_size", pa.array(["0.01"]))
>>> later = upsert(dim, changed, 200, now_ts_us=2)
>>> later.select(["valid_from_ts_us", "valid_until_ts_us", "tick_size"]).to_pylist()[0]
{'valid_from_ts_us': 100, 'valid_until_ts_us': 200, 'tick_size': Decimal('0.100000000000000000')}
"""

from __future__ import annotations

from pointline.dim_symbol.files import read_dim_file, read_snapshot
from pointline.dim_symbol.model import (
    DIM_SCHEMA,
    OPEN_END_TS_US,
    SNAPSHOT_COLUMNS,
    TRACKED_COLUMNS,
    DimSymbolError,
    StaleDimSymbolError,
)
from pointline.dim_symbol.model import KEY_COLUMNS as KEY_COLUMNS  # public, not in __all__
from pointline.dim_symbol.scd2 import (
    bootstrap,
    changed_keys,
    empty_dim,
    from_first_seen,
    merge_windows,
    symbol_id,
    symbol_ids,
    upsert,
    validate,
)
from pointline.dim_symbol.store import DimSymbolStore

__all__ = [
    "DIM_SCHEMA",
    "OPEN_END_TS_US",
    "SNAPSHOT_COLUMNS",
    "TRACKED_COLUMNS",
    "DimSymbolError",
    "DimSymbolStore",
    "StaleDimSymbolError",
    "bootstrap",
    "changed_keys",
    "empty_dim",
    "from_first_seen",
    "merge_windows",
    "read_dim_file",
    "read_snapshot",
    "symbol_id",
    "symbol_ids",
    "upsert",
    "validate",
]
