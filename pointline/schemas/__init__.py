"""Schema registry: the only source of table schemas."""

from pointline.schemas.control import FILE_STATUSES, INGEST_MANIFEST, VALIDATION_LOG, FileStatus
from pointline.schemas.dimensions import DIM_SYMBOL, OPEN_END_TS_US
from pointline.schemas.events import (
    BOOK_SNAPSHOTS,
    CN_L2_SNAPSHOTS,
    CN_ORDER_EVENTS,
    CN_TICK_EVENTS,
    DERIVATIVE_TICKER,
    EVENT_PREFIX,
    EVENT_TABLES,
    LIQUIDATIONS,
    OPTIONS_CHAIN,
    ORDERBOOK_UPDATES,
    QUOTES,
    TRADES,
)
from pointline.schemas.registry import TABLE_SPECS, get_table_spec, list_table_specs
from pointline.schemas.spec import DECIMAL_TYPE, ColumnSpec, TableKind, TableSpec

__all__ = [
    "BOOK_SNAPSHOTS",
    "CN_L2_SNAPSHOTS",
    "CN_ORDER_EVENTS",
    "CN_TICK_EVENTS",
    "DECIMAL_TYPE",
    "DERIVATIVE_TICKER",
    "DIM_SYMBOL",
    "EVENT_PREFIX",
    "EVENT_TABLES",
    "FILE_STATUSES",
    "INGEST_MANIFEST",
    "LIQUIDATIONS",
    "OPEN_END_TS_US",
    "OPTIONS_CHAIN",
    "ORDERBOOK_UPDATES",
    "QUOTES",
    "TABLE_SPECS",
    "TRADES",
    "VALIDATION_LOG",
    "ColumnSpec",
    "FileStatus",
    "TableKind",
    "TableSpec",
    "get_table_spec",
    "list_table_specs",
]
