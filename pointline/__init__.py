"""Pointline: raw market-data files into typed, replayable Parquet tables.

The public API lives here; submodules are the implementation:

- :mod:`pointline.schemas`: the schema registry (``get_table_spec``, ``list_table_specs``);
- :mod:`pointline.exchanges`: the exchange registry (time zones, session rolls);
- :mod:`pointline.kernels`: vectorised kernels (exact decimals, trading date);
- :mod:`pointline.chain`: the operator protocol, primitives, row flags and the chain;
- :mod:`pointline.testing`: helpers for testing operators, and a synthetic Tardis generator.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import TYPE_CHECKING, Any

# Arrow's allocator is chosen once, when pyarrow is first imported, from this variable.
# jemalloc returns freed pages to the system within a second, so an ingest's peak RSS
# stays near its working set: 10M-row L2 file 307 MiB with the default mimalloc, 271 MiB
# with jemalloc, same speed (issue 16; benchmarks/README.md). Set before any pyarrow
# import below; inherited by every child process (spawned workers included); a value
# the user set wins. Linux only: wheels for other systems may lack jemalloc.
if sys.platform.startswith("linux"):
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")

__version__ = "0.1.0"

from pointline.chain import Chain, Map, Operator, RowFlags, Scan, Source, Split
from pointline.errors import (
    ChainError,
    PointlineError,
    SchemaError,
    UnknownExchangeError,
    UnknownTableError,
)
from pointline.exchanges import DEFAULT_EXCHANGES, Exchange, ExchangeRegistry
from pointline.kernels import DecimalResult, decimal_text, derive_trading_date, parse_decimal
from pointline.kernels.pit import check_pit_coverage
from pointline.lineage import assign_lineage
from pointline.schemas import ColumnSpec, TableSpec, get_table_spec, list_table_specs

__all__ = [
    "DEFAULT_EXCHANGES",
    "BronzeFileMetadata",
    "Chain",
    "ChainError",
    "ColumnSpec",
    "DecimalResult",
    "Exchange",
    "ExchangeRegistry",
    "IngestionResult",
    "Lake",
    "Map",
    "Operator",
    "PointlineError",
    "RowFlags",
    "Scan",
    "SchemaError",
    "Source",
    "Split",
    "TableSpec",
    "UnknownExchangeError",
    "UnknownTableError",
    "__version__",
    "assign_lineage",
    "check_pit_coverage",
    "decimal_text",
    "derive_trading_date",
    "get_table_spec",
    "ingest_file",
    "list_table_specs",
    "parse_decimal",
    "read",
    "update_manifest_status",
]

# The vendors (and so Bronze metadata, the lake and everything above them) build on the
# ``operators`` package, which itself builds on this package's core; importing them lazily
# keeps either import order working.
_LAZY = {
    "BronzeFileMetadata": "pointline.bronze",
    "IngestionResult": "pointline.ingest",
    "Lake": "pointline.lake",
    "ingest_file": "pointline.ingest",
    "read": "pointline.reader",
    "update_manifest_status": "pointline.ingest",
}

if TYPE_CHECKING:
    from pointline.bronze import BronzeFileMetadata
    from pointline.ingest import IngestionResult, ingest_file, update_manifest_status
    from pointline.lake import Lake
    from pointline.reader import read


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    msg = f"module 'pointline' has no attribute {name!r}"
    raise AttributeError(msg)
