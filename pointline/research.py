"""Research helpers on top of :func:`pointline.reader.read`.

:func:`cn_events`: one CN symbol's order and tick events as one stream in exchange order
(docs/cn.md section 4): the two tables merged on ``(trading_date, channel_id,
channel_seq)``, the channel's publication sequence (SZSE ``ApplSeqNum``, SSE
``BizIndex``), which numbers a channel's orders and trades together, so the merge is the
order the exchange published them in.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from pointline.lake import Lake
from pointline.reader import TimeLike, merge_sorted, read
from pointline.schemas import get_table_spec

__all__ = ["CN_EVENTS_SCHEMA", "CN_SOURCES", "cn_events"]

CN_SOURCES = {"order": "cn_order_events", "tick": "cn_tick_events"}
"""The ``source`` values of :func:`cn_events` and the table each stands for, in the order
rows of equal keys would come (never: a channel_seq value is in one table only)."""

_KEY = ("trading_date", "channel_id", "channel_seq")
_PREFIX = "file_seq"  # ``source`` follows the common prefix (it ends with file_seq)


def _union_schema() -> pa.Schema:
    """Every column of the two tables, orders' first (by their table order), then the
    tick-only ones; ``source`` after the common prefix. A column of one table only is
    nullable; a shared one (same name, same type) keeps its nullability."""
    specs = [get_table_spec(table).arrow_schema for table in CN_SOURCES.values()]
    fields: dict[str, pa.Field[Any]] = {}
    for schema in specs:
        for f in schema:
            if f.name in fields:
                continue
            everywhere = all(f.name in s.names for s in specs)
            fields[f.name] = pa.field(f.name, f.type, nullable=f.nullable or not everywhere)
            if f.name == _PREFIX:
                fields["source"] = pa.field("source", pa.string(), nullable=False)
    return pa.schema(list(fields.values()))


CN_EVENTS_SCHEMA = _union_schema()
"""The columns of :func:`cn_events`.

>>> CN_EVENTS_SCHEMA.names  # doctest: +NORMALIZE_WHITESPACE
['exchange', 'trading_date', 'symbol', 'symbol_id', 'ts_event_us', 'ts_local_us',
 'file_id', 'file_seq', 'source', 'channel_id', 'channel_seq', 'channel_biz_seq',
 'symbol_order_seq', 'order_ref', 'event_kind', 'side', 'order_type', 'price', 'qty',
 'symbol_trade_seq', 'bid_order_ref', 'ask_order_ref', 'aggressor_side']
"""


def _widen(batches: pa.RecordBatchReader, source: str) -> Iterator[pa.RecordBatch]:
    """A table's batches in :data:`CN_EVENTS_SCHEMA`: ``source`` set, the other table's
    columns null."""
    for batch in batches:
        rows = batch.num_rows
        arrays = [
            pa.repeat(pa.scalar(source), rows)
            if f.name == "source"
            else batch.column(f.name)
            if f.name in batch.schema.names
            else pa.nulls(rows, f.type)
            for f in CN_EVENTS_SCHEMA
        ]
        yield pa.RecordBatch.from_arrays(arrays, schema=CN_EVENTS_SCHEMA)


def cn_events(
    lake: Lake | str | Path,
    exchange: str,
    symbol: str,
    *,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
    batch_size: int = 65_536,
) -> pa.RecordBatchReader:
    """One CN symbol's orders and ticks (``cn_order_events``, ``cn_tick_events``) as one
    stream in exchange order, ``(trading_date, channel_id, channel_seq)``.

    Each table is read with :func:`~pointline.reader.read` in symbol order (the
    symbol's rows by ``trading_date, channel_id, channel_seq``, then ``symbol_id,
    file_id, file_seq``) and the two sorted streams are merged
    (:func:`~pointline.reader.merge_sorted`: memory about one batch per table on top of
    the two reads). ``start``/``end`` bound ``ts_event_us`` (start inclusive, end
    exclusive) as in ``read``; a channel_seq is in one table only, so there are no ties
    (were there one, the order row would come first).

    Columns (:data:`CN_EVENTS_SCHEMA`): the common prefix (``exchange`` ...
    ``file_seq``; ``file_id``/``file_seq`` are the row's own Bronze file and row), then
    ``source`` (``"order"`` or ``"tick"``: the table the row came from), the columns both
    tables have (``channel_id``, ``channel_seq``, ``channel_biz_seq``, ``event_kind``:
    ``ADD``/``CANCEL`` on orders, ``TRADE``/``CANCEL`` on ticks, ``price``, ``qty``),
    and the columns of one table, null on the other's rows: ``symbol_order_seq``,
    ``order_ref``, ``side``, ``order_type`` (orders); ``symbol_trade_seq``,
    ``bid_order_ref``, ``ask_order_ref``, ``aggressor_side`` (ticks). Types as in the
    tables (docs/cn.md section 3).
    """
    readers = [
        _widen(
            read(
                lake,
                table,
                exchange=exchange,
                symbols=[symbol],
                start=start,
                end=end,
                order="symbol",
                batch_size=batch_size,
            ),
            source,
        )
        for source, table in CN_SOURCES.items()
    ]
    merged = merge_sorted(readers, _KEY, schema=CN_EVENTS_SCHEMA, batch_size=batch_size)
    return pa.RecordBatchReader.from_batches(CN_EVENTS_SCHEMA, merged)
