"""Pointline: raw market-data files into typed, replayable Parquet tables.

The public API lives here; submodules are the implementation:

- :mod:`pointline.schemas`: the schema registry (``get_table_spec``, ``list_table_specs``);
- :mod:`pointline.exchanges`: the exchange registry (time zones, session rolls);
- :mod:`pointline.kernels`: vectorised kernels (exact fixed point, trading date);
- :mod:`pointline.chain`: the operator protocol, primitives, row flags and the chain;
- :mod:`pointline.testing`: helpers for testing operators, and a synthetic Tardis generator.
"""

from __future__ import annotations

from pointline.chain import Chain, Map, Operator, RowFlags, Scan, Source, Split
from pointline.errors import (
    ChainError,
    PointlineError,
    SchemaError,
    UnknownExchangeError,
    UnknownTableError,
)
from pointline.exchanges import DEFAULT_EXCHANGES, Exchange, ExchangeRegistry
from pointline.kernels import FixedPointResult, derive_trading_date, parse_fixed_point
from pointline.schemas import ColumnSpec, TableSpec, get_table_spec, list_table_specs

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_EXCHANGES",
    "Chain",
    "ChainError",
    "ColumnSpec",
    "Exchange",
    "ExchangeRegistry",
    "FixedPointResult",
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
    "derive_trading_date",
    "get_table_spec",
    "list_table_specs",
    "parse_fixed_point",
]
