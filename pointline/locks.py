"""Per-file writer locks: one ingest of a given Bronze file at a time across processes.

A lock is a file published put-if-absent (complete, never half-written) holding its
owner's host and pid. A
lock whose owner is a dead process on this host is stale: it is broken by renaming it to
a unique name (only one breaker can win that rename) and taking a fresh one. A lock held
by a live process is respected: the caller skips the file.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import uuid
from pathlib import Path

from pointline.storage import publish_exclusive

__all__ = ["FileLock"]


def _read(path: Path) -> dict[str, object] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class FileLock:
    """An exclusive lock named ``name`` in ``directory``.

    Use it as a context manager, which tries once and says whether it got the lock::

        with lake.file_lock(file_id) as held:
            if not held:
                ...  # a live process holds it: skip the file

    or with ``acquire``/``release``.
    """

    __slots__ = ("_held", "_path")

    def __init__(self, directory: Path, name: str) -> None:
        self._path = directory / f"{name}.lock"
        self._held = False

    @property
    def path(self) -> Path:
        return self._path

    def owner(self) -> dict[str, object] | None:
        """The recorded owner, or None if unlocked ({} if unreadable)."""
        return _read(self._path)

    def _stale(self) -> bool:
        owner = self.owner()
        if owner is None:
            return False
        if owner.get("host") != socket.gethostname():
            return False  # another machine's lock: never guess
        pid = owner.get("pid")
        return not isinstance(pid, int) or not _alive(pid)

    def acquire(self) -> bool:
        """Take the lock; False if a live process holds it."""
        self._path.parent.mkdir(parents=True, exist_ok=True)
        payload = json.dumps({"host": socket.gethostname(), "pid": os.getpid()}).encode()
        for _ in range(3):
            if publish_exclusive(self._path.parent, self._path.name, payload):
                self._held = True
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
                # Between our check and the rename another process broke the stale lock
                # and took a fresh one: put it back (put-if-absent) and yield to it.
                with contextlib.suppress(FileExistsError):
                    os.link(broken, self._path)
                broken.unlink(missing_ok=True)
                return False
            broken.unlink(missing_ok=True)
        return False

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def release(self) -> None:
        if self._held:
            self._path.unlink(missing_ok=True)
            self._held = False
