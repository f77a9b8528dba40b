"""The lake: one root folder, every path Pointline reads or writes below it, and the
registries it ingests with.

    <root>/bronze/<vendor>/...                                   input, read-only
    <root>/silver/<table>/exchange=<x>/trading_date=<d>/<file_id>-<n>.parquet
    <root>/silver/validation_log/<file_id>-<n>.parquet           quarantined rows
    <root>/_pointline/staging/<file_id>-<token>/<table>/...      unpublished output
    <root>/_pointline/staging/<file_id>-<token>/validation_log/...
    <root>/_pointline/manifest/<version>.arrow                   manifest log
    <root>/_pointline/dim_symbol/<version>...                    dim_symbol versions
    <root>/_pointline/exchanges/<version:020d>.arrow             exchange registrations
    <root>/_pointline/bootstrap/<version:020d>.arrow             symbols seen per Bronze file
    <root>/_pointline/locks/<file_id>.lock                       writer locks
    <root>/_pointline/archives/<version:020d>.arrow              vendor archive outcomes
    <root>/_pointline/archives/members/<version:020d>.arrow      their members
    <root>/_pointline/archive_staging/<lock>-<token>/            archive import scratch

Nothing but published, committed files ever sits under ``silver/`` (docs/contracts.md
section 2): an ingest writes below ``_pointline/staging/`` (same filesystem), commits its
end state naming the files, then moves each into ``silver/`` by an atomic rename. The
staging layout mirrors ``silver/``, so a staged file's path relative to its staging folder
is its path relative to ``silver/``. This module is the only one that knows the layout.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pointline.dim_symbol import DimSymbolStore
from pointline.exchange_store import ExchangeStore
from pointline.exchanges import DEFAULT_EXCHANGES, ExchangeRegistry
from pointline.faults import fault
from pointline.locks import FileLock
from pointline.manifest import Manifest
from pointline.storage import VersionedDir
from pointline.vendors.protocol import VendorRegistry
from pointline.vendors.registry import DEFAULT_VENDORS

_MANIFESTS: dict[tuple[str, int], Manifest] = {}
"""The manifests this process has read, by (folder, inode), least recently used first."""
_MANIFESTS_KEPT = 8

__all__ = ["Lake", "Staging"]

_VALIDATION_LOG = "validation_log"


@dataclass(frozen=True, slots=True)
class Staging:
    """Where one ingest attempt of one file writes before publishing: ``root`` mirrors
    ``silver/``, with the Silver table's files under ``silver`` and the validation-log
    file under ``quarantine``; ``token`` tells attempts apart."""

    root: Path
    table: str
    token: str

    @property
    def silver(self) -> Path:
        return self.root / self.table

    @property
    def quarantine(self) -> Path:
        return self.root / _VALIDATION_LOG

    def remove(self) -> None:
        """Delete the folder and everything in it."""
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass(frozen=True)
class Lake:
    """A Pointline lake rooted at ``root``, with the exchange and vendor registries it
    ingests with."""

    root: Path
    exchanges: ExchangeRegistry = field(default=DEFAULT_EXCHANGES, kw_only=True)
    vendors: VendorRegistry = field(default=DEFAULT_VENDORS, kw_only=True)

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @classmethod
    def at(cls, root: str | Path | Lake) -> Lake:
        """A lake from a path (or the lake itself): the one way to say which lake."""
        return root if isinstance(root, Lake) else cls(Path(root))

    @property
    def bronze_root(self) -> Path:
        return self.root / "bronze"

    @property
    def silver_root(self) -> Path:
        return self.root / "silver"

    def table_dir(self, table: str) -> Path:
        return self.silver_root / table

    @property
    def validation_dir(self) -> Path:
        return self.silver_root / _VALIDATION_LOG

    @property
    def control_dir(self) -> Path:
        return self.root / "_pointline"

    def manifest(self) -> Manifest:
        """The manifest as of now. One :class:`Manifest` per manifest folder is kept per
        process and brought up to date by reading only the commit files published since
        it last looked (commit files are immutable, put-if-absent), instead of loading
        the newest checkpoint and every later commit on each call: at 6,900 entries the
        full read was two thirds of an ingest's time. A folder removed and made again
        (a new inode, or fewer versions than this process has read) is read afresh."""
        directory = self.control_dir / "manifest"
        try:
            key = (str(directory.resolve()), directory.stat().st_ino)
        except FileNotFoundError:
            return Manifest(directory)
        cached = _MANIFESTS.pop(key, None)
        if cached is not None and cached.version > max(
            VersionedDir(directory, ".arrow").versions(), default=0
        ):
            cached = None  # the folder was made again and its inode reused
        if cached is None:
            cached = Manifest(directory)
        else:
            cached.refresh()
        _MANIFESTS[key] = cached  # most recently used last
        while len(_MANIFESTS) > _MANIFESTS_KEPT:
            del _MANIFESTS[next(iter(_MANIFESTS))]
        return cached

    @property
    def locks_dir(self) -> Path:
        return self.control_dir / "locks"

    def file_lock(self, file_id: int | str) -> FileLock:
        """The writer lock of one Bronze file (by its file_id)."""
        return FileLock(self.locks_dir, str(file_id))

    def exchange_store(self) -> ExchangeStore:
        """The exchange registrations stored in the lake (``_pointline/exchanges``)."""
        return ExchangeStore(self.control_dir / "exchanges", self.silver_root)

    def exchange_registry(self) -> ExchangeRegistry:
        """The lake's registry plus the registrations stored in the lake, read afresh."""
        return self.exchange_store().registry(self.exchanges)

    def exists(self) -> bool:
        """Whether ``root`` holds a Pointline lake (its ``_pointline`` folder)."""
        return self.control_dir.is_dir()

    def create(self) -> None:
        """Make the lake's folders (``bronze/``, ``silver/validation_log/``,
        ``_pointline/``) if missing; an existing lake is left as it is."""
        for folder in (self.bronze_root, self.validation_dir, self.control_dir):
            folder.mkdir(parents=True, exist_ok=True)

    @property
    def bootstrap_dir(self) -> Path:
        """What ``dim-symbol bootstrap`` has read: the symbols of each Bronze file."""
        return self.control_dir / "bootstrap"

    @property
    def archives_dir(self) -> Path:
        """What ``bronze import-*`` did with each vendor archive (``pointline.archives``)."""
        return self.control_dir / "archives"

    @property
    def archive_staging_root(self) -> Path:
        """Scratch space of archive imports: each member's gzip before it is published
        under ``bronze/`` (same filesystem). Not under ``staging/``, whose folders are
        ingest attempts (``<file_id>-<token>``) that ``finish_publishes`` sweeps."""
        return self.control_dir / "archive_staging"

    def dim_symbol_store(self) -> DimSymbolStore:
        return DimSymbolStore(self.control_dir / "dim_symbol")

    def relative(self, path: Path) -> str:
        """``path`` as a POSIX path relative to the lake root (as the manifest stores it)."""
        return path.relative_to(self.root).as_posix()

    # -- staging and publishing ---------------------------------------------------------

    @property
    def staging_root(self) -> Path:
        return self.control_dir / "staging"

    def staging(self, table: str, file_id: int, token: str) -> Staging:
        """The staging folder of one ingest attempt of ``file_id`` into ``table``."""
        return Staging(root=self.staging_root / f"{file_id}-{token}", table=table, token=token)

    def staged(self, file_id: int | str | None = None) -> list[tuple[str, str, Path]]:
        """Every staging folder (of ``file_id``, or all) as ``(file_id, token, path)``, in
        path order."""
        if not self.staging_root.is_dir():
            return []
        pattern = "*" if file_id is None else f"{file_id}-*"
        found = sorted(p for p in self.staging_root.glob(pattern) if p.is_dir())
        return [(*path.name.split("-", 1), path) for path in found]  # type: ignore[misc]

    def owned_paths(
        self, staging: Staging, silver: Iterable[str], quarantine: Iterable[str]
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The root-relative Silver paths that staged files (relative to the staging
        table and validation-log folders) will have once published, sorted."""
        table = self.relative(self.table_dir(staging.table))
        log = self.relative(self.validation_dir)
        return (
            tuple(sorted(f"{table}/{name}" for name in silver)),
            tuple(sorted(f"{log}/{name}" for name in quarantine)),
        )

    def publish(self, staging_root: Path, files: Iterable[str]) -> None:
        """Move each file (root-relative, under ``silver/``) from the staging folder
        ``staging_root`` into place by an atomic rename (a same-name file is replaced
        whole), then remove the folder. A file already moved (an interrupted publish
        being rolled forward) is skipped. Call it after the commit that names the files."""
        silver = self.relative(self.silver_root)
        for relative in files:
            inside = Path(relative).relative_to(silver)
            source = staging_root / inside
            if not source.is_file():
                continue
            destination = self.root / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, destination)
            fault("mid_publish")
        shutil.rmtree(staging_root, ignore_errors=True)

    @staticmethod
    def partition_of(relative: str) -> dict[str, str]:
        """The partition values (``exchange``, ``trading_date``) a Silver file's
        root-relative path carries: its ``key=value`` folders.

        >>> Lake.partition_of("silver/trades/exchange=binance/trading_date=2024-05-01/1-0.parquet")
        {'exchange': 'binance', 'trading_date': '2024-05-01'}
        """
        parts = (part.partition("=") for part in Path(relative).parent.parts)
        return {name: value for name, sep, value in parts if sep}

    def visible_files(self, file_id: int) -> list[str]:
        """Root-relative paths of the files under ``silver/`` named after ``file_id``,
        whether or not the manifest lists them."""
        return sorted(self.relative(p) for p in self.silver_root.glob(f"*/**/{file_id}-*.parquet"))

    def delete(self, relative_paths: Iterable[str]) -> None:
        """Delete files given relative to the root (missing ones are fine)."""
        for relative in relative_paths:
            (self.root / relative).unlink(missing_ok=True)
