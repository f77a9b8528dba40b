"""The operator protocol and the four primitives every operator is built from.

An operator has a ``name``, says what it outputs for a given input schema
(``output_schema``, called once when the chain is built) and lazily transforms a stream of
record batches (``transform``, called once per run). Pointline's own operators are all
built from four primitives:

- :class:`Source`: makes batches from outside the chain (a file, a reader);
- :class:`Map`: a per-batch function that sets, adds or drops columns and may flag rows;
- :class:`Scan`: the same with state carried from batch to batch (counters, carry-over);
- :class:`Split`: routes flagged rows to a side :class:`~pointline.chain.Sink` that must
  consume them and passes the rest on; :func:`~pointline.chain.drain` closes that sink with
  the main one and checks that no row was lost or invented.

``Map`` and ``Scan`` are row-preserving: a row is never dropped before the split, which is
what makes the accounting invariant (every Bronze row ends up exactly once in Silver or in
the validation log) checkable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeAlias, TypeVar, runtime_checkable

import pyarrow as pa

from pointline.arrays import bool_array
from pointline.chain.flags import FLAG_COLUMN, FLAG_FIELD, RowFlags, flagged_mask
from pointline.chain.sink import Sink
from pointline.errors import ChainError, SchemaError

__all__ = [
    "EMPTY_SCHEMA",
    "ColumnFn",
    "Map",
    "Operator",
    "Scan",
    "ScanFn",
    "Source",
    "Split",
]

EMPTY_SCHEMA = pa.schema([])
"""The input schema of a chain that starts with a source."""

Columns: TypeAlias = "Mapping[str, pa.Array[Any] | pa.ChunkedArray[Any]]"
ColumnFn: TypeAlias = Callable[[pa.RecordBatch, RowFlags], Columns]
"""A map's function: the input batch and its flags in, the produced columns out."""

S = TypeVar("S")
ScanFn = Callable[[S, pa.RecordBatch, RowFlags], tuple[S, Columns]]
"""A scan's function: the state, the batch and its flags in; the new state and columns out."""


@runtime_checkable
class Operator(Protocol):
    """What a chain needs of a step. Implement it directly, or build on the primitives."""

    @property
    def name(self) -> str:
        """A unique, dot-free name within its chain."""
        ...

    def output_schema(self, input_schema: pa.Schema) -> pa.Schema:
        """The schema of the batches this step yields; raises SchemaError if the input
        does not have what the step needs."""
        ...

    def transform(
        self, batches: Iterator[pa.RecordBatch], input_schema: pa.Schema
    ) -> Iterator[pa.RecordBatch]:
        """Lazily turn the input stream into the output stream. Called once per run."""
        ...


@dataclass(frozen=True, kw_only=True)
class Source:
    """Makes the chain's first batches; ``open`` is called once per run. ``position``,
    when given, says how many bytes of the input the current run has consumed (for
    progress: a gzip file's compressed bytes). ``sha256``, when given, is the SHA-256
    (hex) of every byte of the input file the last run read, once it has read them all,
    else None (ingest checks it against the file's metadata instead of reading the
    file again)."""

    name: str
    schema: pa.Schema
    open: Callable[[], Iterable[pa.RecordBatch]]
    position: Callable[[], int] | None = None
    sha256: Callable[[], str | None] | None = None

    def output_schema(self, input_schema: pa.Schema) -> pa.Schema:
        if len(input_schema) != 0:
            msg = f"a source takes no input, but gets columns {input_schema.names}"
            raise SchemaError(msg)
        return self.schema

    def transform(
        self, batches: Iterator[pa.RecordBatch], input_schema: pa.Schema
    ) -> Iterator[pa.RecordBatch]:
        yield from self.open()


def _check_requires(
    input_schema: pa.Schema, requires: Mapping[str, pa.DataType | None], drops: Sequence[str]
) -> None:
    for name, dtype in requires.items():
        index = input_schema.get_field_index(name)
        if index < 0:
            msg = f"needs column {name!r} ({dtype or 'any type'}), input has {input_schema.names}"
            raise SchemaError(msg)
        got = input_schema.field(index).type
        if dtype is not None and got != dtype:
            msg = f"needs column {name!r} as {dtype}, input has {got}"
            raise SchemaError(msg)
    missing = [name for name in drops if input_schema.get_field_index(name) < 0]
    if missing:
        msg = f"drops columns {missing} that the input does not have ({input_schema.names})"
        raise SchemaError(msg)


@dataclass(frozen=True, kw_only=True)
class _ColumnStep:
    """Schema logic shared by Map and Scan: declared inputs, produced and dropped columns.

    The output schema is the input schema minus ``drops``, with each produced column
    replacing the input column of the same name in place or, if new, appended in the order
    given; a step built with ``flags=True`` also gets the flag column if it is not there yet.
    """

    name: str
    requires: Mapping[str, pa.DataType | None] = field(default_factory=dict)
    produces: Sequence[pa.Field[Any]] = ()
    drops: Sequence[str] = ()
    flags: bool = False

    def output_schema(self, input_schema: pa.Schema) -> pa.Schema:
        _check_requires(input_schema, self.requires, self.drops)
        produced = {f.name: f for f in self.produces}
        if len(produced) != len(self.produces):
            msg = f"produces a column twice: {[f.name for f in self.produces]}"
            raise SchemaError(msg)
        if FLAG_COLUMN in produced or FLAG_COLUMN in self.drops:
            msg = f"{FLAG_COLUMN!r} belongs to the chain; flag rows through RowFlags"
            raise SchemaError(msg)
        dropped = set(self.drops)
        fields = [produced.pop(f.name, f) for f in input_schema if f.name not in dropped]
        fields.extend(produced.values())
        if self.flags and FLAG_COLUMN not in {f.name for f in fields}:
            fields.append(FLAG_FIELD)
        return pa.schema(fields)

    def _assemble(
        self,
        schema: pa.Schema,
        batch: pa.RecordBatch,
        columns: Columns,
        flags: RowFlags,
    ) -> pa.RecordBatch:
        produced = {f.name for f in self.produces}
        unexpected = set(columns) - produced
        if unexpected:
            msg = f"returned columns {sorted(unexpected)} it did not declare in produces"
            raise ChainError(msg, step=self.name)
        arrays: list[pa.Array[Any]] = []
        for f in schema:
            if f.name in produced:
                try:
                    array = columns[f.name]
                except KeyError:
                    msg = f"did not return its declared column {f.name!r}"
                    raise ChainError(msg, step=self.name) from None
                if len(array) != batch.num_rows:
                    msg = (
                        f"returned {len(array)} values for column {f.name!r} "
                        f"on a batch of {batch.num_rows} rows; steps before the split "
                        "must keep every row"
                    )
                    raise ChainError(msg, step=self.name)
                if isinstance(array, pa.ChunkedArray):
                    array = array.combine_chunks()
                arrays.append(array)
            elif f.name == FLAG_COLUMN:
                arrays.append(flags.array())
            else:
                arrays.append(batch.column(f.name))
        return pa.RecordBatch.from_arrays(arrays, schema=schema)

    def _flags_for(self, batch: pa.RecordBatch) -> RowFlags:
        index = batch.schema.get_field_index(FLAG_COLUMN)
        existing = batch.column(index) if index >= 0 else None
        return RowFlags(self.name, batch.num_rows, existing, enabled=self.flags)


@dataclass(frozen=True, kw_only=True)
class Map(_ColumnStep):
    """A per-batch function over columns. See :class:`_ColumnStep` for the schema rules.

    >>> import pyarrow as pa, pyarrow.compute as pc
    >>> double = Map(
    ...     name="double",
    ...     requires={"x": pa.int64()},
    ...     produces=[pa.field("x2", pa.int64())],
    ...     fn=lambda batch, flags: {"x2": pc.multiply(batch["x"], 2)},
    ... )
    >>> double.output_schema(pa.schema([("x", pa.int64())])).names
    ['x', 'x2']
    """

    fn: ColumnFn

    def transform(
        self, batches: Iterator[pa.RecordBatch], input_schema: pa.Schema
    ) -> Iterator[pa.RecordBatch]:
        schema = self.output_schema(input_schema)
        for batch in batches:
            flags = self._flags_for(batch)
            yield self._assemble(schema, batch, self.fn(batch, flags), flags)


@dataclass(frozen=True, kw_only=True)
class Scan(_ColumnStep, Generic[S]):
    """A per-batch function with state carried across batches; ``init`` makes the state
    afresh for every run, so a chain can run twice."""

    init: Callable[[], S]
    fn: ScanFn[S]

    def transform(
        self, batches: Iterator[pa.RecordBatch], input_schema: pa.Schema
    ) -> Iterator[pa.RecordBatch]:
        schema = self.output_schema(input_schema)
        state = self.init()
        for batch in batches:
            flags = self._flags_for(batch)
            state, columns = self.fn(state, batch, flags)
            yield self._assemble(schema, batch, columns, flags)


@dataclass(frozen=True, kw_only=True)
class Split:
    """Routes flagged rows to the sink ``side`` and passes the good rows on without the flag
    column.

    ``side`` receives each batch of flagged rows (flag column included) and must consume
    it: that is the quarantine. :func:`~pointline.chain.drain` closes it (or aborts it)
    with the chain's main sink and checks that rows in = rows out + rows routed.
    """

    name: str
    side: Sink

    def output_schema(self, input_schema: pa.Schema) -> pa.Schema:
        index = input_schema.get_field_index(FLAG_COLUMN)
        if index < 0:
            msg = f"splits on {FLAG_COLUMN!r}, but no earlier step flags rows"
            raise SchemaError(msg)
        return input_schema.remove(index)

    def transform(
        self, batches: Iterator[pa.RecordBatch], input_schema: pa.Schema
    ) -> Iterator[pa.RecordBatch]:
        index = input_schema.get_field_index(FLAG_COLUMN)
        for batch in batches:
            column = batch.column(index)
            if column.null_count == batch.num_rows:
                yield batch.remove_column(index)
                continue
            bad = flagged_mask(column)
            self.side.write(batch.filter(bool_array(bad)))
            good = batch.filter(bool_array(~bad)).remove_column(index)
            if good.num_rows:
                yield good
