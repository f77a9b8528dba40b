"""Tardis.dev CSV: the header of each data type and the Silver table it feeds.

Tardis files are comma separated with a header row, ``.`` as decimal mark, timestamps in
microseconds since the epoch (UTC), rows in ``local_timestamp`` order; an empty cell is a
null and an empty gzip means "no data". Columns are matched by name, never by position.
"""

from __future__ import annotations

from types import MappingProxyType

__all__ = ["HEADERS", "TABLE_OF", "book_snapshot_header"]


def book_snapshot_header(depth: int) -> tuple[str, ...]:
    """The header of ``book_snapshot_<depth>``: asks[i] and bids[i] price/amount pairs."""
    levels = tuple(
        name
        for i in range(depth)
        for name in (
            f"asks[{i}].price",
            f"asks[{i}].amount",
            f"bids[{i}].price",
            f"bids[{i}].amount",
        )
    )
    return ("exchange", "symbol", "timestamp", "local_timestamp", *levels)


HEADERS: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {
        "trades": (
            "exchange", "symbol", "timestamp", "local_timestamp", "id", "side", "price", "amount",
        ),
        "liquidations": (
            "exchange", "symbol", "timestamp", "local_timestamp", "id", "side", "price", "amount",
        ),
        "quotes": (
            "exchange", "symbol", "timestamp", "local_timestamp",
            "ask_amount", "ask_price", "bid_price", "bid_amount",
        ),
        "incremental_book_L2": (
            "exchange", "symbol", "timestamp", "local_timestamp",
            "is_snapshot", "side", "price", "amount",
        ),
        "book_snapshot_5": book_snapshot_header(5),
        "book_snapshot_25": book_snapshot_header(25),
        "derivative_ticker": (
            "exchange", "symbol", "timestamp", "local_timestamp", "funding_timestamp",
            "funding_rate", "predicted_funding_rate", "open_interest", "last_price",
            "index_price", "mark_price",
        ),
        "options_chain": (
            "exchange", "symbol", "timestamp", "local_timestamp", "type", "strike_price",
            "expiration", "open_interest", "last_price", "bid_price", "bid_amount", "bid_iv",
            "ask_price", "ask_amount", "ask_iv", "mark_price", "mark_iv", "underlying_index",
            "underlying_price", "delta", "gamma", "vega", "theta", "rho",
        ),
    }
)  # fmt: skip
"""Every Tardis data type Pointline reads, and its CSV header."""

TABLE_OF: MappingProxyType[str, str] = MappingProxyType(
    {
        "trades": "trades",
        "liquidations": "liquidations",
        "quotes": "quotes",
        "incremental_book_L2": "orderbook_updates",
        "book_snapshot_5": "book_snapshots",
        "book_snapshot_25": "book_snapshots",
        "derivative_ticker": "derivative_ticker",
        "options_chain": "options_chain",
    }
)
"""The Silver table each Tardis data type feeds."""
