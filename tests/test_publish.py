"""A re-ingest or a crash never hides or loses good data, for any reader (issue 11 part 3).

Staged output lives under ``_pointline/staging/``; nothing but committed files sits under
``silver/``; a forced re-ingest keeps the previous output live until its new end state
commits. Every case is read back the four ways users read a lake: ``pointline.read``,
``pyarrow.dataset``, DuckDB and Polars globbing ``silver/<table>/**/*.parquet``.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from pointline import BronzeFileMetadata, Lake, ingest_file, read
from pointline.bootstrap import bootstrap_dim_symbol
from pointline.chain import Map, RowFlags
from pointline.ingest import finish_publishes
from pointline.recovery import repair, verify
from pointline.testing.tardis import write_tardis_file

EXCHANGE = "binance-futures"


def bronze(lake: Lake, name: str) -> Path:
    return (
        lake.bronze_root / f"tardis/exchange={EXCHANGE}/type=trades/date=2024-09-29/symbol=X/{name}"
    )


def make_lake(tmp_path: Path, rows: int = 3000) -> tuple[Lake, Path]:
    lake = Lake(tmp_path / "lake")
    path = write_tardis_file(bronze(lake, "t.csv.gz"), "trades", rows=rows, seed=5)
    bootstrap_dim_symbol(lake)
    return lake, path


def meta(lake: Lake, path: Path) -> BronzeFileMetadata:
    return BronzeFileMetadata.from_path(path, bronze_root=lake.bronze_root)


def silver_tree(lake: Lake) -> dict[str, str]:
    return {
        p.relative_to(lake.root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(lake.silver_root.rglob("*"))
        if p.is_file()
    }


def every_reader(lake: Lake) -> dict[str, int]:
    """Rows of ``trades`` as each reader sees them (the globs include every file)."""
    pattern = f"{lake.table_dir('trades')}/**/*.parquet"
    [one] = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{pattern}', hive_partitioning=true)"
    ).fetchall()
    polars = pl.scan_parquet(pattern, hive_partitioning=True).select(pl.len()).collect().item()
    arrow = ds.dataset(lake.table_dir("trades"), format="parquet", partitioning="hive")
    return {
        "read": read(lake, "trades", exchange=EXCHANGE).read_all().num_rows,
        "pyarrow": arrow.count_rows(),
        "duckdb": int(one[0]),
        "polars": int(polars),
    }


def assert_nothing_unpublished_under_silver(lake: Lake) -> None:
    names = [p.name for p in lake.silver_root.rglob("*")]
    assert not [n for n in names if n.startswith("_") or n.endswith(".tmp")], names


def _boom(batch: pa.RecordBatch, flags: RowFlags) -> dict[str, pa.Array]:
    msg = "a custom step raised"
    raise RuntimeError(msg)


def test_a_failed_forced_reingest_keeps_the_previous_output_and_status(tmp_path: Path) -> None:
    """Observed: a force=True re-ingest whose extra step raised deleted the good output."""
    lake, path = make_lake(tmp_path)
    first = ingest_file(meta(lake, path), lake=lake)
    assert (first.status, first.rows_written) == ("success", 3000)
    before = silver_tree(lake)
    boom = Map(name="boom", requires={"qty": pa.decimal128(38, 18)}, fn=_boom)
    failed = ingest_file(meta(lake, path), lake=lake, force=True, extra_steps=[boom])
    assert (failed.status, failed.status_reason) == ("failed", "ingest_error")
    assert "a custom step raised" in (failed.error_message or "")
    assert silver_tree(lake) == before
    entry = lake.manifest().get(first.file_id)
    assert entry is not None
    assert (entry.status, entry.rows_written, entry.attempt_reason) == (
        "success",
        3000,
        "ingest_error",
    )
    assert "a custom step raised" in (entry.attempt_error or "")
    assert every_reader(lake) == dict.fromkeys(("read", "pyarrow", "duckdb", "polars"), 3000)
    assert verify(lake) == []
    assert not lake.staged()
    # a later good re-ingest clears the attempt
    again = ingest_file(meta(lake, path), lake=lake, force=True)
    assert again.status == "success"
    entry = lake.manifest().get(first.file_id)
    assert entry is not None
    assert (entry.attempt_reason, entry.attempt_error) == (None, None)
    assert silver_tree(lake) == before  # same bytes


KILL = """
import os, sys
from pointline import BronzeFileMetadata, Lake, ingest_file
lake = Lake(sys.argv[1])
os.environ["POINTLINE_FAULT"] = sys.argv[3]
ingest_file(BronzeFileMetadata.from_path(sys.argv[2], bronze_root=lake.bronze_root), lake=lake,
            force=True)
sys.exit(3)
"""


@pytest.mark.parametrize("point", ["mid_stream", "after_sinks", "after_commit", "mid_publish"])
def test_a_killed_forced_reingest_hides_nothing_from_any_reader(tmp_path: Path, point: str) -> None:
    lake, path = make_lake(tmp_path)
    assert ingest_file(meta(lake, path), lake=lake).status == "success"
    env = {k: v for k, v in os.environ.items() if k != "POINTLINE_FAULT"}
    done = subprocess.run(
        [sys.executable, "-c", KILL, str(lake.root), str(path), point],
        env=env,
        capture_output=True,
        check=False,
    )
    assert done.returncode == 137, done.stderr.decode()[-2000:]
    # Before any recovery: every reader sees the file's 3000 rows once.
    assert_nothing_unpublished_under_silver(lake)
    assert every_reader(lake) == dict.fromkeys(("read", "pyarrow", "duckdb", "polars"), 3000)
    # The next command rolls forward or cleans up; verify passes; staging is gone.
    finish_publishes(lake)
    assert not lake.staged()
    assert every_reader(lake) == dict.fromkeys(("read", "pyarrow", "duckdb", "polars"), 3000)
    assert verify(lake) == []


INTERRUPT = """
import sys
from pointline import BronzeFileMetadata, Lake, ingest_file
lake = Lake(sys.argv[1])
meta = BronzeFileMetadata.from_path(sys.argv[2], bronze_root=lake.bronze_root)
print("ready", flush=True)
ingest_file(meta, lake=lake, force=True)
"""


def test_ctrl_c_during_a_forced_reingest_hides_nothing(tmp_path: Path) -> None:
    """Observed: after Ctrl-C, `read` returned no rows and `verify` said 0 live files."""
    lake, path = make_lake(tmp_path, rows=400_000)
    assert ingest_file(meta(lake, path), lake=lake).status == "success"
    before = silver_tree(lake)
    child = subprocess.Popen(
        [sys.executable, "-c", INTERRUPT, str(lake.root), str(path)], stdout=subprocess.PIPE
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == b"ready"
    deadline = time.monotonic() + 60
    while not lake.staged() and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.01)
    child.send_signal(signal.SIGINT)
    child.wait(timeout=60)
    assert silver_tree(lake) == before or child.returncode == 0  # interrupted, or done first
    assert_nothing_unpublished_under_silver(lake)
    assert every_reader(lake) == dict.fromkeys(("read", "pyarrow", "duckdb", "polars"), 400_000)
    assert verify(lake) == []
    repair(lake)
    assert not lake.staged()


def test_a_crashed_first_ingest_leaves_nothing_under_silver(tmp_path: Path) -> None:
    """DuckDB and Polars globs failed on half-written files under `_staging/` after a crash."""
    lake, path = make_lake(tmp_path)
    other = write_tardis_file(bronze(lake, "u.csv.gz"), "trades", rows=500, seed=9)
    kept = ingest_file(meta(lake, other), lake=lake)
    assert kept.status == "success"
    env = {k: v for k, v in os.environ.items() if k != "POINTLINE_FAULT"}
    script = KILL.replace("force=True", "force=False")
    done = subprocess.run(
        [sys.executable, "-c", script, str(lake.root), str(path), "mid_stream"],
        env=env,
        check=False,
    )
    assert done.returncode == 137
    assert lake.staged(), "the crash left a staging folder (outside silver/)"
    assert_nothing_unpublished_under_silver(lake)
    readers = ("read", "pyarrow", "duckdb", "polars")
    assert every_reader(lake) == dict.fromkeys(readers, kept.rows_written)
    results = repair(lake)
    assert [r.status for r in results] == ["success"]
    assert not lake.staged()
    total = kept.rows_written + results[0].rows_written
    assert every_reader(lake) == dict.fromkeys(readers, total)
    assert verify(lake) == []


def test_no_empty_staging_folders_are_left_behind(tmp_path: Path) -> None:
    lake, path = make_lake(tmp_path)
    ingest_file(meta(lake, path), lake=lake)
    ingest_file(meta(lake, path), lake=lake, force=True)
    assert not lake.staged()
    assert not (lake.control_dir / "staging").exists() or not any(lake.staging_root.iterdir())
    assert_nothing_unpublished_under_silver(lake)


@pytest.mark.parametrize("point", ["after_commit", "mid_publish"])
def test_a_first_ingest_killed_after_its_commit_is_finished_by_the_next_command(
    tmp_path: Path, point: str
) -> None:
    """The commit is the truth: files still staged when the process died are moved into
    silver/ by the next command (here `read`), never lost and never half visible."""
    lake, path = make_lake(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "POINTLINE_FAULT"}
    script = KILL.replace("force=True", "force=False")
    done = subprocess.run(
        [sys.executable, "-c", script, str(lake.root), str(path), point], env=env, check=False
    )
    assert done.returncode == 137
    assert_nothing_unpublished_under_silver(lake)
    assert lake.staged()
    rows = read(lake, "trades", exchange=EXCHANGE).read_all().num_rows  # rolls forward
    assert not lake.staged()
    assert every_reader(lake) == dict.fromkeys(("read", "pyarrow", "duckdb", "polars"), rows)
    entry = next(iter(lake.manifest().entries().values()))
    assert (entry.status, entry.rows_written) == ("success", rows)
    assert verify(lake) == []


def test_the_cli_says_when_it_finishes_what_a_crash_left(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pointline.cli import main

    lake, path = make_lake(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "POINTLINE_FAULT"}
    script = KILL.replace("force=True", "force=False")
    subprocess.run(
        [sys.executable, "-c", script, str(lake.root), str(path), "after_commit"],
        env=env,
        check=False,
    )
    assert main(["--root", str(lake.root), "verify"]) == 0
    err = capsys.readouterr().err
    assert "finished or removed 1 unpublished output(s) a crash left" in err
    assert not lake.staged()
