"""Status and reason codes: the one vocabulary every module and vendor uses.

File statuses and file reasons are closed (``Literal``); row reasons are the built-in
rules' codes (docs/contracts.md sections 7 and 8): a custom step may flag rows under a
code of its own, which lands in the validation log like any other.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, Literal, get_args

__all__ = [
    "FILE_REASONS",
    "FILE_STATUSES",
    "LIVE_STATUSES",
    "ROW_REASONS",
    "ROW_REASON_FIXES",
    "FileReason",
    "FileStatus",
    "RowReason",
]

FileStatus = Literal["pending", "success", "failed", "quarantined", "superseded"]
"""pending: work started, not finished; success: every row landed or some were quarantined;
failed: a file-level problem, nothing landed; quarantined: every row was quarantined;
superseded: its output is not live because new content at the same bronze path replaced
it, or (``status_reason`` ``duplicate_content``) the same bytes are live under a smaller
bronze path."""

FILE_STATUSES: Final[tuple[FileStatus, ...]] = get_args(FileStatus)

FileReason = Literal[
    "bad_path",
    "unsupported_data_type",
    "unknown_exchange",
    "missing_columns",
    "unreadable_file",
    "bronze_changed",
    "bronze_conflict",
    "duplicate_content",
    "in_progress",
    "ingest_error",
]
"""Why a file is ``failed`` (or was skipped): its ``status_reason``."""

FILE_REASONS: Final[Mapping[FileReason, str]] = MappingProxyType(
    {
        "bad_path": "the path does not follow its vendor's rules, or names no known vendor",
        "unsupported_data_type": "the vendor does not ship this data type, or it has no table",
        "unknown_exchange": "an exchange with no time zone (no registration, no vendor zone)",
        "missing_columns": "the header lacks a column the data type needs",
        "unreadable_file": "not valid gzip, CSV or UTF-8 text",
        "bronze_changed": "the Bronze file changed during the run, or is gone",
        "bronze_conflict": "a Bronze target exists with other content (never overwritten)",
        "duplicate_content": "the same bytes are live under another Bronze path",
        "in_progress": "skipped: another live process is ingesting the file",
        "ingest_error": "anything else; the error text says what",
    }
)
"""Every file reason and its meaning."""

RowReason = Literal[
    "invalid_trade",
    "invalid_quote",
    "invalid_book_update",
    "invalid_liquidation",
    "invalid_option_contract",
    "invalid_cn_order",
    "invalid_cn_tick",
    "invalid_cn_l2",
    "exchange_mismatch",
    "symbol_mismatch",
    "missing_field",
    "unparseable_value",
    "inexact_value",
    "value_out_of_range",
    "timestamp_out_of_range",
    "missing_pit_symbol_coverage",
]
"""Why a built-in step quarantined a row: its ``rule_name`` in the validation log."""

ROW_REASONS: Final[Mapping[RowReason, str]] = MappingProxyType(
    {
        "invalid_trade": "trades: side not buy/sell/unknown, or qty <= 0",
        "invalid_quote": "quotes: a present qty < 0",
        "invalid_book_update": "orderbook_updates: side not bid/ask, qty < 0, or no is_snapshot",
        "invalid_liquidation": "liquidations: side not buy/sell, or qty <= 0",
        "invalid_option_contract": "options_chain: type not call/put, or expiration <= 0",
        "invalid_cn_order": (
            "cn_order_events: SSE OrdType not A/D, qty <= 0, price < 0, or an SZSE price 0 "
            "on an order that is not MARKET or BEST_OWN"
        ),
        "invalid_cn_tick": (
            "cn_tick_events: SZSE ExecType not F/4, a trade with price or qty <= 0, or a "
            "cancel with qty <= 0 or price < 0"
        ),
        "invalid_cn_l2": "cn_l2_snapshots: a level list without exactly 10 items, or an item < 0",
        "exchange_mismatch": "the row's exchange differs from the one its Bronze path names",
        "symbol_mismatch": "the row's symbol (SSE SecurityID) differs from the one its path names",
        "missing_field": "a required field is empty",
        "unparseable_value": "a field (or the whole row) cannot be read as its type",
        "inexact_value": "a decimal needs more than 18 fractional digits",
        "value_out_of_range": "a number does not fit its type (a decimal: magnitude >= 10^20)",
        "timestamp_out_of_range": "a time before 2000-01-01 or over 2 days after the file's date",
        "missing_pit_symbol_coverage": "no dim_symbol window covers the row's event time",
    }
)
"""Every built-in row reason and its meaning."""

ROW_REASON_FIXES: Final[Mapping[RowReason, str]] = MappingProxyType(
    {
        "missing_pit_symbol_coverage": (
            "dim_symbol has no window for these symbols at these times: run `pointline "
            "dim-symbol bootstrap` (or import symbols: `dim-symbol import-tardis` for "
            "crypto, `dim-symbol import-tushare` for CN, `dim-symbol import`), then "
            "`pointline refresh`"
        ),
        "exchange_mismatch": (
            "the rows name another exchange than the file's path: put the file under the "
            "right exchange (or give --vendor/--data-type for a path that names none)"
        ),
        "symbol_mismatch": (
            "the rows name another symbol (SSE SecurityID) than the file's symbol= folder: "
            "put the file under the right symbol"
        ),
        "timestamp_out_of_range": (
            "the rows' times are far from the date in the file's path: check that date"
        ),
        "unparseable_value": (
            "the values do not read as their type: check that the file is the data type "
            "its path says (`pointline tables` lists each table's columns)"
        ),
        "missing_field": "a required column is empty in most rows: check the data type",
    }
)
"""The likely fix when most rows of a file went aside for one reason (the CLI says it)."""

LIVE_STATUSES: Final[frozenset[FileStatus]] = frozenset({"success", "quarantined"})
"""Statuses whose owned files are live: published, readable, checked by verify."""
