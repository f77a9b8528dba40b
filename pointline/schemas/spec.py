"""`ColumnSpec` and `TableSpec`: the vocabulary every table schema is written in.

A spec is frozen and checked when it is built: duplicate columns, keys that name unknown
columns and nullable partition columns are errors. The Arrow schema derived from a spec
carries nullability, each column's description as field metadata
(``pointline.description``) and the table's name and schema version as schema metadata
(``pointline.table``, ``pointline.schema_version``), so every Parquet file says what it is.

Every price and quantity is :data:`DECIMAL_TYPE` (docs/contracts.md section 3).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import pyarrow as pa

from pointline.errors import SchemaError

__all__ = [
    "DECIMAL_FRACTION_DIGITS",
    "DECIMAL_INTEGER_DIGITS",
    "DECIMAL_TYPE",
    "META_DESCRIPTION",
    "META_SCHEMA_VERSION",
    "META_TABLE",
    "ColumnSpec",
    "TableKind",
    "TableSpec",
]

DECIMAL_FRACTION_DIGITS = 18
"""Fractional digits every price and quantity keeps exactly (more is ``inexact_value``)."""
DECIMAL_INTEGER_DIGITS = 20
"""Integer digits every price and quantity holds (magnitude >= 10^20 is ``value_out_of_range``)."""
DECIMAL_TYPE = pa.decimal128(
    DECIMAL_INTEGER_DIGITS + DECIMAL_FRACTION_DIGITS, DECIMAL_FRACTION_DIGITS
)
"""``decimal128(38, 18)``: the Arrow type of every price and quantity, in every table."""

META_DESCRIPTION = b"pointline.description"
META_TABLE = b"pointline.table"
META_SCHEMA_VERSION = b"pointline.schema_version"

TableKind = Literal["event", "dimension", "control"]
"""event: append-only market facts; dimension: SCD2 history; control: manifest and logs."""

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True, kw_only=True)
class ColumnSpec:
    """One column: its name, Arrow type, nullability and meaning."""

    name: str
    dtype: pa.DataType
    nullable: bool = False
    description: str = ""

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            msg = f"column name {self.name!r} must be lower snake case ([a-z][a-z0-9_]*)"
            raise SchemaError(msg)

    def to_arrow(self) -> pa.Field[Any]:
        """The Arrow field, with the description as field metadata."""
        metadata: dict[bytes, bytes] = {}
        if self.description:
            metadata[META_DESCRIPTION] = self.description.encode()
        return pa.field(self.name, self.dtype, nullable=self.nullable, metadata=metadata or None)


@dataclass(frozen=True, kw_only=True)
class TableSpec:
    """A table: its columns in order, partitioning, keys and schema version."""

    name: str
    kind: TableKind
    columns: tuple[ColumnSpec, ...]
    partition_by: tuple[str, ...] = ()
    business_keys: tuple[str, ...] = ()
    """Columns that identify a row uniquely."""
    tie_break_keys: tuple[str, ...] = ()
    """Replay order: rows are read back sorted by these columns."""
    schema_version: int = 1
    description: str = ""
    _by_name: dict[str, ColumnSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            msg = f"table name {self.name!r} must be lower snake case ([a-z][a-z0-9_]*)"
            raise SchemaError(msg)
        if not self.columns:
            msg = f"table {self.name!r} has no columns"
            raise SchemaError(msg)
        by_name: dict[str, ColumnSpec] = {}
        for column in self.columns:
            if column.name in by_name:
                msg = f"table {self.name!r}: column {column.name!r} is defined twice"
                raise SchemaError(msg)
            by_name[column.name] = column
        for role, keys in (
            ("partition_by", self.partition_by),
            ("business_keys", self.business_keys),
            ("tie_break_keys", self.tie_break_keys),
        ):
            unknown = [key for key in keys if key not in by_name]
            if unknown:
                msg = f"table {self.name!r}: {role} names unknown columns {unknown}"
                raise SchemaError(msg)
            if len(set(keys)) != len(keys):
                msg = f"table {self.name!r}: {role} repeats a column: {list(keys)}"
                raise SchemaError(msg)
        nullable_parts = [key for key in self.partition_by if by_name[key].nullable]
        if nullable_parts:
            msg = f"table {self.name!r}: partition columns {nullable_parts} must not be nullable"
            raise SchemaError(msg)
        if self.schema_version < 1:
            msg = f"table {self.name!r}: schema_version must be >= 1"
            raise SchemaError(msg)
        object.__setattr__(self, "_by_name", by_name)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        """Columns that may not hold nulls."""
        return tuple(column.name for column in self.columns if not column.nullable)

    def column(self, name: str) -> ColumnSpec:
        """The column called ``name``; a SchemaError lists the table's columns otherwise."""
        try:
            return self._by_name[name]
        except KeyError:
            msg = f"table {self.name!r} has no column {name!r}; columns: {list(self.column_names)}"
            raise SchemaError(msg) from None

    @cached_property
    def arrow_schema(self) -> pa.Schema:
        """The Arrow schema, with ``pointline.table`` and ``pointline.schema_version``."""
        return pa.schema(
            [column.to_arrow() for column in self.columns],
            metadata={
                META_TABLE: self.name.encode(),
                META_SCHEMA_VERSION: str(self.schema_version).encode(),
            },
        )

    def select(self, names: Sequence[str]) -> pa.Schema:
        """The Arrow schema of a subset of the columns, in the order given."""
        return pa.schema([self.column(name).to_arrow() for name in names])
