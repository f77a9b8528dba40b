"""``pointline ingest --workers N`` (issue 15): the same bytes however many processes."""

from __future__ import annotations

import io
import os
from pathlib import Path

from conftest import demo_lake, manifest_state, silver_digests

from pointline import Lake
from pointline.cli import main
from pointline.locks import FileLock, pid_alive
from pointline.parallel import default_workers, ingest_many


def test_one_worker_and_two_give_the_same_silver_and_manifest(tmp_path: Path) -> None:
    lakes = []
    for workers in ("1", "2"):
        lake = demo_lake(tmp_path / f"w{workers}")
        out = io.StringIO()
        argv = ["--root", str(lake.root), "ingest", str(lake.bronze_root), "--workers", workers]
        assert main(argv, out=out) == 0
        assert "12 files: 12 success" in out.getvalue()
        lakes.append(lake)
    assert silver_digests(lakes[0]) == silver_digests(lakes[1])
    assert len(silver_digests(lakes[0])) > 12
    assert manifest_state(lakes[0]) == manifest_state(lakes[1])
    assert main(["--root", str(lakes[1].root), "verify"], out=io.StringIO()) == 0


def test_the_default_is_at_least_one_and_at_most_the_cores() -> None:
    import os

    assert 1 <= default_workers() <= (os.cpu_count() or 1)


def test_ingest_many_in_python_matches_a_serial_run(tmp_path: Path) -> None:
    from pointline import BronzeFileMetadata
    from pointline.ingest import ingest_file

    lakes = []
    for name, workers in (("serial", None), ("pool", 2)):
        lake = demo_lake(tmp_path / name)
        metas = [
            BronzeFileMetadata.from_path(p, bronze_root=lake.bronze_root)
            for p in sorted(lake.bronze_root.rglob("*.csv.gz"))
        ]
        if workers is None:
            results = [ingest_file(m, lake=lake) for m in metas]
        else:
            results = ingest_many(reversed(metas), lake=lake, workers=workers)[::-1]
        assert [r.status for r in results] == ["success"] * 12
        lakes.append((lake, [r.bronze_path for r in results]))
    assert lakes[0][1] == lakes[1][1]  # results come back in the order given
    assert silver_digests(lakes[0][0]) == silver_digests(lakes[1][0])
    assert manifest_state(lakes[0][0]) == manifest_state(lakes[1][0])


def test_a_dead_pool_worker_is_reported_and_the_next_run_finishes(tmp_path: Path) -> None:
    """Every worker dies mid-file: the pool breaks, runs again 3 times, then each file not
    finished is reported failed with why (exit 2), nothing half-written is visible, and a
    plain re-run gives the bytes of a serial run."""
    import os
    import subprocess
    import sys

    serial = demo_lake(tmp_path / "serial")
    assert main(
        ["--root", str(serial.root), "ingest", str(serial.bronze_root)], out=io.StringIO()
    ) in (0,)
    lake = demo_lake(tmp_path / "pool")
    argv = [sys.executable, "-m", "pointline", "--root", str(lake.root), "ingest"]
    done = subprocess.run(
        [*argv, str(lake.bronze_root), "--workers", "2"],
        capture_output=True,
        text=True,
        env={**os.environ, "POINTLINE_FAULT": "mid_stream"},
        timeout=600,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "12 files: 12 failed" in done.stdout
    died = "the worker process ingesting it died, in each of 4 tries (BrokenProcessPool"
    assert done.stdout.count(died) == 12
    assert not list(lake.silver_root.rglob("*.parquet"))  # nothing of a dead attempt shows
    again = subprocess.run(
        [*argv, str(lake.bronze_root)], capture_output=True, text=True, check=False
    )
    assert again.returncode == 0, again.stderr
    assert silver_digests(lake) == silver_digests(serial)
    assert manifest_state(lake) == manifest_state(serial)
    assert main(["--root", str(lake.root), "verify"], out=io.StringIO()) == 0


def test_ingest_many_reports_progress_from_the_workers(tmp_path: Path) -> None:
    from pointline import BronzeFileMetadata

    lake = demo_lake(tmp_path / "pool")
    metas = [
        BronzeFileMetadata.from_path(p, bronze_root=lake.bronze_root)
        for p in sorted(lake.bronze_root.rglob("*.csv.gz"))
    ]
    heard: list[tuple[int, int, int]] = []
    results = ingest_many(metas, lake=lake, workers=2, progress=lambda *r: heard.append(r))
    assert {r.status for r in results} == {"success"}
    # each worker reports a file's first batch at once (then at most every 0.25 s)
    assert {i for i, _, _ in heard} == set(range(len(metas)))
    for i, rows, done in heard:
        assert 0 < rows <= results[i].rows_total
        assert 0 < done <= metas[i].file_size_bytes


def test_a_dead_worker_is_retried_in_a_new_pool(tmp_path: Path) -> None:
    """One worker killed mid-file breaks the pool; the files not finished run again in a
    new one: every file lands, the bytes of a serial run."""
    import os
    import subprocess
    import sys

    serial = demo_lake(tmp_path / "serial")
    assert (
        main(["--root", str(serial.root), "ingest", str(serial.bronze_root)], out=io.StringIO())
        == 0
    )
    lake = demo_lake(tmp_path / "pool")
    marker = tmp_path / "killed-once"
    done = subprocess.run(
        [sys.executable, "-m", "pointline", "--root", str(lake.root), "ingest",
         str(lake.bronze_root), "--workers", "2"],
        capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "POINTLINE_FAULT": "mid_stream", "POINTLINE_FAULT_ONCE": str(marker)},
    )  # fmt: skip
    assert marker.exists()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "12 files: 12 success" in done.stdout
    assert silver_digests(lake) == silver_digests(serial)
    assert manifest_state(lake) == manifest_state(serial)


def _writers(lake: Lake) -> set[int]:
    """The pids of the live processes holding a file's writer lock in ``lake``."""
    held = set()
    for path in lake.locks_dir.glob("*.lock") if lake.locks_dir.is_dir() else []:
        lock = FileLock(lake.locks_dir, path.stem)
        owner = lock.owner()
        if owner and lock.held_by_live_writer():
            held.add(int(str(owner["pid"])))
    return held


def test_workers_end_soon_after_their_driver_is_killed(tmp_path: Path) -> None:
    """SIGKILL of ``pointline ingest --workers 2`` leaves no worker ingesting on its own:
    each notices its parent is gone and exits; the next run finishes the files. The
    workers are found by the writer locks they hold."""
    import signal
    import subprocess
    import sys
    import time

    from pointline.testing.tardis import write_tardis_file

    lake = demo_lake(tmp_path / "lake")
    folder = lake.bronze_root / "tardis/exchange=binance-futures/type=incremental_book_L2"
    for seed in range(4):
        path = folder / f"date=2024-09-29/symbol=PERPETUALS/big-{seed}.csv.gz"
        write_tardis_file(path, "incremental_book_L2", rows=400_000, seed=seed)
    driver = subprocess.Popen(
        [sys.executable, "-m", "pointline", "--root", str(lake.root), "ingest", str(folder),
         "--workers", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    workers: set[int] = set()
    while len(workers) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
        workers |= _writers(lake)
    assert len(workers) >= 2, workers  # two worker processes are writing
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(map(pid_alive, workers)):
        time.sleep(0.2)
    alive = {pid for pid in workers if pid_alive(pid)}
    for pid in alive:  # do not leave them behind if the test fails
        os.kill(pid, signal.SIGKILL)
    assert alive == set()
    again = io.StringIO()
    assert main(["--root", str(lake.root), "ingest", str(folder)], out=again) == 0
    checked = io.StringIO()
    assert main(["--root", str(lake.root), "verify"], out=checked) == 0, (
        again.getvalue() + checked.getvalue()
    )
