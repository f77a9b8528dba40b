"""The operator core: a protocol, four primitives, row flags, the chain, its sinks and the
drain that runs a chain into them."""

from pointline.chain.chain import Chain, RunStats
from pointline.chain.drain import Drained, drain
from pointline.chain.flags import (
    FLAG_COLUMN,
    FLAG_FIELD,
    FLAG_TYPE,
    RowFlag,
    RowFlags,
    decode_flags,
    flag_counts,
    flagged_mask,
)
from pointline.chain.operator import (
    EMPTY_SCHEMA,
    ColumnFn,
    Map,
    Operator,
    Scan,
    ScanFn,
    Source,
    Split,
)
from pointline.chain.sink import CountingSink, ReasonCounter, Sink, SinkSummary

__all__ = [
    "EMPTY_SCHEMA",
    "FLAG_COLUMN",
    "FLAG_FIELD",
    "FLAG_TYPE",
    "Chain",
    "ColumnFn",
    "CountingSink",
    "Drained",
    "Map",
    "Operator",
    "ReasonCounter",
    "RowFlag",
    "RowFlags",
    "RunStats",
    "Scan",
    "ScanFn",
    "Sink",
    "SinkSummary",
    "Source",
    "Split",
    "decode_flags",
    "drain",
    "flag_counts",
    "flagged_mask",
]
