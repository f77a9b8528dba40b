"""Bronze files: what a vendor file is, where it lives, its content hash, and the walk
that finds them.

``bronze_path`` is always POSIX and relative to the bronze root, so one file has one
identity however it was named on the command line (docs/contracts.md section 7). The
vendor is the first folder under the bronze root; the data type, date and other facts
come from that vendor's path rules (:meth:`pointline.vendors.Vendor.describe`; Tardis
reads the tardis-dev client's flat file names and hive folders, see
:mod:`pointline.vendors.tardis`) unless given; the path is never used to read row values.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from pointline.codes import FileReason
from pointline.errors import PointlineError
from pointline.vendors.protocol import PathFacts, VendorRegistry
from pointline.vendors.registry import DEFAULT_VENDORS

__all__ = [
    "BronzeChangedError",
    "BronzeError",
    "BronzeFileMetadata",
    "is_hidden",
    "sha256_of",
    "walk_bronze",
]

_CHUNK = 1 << 20


class BronzeError(PointlineError, ValueError):
    """A Bronze path or file that cannot be ingested as given (outside the bronze root,
    not a file): ``bad_path``."""

    reason: ClassVar[FileReason] = "bad_path"


class BronzeChangedError(BronzeError):
    """The Bronze file on disk is no longer the one its metadata describes."""

    reason: ClassVar[FileReason] = "bronze_changed"


def is_hidden(parts: Sequence[str]) -> bool:
    """Whether a path (as its parts below a walked folder) is hidden from the walk: any
    part starting with ``.`` (editor and OS files) or ``_`` (Pointline's staging)."""
    return any(part.startswith((".", "_")) for part in parts)


def walk_bronze(paths: Sequence[str | Path]) -> Iterator[Path]:
    """The files named by ``paths``: files as given, folders recursively in name order
    (hidden entries below the folder skipped, see :func:`is_hidden`), each file once."""
    seen: set[Path] = set()
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and not is_hidden(p.relative_to(path).parts)
            )
        else:
            found = [path]
        for file in found:
            key = file.resolve()
            if key not in seen:
                seen.add(key)
                yield file


def sha256_of(path: Path) -> str:
    """SHA-256 of the file's bytes, hex, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True, kw_only=True)
class BronzeFileMetadata:
    """One Bronze file: identity parts, size, mtime, content hash and path facts."""

    vendor: str
    data_type: str
    bronze_path: str
    file_size_bytes: int
    last_modified_ts_us: int
    sha256: str
    date: datetime.date | None = None
    extras: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_path(
        cls,
        path: str | Path,
        *,
        bronze_root: str | Path,
        vendor: str | None = None,
        data_type: str | None = None,
        vendors: VendorRegistry = DEFAULT_VENDORS,
    ) -> BronzeFileMetadata:
        """Metadata of ``path``, which must lie under ``bronze_root`` (symlinks resolved).

        The vendor is the first folder below the bronze root and its path rules give the
        data type, date and extras; ``vendor`` and ``data_type`` override them (then a
        path outside the rules is fine). Raises :class:`BronzeError` for a path outside
        the root or not a file, and the vendor's path errors (``bad_path``, and
        ``unsupported_data_type`` for a file name that names an unknown data type).

        >>> import tempfile, pathlib
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> f = root / "tardis/exchange=deribit/type=trades/date=2024-09-29/symbol=X/a.csv"
        >>> f.parent.mkdir(parents=True); _ = f.write_text("x\\n")
        >>> meta = BronzeFileMetadata.from_path(f, bronze_root=root)
        >>> meta.vendor, meta.data_type, meta.bronze_path.split("/")[0], str(meta.date)
        ('tardis', 'trades', 'tardis', '2024-09-29')
        >>> flat = root / "tardis/deribit_options_chain_2020-06-07_OPTIONS.csv.gz"
        >>> _ = flat.write_bytes(b"")
        >>> meta = BronzeFileMetadata.from_path(flat, bronze_root=root)
        >>> meta.data_type, str(meta.date), meta.extras["exchange"], meta.extras["symbol"]
        ('options_chain', '2020-06-07', 'deribit', 'OPTIONS')
        """
        root = Path(bronze_root).resolve()
        given = Path(path)
        resolved = (given if given.is_absolute() else Path.cwd() / given).resolve()
        if not resolved.is_relative_to(root):
            msg = (
                f"is outside the bronze root {root} (after resolving links); "
                "copy or move it under the bronze root first"
            )
            raise BronzeError(msg, file=str(given))
        if not resolved.is_file():
            msg = "is not a file"
            raise BronzeError(msg, file=str(given))
        relative = resolved.relative_to(root)
        if vendor is not None:
            vendors.get(vendor)  # an unknown vendor is named as such, with the known ones
        date, extras = None, {}
        try:
            found, facts = vendors.describe(relative)
        except PointlineError:
            if vendor is None or data_type is None:
                raise
        else:
            vendor = vendor or found.name
            data_type = data_type or facts.data_type
            date, extras = facts.date, dict(facts.extras)
        stat = resolved.stat()
        return cls(
            vendor=vendor,
            data_type=data_type,
            bronze_path=relative.as_posix(),
            file_size_bytes=stat.st_size,
            last_modified_ts_us=stat.st_mtime_ns // 1000,
            sha256=sha256_of(resolved),
            date=date,
            extras=extras,
        )

    @property
    def facts(self) -> PathFacts:
        """What the file's path says (data type, date, extras)."""
        return PathFacts(data_type=self.data_type, date=self.date, extras=self.extras)

    @property
    def identity(self) -> tuple[str, str, str, str]:
        return (self.vendor, self.data_type, self.bronze_path, self.sha256)

    def check_read(self, bronze_root: str | Path, read_sha256: str | None) -> None:
        """Raise :class:`BronzeChangedError` unless the bytes a run read are this file's
        and the file is still as described: ``read_sha256``, the SHA-256 of every byte
        the run read, must be :attr:`sha256`, and the size and mtime unchanged. Without it
        (a source that does not hash what it reads, or read only part of the file), the
        file is hashed again (:meth:`check_unchanged` ``by_hash``)."""
        self.check_unchanged(bronze_root, by_hash=read_sha256 is None)
        if read_sha256 is not None and read_sha256 != self.sha256:
            msg = (
                f"changed on disk (the SHA-256 of the bytes read is {read_sha256}, its "
                f"metadata says {self.sha256}); build the metadata again to ingest the "
                "new content"
            )
            raise BronzeChangedError(msg, file=self.bronze_path)

    def check_unchanged(self, bronze_root: str | Path, *, by_hash: bool = False) -> None:
        """Raise :class:`BronzeChangedError` if the file differs from this metadata: its
        size or mtime, or (``by_hash``) its SHA-256. Bronze is immutable: a changed file
        is a new file, to be described again."""
        path = self.absolute(bronze_root)
        try:
            stat = path.stat()
        except FileNotFoundError:
            msg = "has disappeared from the bronze root"
            raise BronzeChangedError(msg, file=self.bronze_path) from None
        now = (stat.st_size, stat.st_mtime_ns // 1000)
        then = (self.file_size_bytes, self.last_modified_ts_us)
        if now != then:
            msg = (
                f"changed on disk (size, mtime us) {then} -> {now} since its metadata was "
                "taken; build the metadata again to ingest the new content"
            )
            raise BronzeChangedError(msg, file=self.bronze_path)
        if by_hash and sha256_of(path) != self.sha256:
            msg = (
                "changed on disk (its SHA-256 is not the one in its metadata); build the "
                "metadata again to ingest the new content"
            )
            raise BronzeChangedError(msg, file=self.bronze_path)

    def absolute(self, bronze_root: str | Path) -> Path:
        return Path(bronze_root) / Path(*self.bronze_path.split("/"))
