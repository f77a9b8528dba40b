from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from pointline.chain import (
    FLAG_COLUMN,
    Chain,
    Map,
    Operator,
    RowFlags,
    Scan,
    SinkSummary,
    Source,
    Split,
    decode_flags,
    drain,
)
from pointline.errors import ChainError, PointlineError
from pointline.testing import ListSink, assert_tables_equal, batches_from_rows, collect

SCHEMA = pa.schema([("x", pa.int64()), ("tag", pa.string())])
ROWS = [{"x": x, "tag": f"t{x}"} for x in range(-20, 150)]


def number_rows(state: int, batch: pa.RecordBatch, flags: RowFlags) -> tuple[int, Any]:
    n = batch.num_rows
    return state + n, {"row_no": pa.array(np.arange(state + 1, state + n + 1, dtype=np.int64))}


def check(batch: pa.RecordBatch, flags: RowFlags) -> dict[str, Any]:
    x = batch["x"]
    flags.flag(pc.less(x, 0), "negative", "x")
    flags.flag(pc.equal(pc.bit_wise_and(x, 7), 0), "multiple_of_eight", "x")
    return {}


def double(batch: pa.RecordBatch, flags: RowFlags) -> dict[str, Any]:
    return {"x": pc.multiply(batch["x"], 2)}


def make_chain(batch_size: int, side: ListSink) -> Chain:
    return Chain(
        [
            Source(
                name="rows",
                schema=SCHEMA,
                open=lambda: batches_from_rows(ROWS, SCHEMA, batch_size=batch_size),
            ),
            Scan(
                name="number",
                produces=[pa.field("row_no", pa.int64())],
                init=lambda: 0,
                fn=number_rows,
            ),
            Map(name="check", requires={"x": pa.int64()}, flags=True, fn=check),
            Map(
                name="double",
                requires={"x": pa.int64()},
                produces=[pa.field("x", pa.int64())],
                fn=double,
            ),
            Split(name="split", side=side),
        ]
    )


def run(batch_size: int) -> tuple[pa.Table, pa.Table]:
    side = ListSink()
    chain = make_chain(batch_size, side)
    good = collect(chain.run())
    bad = collect(side.batches, schema=chain.schema_after("double"))
    return good, bad


def test_chain_output_schema_is_known_before_running() -> None:
    chain = make_chain(7, ListSink())
    assert chain.names == ("rows", "number", "check", "double", "split")
    assert chain.output_schema.names == ["x", "tag", "row_no"]
    assert chain.schema_after("check").names == ["x", "tag", "row_no", FLAG_COLUMN]
    assert repr(chain) == "Chain(rows | number | check | double | split)"


def test_flags_route_rows_to_the_side_output_and_conserve_rows() -> None:
    good, bad = run(7)
    assert good.num_rows + bad.num_rows == len(ROWS)
    assert sorted(good["row_no"].to_pylist() + bad["row_no"].to_pylist()) == list(
        range(1, len(ROWS) + 1)
    )
    assert all(x >= 0 and (x // 2) % 8 != 0 for x in good["x"].to_pylist())
    step, rule, field = decode_flags(bad[FLAG_COLUMN].combine_chunks())
    by_x = dict(zip(bad["tag"].to_pylist(), rule.to_pylist(), strict=True))
    # -8 breaks both rules: the first flag that hit it wins.
    assert by_x["t-8"] == "negative"
    assert by_x["t16"] == "multiple_of_eight"
    assert set(step.to_pylist()) == {"check"}
    assert set(field.to_pylist()) == {"x"}


@pytest.mark.parametrize("batch_size", [1, 7, 65_536])
def test_output_is_identical_for_any_batch_size(batch_size: int) -> None:
    reference_good, reference_bad = run(10_000)
    good, bad = run(batch_size)
    assert_tables_equal(good.combine_chunks(), reference_good.combine_chunks())
    assert_tables_equal(
        bad.drop_columns([FLAG_COLUMN]).combine_chunks(),
        reference_bad.drop_columns([FLAG_COLUMN]).combine_chunks(),
    )
    assert decode_flags(bad[FLAG_COLUMN].combine_chunks())[1].to_pylist() == (
        decode_flags(reference_bad[FLAG_COLUMN].combine_chunks())[1].to_pylist()
    )


def test_a_chain_can_run_twice_with_fresh_state() -> None:
    chain = make_chain(7, ListSink())
    first = collect(chain.run())
    second = collect(chain.run())
    assert_tables_equal(first, second)


def test_duplicate_step_names_fail_at_build_with_the_name() -> None:
    m = Map(name="same", fn=lambda b, f: {})
    with pytest.raises(ChainError, match=r"step 'same': step name 'same' is used twice"):
        Chain([m, m], input_schema=SCHEMA)


@pytest.mark.parametrize("name", ["a.b", "", " pad"])
def test_bad_step_names_fail_at_build(name: str) -> None:
    with pytest.raises(ChainError, match=r"step 0 has an invalid name"):
        Chain([Map(name=name, fn=lambda b, f: {})], input_schema=SCHEMA)


def test_step_needing_a_removed_column_fails_at_build_naming_the_step() -> None:
    drop = Map(name="drop_tag", drops=["tag"], fn=lambda b, f: {})
    needs = Map(name="upper", requires={"tag": pa.string()}, fn=lambda b, f: {})
    with pytest.raises(ChainError, match=r"step 'upper': needs column 'tag'"):
        Chain([drop, needs], input_schema=SCHEMA)


def test_step_needing_another_type_fails_at_build() -> None:
    needs = Map(name="needs_str_x", requires={"x": pa.string()}, fn=lambda b, f: {})
    with pytest.raises(ChainError, match=r"step 'needs_str_x': needs column 'x' as string"):
        Chain([needs], input_schema=SCHEMA)


def test_split_without_flags_fails_at_build() -> None:
    with pytest.raises(ChainError, match=r"step 'split': splits on '_pl_flag'"):
        Chain([Split(name="split", side=ListSink())], input_schema=SCHEMA)


def test_source_after_the_first_step_fails_at_build() -> None:
    source = Source(name="src", schema=SCHEMA, open=lambda: [])
    with pytest.raises(ChainError, match=r"step 'src': a source takes no input"):
        Chain([Map(name="m", fn=lambda b, f: {}), source], input_schema=SCHEMA)


def test_pipe_appends_and_validates() -> None:
    chain = Chain([Map(name="a", fn=lambda b, f: {})], input_schema=SCHEMA)
    longer = chain | Map(name="b", drops=["tag"], fn=lambda b, f: {})
    assert longer.names == ("a", "b")
    assert longer.output_schema.names == ["x"]
    with pytest.raises(ChainError, match=r"step 'c'"):
        longer | Map(name="c", requires={"tag": None}, fn=lambda b, f: {})


def _input(rows: int = 3) -> list[pa.RecordBatch]:
    return batches_from_rows(ROWS[:rows], SCHEMA)


def test_errors_inside_a_step_name_the_step() -> None:
    def boom(batch: pa.RecordBatch, flags: RowFlags) -> dict[str, Any]:
        raise ZeroDivisionError("division by zero")

    chain = Chain([Map(name="boom", fn=boom)], input_schema=SCHEMA)
    with pytest.raises(ChainError, match=r"step 'boom': failed: ZeroDivisionError") as info:
        chain.run(_input()).read_all()
    assert isinstance(info.value.__cause__, ZeroDivisionError)
    assert info.value.step == "boom"


def test_pointline_errors_keep_their_context_and_gain_the_step() -> None:
    def bad(batch: pa.RecordBatch, flags: RowFlags) -> dict[str, Any]:
        raise PointlineError("bad value", file="f.csv", row=3, field="x")

    chain = Chain([Map(name="bad", fn=bad)], input_schema=SCHEMA)
    with pytest.raises(PointlineError, match=r"^step 'bad', f.csv row 3 field 'x': bad value$"):
        chain.run(_input()).read_all()


def test_undeclared_flagging_is_an_error() -> None:
    chain = Chain([Map(name="sneaky", fn=check)], input_schema=SCHEMA)
    with pytest.raises(ChainError, match=r"step 'sneaky': flags rows but is not declared"):
        chain.run(_input(30)).read_all()


def test_dropping_rows_before_the_split_is_an_error() -> None:
    shrink = Map(
        name="shrink",
        produces=[pa.field("x", pa.int64())],
        fn=lambda b, f: {"x": b["x"].slice(1)},
    )
    chain = Chain([shrink], input_schema=SCHEMA)
    with pytest.raises(
        ChainError, match=r"step 'shrink': returned 2 values .* must keep every row"
    ):
        chain.run(_input()).read_all()


def test_undeclared_columns_are_an_error() -> None:
    extra = Map(name="extra", fn=lambda b, f: {"y": b["x"]})
    chain = Chain([extra], input_schema=SCHEMA)
    with pytest.raises(ChainError, match=r"step 'extra': returned columns \['y'\]"):
        chain.run(_input()).read_all()


class Liar:
    """A hand-written operator that declares one schema and yields another."""

    name = "liar"

    def output_schema(self, input_schema: pa.Schema) -> pa.Schema:
        return input_schema

    def transform(
        self, batches: Iterator[pa.RecordBatch], input_schema: pa.Schema
    ) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield batch.drop_columns(["tag"])


def test_a_batch_that_breaks_the_declared_schema_names_the_step() -> None:
    assert isinstance(Liar(), Operator)
    chain = Chain([Liar()], input_schema=SCHEMA)
    with pytest.raises(ChainError, match=r"step 'liar': yielded a batch with schema \(x: int64\)"):
        chain.run(_input()).read_all()


def test_reader_input_is_checked_against_the_chain() -> None:
    chain = Chain([Map(name="m", fn=lambda b, f: {})], input_schema=SCHEMA)
    other = pa.RecordBatchReader.from_batches(pa.schema([("y", pa.int64())]), [])
    with pytest.raises(ChainError, match=r"input schema \['y'\] does not match"):
        chain.run(other)
    with pytest.raises(ChainError, match=r"this chain takes input"):
        chain.run()


def test_rows_flagged_by_an_earlier_step_keep_their_first_flag() -> None:
    first = Map(
        name="first",
        flags=True,
        fn=lambda b, f: (f.flag(pc.less(b["x"], 1), "small", "x"), {})[1],
    )
    second = Map(
        name="second",
        flags=True,
        fn=lambda b, f: (f.flag(pc.less(b["x"], 2), "smallish"), {})[1],
    )
    chain = Chain([first, second], input_schema=SCHEMA)
    batch = pa.record_batch({"x": [0, 1, 2], "tag": ["a", "b", "c"]}, schema=SCHEMA)
    out = chain.run([batch]).read_all()
    step, rule, field = decode_flags(out[FLAG_COLUMN].combine_chunks())
    assert step.to_pylist() == ["first", "second", None]
    assert rule.to_pylist() == ["small", "smallish", None]
    assert field.to_pylist() == ["x", None, None]


def test_flag_masks_are_checked() -> None:
    flags = RowFlags("s", 3)
    with pytest.raises(ValueError, match=r"one entry per row \(3\)"):
        flags.flag(np.array([True]), "r")
    with pytest.raises(ChainError, match=r"rule name 'Bad.Rule'"):
        flags.flag(np.array([True, False, True]), "Bad.Rule")
    assert flags.flag(pa.array([True, None, False]), "ok") == 1
    assert flags.mask().tolist() == [True, False, False]


# ------------------------------------------------------------------------------ drain


def test_drain_closes_every_sink_and_counts_rows() -> None:
    side, main = ListSink(), ListSink()
    drained = drain(make_chain(7, side), main)
    # x in -20..149: 20 negative and 19 multiples of 8 (0..144) are flagged
    assert (drained.rows_in, drained.main.rows, drained.rows_routed) == (170, 131, 39)
    assert drained.sides["split"].rows == 39
    assert (main.closed, side.closed, main.aborted, side.aborted) == (True, True, False, False)


class _DropLast:
    """A hand-written operator (not a Map) that loses the last row of every batch."""

    name = "drop_last"

    def output_schema(self, input_schema: pa.Schema) -> pa.Schema:
        return input_schema

    def transform(
        self, batches: Iterator[pa.RecordBatch], input_schema: pa.Schema
    ) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield batch.slice(0, max(batch.num_rows - 1, 0))


def test_drain_fails_when_a_step_loses_rows() -> None:
    chain = make_chain(4, ListSink()) | _DropLast()
    with pytest.raises(
        ChainError,
        match=r"rows not conserved: 170 in from 'rows', \d+ to the main "
        r"sink, side sinks: split 39",
    ):
        drain(chain, ListSink())


class _LossySink(ListSink):
    """Takes every batch but reports one row fewer."""

    def close(self) -> SinkSummary:
        summary = super().close()
        return SinkSummary(rows=summary.rows - 1)


def test_drain_fails_when_a_sink_loses_rows() -> None:
    with pytest.raises(
        ChainError, match=r"rows not conserved: 170 in from 'rows', 130 to the main sink"
    ):
        drain(make_chain(3, ListSink()), _LossySink())


def test_drain_aborts_every_sink_when_the_chain_fails() -> None:
    def explode(batch: pa.RecordBatch, flags: RowFlags) -> dict[str, Any]:
        msg = "boom"
        raise RuntimeError(msg)

    side, main = ListSink(), ListSink()
    chain = make_chain(3, side) | Map(name="explode", fn=explode)
    with pytest.raises(ChainError, match=r"step 'explode': failed: RuntimeError: boom"):
        drain(chain, main)
    assert (main.aborted, side.aborted, main.closed, side.closed) == (True, True, False, False)
