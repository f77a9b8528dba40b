"""dim_symbol from the Bronze rows: every (exchange, symbol) found gets a window.

The quick start for a lake with no vendor instrument metadata: each file's parse and
normalize steps (from its vendor) run over its rows, and each symbol not yet in dim_symbol
opens a window at its first good event (docs/contracts.md section 5, source (a)).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from pointline import dim_symbol
from pointline.bronze import BronzeFileMetadata, walk_bronze
from pointline.chain import FLAG_COLUMN, Chain
from pointline.codes import FileReason
from pointline.errors import PointlineError
from pointline.ingest import bronze_steps
from pointline.lake import Lake

__all__ = ["BootstrapResult", "SkippedFile", "bootstrap_dim_symbol", "first_seen"]


@dataclass(frozen=True, slots=True)
class SkippedFile:
    """A Bronze file bootstrap could not read: its ``path`` (relative to the bronze
    root), the ``reason`` code a failed ingest of it would record, and the error text
    (without the path).

    >>> str(SkippedFile("tardis/x.csv", "bad_path", "cannot tell the data type"))
    'tardis/x.csv: bad_path: cannot tell the data type'
    """

    path: str
    reason: FileReason
    message: str

    @classmethod
    def of(cls, path: str, error: PointlineError) -> SkippedFile:
        message = error.message if error.file is not None else str(error)
        return cls(path=path, reason=error.reason, message=message)

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}: {self.message}"


class BootstrapResult(tuple[int, int]):
    """What :func:`bootstrap_dim_symbol` did: ``(added, version)`` as before, so
    ``added, version = bootstrap_dim_symbol(lake)`` and comparisons with a pair still work,
    plus ``skipped``, every file it could not read, in walk order.

    >>> result = BootstrapResult(2, 5, [SkippedFile("tardis/x", "bad_path", "no type")])
    >>> result == (2, 5), result.added, result.version, len(result.skipped)
    (True, 2, 5, 1)
    """

    skipped: tuple[SkippedFile, ...]

    def __new__(
        cls, added: int, version: int, skipped: Sequence[SkippedFile] = ()
    ) -> BootstrapResult:
        result = super().__new__(cls, (added, version))
        result.skipped = tuple(skipped)
        return result

    @property
    def added(self) -> int:
        """How many (exchange, symbol) pairs were added."""
        return self[0]

    @property
    def version(self) -> int:
        """The dim_symbol version after the run (unchanged when nothing was added)."""
        return self[1]

    def __repr__(self) -> str:
        return f"BootstrapResult(added={self[0]}, version={self[1]}, skipped={self.skipped!r})"


def first_seen(meta: BronzeFileMetadata, *, lake: Lake) -> dict[tuple[str, str], int]:
    """The first event time (µs since the epoch) of every (exchange, symbol) in a Bronze
    file, over its good rows."""
    seen: dict[tuple[str, str], int] = {}
    for batch in Chain(bronze_steps(meta, lake=lake)[1]).run():
        good = pa.Table.from_batches([batch]).filter(pc.is_null(batch[FLAG_COLUMN]))
        grouped = good.group_by(["exchange", "symbol"]).aggregate([("ts_event_us", "min")])
        for row in grouped.to_pylist():
            key = (str(row["exchange"]), str(row["symbol"]))
            ts = int(row["ts_event_us_min"])
            seen[key] = min(ts, seen.get(key, ts))
    return seen


def bootstrap_dim_symbol(
    lake: Lake | str | Path,
    *,
    on_skip: Callable[[str, PointlineError], None] | None = None,
) -> BootstrapResult:
    """Add every (exchange, symbol) found in the lake's Bronze files that dim_symbol does
    not know yet, valid from its first event. Returns the symbols added and the new
    version (a pair, :class:`BootstrapResult`) and every file skipped (``.skipped``).

    A file that cannot be read (a corrupt gzip, missing columns, a path outside its
    vendor's rules, a data type its vendor does not ship) is skipped, not fatal:
    ingesting it fails on its own with the same error. Each is in ``.skipped`` with its
    path (relative to the bronze root) and reason; ``on_skip``, if given, is also called
    with the path and the error. Hidden files (:func:`pointline.bronze.is_hidden`) are not
    Bronze files and are not reported.
    """
    the_lake = Lake.at(lake)
    store = the_lake.dim_symbol_store()
    version, dim = store.load()
    known = set(zip(dim["exchange"].to_pylist(), dim["exchange_symbol"].to_pylist(), strict=True))
    seen: dict[tuple[str, str], int] = {}
    skipped: list[SkippedFile] = []
    root = the_lake.bronze_root
    for path in walk_bronze([root] if root.is_dir() else []):
        try:
            meta = BronzeFileMetadata.from_path(path, bronze_root=root, vendors=the_lake.vendors)
            found = first_seen(meta, lake=the_lake)
        except PointlineError as exc:
            relative = path.relative_to(root).as_posix()
            skipped.append(SkippedFile.of(relative, exc))
            if on_skip is not None:
                on_skip(relative, exc)
            continue
        for key, ts in found.items():
            seen[key] = min(ts, seen.get(key, ts))
    new = sorted(key for key in seen if key not in known)
    if not new:
        return BootstrapResult(0, version, skipped)
    first = pa.table(
        {
            "exchange": [k[0] for k in new],
            "exchange_symbol": [k[1] for k in new],
            "first_ts_us": pa.array([seen[k] for k in new], pa.int64()),
        }
    )
    merged = pa.concat_tables([dim, dim_symbol.from_first_seen(first)])
    return BootstrapResult(len(new), store.save(merged, expected_version=version), skipped)
