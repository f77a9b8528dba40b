"""Put-if-absent file publication: the one primitive behind every versioned store.

A payload is written to a hidden temp file in the target folder, fsynced, then hard-linked
to its final name with ``os.link``, which fails if the name exists: two writers can never
both create one version, and a reader never sees a half-written file under a final name.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pyarrow as pa

__all__ = ["fsync_dir", "publish_exclusive"]


def fsync_dir(directory: Path) -> None:
    """Make a folder's entries (new names, removed names) durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish_exclusive(directory: Path, name: str, payload: pa.Buffer | bytes) -> bool:
    """Write ``payload`` to ``directory/name`` put-if-absent; False if the name exists."""
    tmp = directory / f".{name}.{os.getpid()}.{uuid.uuid4().hex}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        try:
            view = memoryview(payload)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, directory / name)
        except FileExistsError:
            return False
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(directory)
    return True
