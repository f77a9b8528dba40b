"""A chain: one flat, ordered list of operators, validated when it is built.

Building a chain checks the step names (unique, non-empty, dot-free) and folds
``output_schema`` across the steps, so a step that needs a column an earlier step removed
fails before a byte is read, with the step named. Running a chain returns a
``pyarrow.RecordBatchReader`` whose schema is known up front; batches flow lazily, one at a
time, so memory is bounded by batch size times chain depth. Every batch a step yields is
checked against the schema that step declared.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pyarrow as pa

from pointline.chain.operator import EMPTY_SCHEMA, Operator
from pointline.errors import ChainError, PointlineError

__all__ = ["Chain", "RunStats"]


class RunStats:
    """Rows each step yielded during one run (filled in as the run's reader is read)."""

    __slots__ = ("_rows",)

    def __init__(self) -> None:
        self._rows: dict[str, int] = {}

    def add(self, step: str, rows: int) -> None:
        self._rows[step] = self._rows.get(step, 0) + rows

    def rows_out(self, step: str) -> int:
        """Rows step ``step`` has yielded so far (0 if none)."""
        return self._rows.get(step, 0)


def _check_name(name: object, position: int) -> str:
    if not isinstance(name, str) or not name or "." in name or name != name.strip():
        msg = f"step {position} has an invalid name {name!r}: names are non-empty and dot-free"
        raise ChainError(msg)
    return name


class Chain:
    """An ordered list of operators and the schema after each of them.

    >>> import pyarrow as pa, pyarrow.compute as pc
    >>> from pointline.chain import Map
    >>> inc = Map(
    ...     name="inc",
    ...     requires={"x": pa.int64()},
    ...     produces=[pa.field("x", pa.int64())],
    ...     fn=lambda b, flags: {"x": pc.add(b["x"], 1)},
    ... )
    >>> chain = Chain([inc], input_schema=pa.schema([("x", pa.int64())]))
    >>> chain.run([pa.record_batch({"x": [1, 2]})]).read_all()["x"].to_pylist()
    [2, 3]
    """

    __slots__ = ("_schemas", "_steps")

    def __init__(
        self, steps: Iterable[Operator], *, input_schema: pa.Schema = EMPTY_SCHEMA
    ) -> None:
        self._steps: tuple[Operator, ...] = tuple(steps)
        if not self._steps:
            msg = "a chain needs at least one step"
            raise ChainError(msg)
        seen: set[str] = set()
        schemas = [input_schema]
        for position, step in enumerate(self._steps):
            name = _check_name(getattr(step, "name", None), position)
            if name in seen:
                msg = f"step name {name!r} is used twice; names must be unique in a chain"
                raise ChainError(msg, step=name)
            seen.add(name)
            try:
                schemas.append(step.output_schema(schemas[-1]))
            except ChainError as exc:
                exc.with_context(step=name)
                raise
            except PointlineError as exc:
                raise ChainError(exc.message, step=name) from exc
        self._schemas: tuple[pa.Schema, ...] = tuple(schemas)

    @property
    def steps(self) -> tuple[Operator, ...]:
        return self._steps

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(step.name for step in self._steps)

    @property
    def input_schema(self) -> pa.Schema:
        return self._schemas[0]

    @property
    def output_schema(self) -> pa.Schema:
        return self._schemas[-1]

    def schema_after(self, name: str) -> pa.Schema:
        """The schema of the batches that step ``name`` yields."""
        return self._schemas[self._index(name) + 1]

    def step(self, name: str) -> Operator:
        return self._steps[self._index(name)]

    def _index(self, name: str) -> int:
        for position, step in enumerate(self._steps):
            if step.name == name:
                return position
        msg = f"no step named {name!r}; steps: {list(self.names)}"
        raise ChainError(msg)

    def __or__(self, step: Operator) -> Chain:
        """``chain | step``: a new chain with ``step`` appended, validated at once."""
        return Chain((*self._steps, step), input_schema=self.input_schema)

    def __repr__(self) -> str:
        return f"Chain({' | '.join(self.names)})"

    def run(
        self,
        batches: pa.RecordBatchReader | Iterable[pa.RecordBatch] | None = None,
        *,
        stats: RunStats | None = None,
    ) -> pa.RecordBatchReader:
        """Stream ``batches`` (or nothing, for a chain that starts with a source) through
        every step. Lazy: no step runs until the reader is read. ``stats``, if given,
        counts the rows each step yields."""
        if batches is None:
            if len(self.input_schema) != 0:
                msg = f"this chain takes input with columns {self.input_schema.names}"
                raise ChainError(msg)
            source: Iterator[pa.RecordBatch] = iter(())
        else:
            if isinstance(batches, pa.RecordBatchReader) and not batches.schema.equals(
                self.input_schema
            ):
                msg = (
                    f"input schema {batches.schema.names} does not match the chain's "
                    f"{self.input_schema.names}"
                )
                raise ChainError(msg)
            source = iter(batches)
        stream = source
        for position, step in enumerate(self._steps):
            stream = self._guard(
                step,
                step.transform(stream, self._schemas[position]),
                self._schemas[position + 1],
                stats,
            )
        return pa.RecordBatchReader.from_batches(self.output_schema, stream)

    @staticmethod
    def _guard(
        step: Operator,
        batches: Iterator[pa.RecordBatch],
        schema: pa.Schema,
        stats: RunStats | None,
    ) -> Iterator[pa.RecordBatch]:
        """Check each batch against the declared schema; count its rows; name the step in
        any error."""
        name = step.name
        try:
            for batch in batches:
                if not batch.schema.equals(schema):
                    msg = (
                        f"yielded a batch with schema {_describe(batch.schema)}, "
                        f"but declared {_describe(schema)}"
                    )
                    raise ChainError(msg, step=name)
                if stats is not None:
                    stats.add(name, batch.num_rows)
                yield batch
        except PointlineError as exc:
            exc.with_context(step=name)
            raise
        except Exception as exc:
            msg = f"failed: {type(exc).__name__}: {exc}"
            raise ChainError(msg, step=name) from exc


def _describe(schema: pa.Schema) -> str:
    return "(" + ", ".join(f"{f.name}: {f.type}" for f in schema) + ")"
