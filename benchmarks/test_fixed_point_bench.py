"""Benchmarks for pointline.kernels.fixed_point (nanoseconds per row in the summary).

Inputs are price-like strings such as ``"27341.52"`` (0 to 8 decimals), made once per
module with a seeded generator, outside the timed functions. ``test_reference_bare_arrow_cast``
is Arrow's own ``decimal128(38, 9)`` cast, the floor for the fast path.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from pointline.kernels.fixed_point import parse_fixed_point


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
def prices_with_garbage(clean_prices: pa.StringArray) -> pa.StringArray:
    """One row with letters: the byte scan sends the array straight to numpy."""
    return with_one_row(clean_prices, "garbage")


@pytest.fixture(scope="module")
def prices_with_bad_number(clean_prices: pa.StringArray) -> pa.StringArray:
    """One row made of number bytes that Arrow rejects: a full failed cast, then numpy."""
    return with_one_row(clean_prices, "1.2.3")


def test_fast_path_clean_prices(
    benchmark: BenchmarkFixture, clean_prices: pa.StringArray, bench_rows: int
) -> None:
    benchmark.extra_info["rows"] = bench_rows
    result = benchmark(parse_fixed_point, clean_prices)
    assert not result.has_errors


def test_fallback_one_garbage_row(
    benchmark: BenchmarkFixture, prices_with_garbage: pa.StringArray, bench_rows: int
) -> None:
    benchmark.extra_info["rows"] = bench_rows
    result = benchmark(parse_fixed_point, prices_with_garbage)
    assert int(result.unparseable.sum()) == 1


def test_fallback_after_failed_cast(
    benchmark: BenchmarkFixture, prices_with_bad_number: pa.StringArray, bench_rows: int
) -> None:
    benchmark.extra_info["rows"] = bench_rows
    result = benchmark(parse_fixed_point, prices_with_bad_number)
    assert int(result.unparseable.sum()) == 1


def test_forced_fallback_clean_prices(
    benchmark: BenchmarkFixture, clean_prices: pa.StringArray, bench_rows: int
) -> None:
    benchmark.extra_info["rows"] = bench_rows
    result = benchmark(parse_fixed_point, clean_prices, _force_fallback=True)
    assert not result.has_errors


def test_reference_bare_arrow_cast(
    benchmark: BenchmarkFixture, clean_prices: pa.StringArray, bench_rows: int
) -> None:
    benchmark.extra_info["rows"] = bench_rows
    benchmark(pc.cast, clean_prices, pa.decimal128(38, 9))
