"""Writer locks with leases (pointline/locks.py): one holder per file across processes and
hosts; a dead holder on this host is taken over at once, one on another host after its
lease. Hosts are simulated with POINTLINE_HOST_ID; leases are shortened with
POINTLINE_LOCK_LEASE_S (sleeps here wait for a lease to pass, they time nothing)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pointline.locks import HOST_VARIABLE, LEASE_VARIABLE, FileLock, host_id

HOLD = """
import sys, time
from pathlib import Path
from pointline.locks import FileLock
lock = FileLock(Path(sys.argv[1]), "x")
print("held" if lock.acquire() else "refused", flush=True)
time.sleep(float(sys.argv[2]))
lock.release()
"""

TAKE_TURNS = """
import sys, time
from pathlib import Path
from pointline.locks import FileLock
directory, log, rounds = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
done = 0
while done < rounds:
    lock = FileLock(directory, "shared")
    if lock.acquire():
        with open(log, "a") as f:
            f.write(f"in {sys.argv[4]}\\n")
        time.sleep(0.005)
        with open(log, "a") as f:
            f.write(f"out {sys.argv[4]}\\n")
        lock.release()
        done += 1
"""


def env_of(host: str, lease: float | None = None) -> dict[str, str]:
    env = {**os.environ, HOST_VARIABLE: host}
    if lease is not None:
        env[LEASE_VARIABLE] = str(lease)
    return env


def holder(
    directory: Path, host: str, seconds: float, lease: float | None = None
) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(directory), str(seconds)],
        env=env_of(host, lease),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "held"
    return process


def write_lock(directory: Path, **owner: object) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "x.lock").write_text(json.dumps(owner))


def test_a_live_holder_on_another_host_is_respected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    process = holder(tmp_path, "host-a", 30)
    try:
        monkeypatch.setenv(HOST_VARIABLE, "host-b")
        assert not FileLock(tmp_path, "x").acquire()
        assert FileLock(tmp_path, "x").owner()["host"] == "host-a"  # type: ignore[index]
    finally:
        process.kill()
        process.wait()


def test_another_hosts_lock_is_taken_over_only_after_its_lease(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now_us = time.time_ns() // 1000
    # A pid that cannot be checked from here: only the lease says whether it is gone.
    write_lock(tmp_path, host="elsewhere", pid=1, token="t", lease_until_us=now_us + 60_000_000)
    assert not FileLock(tmp_path, "x").acquire()
    write_lock(tmp_path, host="elsewhere", pid=1, token="t", lease_until_us=now_us - 1)
    lock = FileLock(tmp_path, "x")
    assert lock.acquire()
    owner = lock.owner()
    assert owner is not None
    assert (owner["host"], owner["pid"]) == (host_id(), os.getpid())
    lock.release()
    assert lock.owner() is None


def test_a_dead_pid_on_this_host_is_taken_over_at_once(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    far_us = time.time_ns() // 1000 + 3_600_000_000
    write_lock(tmp_path, host=host_id(), pid=int(dead.stdout), token="t", lease_until_us=far_us)
    lock = FileLock(tmp_path, "x")
    assert lock.acquire()
    lock.release()


def test_a_zombie_holder_on_this_host_is_dead(tmp_path: Path) -> None:
    """A holder that has exited but is not reaped yet (a zombie: an orphaned pool
    worker before init reaps it) holds nothing; a live one does."""
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 30
    stat = Path(f"/proc/{zombie.pid}/stat")
    while stat.read_text().rsplit(")", 1)[1].split()[0] != "Z":  # exited, not waited for
        assert time.monotonic() < deadline
        time.sleep(0.05)
    far_us = time.time_ns() // 1000 + 3_600_000_000
    write_lock(tmp_path, host=host_id(), pid=zombie.pid, token="t", lease_until_us=far_us)
    lock = FileLock(tmp_path, "x")
    assert not lock.held_by_live_writer()
    assert lock.acquire()
    assert lock.held_by_live_writer()  # this process, alive
    lock.release()
    zombie.wait()


def test_an_unreadable_lock_waits_for_one_lease_by_its_age(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "x.lock").write_text("{torn")
    assert not FileLock(tmp_path, "x").acquire()
    old = time.time() - 3600
    os.utime(tmp_path / "x.lock", (old, old))
    assert FileLock(tmp_path, "x").acquire()


def test_the_heartbeat_keeps_a_short_lease_alive_and_a_killed_holder_is_taken_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lease = 0.6
    process = holder(tmp_path, "host-a", 60, lease=lease)
    monkeypatch.setenv(HOST_VARIABLE, "host-b")
    monkeypatch.setenv(LEASE_VARIABLE, str(lease))
    try:
        first = FileLock(tmp_path, "x").owner()
        time.sleep(4 * lease)  # several leases: only renewals keep it held
        again = FileLock(tmp_path, "x").owner()
        assert first is not None
        assert again is not None
        assert again["token"] == first["token"]
        assert again["lease_until_us"] > first["lease_until_us"]  # type: ignore[operator]
        assert not FileLock(tmp_path, "x").acquire()
        process.send_signal(signal.SIGKILL)  # the holder's machine dies: no release
        process.wait()
        lock = FileLock(tmp_path, "x")
        deadline = time.monotonic() + 60
        while not lock.acquire():
            assert time.monotonic() < deadline, "the expired lease was never taken over"
            time.sleep(lease / 4)
        owner = lock.owner()
        assert owner is not None
        assert owner["host"] == "host-b"
        lock.release()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_processes_on_two_hosts_never_hold_one_lock_together(tmp_path: Path) -> None:
    log = tmp_path / "log"
    locks = tmp_path / "locks"
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", TAKE_TURNS, str(locks), str(log), "25", f"{host}-{i}"],
            env=env_of(host),
        )
        for i, host in enumerate(["host-a", "host-b", "host-a", "host-b"])
    ]
    for worker in workers:
        assert worker.wait(timeout=300) == 0
    lines = log.read_text().splitlines()
    assert len(lines) == 4 * 25 * 2
    for enter, leave in zip(lines[::2], lines[1::2], strict=True):
        assert enter.startswith("in ")
        assert leave == "out " + enter[3:]  # nobody entered between
    assert not list(locks.glob("*.lock"))


def test_release_never_removes_a_lock_another_holder_took(tmp_path: Path) -> None:
    lock = FileLock(tmp_path, "x")
    assert lock.acquire()
    write_lock(tmp_path, host="elsewhere", pid=1, token="theirs", lease_until_us=0)
    assert not lock.renew()  # the file no longer holds this acquisition
    lock.release()
    owner = FileLock(tmp_path, "x").owner()
    assert owner is not None
    assert owner["token"] == "theirs"
