"""Crash safety: kill an ingest at every fault point, recover, and check nothing was lost
or duplicated (issue 5). The ingest runs in a subprocess that exits at the point like
SIGKILL (``os._exit``, no cleanup)."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from pointline import BronzeFileMetadata, Lake, ingest_file
from pointline.bootstrap import bootstrap_dim_symbol
from pointline.cli import main
from pointline.ingest import FAULT_POINTS
from pointline.locks import FileLock
from pointline.manifest import file_id_for
from pointline.recovery import repair, verify
from pointline.testing.tardis import write_tardis_file

SCRIPT = """
import os, sys
from pointline import BronzeFileMetadata, Lake, ingest_file
lake = Lake(sys.argv[1])
point, force, first, second = sys.argv[2], sys.argv[3] == "force", sys.argv[4], sys.argv[5]
meta = lambda p: BronzeFileMetadata.from_path(p, bronze_root=lake.bronze_root)
ingest_file(meta(first), lake=lake)
os.environ["POINTLINE_FAULT"] = point
ingest_file(meta(second), lake=lake, force=force)
sys.exit(3)
"""


def bronze(lake: Lake, data_type: str, name: str) -> Path:
    return (
        lake.bronze_root
        / f"tardis/exchange=binance-futures/type={data_type}/date=2024-09-29/symbol=X/{name}"
    )


def make_lake(tmp_path: Path, *, failing: bool) -> tuple[Lake, Path, Path]:
    lake = Lake(tmp_path / "lake")
    first = write_tardis_file(bronze(lake, "trades", "a.csv.gz"), "trades", rows=3000, seed=1)
    second = write_tardis_file(
        bronze(lake, "incremental_book_L2", "b.csv.gz"), "incremental_book_L2", rows=4000
    )
    bootstrap_dim_symbol(lake)
    if failing:  # same rows, but the header lacks a required column: the file fails
        text = "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price\n"
        second.with_suffix("").with_suffix(".csv").write_text(text + "x,y,1,1,true,bid,1\n")
        second.unlink()
        second = second.with_suffix("").with_suffix(".csv")
    return lake, first, second


def meta(lake: Lake, path: Path) -> BronzeFileMetadata:
    return BronzeFileMetadata.from_path(path, bronze_root=lake.bronze_root)


def assert_consistent(lake: Lake) -> None:
    """What a plain reader sees is exactly what the manifest says is live, once."""
    entries = lake.manifest().entries()
    live = {fid: e for fid, e in entries.items() if e.status in {"success", "quarantined"}}
    assert not [e for e in entries.values() if e.status == "pending"]
    seen: dict[int, set[int]] = {fid: set() for fid in live}
    tables = [p for p in lake.silver_root.iterdir() if p.is_dir()]
    for table in tables:
        files = sorted(table.rglob("*.parquet"))  # what a `**/*.parquet` glob reads
        if not files:
            continue
        rows = ds.dataset(files, format="parquet").to_table(columns=["file_id", "file_seq"])
        pairs = list(zip(rows["file_id"].to_pylist(), rows["file_seq"].to_pylist(), strict=True))
        assert len(pairs) == len(set(pairs)), f"duplicate rows in {table.name}"
        for fid, seq in pairs:
            assert fid in live, f"{table.name}: rows of file_id {fid} that is not live"
            assert seq not in seen[fid], f"file_seq {seq} of {fid} in two places"
            seen[fid].add(seq)
    for fid, entry in live.items():
        assert seen[fid] == set(range(1, (entry.rows_total or 0) + 1)), entry.bronze_path
        listed = {*entry.silver_files, *entry.quarantine_files}
        assert all((lake.root / f).is_file() for f in listed)
    assert not lake.staged()
    assert not list((lake.control_dir / "locks").glob("*.lock"))


CASES = [(point, "fresh") for point in FAULT_POINTS if point != "after_failed_commit"]
# A forced re-ingest of a live file commits no pending state (its output stays live).
CASES += [(p, "force") for p in FAULT_POINTS if p not in {"after_failed_commit", "after_pending"}]
CASES += [("after_pending", "failing"), ("after_failed_commit", "failing")]


@pytest.mark.parametrize(("point", "mode"), CASES, ids=[f"{p}-{m}" for p, m in CASES])
def test_a_killed_ingest_recovers_without_loss_or_duplicates(
    tmp_path: Path, point: str, mode: str
) -> None:
    lake, first, second = make_lake(tmp_path, failing=mode == "failing")
    if mode == "force":
        assert ingest_file(meta(lake, second), lake=lake).status == "success"
    args = [str(lake.root), point, "force" if mode == "force" else "", str(first), str(second)]
    env = {k: v for k, v in os.environ.items() if k != "POINTLINE_FAULT"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, *args], env=env, capture_output=True, check=False
    )
    assert done.returncode == 137, done.stderr.decode()[-2000:]
    left = lake.manifest().get(file_id_for(*meta(lake, second).identity))
    if left is not None and left.status == "pending":  # verify says so until repaired
        assert [p for p in verify(lake) if "left pending" in p] == [
            f"{left.bronze_path}: left pending by an ingest that was interrupted (no live "
            "writer holds it; nothing of it is visible): `pointline repair` or a new ingest "
            "finishes it"
        ]
    repair(lake)
    assert_consistent(lake)
    again = ingest_file(meta(lake, second), lake=lake)
    expected = "failed" if mode == "failing" else "success"
    assert again.status == expected
    assert ingest_file(meta(lake, first), lake=lake).skipped
    assert_consistent(lake)
    assert verify(lake) == []


def test_the_next_ingest_recovers_without_repair(tmp_path: Path) -> None:
    lake, first, second = make_lake(tmp_path, failing=False)
    env = {k: v for k, v in os.environ.items() if k != "POINTLINE_FAULT"}
    args = [str(lake.root), "after_commit", "", str(first), str(second)]
    done = subprocess.run([sys.executable, "-c", SCRIPT, *args], env=env, check=False)
    assert done.returncode == 137
    fid = file_id_for(*meta(lake, second).identity)
    entry = lake.manifest().get(fid)
    assert entry is not None
    assert entry.status == "success"  # committed; its files are still staged
    assert lake.staged(fid)
    result = ingest_file(meta(lake, second), lake=lake)
    assert (result.status, result.skipped) == ("success", True)  # and the publish rolled on
    assert_consistent(lake)


def test_a_live_writer_holds_the_file_and_a_dead_ones_lock_is_broken(tmp_path: Path) -> None:
    lake, first, _ = make_lake(tmp_path, failing=False)
    fid = file_id_for(*meta(lake, first).identity)
    locks = lake.control_dir / "locks"
    locks.mkdir(parents=True)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        owner = {"host": socket.gethostname(), "pid": sleeper.pid}
        (locks / f"{fid}.lock").write_text(json.dumps(owner))
        busy = ingest_file(meta(lake, first), lake=lake)
        assert (busy.status, busy.skipped, busy.status_reason) == ("pending", True, "in_progress")
        assert lake.manifest().get(fid) is None
    finally:
        sleeper.kill()
        sleeper.wait()
    # the owner is dead now: its lock is stale and is broken
    result = ingest_file(meta(lake, first), lake=lake)
    assert result.status == "success"
    assert not (locks / f"{fid}.lock").exists()
    lock = FileLock(locks, "x")
    assert lock.acquire()
    assert not FileLock(locks, "x").acquire()  # held by this (live) process
    lock.release()
    assert_consistent(lake)


def test_parquet_files_left_by_a_crash_are_never_half_written(tmp_path: Path) -> None:
    """Published files are complete: staging is written and closed before any rename."""
    lake, first, second = make_lake(tmp_path, failing=False)
    env = {k: v for k, v in os.environ.items() if k != "POINTLINE_FAULT"}
    args = [str(lake.root), "mid_publish", "", str(first), str(second)]
    subprocess.run([sys.executable, "-c", SCRIPT, *args], env=env, check=False)
    for path in lake.silver_root.rglob("*.parquet"):
        pq.ParquetFile(path).metadata  # noqa: B018 - raises if the footer is missing


def test_repair_fails_a_crashed_file_whose_bronze_is_gone_and_removes_its_rows(
    tmp_path: Path,
) -> None:
    lake, first, second = make_lake(tmp_path, failing=False)
    env = {k: v for k, v in os.environ.items() if k != "POINTLINE_FAULT"}
    args = [str(lake.root), "after_sinks", "", str(first), str(second)]
    assert subprocess.run([sys.executable, "-c", SCRIPT, *args], env=env, check=False).returncode
    fid = file_id_for(*meta(lake, second).identity)
    assert not list(lake.silver_root.rglob(f"{fid}-*.parquet")), "nothing under silver/"
    assert lake.staged(fid), "the crash left staged, uncommitted files (what repair undoes)"
    second.unlink()
    repair(lake)
    entry = lake.manifest().get(fid)
    assert entry is not None
    assert (entry.status, entry.status_reason) == ("failed", "bronze_changed")
    assert not list(lake.silver_root.rglob(f"{fid}-*.parquet"))
    assert_consistent(lake)


WORKER = """
import random, sys
from pathlib import Path
from pointline import BronzeFileMetadata, Lake, ingest_file
lake = Lake(sys.argv[1])
paths = sorted(p for p in lake.bronze_root.rglob("*.csv.gz"))
random.Random(int(sys.argv[2])).shuffle(paths)
for path in paths:
    ingest_file(BronzeFileMetadata.from_path(path, bronze_root=lake.bronze_root), lake=lake)
"""


def test_four_processes_ingesting_twelve_overlapping_files(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    kinds = ("trades", "quotes", "incremental_book_L2")
    for n in range(12):
        kind = kinds[n % 3]
        write_tardis_file(bronze(lake, kind, f"f{n}.csv.gz"), kind, rows=2000 + 97 * n, seed=n)
    bootstrap_dim_symbol(lake)
    env = {k: v for k, v in os.environ.items() if k != "POINTLINE_FAULT"}
    workers = [
        subprocess.Popen([sys.executable, "-c", WORKER, str(lake.root), str(seed)], env=env)
        for seed in range(4)
    ]
    assert [w.wait(timeout=300) for w in workers] == [0, 0, 0, 0]
    repair(lake)  # nothing to do: no writer crashed
    manifest = lake.manifest()
    assert manifest.problems == ()
    versions = sorted(int(p.stem) for p in manifest.directory.glob("*.arrow"))
    assert versions == list(range(1, len(versions) + 1)), "a commit was lost or overwritten"
    entries = manifest.entries()
    assert len(entries) == 12
    assert {e.status for e in entries.values()} == {"success"}
    assert_consistent(lake)
    # each file was ingested once: one pending + one success commit per file
    assert len(versions) == 24


def test_verify_passes_on_a_good_lake_and_names_each_kind_of_damage(tmp_path: Path) -> None:
    lake, first, second = make_lake(tmp_path, failing=False)
    for path in (first, second):
        ingest_file(meta(lake, path), lake=lake)
    assert verify(lake) == []
    assert main(["--root", str(lake.root), "verify"], out=io.StringIO()) == 0
    entry = lake.manifest().get(file_id_for(*meta(lake, first).identity))
    assert entry is not None
    target = lake.root / entry.silver_files[0]
    table = pq.read_table(target)
    index = table.schema.get_field_index("price")
    # one unit in the 18th fractional digit (Arrow's decimal add would widen to 39 digits)
    one_unit = Decimal("0.000000000000000001")
    shifted = pa.array([v + one_unit for v in table["price"].to_pylist()], table["price"].type)
    tampered = table.set_column(index, table.schema.field(index), shifted)
    pq.write_table(tampered, target)
    problems = verify(lake)
    assert any("column 'price' differs from Bronze" in p for p in problems), problems
    target.unlink()
    assert any("owned files are missing" in p for p in verify(lake))
    assert main(["--root", str(lake.root), "verify"], out=io.StringIO()) == 2


@pytest.mark.parametrize("damage", [b"PAR1x", b""])
def test_an_unreadable_silver_file_is_a_verify_problem_that_repair_fixes(
    tmp_path: Path, damage: bytes
) -> None:
    """A truncated Silver file (a disk fault, a copy cut short) is reported by verify,
    naming it, not a crash; repair re-derives it; verify is clean again."""
    lake, first, _ = make_lake(tmp_path, failing=False)
    ingest_file(meta(lake, first), lake=lake)
    entry = lake.manifest().get(file_id_for(*meta(lake, first).identity))
    assert entry is not None
    target = lake.root / entry.silver_files[0]
    good = target.read_bytes()
    target.write_bytes(damage)
    [problem] = verify(lake)
    assert f"owned file {entry.silver_files[0]} is not readable Parquet" in problem
    out = io.StringIO()
    assert main(["--root", str(lake.root), "verify"], out=out) == 2
    assert "`pointline repair` re-derives missing or unreadable Silver files" in out.getvalue()
    assert main(["--root", str(lake.root), "repair"], out=io.StringIO()) == 0
    assert verify(lake) == []
    assert target.read_bytes() == good


def test_verify_says_whether_bronze_is_gone_or_changed(tmp_path: Path) -> None:
    lake, first, second = make_lake(tmp_path, failing=False)
    for path in (first, second):
        ingest_file(meta(lake, path), lake=lake)
    first.write_bytes(first.read_bytes() + b"")  # same bytes: nothing to say
    assert verify(lake) == []
    write_tardis_file(first, "trades", rows=3000, seed=2)
    second.unlink()
    problems = sorted(verify(lake))
    assert any(
        p.endswith("the Bronze file has new content: `pointline ingest` it to replace its rows")
        for p in problems
    ), problems
    assert any(
        p.endswith("the Bronze file is gone (its Silver rows stay live)") for p in problems
    ), problems


@pytest.mark.parametrize("change", ["duplicate", "out_of_range", "drop_row"])
def test_verify_names_file_seq_damage(tmp_path: Path, change: str) -> None:
    lake, first, _ = make_lake(tmp_path, failing=False)
    ingest_file(meta(lake, first), lake=lake)
    assert verify(lake) == []
    entry = lake.manifest().get(file_id_for(*meta(lake, first).identity))
    assert entry is not None
    target = lake.root / entry.silver_files[0]
    table = pq.read_table(target)
    seqs = table["file_seq"].to_pylist()
    if change == "drop_row":
        tampered = table.slice(1)
    else:
        seqs[-1] = seqs[0] if change == "duplicate" else 10**9
        index = table.schema.get_field_index("file_seq")
        column = pa.array(seqs, pa.int64())
        tampered = table.set_column(index, table.schema.field(index), column)
    pq.write_table(tampered, target)
    problems = verify(lake)
    assert any("file_seq values are not exactly 1.." in p for p in problems), problems
    if change == "drop_row":
        assert any("rows on disk" in p for p in problems), problems
