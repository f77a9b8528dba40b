"""Benchmarks for pointline.kernels.decimal (nanoseconds per row in the summary).

Inputs are price-like strings such as ``"27341.52"`` (0 to 8 decimals), made once per
module with a seeded generator, outside the timed functions.
``test_reference_bare_arrow_cast`` is pyarrow's own ``decimal128(38, 18)`` cast, the floor
of the usual path (which adds a length and a byte scan); ``test_reference_float64_cast``
is what a float pipeline pays.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from pointline.kernels.decimal import decimal_text, parse_decimal
from pointline.schemas import DECIMAL_TYPE


def price_strings(n: int, seed: int = 20240601) -> pa.StringArray:
    """``n`` price-like strings: up to 6 integer digits and 0 to 8 decimals."""
    rng = np.random.default_rng(seed)
    wholes = rng.integers(0, 1_000_000, n).tolist()
    fractions = rng.integers(0, 10**8, n).tolist()
    decimals = rng.integers(0, 9, n).tolist()
    texts = [
        f"{whole}.{fraction:08d}"[: len(str(whole)) + 1 + places] if places else str(whole)
        for whole, fraction, places in zip(wholes, fractions, decimals, strict=True)
    ]
    return pa.array(texts, pa.string())


@pytest.fixture(scope="module")
def clean_prices(bench_rows: int) -> pa.StringArray:
    return price_strings(bench_rows)


def with_one_row(prices: pa.StringArray, text: str) -> pa.StringArray:
    texts = prices.to_pylist()
    texts[len(texts) // 2] = text
    return pa.array(texts, pa.string())


@pytest.fixture(scope="module")
def exponent_prices(bench_rows: int) -> pa.StringArray:
    """Sub-micro prices as JavaScript writes them (``1.2345e-7``): the per-row path."""
    rng = np.random.default_rng(7)
    mantissas = rng.integers(10_000, 99_999, bench_rows).tolist()
    exponents = rng.integers(7, 12, bench_rows).tolist()
    texts = [f"{m / 10_000}e-{e}" for m, e in zip(mantissas, exponents, strict=True)]
    return pa.array(texts, pa.string())


def test_clean_prices(
    benchmark: BenchmarkFixture, clean_prices: pa.StringArray, bench_rows: int
) -> None:
    benchmark.extra_info["rows"] = bench_rows
    result = benchmark(parse_decimal, clean_prices)
    assert not result.bad.any()


def test_one_unparseable_row(
    benchmark: BenchmarkFixture, clean_prices: pa.StringArray, bench_rows: int
) -> None:
    prices = with_one_row(clean_prices, "1.2.3")
    benchmark.extra_info["rows"] = bench_rows
    result = benchmark(parse_decimal, prices)
    assert int(result.unparseable.sum()) == 1


def test_one_inexact_row(
    benchmark: BenchmarkFixture, clean_prices: pa.StringArray, bench_rows: int
) -> None:
    prices = with_one_row(clean_prices, "1.0000000000000000001")
    benchmark.extra_info["rows"] = bench_rows
    result = benchmark(parse_decimal, prices)
    assert int(result.inexact.sum()) == 1


def test_exponent_notation(
    benchmark: BenchmarkFixture, exponent_prices: pa.StringArray, bench_rows: int
) -> None:
    benchmark.extra_info["rows"] = bench_rows
    result = benchmark(parse_decimal, exponent_prices)
    assert not result.bad.any()


def test_decimal_text(
    benchmark: BenchmarkFixture, clean_prices: pa.StringArray, bench_rows: int
) -> None:
    values = parse_decimal(clean_prices).values
    benchmark.extra_info["rows"] = bench_rows
    text = benchmark(decimal_text, values)
    assert text.null_count == 0


def test_reference_bare_arrow_cast(
    benchmark: BenchmarkFixture, clean_prices: pa.StringArray, bench_rows: int
) -> None:
    benchmark.extra_info["rows"] = bench_rows
    benchmark(pc.cast, clean_prices, DECIMAL_TYPE)


def test_reference_float64_cast(
    benchmark: BenchmarkFixture, clean_prices: pa.StringArray, bench_rows: int
) -> None:
    benchmark.extra_info["rows"] = bench_rows
    benchmark(pc.cast, clean_prices, pa.float64())
