"""Per-file writer locks with leases: one ingest of a given Bronze file at a time, across
processes and across machines that share the lake.

A lock is a file published put-if-absent (complete, never half-written) holding its
owner: ``host`` (:func:`host_id`), ``pid``, a ``token`` unique to this acquisition and
``lease_until_us`` (wall clock, µs since the epoch). While held, one heartbeat thread per
process renews the lease of every lock the process holds every ``lease / 3`` by
replacing the file atomically (``os.replace`` of a complete temporary file).

Whether a holder is gone:

- on this host: when its pid is dead (a live pid holds the lock whatever its lease says:
  a paused process is not a crashed one);
- on another host: only after its lease has expired. Hosts compare their own clocks to
  the recorded lease, so the lease (:data:`LEASE_S`, default 120 s, ``POINTLINE_LOCK_LEASE_S``)
  must be much longer than the clock skew between nodes (NTP keeps it far below a
  second) and longer than any stall of the heartbeat thread;
- an unreadable lock file: when its modification time is older than a lease.

A stale lock is broken by renaming it to a unique name (only one breaker wins that
rename; a lock renewed in between is put back) and taking a fresh one. ``POINTLINE_HOST_ID``
overrides the host name (tests simulate several machines with it; a cluster whose nodes
share a host name needs it).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Final

from pointline.storage import publish_exclusive

__all__ = [
    "HOST_VARIABLE",
    "LEASE_S",
    "LEASE_VARIABLE",
    "FileLock",
    "host_id",
    "lease_s",
    "pid_alive",
]

HOST_VARIABLE: Final = "POINTLINE_HOST_ID"
"""Overrides :func:`host_id` (the machine's host name)."""
LEASE_VARIABLE: Final = "POINTLINE_LOCK_LEASE_S"
"""Overrides :data:`LEASE_S` (seconds)."""
LEASE_S: Final = 120.0
"""How long a lock stays held without a heartbeat, seconds."""


def host_id() -> str:
    """This machine's id in lock files: ``POINTLINE_HOST_ID`` or the host name."""
    return os.environ.get(HOST_VARIABLE) or socket.gethostname()


def lease_s() -> float:
    """The lease in seconds: ``POINTLINE_LOCK_LEASE_S`` or :data:`LEASE_S`."""
    text = os.environ.get(LEASE_VARIABLE)
    return float(text) if text else LEASE_S


def _now_us() -> int:
    return time.time_ns() // 1000


def _read(path: Path) -> dict[str, object] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` of this host is running: it exists and, where ``/proc``
    tells, is not a zombie (a process that has exited but whose parent has not reaped
    it yet, as a pool worker orphaned by its killed driver can be for a while)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (not Linux), or it went meanwhile: the signal said alive
    return stat.rsplit(")", 1)[-1].split()[:1] != ["Z"]


class _Heartbeat:
    """One daemon thread per process that renews the leases of the locks it holds."""

    def __init__(self) -> None:
        self._held: set[FileLock] = set()
        self._guard = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    def add(self, lock: FileLock) -> None:
        with self._guard:
            if self._pid != os.getpid():  # a forked child: the parent's thread is not here
                self._held, self._thread, self._pid = set(), None, os.getpid()
            self._held.add(lock)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="pointline-lock-heartbeat", daemon=True
                )
                self._thread.start()

    def discard(self, lock: FileLock) -> None:
        with self._guard:
            self._held.discard(lock)

    def _run(self) -> None:
        while True:
            self._wake.wait(lease_s() / 3)
            with self._guard:
                held = list(self._held)
            for lock in held:
                with contextlib.suppress(OSError):
                    lock.renew()


_HEARTBEAT: Final = _Heartbeat()


class FileLock:
    """An exclusive lock named ``name`` in ``directory``.

    Use it as a context manager, which tries once and says whether it got the lock::

        with lake.file_lock(file_id) as held:
            if not held:
                ...  # a live process (here or on another host) holds it: skip the file

    or with ``acquire``/``release``.
    """

    __slots__ = ("__weakref__", "_held", "_path", "_token")

    def __init__(self, directory: Path, name: str) -> None:
        self._path = directory / f"{name}.lock"
        self._held = False
        self._token = ""

    @property
    def path(self) -> Path:
        return self._path

    def owner(self) -> dict[str, object] | None:
        """The recorded owner, or None if unlocked ({} if unreadable)."""
        return _read(self._path)

    def held_by_live_writer(self) -> bool:
        """Whether someone holds the lock now: a live process on this host, or an
        unexpired lease on another (read only; the lock is not taken)."""
        return self.owner() is not None and not self._stale()

    def _payload(self) -> bytes:
        owner = {
            "host": host_id(),
            "pid": os.getpid(),
            "token": self._token,
            "lease_until_us": _now_us() + int(lease_s() * 1_000_000),
        }
        return json.dumps(owner).encode()

    def _stale(self) -> bool:
        owner = self.owner()
        if owner is None:
            return False
        if not owner:  # unreadable: judge by the file's age
            try:
                age_s = time.time() - self._path.stat().st_mtime
            except FileNotFoundError:
                return False
            return age_s > lease_s()
        if owner.get("host") == host_id():
            pid = owner.get("pid")
            return not isinstance(pid, int) or not pid_alive(pid)
        lease = owner.get("lease_until_us")
        return not isinstance(lease, int) or lease < _now_us()

    def acquire(self) -> bool:
        """Take the lock; False if a live holder (this host) or an unexpired lease
        (another host) has it."""
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._token = uuid.uuid4().hex
        for _ in range(3):
            if publish_exclusive(self._path.parent, self._path.name, self._payload()):
                self._held = True
                _HEARTBEAT.add(self)
                return True
            seen = self.owner()
            if not self._stale():
                return False
            broken = self._path.with_name(f".{self._path.name}.stale.{uuid.uuid4().hex}")
            try:
                os.rename(self._path, broken)
            except FileNotFoundError:
                continue  # another process broke it first; try again
            if _read(broken) != seen:
                # Between our check and the rename the holder renewed it, or another
                # process broke it and took a fresh one: put it back and yield.
                with contextlib.suppress(FileExistsError):
                    os.link(broken, self._path)
                broken.unlink(missing_ok=True)
                return False
            broken.unlink(missing_ok=True)
        return False

    def renew(self) -> bool:
        """Extend the lease (the heartbeat calls this); False, and the lock counts as
        lost, if the file no longer holds this acquisition."""
        if not self._held:
            return False
        owner = self.owner()
        if not owner or owner.get("token") != self._token:
            return False
        temporary = self._path.with_name(f".{self._path.name}.renew.{uuid.uuid4().hex}")
        temporary.write_bytes(self._payload())
        os.replace(temporary, self._path)
        return True

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def release(self) -> None:
        if self._held:
            _HEARTBEAT.discard(self)
            owner = self.owner()
            if owner is not None and owner.get("token") in (self._token, None):
                self._path.unlink(missing_ok=True)
            self._held = False
