"""Put-if-absent file publication and the one versioned folder built on it.

A payload is written to a hidden temp file in the target folder, fsynced, then hard-linked
to its final name with ``os.link``, which fails if the name exists: two writers can never
both create one version, and a reader never sees a half-written file under a final name.

:class:`VersionedDir` is the layout every versioned store shares (the manifest log, its
checkpoints, dim_symbol): one file per version named ``<20-digit version><suffix>``, so
name order is version order, each published once with :func:`publish_exclusive`.

>>> import tempfile
>>> log = VersionedDir(tempfile.mkdtemp(), ".arrow")
>>> log.latest()
0
>>> log.publish(1, b"first"), log.publish(1, b"second")
(True, False)
>>> log.versions(), log.path_of(1).name, log.path_of(1).read_bytes()
([1], '00000000000000000001.arrow', b'first')
"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path
from typing import Final

import pyarrow as pa

__all__ = [
    "VERSION_DIGITS",
    "VersionedDir",
    "fsync_dir",
    "ipc_bytes",
    "link_exclusive",
    "publish_exclusive",
    "read_ipc",
]

VERSION_DIGITS: Final = 20
"""Width of the zero-padded version in a version file's name (fits every int64 >= 0)."""


def fsync_dir(directory: Path) -> None:
    """Make a folder's entries (new names, removed names) durable.

    Raises ``OSError`` (``FileNotFoundError``, ...) if ``directory`` cannot be opened.
    """
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish_exclusive(directory: Path, name: str, payload: pa.Buffer | bytes) -> bool:
    """Write ``payload`` to ``directory/name`` put-if-absent; False if the name exists.

    The bytes go to ``directory/.<name>.<pid>.<hex>.tmp`` (fsynced), are hard-linked to
    ``name`` and the temp file is removed whatever happens; the folder is fsynced after
    a successful link. ``directory`` must exist. Raises ``OSError`` on any other I/O
    failure; an existing ``name`` is never touched.
    """
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


def ipc_bytes(table: pa.Table) -> pa.Buffer:
    """``table`` as the bytes of one Arrow IPC file: what the versioned stores publish."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def read_ipc(path: Path) -> pa.Table:
    """One Arrow IPC file, memory-mapped and read whole. Raises ``OSError`` or
    ``pyarrow.ArrowInvalid`` for a missing, torn or foreign file (the caller names it)."""
    with pa.memory_map(str(path)) as source:
        return pa.ipc.open_file(source).read_all()


def link_exclusive(source: Path, target: Path) -> bool:
    """Publish the complete, fsynced file ``source`` as ``target`` put-if-absent: a hard
    link (same filesystem), so ``target`` appears whole or not at all; False if
    ``target`` exists, which is never touched. ``source`` stays (the caller removes it);
    ``target``'s folder must exist and is fsynced after a successful link. The path
    variant of :func:`publish_exclusive`, for payloads too large to hold in memory.
    """
    try:
        os.link(source, target)
    except FileExistsError:
        return False
    fsync_dir(target.parent)
    return True


class VersionedDir:
    """Versions ``1, 2, ...`` of one store, a file ``<version:020d><suffix>`` each.

    ``suffix`` includes its dot (``".arrow"``, ``".parquet"``). Only names of exactly 20
    digits followed by ``suffix`` are versions; anything else in the folder (temp files,
    sub-folders, foreign files) is ignored. Nothing is read or created until asked: a
    missing folder has no versions, and :meth:`publish` creates it.
    """

    __slots__ = ("_directory", "_pattern", "_suffix")

    def __init__(self, directory: str | Path, suffix: str) -> None:
        self._directory = Path(directory)
        self._suffix = suffix
        self._pattern = re.compile(rf"^(\d{{{VERSION_DIGITS}}}){re.escape(suffix)}$")

    @property
    def directory(self) -> Path:
        """The folder holding the version files."""
        return self._directory

    @property
    def suffix(self) -> str:
        """The file-name ending of every version file, dot included."""
        return self._suffix

    def name_of(self, version: int) -> str:
        """File name of ``version``: ``name_of(7) == "00000000000000000007" + suffix``.

        No range check: callers use versions from 1 (0 means "none").
        """
        return f"{version:0{VERSION_DIGITS}d}{self._suffix}"

    def path_of(self, version: int) -> Path:
        """Path of ``version``'s file (which may not exist)."""
        return self._directory / self.name_of(version)

    def versions(self) -> list[int]:
        """Every published version, ascending; ``[]`` when the folder does not exist.

        Raises ``OSError`` when the folder exists but cannot be listed (for example when
        the path is a regular file: ``NotADirectoryError``).
        """
        try:
            names = os.listdir(self._directory)
        except FileNotFoundError:
            return []
        found = []
        for name in names:
            match = self._pattern.match(name)
            if match:
                found.append(int(match.group(1)))
        found.sort()
        return found

    def latest(self) -> int:
        """The newest published version, 0 when there is none."""
        versions = self.versions()
        return versions[-1] if versions else 0

    def publish(self, version: int, payload: pa.Buffer | bytes) -> bool:
        """Publish ``payload`` as ``version`` put-if-absent; False if it already exists.

        Creates the folder (and its parents) when missing. An existing version file is
        never modified, and no temp file is left behind. Raises ``OSError`` on I/O errors.
        """
        self._directory.mkdir(parents=True, exist_ok=True)
        return publish_exclusive(self._directory, self.name_of(version), payload)

    def __repr__(self) -> str:
        return f"VersionedDir({str(self._directory)!r}, {self._suffix!r})"
