"""The dim_symbol store: one Parquet file per version, saved with optimistic concurrency."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pointline.dim_symbol.coerce import conform, upgrade
from pointline.dim_symbol.model import SORT_KEYS, DimSymbolError, StaleDimSymbolError
from pointline.dim_symbol.scd2 import empty_dim, validate
from pointline.errors import PointlineError
from pointline.storage import VersionedDir

__all__ = ["DimSymbolStore"]


class DimSymbolStore:
    """dim_symbol versions in ``directory``, one Parquet file per version.

    Files are named ``<20-digit version>.parquet`` from version 1 (a
    :class:`~pointline.storage.VersionedDir`). A save names the version it read
    (``expected_version``); it is published put-if-absent (temp file, fsync, ``os.link``,
    which fails if the version exists), so a version is never overwritten and a stale
    save raises :class:`StaleDimSymbolError` without writing anything.

    >>> import tempfile
    >>> store = DimSymbolStore(tempfile.mkdtemp())
    >>> store.load()[0]
    0
    >>> store.save(empty_dim(), expected_version=0)
    1
    """

    def __init__(self, directory: str | Path) -> None:
        self._files = VersionedDir(directory, ".parquet")

    @property
    def directory(self) -> Path:
        """The folder holding the version files (created by the first save)."""
        return self._files.directory

    def versions(self) -> list[int]:
        """Every saved version, ascending (``[]`` when the folder does not exist)."""
        return self._files.versions()

    def latest_version(self) -> int:
        """The newest version, 0 when nothing is saved."""
        return self._files.latest()

    def path_of(self, version: int) -> Path:
        """Path of ``version``'s Parquet file (which may not exist)."""
        return self._files.path_of(version)

    def load(self, version: int | None = None) -> tuple[int, pa.Table]:
        """``(version, dim)`` of the newest (or the given) version; ``(0, empty)`` if none.

        Raises :class:`DimSymbolError` (with the file's path) when the version's file is
        missing or unreadable or its schema is not DIM_SCHEMA's.
        """
        wanted = self.latest_version() if version is None else version
        if wanted == 0:
            return 0, empty_dim()
        path = self.path_of(wanted)
        try:
            table = pq.read_table(path)
        except (pa.ArrowInvalid, OSError) as exc:
            msg = f"cannot read dim_symbol version {wanted}: {exc}"
            raise DimSymbolError(msg, file=str(path)) from exc
        try:
            return wanted, conform(upgrade(table), source=f"dim_symbol version {wanted}")
        except PointlineError as exc:
            raise exc.with_context(file=str(path)) from None

    def save(self, dim: pa.Table, *, expected_version: int) -> int:
        """Validate ``dim`` and write it as version ``expected_version + 1``; return that.

        The rows are stored sorted by ``(exchange, exchange_symbol, valid_from_ts_us)``.
        Raises :class:`DimSymbolError` for a bad ``expected_version`` or a ``dim`` that
        fails :func:`~pointline.dim_symbol.validate` (nothing is written, the folder is not
        created), and :class:`StaleDimSymbolError` (and writes nothing) when a newer
        version than ``expected_version`` exists, including one saved concurrently.
        """
        if isinstance(expected_version, bool) or not isinstance(expected_version, int):
            msg = f"expected_version must be an int >= 0, got {expected_version!r}"
            raise DimSymbolError(msg)
        if expected_version < 0:
            msg = f"expected_version must be >= 0, got {expected_version}"
            raise DimSymbolError(msg)
        table = conform(dim, source="dim").sort_by(SORT_KEYS)
        validate(table)
        latest = self.latest_version()
        if latest != expected_version:
            raise _stale(expected_version, latest, self.directory)
        version = expected_version + 1
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        if not self._files.publish(version, sink.getvalue()):
            raise _stale(expected_version, self.latest_version(), self.directory)
        return version


def _stale(expected: int, latest: int, directory: Path) -> StaleDimSymbolError:
    msg = (
        f"stale dim_symbol save: expected version {expected} but version {latest} exists; "
        "load the latest version, re-apply the change and save again"
    )
    return StaleDimSymbolError(msg, file=str(directory))
