"""The lake: one root folder, and every path Pointline reads or writes below it.

    <root>/bronze/<vendor>/...                                   input, read-only
    <root>/silver/<table>/exchange=<x>/trading_date=<d>/<file_id>-<n>.parquet
    <root>/silver/validation_log/<file_id>-<n>.parquet           quarantined rows
    <root>/_pointline/manifest/<version>.arrow                   manifest log
    <root>/_pointline/dim_symbol/<version>...                    dim_symbol versions

Staging folders start with ``_`` so that pyarrow, DuckDB and Polars dataset discovery
never sees a file before the manifest commit publishes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pointline.dim_symbol import DimSymbolStore
from pointline.exchanges import DEFAULT_EXCHANGES, ExchangeRegistry
from pointline.locks import FileLock
from pointline.manifest import Manifest

__all__ = ["STAGING", "Lake"]

STAGING = "_staging"


@dataclass(frozen=True)
class Lake:
    """A Pointline lake rooted at ``root``, with the exchange registry it ingests with."""

    root: Path
    exchanges: ExchangeRegistry = field(default=DEFAULT_EXCHANGES, kw_only=True)

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

    def staging_dir(self, table: str) -> Path:
        """Where a table's files are written before they are published."""
        return self.table_dir(table) / STAGING

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
