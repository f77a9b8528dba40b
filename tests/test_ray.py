"""``pointline ingest --ray`` (issue 15) on a real local Ray cluster of 2 CPUs: the same
Silver bytes and manifest state as a serial run, a worker killed mid-file retried with
nothing lost or duplicated, ``verify`` clean.

Each test runs the command line in a subprocess, which starts its own local cluster
(``ray.init(num_cpus=2)``) and stops it, as a user's run would; the kill is the crash
point of ``pointline.faults`` with ``POINTLINE_FAULT_ONCE`` so only the first attempt
dies.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import demo_lake, manifest_state, silver_digests

from pointline import Lake
from pointline.cli import main

ray = pytest.importorskip("ray", reason="Ray is a dev dependency (pip install -e '.[dev]')")


def pointline(
    root: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pointline", "--root", str(root), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def serial(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    lake = demo_lake(tmp_path_factory.mktemp("serial"))
    out = io.StringIO()
    argv = ["--root", str(lake.root), "ingest", str(lake.bronze_root), "--workers", "1"]
    assert main(argv, out=out) == 0
    assert "12 files: 12 success" in out.getvalue()
    return lake


def test_ray_gives_the_bytes_of_a_serial_run(tmp_path: Path, serial: Lake) -> None:
    lake = demo_lake(tmp_path / "ray")
    done = pointline(lake.root, "ingest", str(lake.bronze_root), "--ray", "--workers", "2")
    assert done.returncode == 0, done.stderr
    assert "12 files: 12 success" in done.stdout
    assert silver_digests(lake) == silver_digests(serial)
    assert manifest_state(lake) == manifest_state(serial)
    assert main(["--root", str(lake.root), "verify"], out=io.StringIO()) == 0
    again = pointline(lake.root, "ingest", str(lake.bronze_root), "--ray", "--workers", "2")
    assert "12 files: 12 skipped" in again.stdout  # idempotent: nothing ingested twice


@pytest.mark.parametrize(
    ("point", "summary"),
    [
        # pending committed, Silver staged, nothing visible: the retry ingests it
        ("mid_stream", "12 files: 12 success"),
        # end state committed, files not yet published: the retry rolls the publish
        # forward and finds the file done
        ("after_commit", "12 files: 1 skipped, 11 success"),
    ],
)
def test_a_worker_killed_mid_file_is_retried(
    tmp_path: Path, serial: Lake, point: str, summary: str
) -> None:
    lake = demo_lake(tmp_path / "ray")
    marker = tmp_path / "killed-once"
    done = pointline(
        lake.root,
        "ingest",
        str(lake.bronze_root),
        "--ray",
        "--workers",
        "2",
        "--json",
        env={"POINTLINE_FAULT": point, "POINTLINE_FAULT_ONCE": str(marker)},
    )
    assert marker.exists()  # one worker did die
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]  # Ray's notices: stderr
    assert len(rows) == 12
    assert "retried" in done.stderr or "retries" in done.stderr
    statuses = sorted("skipped" if r["skipped"] else r["status"] for r in rows)
    assert summary == "12 files: " + ", ".join(
        f"{statuses.count(s)} {s}" for s in sorted(set(statuses))
    )
    assert silver_digests(lake) == silver_digests(serial)
    assert manifest_state(lake) == manifest_state(serial)
    assert main(["--root", str(lake.root), "verify"], out=io.StringIO()) == 0


def test_a_file_whose_worker_always_dies_is_reported_and_repaired(
    tmp_path: Path, serial: Lake
) -> None:
    """Past Ray's retries the file is reported failed with what the manifest records
    (pending), exit 2, stdout only JSON (Ray's notices, also those ``ray.shutdown``
    flushes, go to stderr); ``verify`` names it until ``pointline repair`` finishes it."""
    lake = demo_lake(tmp_path / "ray")
    trades = sorted(lake.bronze_root.rglob("*bitmex_trades*.csv.gz"))
    done = pointline(
        lake.root, "ingest", *map(str, trades), "--ray", "--json",
        env={"POINTLINE_FAULT": "mid_stream"},
    )  # fmt: skip
    assert done.returncode == 2, done.stderr  # EXIT_BAD_FILES
    [row] = [json.loads(line) for line in done.stdout.splitlines()]
    assert (row["status"], row["status_reason"]) == ("failed", "ingest_error")
    assert "the worker process ingesting it died, in each of 4 tries" in row["error_message"]
    assert "recorded pending" in row["error_message"]
    assert "(raylet)" in done.stderr
    checked = io.StringIO()
    assert main(["--root", str(lake.root), "verify"], out=checked) == 2
    assert "left pending by an ingest that was interrupted" in checked.getvalue()
    out = io.StringIO()
    assert main(["--root", str(lake.root), "repair"], out=out) == 0, out.getvalue()
    rest = pointline(lake.root, "ingest", str(lake.bronze_root), "--ray", "--workers", "2")
    assert rest.returncode == 0, rest.stderr
    assert silver_digests(lake) == silver_digests(serial)
    assert main(["--root", str(lake.root), "verify"], out=io.StringIO()) == 0


def test_ray_through_python_matches_a_serial_run(tmp_path: Path, serial: Lake) -> None:
    from pointline import BronzeFileMetadata
    from pointline.parallel import ingest_many

    lake = demo_lake(tmp_path / "ray")
    metas = [
        BronzeFileMetadata.from_path(p, bronze_root=lake.bronze_root)
        for p in sorted(lake.bronze_root.rglob("*.csv.gz"), reverse=True)
    ]
    ray.init(address="local", num_cpus=2, include_dashboard=False, object_store_memory=100 << 20)
    try:
        heard: list[tuple[int, int, int]] = []
        results = ingest_many(metas, lake=lake, ray=True, progress=lambda *r: heard.append(r))
        assert ray.is_initialized()  # a cluster the caller started is left running
    finally:
        ray.shutdown()
    assert [r.bronze_path for r in results] == [m.bronze_path for m in metas]
    assert {i for i, _, _ in heard} == set(range(len(metas)))  # progress from every task
    assert all(0 < done <= metas[i].file_size_bytes for i, _, done in heard)
    assert {r.status for r in results} == {"success"}
    assert silver_digests(lake) == silver_digests(serial)
    assert manifest_state(lake) == manifest_state(serial)


def test_an_unreachable_cluster_is_a_clear_error(tmp_path: Path) -> None:
    lake = demo_lake(tmp_path / "ray")
    for address, message in (
        ("127.0.0.1:1", "cannot reach the Ray cluster at 127.0.0.1:1: [Errno 111]"),
        ("head-node", "'head-node' is not a Ray cluster address: give 'auto', host:port"),
    ):
        done = pointline(lake.root, "ingest", str(lake.bronze_root), "--ray-address", address)
        assert done.returncode == 1, done.stdout + done.stderr  # EXIT_USAGE, at once
        assert message in done.stderr
    assert not list((lake.root / "silver").rglob("*.parquet"))


HOLDER = """
import sys, time, ray
ray.init(address="local", num_cpus=2, include_dashboard=False, object_store_memory=100 << 20)
print(ray.get_runtime_context().gcs_address, flush=True)
sys.stdin.read()  # until the test closes stdin
ray.shutdown()
"""


def test_joining_a_standing_cluster_by_address(tmp_path: Path, serial: Lake) -> None:
    """A cluster another process keeps running: ``--ray-address host:port`` joins it
    (the bytes of a serial run) and leaves it running; ``--ray`` alone meanwhile starts
    its own local cluster instead of joining that one."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        address = holder.stdout.readline().strip()
        assert address.count(":") == 1, address
        joined = demo_lake(tmp_path / "joined")
        done = pointline(joined.root, "ingest", str(joined.bronze_root), "--ray-address", address)
        assert done.returncode == 0, done.stderr
        assert silver_digests(joined) == silver_digests(serial)
        own = demo_lake(tmp_path / "own")
        done = pointline(own.root, "ingest", str(own.bronze_root), "--ray", "--workers", "2")
        assert done.returncode == 0, done.stderr
        assert silver_digests(own) == silver_digests(serial)
        assert holder.poll() is None  # the standing cluster's driver is still up
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=120)
