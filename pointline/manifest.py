"""The ingest manifest: an append-only Arrow IPC log, one small file per commit.

Layout of a manifest directory::

    <dir>/00000000000000000001.arrow            commit 1 (rows of INGEST_MANIFEST)
    <dir>/00000000000000000002.arrow            commit 2
    <dir>/_checkpoints/00000000000000000100.arrow  full folded state as of version 100

Versions are 20-digit zero-padded integers from 1, so name order is version order (the
log and the checkpoints are each a :class:`~pointline.storage.VersionedDir`). A commit
file is published put-if-absent: the bytes go to a ``.``-prefixed temp file in the same
directory, are fsynced, and are then ``os.link``-ed to the version name, which fails if
that version exists. A version file is never overwritten, so concurrent writers never
lose each other's commits: a loser either retries with the next version
(``expected_version=None``) or gets a :class:`ConcurrentCommitError`.

The current state is the fold of the log by ``file_id``: the last commit wins. Every
``checkpoint_every`` versions the committer also writes the full state to
``_checkpoints/``, so opening a large manifest reads one checkpoint and the few commits
after it. A torn or unreadable commit or checkpoint file is skipped and described in
:attr:`Manifest.problems`; it is never fatal.

>>> import tempfile
>>> manifest = Manifest(tempfile.mkdtemp())
>>> entry = ManifestEntry(
...     file_id=file_id_for("tardis", "trades", "tardis/a.csv.gz", "ab12"),
...     vendor="tardis", data_type="trades", bronze_path="tardis/a.csv.gz",
...     file_hash="ab12", table_name="trades", status="pending", file_size_bytes=10,
...     created_at_ts_us=1, processed_at_ts_us=1, pointline_version="0.1.0",
... )
>>> manifest.commit([entry])
1
>>> manifest.commit([entry.replace(status="success", rows_total=3)], expected_version=1)
2
>>> Manifest(manifest.directory).get(entry.file_id).status
'success'
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pyarrow as pa

from pointline.codes import FileReason
from pointline.errors import PointlineError
from pointline.faults import fault
from pointline.schemas.control import FILE_STATUSES, INGEST_MANIFEST, FileStatus
from pointline.storage import VersionedDir, ipc_bytes, read_ipc

__all__ = [
    "CHECKPOINT_DIR",
    "ConcurrentCommitError",
    "Manifest",
    "ManifestEntry",
    "ManifestError",
    "file_id_for",
]

CHECKPOINT_DIR: Final = "_checkpoints"
"""Sub-directory of a manifest directory that holds the checkpoints."""

_SUFFIX: Final = ".arrow"
_MAX_FILE_ID: Final = 2**63 - 1
_SCHEMA: Final = INGEST_MANIFEST.arrow_schema
_COLUMNS: Final = INGEST_MANIFEST.column_names
_REQUIRED: Final = INGEST_MANIFEST.required_columns


class ManifestError(PointlineError, ValueError):
    """Entries cannot be committed: a file_id collision, an empty commit, a bad version."""


class ConcurrentCommitError(PointlineError, RuntimeError):
    """Another writer committed first; nothing was written.

    ``expected_version`` is the version the caller based its commit on (``None`` when the
    commit retried on its own and ran out of attempts); ``actual_version`` is the newest
    version found in the log.
    """

    def __init__(
        self, message: str, *, expected_version: int | None, actual_version: int, file: str
    ) -> None:
        self.expected_version = expected_version
        self.actual_version = actual_version
        super().__init__(message, file=file)


@dataclass(frozen=True, kw_only=True)
class ManifestEntry:
    """One row of the ingest manifest: a Bronze file's identity, status and output.

    Fields are the INGEST_MANIFEST columns with the same names; ``None`` is a null.
    """

    file_id: int
    vendor: str
    data_type: str
    bronze_path: str
    file_hash: str
    table_name: str
    status: FileStatus
    status_reason: FileReason | None = None
    error_message: str | None = None
    rows_total: int | None = None
    rows_written: int | None = None
    rows_quarantined: int | None = None
    trading_date_min: datetime.date | None = None
    trading_date_max: datetime.date | None = None
    ts_event_min_us: int | None = None
    ts_event_max_us: int | None = None
    file_size_bytes: int
    last_modified_ts_us: int | None = None
    created_at_ts_us: int
    processed_at_ts_us: int
    duration_us: int | None = None
    pointline_version: str
    silver_files: tuple[str, ...] = ()
    quarantine_files: tuple[str, ...] = ()
    publish_token: str | None = None
    attempt_reason: FileReason | None = None
    attempt_error: str | None = None
    dim_symbol_version: int | None = None

    def __post_init__(self) -> None:
        if self.status not in FILE_STATUSES:
            msg = (
                f"manifest entry {self.file_id}: status {self.status!r} is not one of "
                f"{list(FILE_STATUSES)}"
            )
            raise ManifestError(msg, file=self.bronze_path)
        if not 0 <= self.file_id <= _MAX_FILE_ID:
            msg = f"file_id {self.file_id} is outside 0..2**63-1; use file_id_for()"
            raise ManifestError(msg, file=self.bronze_path)
        # Normalise list inputs once so equality and hashing behave.
        for name in ("silver_files", "quarantine_files"):
            value = getattr(self, name)
            if not isinstance(value, tuple):
                object.__setattr__(self, name, tuple(value))

    @property
    def identity(self) -> tuple[str, str, str, str]:
        """``(vendor, data_type, bronze_path, file_hash)``: what ``file_id`` is a hash of."""
        return (self.vendor, self.data_type, self.bronze_path, self.file_hash)

    def replace(self, **changes: Any) -> ManifestEntry:
        """A copy with ``changes`` applied (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)


def file_id_for(vendor: str, data_type: str, bronze_path: str, file_hash: str) -> int:
    """The deterministic 63-bit file_id of an identity.

    The first 8 bytes of ``blake2b("vendor|data_type|bronze_path|file_hash")``,
    little-endian, masked to 63 bits, so it is a non-negative int64.

    >>> file_id_for("tardis", "trades", "a.csv.gz", "00") == file_id_for(
    ...     "tardis", "trades", "a.csv.gz", "00")
    True
    """
    key = f"{vendor}|{data_type}|{bronze_path}|{file_hash}".encode()
    digest = hashlib.blake2b(key, digest_size=8).digest()
    return int.from_bytes(digest, "little") & _MAX_FILE_ID


def _read_ipc(path: Path) -> pa.Table:
    """Read one manifest IPC file; raise on a torn file or a foreign schema."""
    table = _upgrade(read_ipc(path))
    if not table.schema.equals(_SCHEMA, check_metadata=False):
        msg = f"schema is not ingest_manifest's: got {table.schema.names}"
        raise ManifestError(msg)
    for name in _REQUIRED:
        if table.column(name).null_count:
            msg = f"column {name!r} holds nulls"
            raise ManifestError(msg)
    return table


def _upgrade(table: pa.Table) -> pa.Table:
    """A table written before the newest nullable columns existed, with them as nulls.

    Columns are only ever appended to ``ingest_manifest``, all nullable, so an older
    commit is a prefix of the schema."""
    have = table.schema.names
    if tuple(have) == _COLUMNS[: len(have)] and all(
        _SCHEMA.field(name).nullable for name in _COLUMNS[len(have) :]
    ):
        for name in _COLUMNS[len(have) :]:
            table = table.append_column(
                _SCHEMA.field(name), pa.nulls(len(table), _SCHEMA.field(name).type)
            )
    return table


def _entries_from_table(table: pa.Table) -> list[ManifestEntry]:
    columns = [table.column(name).to_pylist() for name in _COLUMNS]
    entries = []
    for values in zip(*columns, strict=True):
        row = dict(zip(_COLUMNS, values, strict=True))
        row["silver_files"] = tuple(row["silver_files"] or ())
        row["quarantine_files"] = tuple(row["quarantine_files"] or ())
        entries.append(ManifestEntry(**row))
    return entries


def _table_from_entries(entries: Sequence[ManifestEntry]) -> pa.Table:
    data: dict[str, list[Any]] = {name: [] for name in _COLUMNS}
    for entry in entries:
        for name in _COLUMNS:
            value = getattr(entry, name)
            data[name].append(list(value) if isinstance(value, tuple) else value)
    return pa.Table.from_pydict(data, schema=_SCHEMA)


class Manifest:
    """The ingest manifest stored in ``directory`` as an Arrow IPC log.

    Nothing is read until the state is first needed; the directory is created by the
    first commit. ``checkpoint_every`` sets how often (in versions) a committer writes the
    full state to ``_checkpoints/``; ``max_attempts`` bounds how many versions a commit
    with ``expected_version=None`` tries before giving up.
    """

    def __init__(
        self, directory: str | Path, *, checkpoint_every: int = 100, max_attempts: int = 1000
    ) -> None:
        if checkpoint_every < 1:
            msg = f"checkpoint_every must be >= 1, got {checkpoint_every}"
            raise ManifestError(msg)
        if max_attempts < 1:
            msg = f"max_attempts must be >= 1, got {max_attempts}"
            raise ManifestError(msg)
        self._dir = Path(directory)
        self._log = VersionedDir(self._dir, _SUFFIX)
        self._checkpoints = VersionedDir(self._dir / CHECKPOINT_DIR, _SUFFIX)
        self._checkpoint_every = checkpoint_every
        self._max_attempts = max_attempts
        self._loaded = False
        self._version = 0
        self._state: dict[int, ManifestEntry] = {}
        self._by_path: dict[tuple[str, str, str], set[int]] = {}
        self._by_hash: dict[str, set[int]] = {}
        self._problems: list[str] = []

    @property
    def directory(self) -> Path:
        """The manifest directory."""
        return self._dir

    @property
    def version(self) -> int:
        """The newest version read (0 for an empty manifest); torn versions count."""
        self._ensure_loaded()
        return self._version

    @property
    def problems(self) -> tuple[str, ...]:
        """One note per skipped file (torn, unreadable, foreign) or unwritten checkpoint."""
        self._ensure_loaded()
        return tuple(self._problems)

    def refresh(self) -> None:
        """Read the commit files published since the last read."""
        if not self._loaded:
            self._load_checkpoint()
            self._loaded = True
        for version in self._log.versions():
            if version <= self._version:
                continue
            path = self._log.path_of(version)
            try:
                entries = _entries_from_table(_read_ipc(path))
            except (OSError, pa.ArrowException, PointlineError, TypeError, ValueError) as exc:
                self._problems.append(f"skipped commit {path.name}: {exc}")
            else:
                self._apply(entries, source=path.name)
            self._version = version

    def entries(self) -> dict[int, ManifestEntry]:
        """The current state: the last entry per file_id (a new dict, ordered by file_id)."""
        self._ensure_loaded()
        return {file_id: self._state[file_id] for file_id in sorted(self._state)}

    def get(self, file_id: int) -> ManifestEntry | None:
        """The current entry of ``file_id``, or None if the manifest never saw it."""
        self._ensure_loaded()
        return self._state.get(file_id)

    def at_path(self, vendor: str, data_type: str, bronze_path: str) -> list[ManifestEntry]:
        """Every file_id ever seen at a path (any hash), oldest first.

        Sorted by ``(created_at_ts_us, file_id)``; used to supersede older content.
        """
        self._ensure_loaded()
        ids = self._by_path.get((vendor, data_type, bronze_path), set())
        found = [self._state[file_id] for file_id in ids]
        found.sort(key=lambda entry: (entry.created_at_ts_us, entry.file_id))
        return found

    def with_hash(self, file_hash: str) -> list[ManifestEntry]:
        """Every current entry whose Bronze bytes have this SHA-256, by file_id."""
        self._ensure_loaded()
        return [self._state[i] for i in sorted(self._by_hash.get(file_hash, ()))]

    def state_table(self) -> pa.Table:
        """The current state as an INGEST_MANIFEST table, sorted by file_id."""
        self._ensure_loaded()
        return _table_from_entries([self._state[file_id] for file_id in sorted(self._state)])

    def commit(
        self, entries: Sequence[ManifestEntry], *, expected_version: int | None = None
    ) -> int:
        """Publish ``entries`` as the next version and return that version.

        With ``expected_version=None`` a commit that loses the race for a version re-reads
        the log and tries the next one. With ``expected_version=v`` the commit must be
        version ``v + 1``: if the log has moved past ``v`` a :class:`ConcurrentCommitError`
        is raised and nothing is written. A file_id already held by a different identity
        raises :class:`ManifestError`.
        """
        if not entries:
            msg = "commit needs at least one entry"
            raise ManifestError(msg, file=str(self._dir))
        self._ensure_loaded()
        if expected_version is not None:
            if self._version != expected_version:
                self.refresh()
            if self._version < expected_version:
                msg = (
                    f"expected_version {expected_version} is ahead of the log, which is at "
                    f"version {self._version}; pass a version read from this manifest"
                )
                raise ManifestError(msg, file=str(self._dir))
            if self._version > expected_version:
                raise self._conflict(expected_version)
        payload: pa.Buffer | None = None
        for _ in range(self._max_attempts):
            self._check_collisions(entries)
            if payload is None:
                payload = ipc_bytes(_table_from_entries(entries))
            version = self._version + 1
            fault("manifest_before_link")
            if self._log.publish(version, payload):
                fault("manifest_after_link")
                # Nobody else holds `version`, so the state read so far is exactly the
                # state as of version - 1.
                self._apply(entries, source=self._log.name_of(version))
                self._version = version
                if version % self._checkpoint_every == 0:
                    self._write_checkpoint(version)
                return version
            if expected_version is not None:
                self.refresh()
                raise self._conflict(expected_version)
            self.refresh()
        msg = (
            f"commit lost the race for a version {self._max_attempts} times in a row "
            f"(log at version {self._version}); too many concurrent writers?"
        )
        raise ConcurrentCommitError(
            msg, expected_version=None, actual_version=self._version, file=str(self._dir)
        )

    # -- internals -------------------------------------------------------------------

    def _ensure_loaded(self) -> None:
        if not self._loaded:
            self.refresh()

    def _conflict(self, expected_version: int) -> ConcurrentCommitError:
        msg = (
            f"expected to commit version {expected_version + 1} on top of "
            f"{expected_version}, but the log is already at version {self._version}; "
            "re-read the manifest and decide again"
        )
        return ConcurrentCommitError(
            msg,
            expected_version=expected_version,
            actual_version=self._version,
            file=str(self._dir),
        )

    def _check_collisions(self, entries: Sequence[ManifestEntry]) -> None:
        seen: dict[int, tuple[str, str, str, str]] = {}
        for entry in entries:
            held = self._state.get(entry.file_id)
            other = seen.setdefault(entry.file_id, entry.identity)
            for identity in (held.identity if held else None, other):
                if identity is not None and identity != entry.identity:
                    msg = (
                        f"file_id {entry.file_id} collision: {entry.identity} and "
                        f"{identity} hash to the same id"
                    )
                    raise ManifestError(msg, file=entry.bronze_path)

    def _apply(self, entries: Sequence[ManifestEntry], *, source: str) -> None:
        for entry in entries:
            held = self._state.get(entry.file_id)
            if held is not None and held.identity != entry.identity:
                self._problems.append(
                    f"{source}: file_id {entry.file_id} changed identity from "
                    f"{held.identity} to {entry.identity}"
                )
                self._by_path.get(held.identity[:3], set()).discard(entry.file_id)
                self._by_hash.get(held.file_hash, set()).discard(entry.file_id)
            self._state[entry.file_id] = entry
            self._by_path.setdefault(entry.identity[:3], set()).add(entry.file_id)
            self._by_hash.setdefault(entry.file_hash, set()).add(entry.file_id)

    def _load_checkpoint(self) -> None:
        """Load the newest readable checkpoint, noting any that are torn."""
        for version in reversed(self._checkpoints.versions()):
            path = self._checkpoints.path_of(version)
            try:
                entries = _entries_from_table(_read_ipc(path))
            except (OSError, pa.ArrowException, PointlineError, TypeError, ValueError) as exc:
                self._problems.append(f"skipped checkpoint {path.name}: {exc}")
                continue
            self._apply(entries, source=f"{CHECKPOINT_DIR}/{path.name}")
            self._version = version
            return

    def _write_checkpoint(self, version: int) -> None:
        """Best effort: losing the race or an I/O error leaves the log as it is."""
        try:
            self._checkpoints.publish(version, ipc_bytes(self.state_table()))
        except OSError as exc:
            name = self._checkpoints.name_of(version)
            self._problems.append(f"checkpoint {name} not written: {exc}")
