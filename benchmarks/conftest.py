"""Shared benchmark settings.

``POINTLINE_BENCH_ROWS`` sets the input size (default 1M rows; CI's smoke run uses a small
number). Every benchmark records ``benchmark.extra_info["rows"]`` so the summary at the end
can report nanoseconds per row, the unit Pointline's kernels are judged in.
"""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def bench_rows() -> int:
    return int(os.environ.get("POINTLINE_BENCH_ROWS", "1000000"))


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    session = getattr(config, "_benchmarksession", None)
    benchmarks = getattr(session, "benchmarks", None) or []
    rows = [b for b in benchmarks if getattr(b, "stats", None) and b.extra_info.get("rows")]
    if not benchmarks:
        return
    terminalreporter.section("pointline: ns per row (median)")
    for bench in rows:
        n = bench.extra_info["rows"]
        ns = bench.stats.median / n * 1e9
        terminalreporter.write_line(f"{bench.name:<60} {ns:10.1f} ns/row  ({n:,} rows)")
    for bench in benchmarks:
        info = bench.extra_info
        if "ratio" in info:
            target = "" if "cn_stream" in info else " (target >= 0.8)"
            terminalreporter.write_line(
                f"{bench.name}: {info['e2e_rows']:,} rows; bare {info['bare_s']:.2f} s "
                f"({info['bare_s'] / info['e2e_rows'] * 1e9:.0f} ns/row), pointline "
                f"{info['pointline_s']:.2f} s ({info['pointline_s'] / info['e2e_rows'] * 1e9:.0f} "
                f"ns/row); ratio bare/pointline {info['ratio']:.2f}{target}"
            )
