"""The one registry of table schemas: look a table up by name, or list them all."""

from __future__ import annotations

from types import MappingProxyType

from pointline.errors import UnknownTableError
from pointline.schemas.control import INGEST_MANIFEST, VALIDATION_LOG
from pointline.schemas.dimensions import DIM_SYMBOL
from pointline.schemas.events import EVENT_TABLES
from pointline.schemas.spec import TableSpec

__all__ = ["TABLE_SPECS", "get_table_spec", "list_table_specs"]

TABLE_SPECS = MappingProxyType(
    {spec.name: spec for spec in (*EVENT_TABLES, DIM_SYMBOL, INGEST_MANIFEST, VALIDATION_LOG)}
)


def get_table_spec(name: str) -> TableSpec:
    """The spec of table ``name``.

    >>> get_table_spec("trades").partition_by
    ('exchange', 'trading_date')
    """
    try:
        return TABLE_SPECS[name]
    except KeyError:
        known = ", ".join(sorted(TABLE_SPECS))
        msg = f"unknown table {name!r}; known tables: {known}"
        raise UnknownTableError(msg) from None


def list_table_specs() -> tuple[TableSpec, ...]:
    """Every table spec, sorted by name."""
    return tuple(TABLE_SPECS[name] for name in sorted(TABLE_SPECS))
