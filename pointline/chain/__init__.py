"""The operator core: a protocol, four primitives, row flags and the chain that runs them."""

from pointline.chain.chain import Chain
from pointline.chain.flags import (
    FLAG_COLUMN,
    FLAG_FIELD,
    FLAG_TYPE,
    RowFlag,
    RowFlags,
    decode_flags,
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

__all__ = [
    "EMPTY_SCHEMA",
    "FLAG_COLUMN",
    "FLAG_FIELD",
    "FLAG_TYPE",
    "Chain",
    "ColumnFn",
    "Map",
    "Operator",
    "RowFlag",
    "RowFlags",
    "Scan",
    "ScanFn",
    "Source",
    "Split",
    "decode_flags",
    "flagged_mask",
]
