"""Vendor archives -> immutable Bronze files, and the record of what each archive gave.

A vendor such as Quant360 ships 7z archives of many CSVs (one per symbol). Importing an
archive publishes each member CSV, gzipped, as one Bronze file, where the vendor's rules
say (an :class:`ArchiveFacts` from the vendor module, e.g.
``pointline.vendors.quant360_archives.describe_archive``), and records the archive's
outcome in the lake. This module knows no vendor and no ``Lake`` class: the caller (the
CLI) hands it both, so it stays in the core layer (``tests/test_layering.py``).

Per archive, in order:

1. the name: the vendor's ``describe`` refuses it (``bad_path``,
   ``unsupported_data_type``): recorded ``failed``, the archive is not opened;
2. already imported: a recorded ``success`` of the same name, size and mtime (not
   opened), or the same name, size and SHA-256: ``skipped``, not recorded again;
3. the archive's lock (``_pointline/locks/<vendor>-archive-<stem>.lock``): held by a
   live process -> ``skipped`` (``in_progress``);
4. members, streamed from the decompressor (py7zr's ``WriterFactory``: no member is
   ever held whole in memory, nothing plain is written to disk): each ``<code>.csv`` is
   SHA-256-hashed and gzipped (mtime 0, no stored name, level :data:`GZIP_LEVEL`) into a
   temp file under ``_pointline/archive_staging/<lock>-<token>/``, fsynced, then
   published put-if-absent by a hard link (:func:`pointline.storage.link_exclusive`):
   a Bronze file appears whole or not at all and is never overwritten. A target that
   exists with the same *uncompressed* content (the recorded CSV SHA-256, or the
   existing file decompressed and hashed) is ``skipped``; with other content the member
   is ``refused`` and the archive ends ``failed`` (``bronze_conflict``); the other
   members are still published (each is its own immutable file; a retry skips them).
   Other members (not ``<code>.csv``) are ``ignored`` and reported;
5. the outcome (``success`` or ``failed``, reason, message, per-member rows) is
   recorded in :class:`ArchiveStore` (``_pointline/archives/``).

A corrupt archive fails ``unreadable_file`` (members before the damage, each checked by
its CRC, stay published); a crash leaves temp files only under
``_pointline/archive_staging/``, removed by the next import (:func:`sweep_staging`).
Memory: the decompressor's dictionary (up to 64 MiB for 7-Zip's ultra preset) plus one
decompressed chunk (at most one member), whatever the archive's size.
"""

from __future__ import annotations

import datetime
import gzip
import hashlib
import os
import shutil
import time
import uuid
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol, cast, get_args

import pyarrow as pa

from pointline.codes import FileReason
from pointline.errors import PointlineError
from pointline.faults import fault
from pointline.locks import FileLock
from pointline.storage import VersionedDir, ipc_bytes, link_exclusive, read_ipc

if TYPE_CHECKING:
    from py7zr.io import WriterFactory

__all__ = [
    "ARCHIVE_SCHEMA",
    "FAULT_POINTS",
    "GZIP_LEVEL",
    "INSTALL_HINT",
    "MEMBER_SCHEMA",
    "ArchiveFacts",
    "ArchiveLake",
    "ArchiveResult",
    "ArchiveStatus",
    "ArchiveStore",
    "ArchiveStoreError",
    "MemberOutcome",
    "MemberResult",
    "MissingDependencyError",
    "import_archive",
    "import_archives",
    "require_py7zr",
    "sweep_staging",
]

ArchiveStatus = Literal["success", "failed", "skipped"]
"""success: every symbol member published or already there; failed: refused by name, or
unreadable, or a member conflicts with Bronze; skipped: not run (already imported, or a
live process is importing it), not recorded."""

MemberOutcome = Literal["published", "skipped", "refused", "ignored"]
"""published: a new Bronze file; skipped: the Bronze file exists with the same CSV;
refused: it exists with other content (``bronze_conflict``); ignored: not a symbol CSV."""

MEMBER_OUTCOMES: Final[tuple[MemberOutcome, ...]] = get_args(MemberOutcome)

GZIP_LEVEL: Final = 6
"""zlib level of every Bronze gzip (fixed: same CSV, same zlib -> same bytes)."""

FAULT_POINTS: Final = ("archive_member_staged", "archive_member_published")
"""``POINTLINE_FAULT`` crash points (``pointline.faults``): after a member's gzip is
fsynced in staging, and after it is published."""

INSTALL_HINT: Final = (
    "pip install 'pointline[cn]' (in a checkout: .venv/bin/pip install -e '.[cn]', or make test)"
)

_CHUNK: Final = 1 << 20
_SUFFIX: Final = ".arrow"


class MissingDependencyError(PointlineError, ImportError):
    """An optional dependency (py7zr for 7z archives) is not installed."""


class ArchiveStoreError(PointlineError, ValueError):
    """A recorded archive outcome cannot be read or written."""


def require_py7zr() -> None:
    """Raise :class:`MissingDependencyError` (with the install command) unless py7zr
    can be imported."""
    try:
        import py7zr  # noqa: F401, PLC0415
    except ImportError as exc:
        msg = f"reading 7z archives needs py7zr, which is not installed: {INSTALL_HINT}"
        raise MissingDependencyError(msg) from exc


class ArchiveLake(Protocol):
    """The lake paths an import uses (``pointline.lake.Lake`` has them)."""

    @property
    def bronze_root(self) -> Path: ...

    @property
    def archives_dir(self) -> Path: ...

    @property
    def archive_staging_root(self) -> Path: ...

    @property
    def locks_dir(self) -> Path: ...


class ArchiveFacts(Protocol):
    """What a vendor's rules say about one archive (its file name)."""

    @property
    def name(self) -> str: ...

    @property
    def vendor(self) -> str: ...

    @property
    def exchange(self) -> str: ...

    @property
    def stream(self) -> str: ...

    @property
    def date(self) -> datetime.date: ...

    @property
    def stem(self) -> str: ...

    def member_target(self, member: str) -> tuple[str, PurePosixPath] | None:
        """``(code, path relative to bronze/)`` of a member to publish, None to ignore."""
        ...


Describe = Callable[[str], ArchiveFacts]
"""The vendor's rules: archive file name -> facts; raises a ``PointlineError`` whose
``reason`` says why an archive is refused (``bad_path``, ``unsupported_data_type``)."""


# -- results --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberResult:
    """One member of an archive and what became of it."""

    member: str
    """Its path inside the archive."""
    outcome: MemberOutcome
    code: str | None = None
    csv_sha256: str | None = None
    """SHA-256 of the uncompressed CSV bytes (hex)."""
    csv_bytes: int | None = None
    bronze_path: str | None = None
    """The target, POSIX, relative to ``bronze/`` (as the manifest's ``bronze_path``)."""
    bronze_bytes: int | None = None
    """The published gzip's size (of the existing file for a skipped member)."""
    message: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ArchiveResult:
    """One archive's outcome (a recorded one has ``version``)."""

    archive: str
    """The file name."""
    source_path: str
    """Where it was read from, as given."""
    status: ArchiveStatus
    reason: FileReason | None = None
    message: str | None = None
    archive_bytes: int
    archive_mtime_ns: int
    archive_sha256: str | None = None
    vendor: str | None = None
    exchange: str | None = None
    stream: str | None = None
    date: datetime.date | None = None
    published: int = 0
    skipped: int = 0
    refused: int = 0
    ignored: int = 0
    members: tuple[MemberResult, ...] = field(default=(), repr=False)
    version: int | None = None
    recorded_at_ts_us: int | None = None

    def with_members(self, members: Iterable[MemberResult]) -> ArchiveResult:
        """This result holding ``members``, with the counts taken from them."""
        found = tuple(members)
        counts = dict.fromkeys(MEMBER_OUTCOMES, 0)
        for member in found:
            counts[member.outcome] += 1
        return replace(
            self,
            members=found,
            published=counts["published"],
            skipped=counts["skipped"],
            refused=counts["refused"],
            ignored=counts["ignored"],
        )

    def to_dict(self) -> dict[str, Any]:
        """The outcome as JSON-ready values; refused and ignored members are listed
        under ``problems``."""
        return {
            "archive": self.archive,
            "source_path": self.source_path,
            "status": self.status,
            "reason": self.reason,
            "message": self.message,
            "archive_bytes": self.archive_bytes,
            "archive_sha256": self.archive_sha256,
            "vendor": self.vendor,
            "exchange": self.exchange,
            "stream": self.stream,
            "date": None if self.date is None else self.date.isoformat(),
            "published": self.published,
            "skipped": self.skipped,
            "refused": self.refused,
            "ignored": self.ignored,
            "version": self.version,
            "problems": [
                {
                    "member": m.member,
                    "outcome": m.outcome,
                    "bronze_path": m.bronze_path,
                    "message": m.message,
                }
                for m in self.members
                if m.outcome in ("refused", "ignored")
            ],
        }


# -- the outcome store ----------------------------------------------------------------

_ARCHIVE_FIELDS: list[pa.Field[Any]] = [
    pa.field("archive", pa.string(), nullable=False),
    pa.field("source_path", pa.string(), nullable=False),
    pa.field("archive_bytes", pa.int64(), nullable=False),
    pa.field("archive_mtime_ns", pa.int64(), nullable=False),
    pa.field("archive_sha256", pa.string()),
    pa.field("vendor", pa.string()),
    pa.field("exchange", pa.string()),
    pa.field("stream", pa.string()),
    pa.field("date", pa.date32()),
    pa.field("status", pa.string(), nullable=False),
    pa.field("reason", pa.string()),
    pa.field("message", pa.string()),
    pa.field("published", pa.int64(), nullable=False),
    pa.field("skipped", pa.int64(), nullable=False),
    pa.field("refused", pa.int64(), nullable=False),
    pa.field("ignored", pa.int64(), nullable=False),
    pa.field("recorded_at_ts_us", pa.int64(), nullable=False),
]
ARCHIVE_SCHEMA: Final = pa.schema(
    _ARCHIVE_FIELDS, metadata={"pointline.store": "archives", "pointline.schema_version": "1"}
)
"""One row per version file of ``_pointline/archives/``: one archive's outcome."""

_MEMBER_FIELDS: list[pa.Field[Any]] = [
    pa.field("member", pa.string(), nullable=False),
    pa.field("outcome", pa.string(), nullable=False),
    pa.field("code", pa.string()),
    pa.field("csv_sha256", pa.string()),
    pa.field("csv_bytes", pa.int64()),
    pa.field("bronze_path", pa.string()),
    pa.field("bronze_bytes", pa.int64()),
    pa.field("message", pa.string()),
]
MEMBER_SCHEMA: Final = pa.schema(
    _MEMBER_FIELDS,
    metadata={"pointline.store": "archive_members", "pointline.schema_version": "1"},
)
"""The members of the outcome with the same version (``_pointline/archives/members/``)."""


def _read_table(path: Path, schema: pa.Schema, what: str) -> pa.Table:
    try:
        table = read_ipc(path)
    except (OSError, pa.ArrowInvalid) as exc:
        msg = f"cannot read {what}: {exc}"
        raise ArchiveStoreError(msg, file=str(path)) from exc
    if not table.schema.equals(schema, check_metadata=False):
        msg = f"{what} has columns {table.schema.names}; expected {schema.names}"
        raise ArchiveStoreError(msg, file=str(path))
    return table


class ArchiveStore:
    """The recorded archive outcomes of one lake (``directory`` =
    ``_pointline/archives``).

    Two :class:`~pointline.storage.VersionedDir` of Arrow IPC files share version
    numbers: ``<version>.arrow`` holds one outcome row (:data:`ARCHIVE_SCHEMA`),
    ``members/<version>.arrow`` its members (:data:`MEMBER_SCHEMA`). A writer claims a
    version by publishing its members file put-if-absent (a loser takes the next), then
    publishes the outcome under it: the outcome file is the record; a members file
    without one (a crash in between) is ignored. Every outcome is kept (a log); an
    archive's state is its newest outcome. Records are read incrementally: a store reads
    each version file once.

    >>> import tempfile
    >>> store = ArchiveStore(Path(tempfile.mkdtemp()))
    >>> store.records()
    []
    """

    __slots__ = ("_members", "_outcomes", "_records")

    def __init__(self, directory: str | Path) -> None:
        self._outcomes = VersionedDir(directory, _SUFFIX)
        self._members = VersionedDir(Path(directory) / "members", _SUFFIX)
        self._records: dict[int, ArchiveResult] = {}

    @property
    def directory(self) -> Path:
        return self._outcomes.directory

    def records(self) -> list[ArchiveResult]:
        """Every recorded outcome (without members), oldest first."""
        for version in self._outcomes.versions():
            if version not in self._records:
                self._records[version] = self._read(version)
        return [self._records[v] for v in sorted(self._records)]

    def latest(self, archive: str) -> ArchiveResult | None:
        """The newest outcome of the archive named ``archive``, if any."""
        found = [r for r in self.records() if r.archive == archive]
        return found[-1] if found else None

    def find_success(
        self, archive: str, size: int, *, mtime_ns: int | None = None, sha256: str | None = None
    ) -> ArchiveResult | None:
        """The newest ``success`` of this archive identity: same name and size, and the
        same mtime (nothing read) or the same SHA-256."""
        for record in reversed(self.records()):
            if record.archive != archive or record.status != "success":
                continue
            if record.archive_bytes != size:
                continue
            same_time = mtime_ns is not None and record.archive_mtime_ns == mtime_ns
            same_hash = sha256 is not None and record.archive_sha256 == sha256
            if same_time or same_hash:
                return record
        return None

    def members(self, version: int) -> list[MemberResult]:
        """The members recorded with outcome ``version``."""
        table = _read_table(
            self._members.path_of(version), MEMBER_SCHEMA, f"archive members version {version}"
        )
        return [MemberResult(**row) for row in table.to_pylist()]

    def members_table(self, version: int) -> pa.Table:
        """The members recorded with outcome ``version``, as an Arrow table."""
        return _read_table(
            self._members.path_of(version), MEMBER_SCHEMA, f"archive members version {version}"
        )

    def known_targets(self, archive: str) -> dict[str, tuple[str, int | None]]:
        """What earlier imports of ``archive`` (by name) published or found under each
        target: ``bronze_path -> (csv_sha256, bronze_bytes)``, newest record first wins."""
        known: dict[str, tuple[str, int | None]] = {}
        for record in reversed(self.records()):
            if record.archive != archive or record.version is None:
                continue
            for member in self.members(record.version):
                if (
                    member.outcome in ("published", "skipped")
                    and member.bronze_path is not None
                    and member.csv_sha256 is not None
                ):
                    known.setdefault(member.bronze_path, (member.csv_sha256, member.bronze_bytes))
        return known

    def record(self, result: ArchiveResult) -> ArchiveResult:
        """Record ``result`` (``success`` or ``failed``) as a new version; returns it
        with ``version`` and ``recorded_at_ts_us`` set."""
        if result.status not in ("success", "failed"):
            msg = f"only success or failed outcomes are recorded, got {result.status!r}"
            raise ArchiveStoreError(msg, file=result.archive)
        recorded = replace(result, recorded_at_ts_us=time.time_ns() // 1_000)
        members = pa.Table.from_pylist(
            [{name: getattr(m, name) for name in MEMBER_SCHEMA.names} for m in recorded.members],
            schema=MEMBER_SCHEMA,
        )
        row = {name: getattr(recorded, name) for name in ARCHIVE_SCHEMA.names}
        outcome = pa.Table.from_pylist([row], schema=ARCHIVE_SCHEMA)
        members_bytes, outcome_bytes = ipc_bytes(members), ipc_bytes(outcome)
        version = max(self._outcomes.latest(), self._members.latest()) + 1
        while not self._members.publish(version, members_bytes):
            version += 1  # another writer claimed it
        if not self._outcomes.publish(version, outcome_bytes):
            msg = f"archive outcome version {version} exists without its members file"
            raise ArchiveStoreError(msg, file=str(self._outcomes.path_of(version)))
        done = replace(recorded, version=version)
        self._records[version] = replace(done, members=())
        return done

    def _read(self, version: int) -> ArchiveResult:
        path = self._outcomes.path_of(version)
        [row] = _read_table(path, ARCHIVE_SCHEMA, f"archive outcome version {version}").to_pylist()
        return ArchiveResult(**row, version=version)


# -- importing ------------------------------------------------------------------------


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _gunzip_sha256(path: Path) -> str | None:
    """SHA-256 of a gzip file's uncompressed bytes; None if it cannot be read as gzip."""
    digest = hashlib.sha256()
    try:
        with gzip.open(path, "rb") as source:
            while chunk := source.read(_CHUNK):
                digest.update(chunk)
    except (OSError, EOFError, zlib.error):
        return None
    return digest.hexdigest()


class _MemberWriter:
    """py7zr's per-member output (the ``Py7zIO`` methods, duck-typed): hashes the CSV
    and gzips it into a staging temp file (or only hashes it, when the target exists;
    or discards an ignored member's bytes)."""

    def __init__(
        self,
        owner: _Importer,
        member: str,
        target: tuple[str, PurePosixPath] | None,
        temp: Path | None,
    ) -> None:
        self.owner = owner
        self.member = member
        self.code: str | None = None if target is None else target[0]
        self.relative: PurePosixPath | None = None if target is None else target[1]
        self.temp = temp
        self.digest = hashlib.sha256()
        self.written = 0
        self.done = False
        self._raw = temp.open("xb") if temp is not None else None
        self._gzip = (
            gzip.GzipFile(
                filename="", mode="wb", compresslevel=GZIP_LEVEL, fileobj=self._raw, mtime=0
            )
            if self._raw is not None
            else None
        )

    def write(self, data: bytes | bytearray) -> int:
        try:
            self.written += len(data)
            if self.code is not None:
                view = memoryview(data)
                for start in range(0, len(view), _CHUNK):
                    piece = view[start : start + _CHUNK]
                    self.digest.update(piece)
                    if self._gzip is not None:
                        self._gzip.write(piece)
        except BaseException as exc:
            self.owner.error = exc
            raise
        return len(data)

    def seal(self) -> None:
        """Finish the gzip and make the temp file durable."""
        if self._gzip is not None and self._raw is not None:
            self._gzip.close()
            self._raw.flush()
            os.fsync(self._raw.fileno())
            self._raw.close()
            self._gzip = self._raw = None

    def discard(self) -> None:
        """Drop the output of a member that did not complete (the folder is removed)."""
        if self._raw is not None:
            self._raw.close()
        self._gzip = self._raw = None

    # The rest of py7zr's Py7zIO interface.
    def read(self, size: int | None = None) -> bytes:
        return b""

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0

    def seekable(self) -> bool:
        return False

    def flush(self) -> None:
        return None

    def size(self) -> int:
        return self.written

    def close(self) -> None:
        """Recent py7zr (1.1.4) calls this once the member is complete and its CRC
        checked; older versions never do (see :meth:`_Importer.create`)."""
        self.owner.finish(self)


class _Importer:
    """One archive's members, one at a time: py7zr's ``WriterFactory`` (duck-typed)."""

    def __init__(
        self,
        *,
        lake: ArchiveLake,
        facts: ArchiveFacts,
        extract_root: Path,
        temp_root: Path,
        known: Mapping[str, tuple[str, int | None]],
        on_member: Callable[[int, int, str | None], None] | None,
        total: int,
    ) -> None:
        self.lake = lake
        self.facts = facts
        self.extract_root = extract_root
        self.temp_root = temp_root
        self.known = known
        self.on_member = on_member
        self.total = total
        self.results: list[MemberResult] = []
        self.error: BaseException | None = None
        self.current: str | None = None
        self._pending: _MemberWriter | None = None

    def create(self, filename: str) -> _MemberWriter:
        try:
            # py7zr before the close() hook: a member is complete (CRC checked) once
            # the next one starts.
            self.finish_pending()
            member = self._member_name(filename)
            self.current = member
            target = self.facts.member_target(member)
            temp = None
            if target is not None and not (self.lake.bronze_root / target[1]).exists():
                temp = self.temp_root / f"{len(self.results)}-{target[0]}.csv.gz.tmp"
            writer = _MemberWriter(self, member, target, temp)
        except BaseException as exc:
            self.error = exc
            raise
        self._pending = writer
        return writer

    def _member_name(self, filename: str) -> str:
        path = PurePosixPath(filename)
        try:
            return path.relative_to(self.extract_root.as_posix()).as_posix()
        except ValueError:
            return path.as_posix()

    def finish_pending(self) -> None:
        if self._pending is not None and not self._pending.done:
            self.finish(self._pending)

    def discard_pending(self) -> None:
        if self._pending is not None and not self._pending.done:
            self._pending.discard()
            self._pending.done = True

    def finish(self, writer: _MemberWriter) -> None:
        if writer.done:
            return
        writer.done = True
        try:
            result = self._publish(writer)
        except BaseException as exc:
            writer.discard()
            self.error = exc
            raise
        self.results.append(result)
        if self.on_member is not None:
            self.on_member(len(self.results), self.total, writer.member)

    def _publish(self, writer: _MemberWriter) -> MemberResult:
        if writer.code is None or writer.relative is None:
            return MemberResult(
                member=writer.member,
                outcome="ignored",
                csv_bytes=writer.written,
                message=f"not <code>.csv in {self.facts.stem}/: skipped",
            )
        relative = writer.relative.as_posix()
        target = self.lake.bronze_root / writer.relative
        sha = writer.digest.hexdigest()
        common: dict[str, Any] = {
            "member": writer.member,
            "code": writer.code,
            "csv_sha256": sha,
            "csv_bytes": writer.written,
            "bronze_path": relative,
        }
        if writer.temp is not None:
            writer.seal()
            fault("archive_member_staged")
            target.parent.mkdir(parents=True, exist_ok=True)
            published = link_exclusive(writer.temp, target)
            size = writer.temp.stat().st_size
            writer.temp.unlink()
            if published:
                fault("archive_member_published")
                return MemberResult(**common, outcome="published", bronze_bytes=size)
        existing = self._existing_sha(relative, target)
        size = target.stat().st_size
        if existing == sha:
            return MemberResult(**common, outcome="skipped", bronze_bytes=size)
        what = "is not readable gzip" if existing is None else "holds another CSV"
        message = (
            f"member {writer.member} conflicts with Bronze file {relative}: the existing "
            f"file {what} (CSV sha256 {existing or '-'}, the archive's {sha}); Bronze files "
            "are never overwritten"
        )
        return MemberResult(**common, outcome="refused", bronze_bytes=size, message=message)

    def _existing_sha(self, relative: str, target: Path) -> str | None:
        """The CSV SHA-256 of an existing target: recorded (when its size still matches
        the record), else by decompressing it."""
        recorded = self.known.get(relative)
        if recorded is not None:
            sha, size = recorded
            if size is None or target.stat().st_size == size:
                return sha
        return _gunzip_sha256(target)


def _lock_name(facts: ArchiveFacts) -> str:
    return f"{facts.vendor}-archive-{facts.stem}"


def sweep_staging(lake: ArchiveLake) -> int:
    """Remove archive staging folders that no live import owns (a crash left them);
    returns how many. Each folder is ``<lock name>-<token>``: it is removed only while
    its archive's lock can be taken."""
    root = lake.archive_staging_root
    if not root.is_dir():
        return 0
    removed = 0
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        name, sep, _ = folder.name.rpartition("-")
        if not sep:
            continue
        with FileLock(lake.locks_dir, name) as held:
            if held:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
    return removed


def import_archive(
    lake: ArchiveLake,
    path: str | Path,
    *,
    describe: Describe,
    store: ArchiveStore | None = None,
    on_member: Callable[[int, int, str | None], None] | None = None,
) -> ArchiveResult:
    """Import one archive into ``lake`` by the vendor rules ``describe`` (see the module
    doc); returns its outcome (recorded unless ``skipped``).

    ``on_member(done, total, member)`` is called once the member list is known (done 0,
    member None) and after each member. Raises ``FileNotFoundError`` for a missing
    ``path``, :class:`MissingDependencyError` without py7zr, ``OSError`` for I/O errors
    writing the lake; everything about the archive itself is in the result.
    """
    source = Path(path)
    stat = source.stat()
    the_store = store if store is not None else ArchiveStore(lake.archives_dir)
    base = ArchiveResult(
        archive=source.name,
        source_path=str(path),
        status="failed",
        archive_bytes=stat.st_size,
        archive_mtime_ns=stat.st_mtime_ns,
    )
    try:
        facts = describe(source.name)
    except PointlineError as exc:
        return the_store.record(replace(base, reason=exc.reason, message=exc.message))
    base = replace(
        base,
        vendor=facts.vendor,
        exchange=facts.exchange,
        stream=facts.stream,
        date=facts.date,
    )
    done = the_store.find_success(source.name, stat.st_size, mtime_ns=stat.st_mtime_ns)
    if done is not None:
        return _already(base, done)
    require_py7zr()
    lock = FileLock(lake.locks_dir, _lock_name(facts))
    if not lock.acquire():
        return replace(
            base,
            status="skipped",
            reason="in_progress",
            message="another live process is importing this archive",
        )
    try:
        for folder in lake.archive_staging_root.glob(f"{_lock_name(facts)}-*"):
            shutil.rmtree(folder, ignore_errors=True)  # ours (we hold the lock): abandoned
        try:
            sha = _sha256_file(source)
        except OSError as exc:
            message = f"{source.name}: cannot read the archive: {exc}"
            return the_store.record(replace(base, reason="unreadable_file", message=message))
        base = replace(base, archive_sha256=sha)
        done = the_store.find_success(source.name, stat.st_size, sha256=sha)
        if done is not None:
            return _already(base, done)
        staging = lake.archive_staging_root / f"{_lock_name(facts)}-{uuid.uuid4().hex}"
        staging.mkdir(parents=True)
        try:
            members, failure = _extract(
                lake,
                source,
                facts,
                staging,
                known=the_store.known_targets(source.name),
                on_member=on_member,
            )
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        result = base.with_members(members)
        if failure is not None:
            result = replace(result, reason=failure[0], message=failure[1])
        elif result.refused:
            first = next(m for m in result.members if m.outcome == "refused")
            message = f"{result.refused} member(s) refused; first: {first.message}"
            result = replace(result, reason="bronze_conflict", message=message)
        elif not (result.published or result.skipped):
            message = (
                f"no member is a symbol CSV {facts.stem}/<code>.csv (or <code>.csv): "
                "nothing to publish; is the archive renamed? (its folder names the original)"
            )
            result = replace(result, reason="bad_path", message=message)
        else:
            result = replace(result, status="success")
        return the_store.record(result)
    finally:
        lock.release()


def _already(base: ArchiveResult, done: ArchiveResult) -> ArchiveResult:
    return replace(
        base,
        status="skipped",
        archive_sha256=done.archive_sha256,
        message=f"already imported (archive record version {done.version})",
        version=done.version,
    )


def _extract(
    lake: ArchiveLake,
    source: Path,
    facts: ArchiveFacts,
    staging: Path,
    *,
    known: Mapping[str, tuple[str, int | None]],
    on_member: Callable[[int, int, str | None], None] | None,
) -> tuple[list[MemberResult], tuple[FileReason, str] | None]:
    """Stream every member of ``source`` through an :class:`_Importer`; returns the
    member results and, if the archive could not be read to its end, the failure."""
    import py7zr  # noqa: PLC0415

    importer: _Importer | None = None
    with source.open("rb") as handle:  # a file object: py7zr extracts sequentially
        try:
            with py7zr.SevenZipFile(handle, mode="r") as archive:
                total = sum(1 for info in archive.list() if not info.is_directory)
                if on_member is not None:
                    on_member(0, total, None)
                extract_root = (staging / "members").absolute()
                importer = _Importer(
                    lake=lake,
                    facts=facts,
                    extract_root=extract_root,
                    temp_root=staging,
                    known=known,
                    on_member=on_member,
                    total=total,
                )
                archive.extractall(path=extract_root, factory=cast("WriterFactory", importer))
                importer.finish_pending()
        except Exception as exc:
            if importer is None:
                detail = str(exc) or type(exc).__name__
                return [], (
                    "unreadable_file",
                    f"{source.name}: not a readable 7z archive: {detail}",
                )
            importer.discard_pending()
            where = f" at member {importer.current}" if importer.current else ""
            if importer.error is exc:  # raised by our own writing, not by py7zr
                message = f"{source.name}: import stopped{where}: {type(exc).__name__}: {exc}"
                return importer.results, ("ingest_error", message)
            detail = str(exc) or type(exc).__name__
            message = f"{source.name}: not a readable 7z archive{where}: {detail}"
            return importer.results, ("unreadable_file", message)
    return importer.results, None


def import_archives(
    lake: ArchiveLake,
    paths: Iterable[str | Path],
    *,
    describe: Describe,
    on_member: Callable[[int, int, str | None], None] | None = None,
    on_archive: Callable[[ArchiveResult], None] | None = None,
) -> list[ArchiveResult]:
    """:func:`import_archive` for each path in order, after checking that py7zr is
    installed and removing the staging a crashed import left (:func:`sweep_staging`).
    ``on_archive`` gets each outcome as soon as it is known."""
    require_py7zr()
    sweep_staging(lake)
    store = ArchiveStore(lake.archives_dir)
    results = []
    for path in paths:
        result = import_archive(lake, path, describe=describe, store=store, on_member=on_member)
        results.append(result)
        if on_archive is not None:
            on_archive(result)
    return results
