"""Dimension tables: SCD2 history with half-open validity windows."""

from __future__ import annotations

import pyarrow as pa

from pointline.schemas.spec import DECIMAL_TYPE, ColumnSpec, TableSpec

__all__ = ["DIM_SYMBOL", "OPEN_END_TS_US"]

OPEN_END_TS_US = 2**63 - 1
"""``valid_until_ts_us`` of a window that is still open."""

DIM_SYMBOL = TableSpec(
    name="dim_symbol",
    kind="dimension",
    description=(
        "Symbol definitions over time; a row is valid for "
        "valid_from_ts_us <= ts < valid_until_ts_us."
    ),
    columns=(
        ColumnSpec(
            name="symbol_id",
            dtype=pa.int64(),
            description="first 8 bytes of blake2b('exchange|exchange_symbol|valid_from_ts_us'), "
            "little-endian signed",
        ),
        ColumnSpec(name="exchange", dtype=pa.string(), description="lower-case venue id"),
        ColumnSpec(name="exchange_symbol", dtype=pa.string(), description="venue symbol"),
        ColumnSpec(name="canonical_symbol", dtype=pa.string(), description="normalised name"),
        ColumnSpec(
            name="market_type",
            dtype=pa.string(),
            description="spot, perpetual, future, option, ...",
        ),
        ColumnSpec(name="base_asset", dtype=pa.string(), nullable=True, description="base"),
        ColumnSpec(name="quote_asset", dtype=pa.string(), nullable=True, description="quote"),
        ColumnSpec(
            name="valid_from_ts_us",
            dtype=pa.int64(),
            description="window start, inclusive, us since epoch UTC",
        ),
        ColumnSpec(
            name="valid_until_ts_us",
            dtype=pa.int64(),
            description="window end, exclusive; 2**63-1 while open",
        ),
        ColumnSpec(name="is_current", dtype=pa.bool_(), description="the open window"),
        ColumnSpec(
            name="tick_size",
            dtype=DECIMAL_TYPE,
            nullable=True,
            description="price increment",
        ),
        ColumnSpec(
            name="lot_size",
            dtype=DECIMAL_TYPE,
            nullable=True,
            description="size increment",
        ),
        ColumnSpec(
            name="contract_size",
            dtype=DECIMAL_TYPE,
            nullable=True,
            description="underlying units per contract",
        ),
        ColumnSpec(
            name="expiry_ts_us",
            dtype=pa.int64(),
            nullable=True,
            description="expiry of a dated contract, us since epoch UTC (tracked: a rolling "
            "symbol names a new contract at each expiry)",
        ),
        ColumnSpec(
            name="board",
            dtype=pa.string(),
            nullable=True,
            description="listing board or segment (untracked, informational)",
        ),
        ColumnSpec(
            name="min_qty",
            dtype=DECIMAL_TYPE,
            nullable=True,
            description="minimum order size (untracked, informational)",
        ),
        ColumnSpec(
            name="is_inverse",
            dtype=pa.bool_(),
            nullable=True,
            description="inverse contract: notional = qty x contract_size / price (untracked)",
        ),
        ColumnSpec(
            name="updated_at_ts_us",
            dtype=pa.int64(),
            description="when this version row was written, us since epoch UTC",
        ),
    ),
    business_keys=("exchange", "exchange_symbol", "valid_from_ts_us"),
    tie_break_keys=("exchange", "exchange_symbol", "valid_from_ts_us"),
    schema_version=3,  # 2: sizes decimal128(38, 18); 3: expiry, board, min_qty, is_inverse
)
