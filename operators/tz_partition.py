"""tz_partition: the exchange-local ``trading_date`` of every row (docs/contracts.md section 6).

The date comes from ``ts_event_us`` and the exchange's time zone in the exchange registry,
computed per batch with the vectorised transition-table kernel. An exchange the registry
does not know takes ``default_timezone``, the zone its vendor cuts days in (Tardis:
``UTC``; docs/contracts.md section 6, "(fix, revised)"); without one (a vendor with no
single zone) it fails the file (``UnknownExchangeError``, status_reason
``unknown_exchange``). There is no UTC default of this step's own. Rows already flagged by
an earlier step are left alone (their date may be null); they are going to the quarantine.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pointline.arrays import masked_array, numpy_mask, only_value
from pointline.chain import Map, RowFlags
from pointline.exchanges import DEFAULT_EXCHANGES, Exchange, ExchangeRegistry, tzif_bytes
from pointline.kernels.trading_date import local_dates

__all__ = ["tz_partition"]


def tz_partition(
    *,
    exchanges: ExchangeRegistry = DEFAULT_EXCHANGES,
    default_timezone: str | None = None,
    name: str = "tz_partition",
) -> Map:
    """A step that adds ``trading_date`` (date32) from ``exchange`` and ``ts_event_us``.

    Each exchange is looked up with ``exchanges.get(venue, default_timezone=...)``: an id
    not in ``exchanges`` is cut in ``default_timezone`` (no session roll) when given.
    """
    if default_timezone is not None:
        tzif_bytes(default_timezone)  # a bad zone fails when the chain is built

    def venue_of(venue: object) -> Exchange:
        return exchanges.get(str(venue), default_timezone=default_timezone)

    def assign(batch: pa.RecordBatch, flags: RowFlags) -> dict[str, pa.Array[Any]]:
        n = batch.num_rows
        usable = ~flags.mask()
        ts_column = batch["ts_event_us"]
        usable &= numpy_mask(pc.is_valid(ts_column))
        exchange_column = batch["exchange"]
        usable &= numpy_mask(pc.is_valid(exchange_column))
        days = np.zeros(n, dtype=np.int32)
        if usable.any():
            ts = ts_column.fill_null(0).to_numpy(zero_copy_only=False)
            only = only_value(exchange_column)  # one exchange per file: no hashing
            venues = (
                [only]
                if only is not None
                else pc.unique(exchange_column.filter(pa.array(usable))).to_pylist()
            )
            if len(venues) == 1:
                rows = usable
                days[rows] = local_dates(ts[rows], venue_of(venues[0]))
            else:
                names = exchange_column.to_numpy(zero_copy_only=False)
                for venue in venues:
                    rows = usable & (names == venue)
                    days[rows] = local_dates(ts[rows], venue_of(venue))
        return {"trading_date": masked_array(days, usable, pa.date32())}

    return Map(
        name=name,
        requires={"exchange": pa.string(), "ts_event_us": pa.int64()},
        produces=[pa.field("trading_date", pa.date32())],
        fn=assign,
    )
