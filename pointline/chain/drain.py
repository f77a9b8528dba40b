""":func:`drain`: the one loop that runs a chain to its end, into its sinks.

It writes every output batch to the main sink, closes every sink (the main one and the
side sink of every :class:`~pointline.chain.Split`), or aborts all of them when anything
fails and re-raises; then it checks conservation: the rows the chain's first step
produced equal the rows the main sink took plus the rows every side sink took. A step or
a sink that loses or invents a row fails the drain with a
:class:`~pointline.errors.ChainError`.

>>> import pyarrow as pa
>>> from pointline.chain import Chain, CountingSink, Source
>>> source = Source(name="src", schema=pa.schema([("x", pa.int64())]),
...                 open=lambda: [pa.record_batch({"x": [1, 2, 3]})])
>>> drained = drain(Chain([source]), CountingSink())
>>> drained.rows_in, drained.main.rows
(3, 3)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from pointline.chain.chain import Chain, RunStats
from pointline.chain.operator import Split
from pointline.chain.sink import Sink, SinkSummary
from pointline.errors import ChainError
from pointline.faults import fault

__all__ = ["Drained", "drain"]


@dataclass(frozen=True, slots=True)
class Drained:
    """The outcome of :func:`drain`: rows the first step produced, the main sink's summary,
    and each side sink's summary by the name of its split."""

    rows_in: int
    main: SinkSummary
    sides: Mapping[str, SinkSummary] = field(default_factory=dict)

    @property
    def rows_routed(self) -> int:
        """Rows that went to side sinks."""
        return sum(summary.rows for summary in self.sides.values())


def drain(chain: Chain, sink: Sink, *, on_batch: Callable[[int], None] | None = None) -> Drained:
    """Run ``chain`` (which must start with a source) into ``sink`` and close every sink.

    ``on_batch``, if given, is called after each batch the main sink takes, with the rows
    the source has produced so far (for progress).

    Raises whatever the chain or a sink raised, after aborting every sink; raises
    :class:`~pointline.errors.ChainError` when rows are not conserved.
    """
    sides = {step.name: step.side for step in chain.steps if isinstance(step, Split)}
    every: list[Sink] = [sink, *sides.values()]
    stats = RunStats()
    try:
        for number, batch in enumerate(chain.run(stats=stats)):
            sink.write(batch)
            if number == 0:
                fault("mid_stream")
            if on_batch is not None:
                on_batch(stats.rows_out(chain.steps[0].name))
        main = sink.close()
        routed = {name: side.close() for name, side in sides.items()}
    except BaseException:
        for each in every:
            each.abort()
        raise
    drained = Drained(rows_in=stats.rows_out(chain.steps[0].name), main=main, sides=routed)
    if drained.rows_in != main.rows + drained.rows_routed:
        sides_text = ", ".join(f"{name} {s.rows}" for name, s in routed.items()) or "none"
        msg = (
            f"rows not conserved: {drained.rows_in} in from {chain.steps[0].name!r}, "
            f"{main.rows} to the main sink, side sinks: {sides_text}"
        )
        raise ChainError(msg)
    return drained
