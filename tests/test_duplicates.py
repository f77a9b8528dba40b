"""Duplicate Bronze content (docs/contracts.md section 7): of byte-identical files with data
rows, one is live, the smallest ``bronze_path``, whatever the arrival order; the others are
``superseded`` with reason ``duplicate_content`` naming it. Empty files are exempt, and
``allow_duplicates`` ingests a duplicate anyway.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import manifest_state, silver_digests

from pointline import BronzeFileMetadata, Lake, ingest_file
from pointline.bootstrap import bootstrap_dim_symbol
from pointline.testing.tardis import write_tardis_file

PREFIX = "tardis/exchange=binance-futures/type=trades/date=2024-09-29"
A = f"{PREFIX}/symbol=PERPETUALS/a.csv.gz"  # the smaller path
B = f"{PREFIX}/symbol=PERPETUALS/b.csv.gz"


def make_lake(root: Path, *, rows: int = 2000) -> Lake:
    lake = Lake(root)
    source = write_tardis_file(lake.bronze_root / A, "trades", rows=rows, seed=3)
    (lake.bronze_root / B).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, lake.bronze_root / B)
    bootstrap_dim_symbol(lake)
    return lake


def ingest(lake: Lake, relative: str, **options: Any) -> Any:
    meta = BronzeFileMetadata.from_path(lake.bronze_root / relative, bronze_root=lake.bronze_root)
    return ingest_file(meta, lake=lake, **options)


@pytest.mark.parametrize("order", [(A, B), (B, A)], ids=["smaller-first", "larger-first"])
def test_the_smaller_path_is_live_whatever_the_arrival_order(
    tmp_path: Path, order: tuple[str, str]
) -> None:
    lake = make_lake(tmp_path)
    first, second = (ingest(lake, path) for path in order)
    by_path = {r.bronze_path: r for r in (first, second)}
    a_path, b_path = A, B
    assert by_path[a_path].status == "success"
    entries = {e.bronze_path: e for e in lake.manifest().entries().values()}
    assert entries[a_path].status == "success"
    assert entries[a_path].rows_total == 2000
    dup = entries[b_path]
    assert (dup.status, dup.status_reason) == ("superseded", "duplicate_content")
    assert dup.error_message == (
        f"same bytes as {a_path} (file_id {entries[a_path].file_id}), which is live"
    )
    assert (dup.silver_files, dup.quarantine_files) == ((), ())
    if order == (A, B):  # reported as skipped, naming the live file
        assert (second.skipped, second.status, second.status_reason) == (
            True,
            "superseded",
            "duplicate_content",
        )
        assert a_path in (second.error_message or "")
    # only the live file's rows are in Silver
    files = silver_digests(lake)
    assert files
    assert all(f"/{entries[a_path].file_id}-" in name for name in files)


def test_both_arrival_orders_give_byte_identical_lakes(tmp_path: Path) -> None:
    one, two = make_lake(tmp_path / "one"), make_lake(tmp_path / "two")
    for path in (A, B):
        ingest(one, path)
    for path in (B, A):
        ingest(two, path)
    assert silver_digests(one) == silver_digests(two)
    assert manifest_state(one) == manifest_state(two)
    # and a re-run changes nothing
    ingest(two, B)
    ingest(two, A)
    assert manifest_state(one) == manifest_state(two)


def test_a_flag_ingests_a_duplicate_anyway(tmp_path: Path) -> None:
    lake = make_lake(tmp_path)
    ingest(lake, A)
    both = ingest(lake, B, allow_duplicates=True)
    assert (both.status, both.rows_written) == ("success", 2000)
    statuses = sorted(e.status for e in lake.manifest().entries().values())
    assert statuses == ["success", "success"]


def test_empty_files_are_never_duplicates(tmp_path: Path) -> None:
    lake = make_lake(tmp_path)
    for name in ("x.csv.gz", "y.csv.gz"):
        path = lake.bronze_root / f"{PREFIX}/symbol=PERPETUALS/{name}"
        path.write_bytes(b"")
    results = [ingest(lake, f"{PREFIX}/symbol=PERPETUALS/{n}") for n in ("y.csv.gz", "x.csv.gz")]
    assert [(r.status, r.rows_total, r.skipped) for r in results] == [("success", 0, False)] * 2
