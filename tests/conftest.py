"""Where the tests find data that does not live in the repository.

The golden tests read real vendor samples from the team's shared folder, expected beside
the checkout: ``<repository root>/../shared/data/<name>`` (the repository root is the
folder that holds ``pyproject.toml``). That folder is not part of the repository, so a
fresh clone elsewhere has no samples: the tests that need them are collected and then
skipped, with the reason. In CI the samples must be there: with
``POINTLINE_REQUIRE_SHARED_DATA=1`` (``.ci/run`` sets it) a missing folder fails those tests
instead. The repository's own hand-made cases (``tests/cases/``) never need the folder.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
"""The folder that holds pyproject.toml."""

SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
"""The team's shared data folder, beside the checkout (it may be absent)."""

REQUIRE_SHARED_DATA = "POINTLINE_REQUIRE_SHARED_DATA"
"""Set to ``1`` to turn a missing shared folder into a test failure (CI)."""


def shared_data(name: str) -> Path:
    """``../shared/data/<name>`` beside the checkout; skips the calling test when it is
    absent, or fails it when ``POINTLINE_REQUIRE_SHARED_DATA=1``."""
    folder = SHARED_DATA / name
    if folder.is_dir():
        return folder
    reason = f"the shared samples are not beside this checkout: ../shared/data/{name}; see README"
    if os.environ.get(REQUIRE_SHARED_DATA) == "1":
        pytest.fail(f"{reason} ({REQUIRE_SHARED_DATA}=1 requires them)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def tardis_samples() -> Path:
    """The real Tardis CSV samples (``../shared/data/tardis-samples``)."""
    return shared_data("tardis-samples")


CN_CASES = REPO_ROOT / "tests" / "cases" / "quant360"
"""Copies of the shared Quant360 samples (folders named like the vendor's archives,
``order_new_STK_SZ_20240102/000001.csv``), so CN tests run without ``../shared``."""

CN_SAMPLE_FOLDERS = (
    "order_new_STK_SZ_20240102",
    "order_new_STK_SH_20240102",
    "tick_new_STK_SZ_20240102",
    "tick_new_STK_SH_20240102",
    "L2_new_STK_SZ_20240102",
)


def cn_bronze_path(bronze_root: Path, folder: str, code: str) -> Path:
    """Where the CSV ``<folder>/<code>.csv`` of a Quant360 archive folder lives in Bronze
    (docs/cn.md section 1), gzipped."""
    stream, _, market, day = folder.rsplit("_", 3)
    exchange = {"SZ": "szse", "SH": "sse"}[market]
    date = f"{day[:4]}-{day[4:6]}-{day[6:]}"
    return (
        bronze_root
        / f"quant360/exchange={exchange}/type={stream}/date={date}/symbol={code}/{code}.csv.gz"
    )


def cn_bronze(
    bronze_root: Path, source: Path = CN_CASES, folders: tuple[str, ...] = CN_SAMPLE_FOLDERS
) -> list[Path]:
    """Gzip each ``<source>/<folder>/<code>.csv`` to its Bronze path; the paths, in order."""
    import gzip

    paths = []
    for folder in folders:
        for csv in sorted((source / folder).glob("*.csv")):
            target = cn_bronze_path(bronze_root, folder, csv.stem)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(gzip.compress(csv.read_bytes(), mtime=0))
            paths.append(target)
    return paths


def read_pty(fd: int, pid: int, *, timeout_s: float = 300) -> tuple[bytes, int]:
    """Everything a child forked with ``pty.fork()`` writes to its terminal, until it
    closes it (or ``timeout_s`` passes: a guard against a hang, not a timing check), and
    its wait status."""
    import select
    import time

    seen = b""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    _, status = os.waitpid(pid, 0)
    return seen, status


# Comparing lakes (the determinism tests: serial, workers, Ray, any order, re-runs).

MANIFEST_TIMES = ("created_at_ts_us", "processed_at_ts_us", "duration_us", "last_modified_ts_us")
MANIFEST_NONCES = ("publish_token",)  # a random name per attempt, like a timestamp


def silver_digests(lake: Any) -> dict[str, str]:
    """Every Parquet file under ``silver/`` (validation log included), by its path
    relative to ``silver/`` -> SHA-256 of its bytes."""
    return {
        path.relative_to(lake.silver_root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(lake.silver_root.rglob("*.parquet"))
    }


def manifest_state(lake: Any) -> list[dict[str, Any]]:
    """The manifest's live state without times and per-attempt nonces, by Bronze path."""
    rows = lake.manifest().state_table().drop_columns([*MANIFEST_TIMES, *MANIFEST_NONCES])
    return sorted(rows.to_pylist(), key=lambda r: r["bronze_path"])


def demo_lake(root: Path) -> Any:
    """A lake at ``root`` holding the demo's Bronze files (4 Tardis files and a CN day of
    8) and a bootstrapped dim_symbol, nothing ingested."""
    from pointline import Lake
    from pointline.bootstrap import bootstrap_dim_symbol
    from pointline.demo import write_demo_bronze

    lake = Lake(root)
    write_demo_bronze(lake.bronze_root)
    bootstrap_dim_symbol(lake)
    return lake
