"""The lake: one root folder, every path Pointline reads or writes below it, and the
registries it ingests with.

    <root>/bronze/<vendor>/...                                   input, read-only
    <root>/silver/<table>/exchange=<x>/trading_date=<d>/<file_id>-<n>.parquet
    <root>/silver/validation_log/<file_id>-<n>.parquet           quarantined rows
    <root>/silver/<table>/_staging/<file_id>-<token>/...         unpublished output
    <root>/_pointline/manifest/<version>.arrow                   manifest log
    <root>/_pointline/dim_symbol/<version>...                    dim_symbol versions
    <root>/_pointline/locks/<file_id>.lock                       writer locks

The staging layout lives here and nowhere else: staging folders start with ``_`` so that
pyarrow dataset discovery never sees a file before the manifest commit publishes it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pointline.dim_symbol import DimSymbolStore
from pointline.exchanges import DEFAULT_EXCHANGES, ExchangeRegistry
from pointline.faults import fault
from pointline.locks import FileLock
from pointline.manifest import Manifest
from pointline.vendors.protocol import VendorRegistry
from pointline.vendors.registry import DEFAULT_VENDORS

__all__ = ["STAGING", "Lake", "Staging"]

STAGING = "_staging"
"""The name of a table's staging folder (hidden from pyarrow by its ``_``)."""


@dataclass(frozen=True, slots=True)
class Staging:
    """Where one ingest attempt of one file writes before publishing: one folder for the
    Silver table's files and one for its validation-log file."""

    silver: Path
    quarantine: Path

    def remove(self) -> None:
        """Delete both folders and everything in them."""
        shutil.rmtree(self.silver, ignore_errors=True)
        shutil.rmtree(self.quarantine, ignore_errors=True)


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
        return self.silver_root / "validation_log"

    @property
    def control_dir(self) -> Path:
        return self.root / "_pointline"

    def manifest(self) -> Manifest:
        """The manifest, read afresh."""
        return Manifest(self.control_dir / "manifest")

    @property
    def locks_dir(self) -> Path:
        return self.control_dir / "locks"

    def file_lock(self, file_id: int | str) -> FileLock:
        """The writer lock of one Bronze file (by its file_id)."""
        return FileLock(self.locks_dir, str(file_id))

    def dim_symbol_store(self) -> DimSymbolStore:
        return DimSymbolStore(self.control_dir / "dim_symbol")

    def relative(self, path: Path) -> str:
        """``path`` as a POSIX path relative to the lake root (as the manifest stores it)."""
        return path.relative_to(self.root).as_posix()

    # -- staging and publishing ---------------------------------------------------------

    def staging(self, table: str, file_id: int, token: str) -> Staging:
        """The staging folders of one ingest attempt (``token`` tells attempts apart)."""
        name = f"{file_id}-{token}"
        return Staging(
            silver=self.table_dir(table) / STAGING / name,
            quarantine=self.validation_dir / STAGING / name,
        )

    def staged(self, file_id: int | None = None) -> list[tuple[str, Path]]:
        """Every staging folder in the lake (of ``file_id``, or all), with the file_id it
        belongs to, in path order."""
        pattern = "*" if file_id is None else f"{file_id}-*"
        found = sorted(self.silver_root.glob(f"*/{STAGING}/{pattern}"))
        return [(path.name.split("-", 1)[0], path) for path in found]

    def visible_files(self, file_id: int) -> list[str]:
        """Relative paths of the published (not staged) Silver and validation-log files
        named after ``file_id``, whether or not the manifest lists them."""
        return sorted(
            self.relative(path)
            for path in self.silver_root.glob(f"*/**/{file_id}-*.parquet")
            if STAGING not in path.relative_to(self.silver_root).parts
        )

    def publish(self, staged: Path, target: Path, files: Iterable[str]) -> tuple[str, ...]:
        """Move each staged file (relative to ``staged``) to the same place under
        ``target`` by an atomic rename, then remove ``staged``; returns the published
        paths relative to the root, sorted."""
        published = []
        for relative in files:
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged / relative, destination)
            published.append(self.relative(destination))
            fault("mid_publish")
        shutil.rmtree(staged, ignore_errors=True)
        return tuple(sorted(published))

    def discard_unpublished(self, file_id: int, *, keep: Iterable[str]) -> None:
        """Undo what a crashed writer of ``file_id`` left: its staging folders and any
        file it published without committing (a visible ``<file_id>-<n>.parquet`` not in
        ``keep``, the files the last commit lists). Call it holding the file's lock."""
        for _, staged in self.staged(file_id):
            shutil.rmtree(staged, ignore_errors=True)
        owned = set(keep)
        self.delete(path for path in self.visible_files(file_id) if path not in owned)

    def delete(self, relative_paths: Iterable[str]) -> None:
        """Delete files given relative to the root (missing ones are fine)."""
        for relative in relative_paths:
            (self.root / relative).unlink(missing_ok=True)
