"""Per-operator cost in ns per row on a ``bench_rows``-row generated L2 stream.

The input of every step of the default ingest chain is materialised once (a list of
record batches, outside the timing); each benchmark then times one step alone over its
input: parse (gzip + CSV -> raw strings), normalize, tz_partition, pit_join,
quarantine_split, sequence, and the Silver sink (partitioned Parquet writes into a fresh
staging folder each round). ``full_chain`` is the whole chain through ``Chain.run`` (with
its schema guards), without a sink, for comparison with the sum of the steps.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from bench_support import DATA_TYPE, cached_l2, prepare_lake

from operators.silver_sink import SilverSink
from pointline.chain import EMPTY_SCHEMA, Chain, CountingSink, Operator
from pointline.ingest import build_chain
from pointline.schemas import get_table_spec
from pointline.vendors.tardis import FORMATS

STEPS = ("parse", "normalize", "tz_partition", "pit_join", "quarantine_split", "sequence")

Stage = tuple[Operator, list[pa.RecordBatch], pa.Schema]


class _Stages:
    def __init__(self, root: Path, rows: int) -> None:
        lake, meta = prepare_lake(root / "lake", cached_l2(rows))
        dim = lake.dim_symbol_store().load()[1]
        self.quarantine = CountingSink()
        self.chain = build_chain(
            meta, lake=lake, file_id=1, dim_symbol=dim, quarantine=self.quarantine
        )
        self.inputs: dict[str, Stage] = {}
        batches: list[pa.RecordBatch] = []
        schema = EMPTY_SCHEMA
        for step in self.chain.steps:
            self.inputs[step.name] = (step, batches, schema)
            out_schema = step.output_schema(schema)
            batches = list(step.transform(iter(batches), schema))
            schema = out_schema
        self.output = batches
        self.staging = root / "staging"


@pytest.fixture(scope="module")
def stages(bench_rows: int, tmp_path_factory: pytest.TempPathFactory) -> _Stages:
    return _Stages(tmp_path_factory.mktemp("operators"), bench_rows)


def _rows(batches: list[pa.RecordBatch]) -> int:
    return sum(b.num_rows for b in batches)


@pytest.mark.parametrize("name", STEPS)
def test_bench_operator(benchmark: Any, stages: _Stages, name: str) -> None:
    step, batches, schema = stages.inputs[name]

    def run() -> int:
        return sum(b.num_rows for b in step.transform(iter(batches), schema))

    out = benchmark(run)
    rows = out if name == "parse" else _rows(batches)
    benchmark.extra_info["rows"] = rows
    benchmark.extra_info["step"] = name
    assert out > 0


def test_bench_operator_silver_sink(benchmark: Any, stages: _Stages) -> None:
    spec = get_table_spec(FORMATS[DATA_TYPE].table)
    batches = stages.output
    counter = itertools.count()

    def setup() -> tuple[tuple[SilverSink], dict[str, Any]]:
        sink = SilverSink(spec, stages.staging / str(next(counter)), file_id=1)
        return (sink,), {}

    def run(sink: SilverSink) -> int:
        for batch in batches:
            sink.write(batch)
        return sink.close().rows

    written = benchmark.pedantic(run, setup=setup, rounds=5, iterations=1)
    benchmark.extra_info["rows"] = _rows(batches)
    benchmark.extra_info["step"] = "silver_sink"
    assert written == _rows(batches)


def test_bench_full_chain(benchmark: Any, stages: _Stages) -> None:
    chain = Chain(stages.chain.steps)

    def run() -> int:
        return sum(b.num_rows for b in chain.run())

    out = benchmark(run)
    benchmark.extra_info["rows"] = out
    benchmark.extra_info["step"] = "full_chain"
