"""File import: a whole dim_symbol history or a snapshot from CSV or Parquet.

Errors are :class:`~pointline.dim_symbol.model.DimSymbolError` carrying the file's path
(``err.file``): a missing or unsupported file, an unreadable one, or a table that fails
the checks of :mod:`pointline.dim_symbol.coerce` or :func:`~pointline.dim_symbol.validate`.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pointline.arrays import filled_mask
from pointline.dim_symbol.coerce import (
    cast_column,
    int64_column,
    normalise_snapshot,
    now_us,
    reject_duplicate_keys,
    reject_empty,
    reject_unknown_columns,
    require_columns,
)
from pointline.dim_symbol.model import (
    KEY_COLUMNS,
    OPEN_END_TS_US,
    SNAPSHOT_COLUMNS,
    SORT_KEYS,
    WINDOW_COLUMNS,
    DimSymbolError,
    describe,
)
from pointline.dim_symbol.scd2 import assemble, validate
from pointline.errors import PointlineError

__all__ = ["read_dim_file", "read_snapshot"]


def read_dim_file(path: str | Path, *, now_ts_us: int | None = None) -> pa.Table:
    """Import a whole dim_symbol history from ``.csv``, ``.csv.gz`` or ``.parquet``.

    Required columns: ``exchange, exchange_symbol, valid_from_ts_us, valid_until_ts_us``
    (an empty/null ``valid_until_ts_us`` is the open end ``2**63 - 1``); the tracked
    columns are optional with the snapshot defaults. In CSV the sizes are decimal text
    (``0.1``); in Parquet decimals, integers or decimal text. A
    ``symbol_id`` column is trusted when present (uniqueness is validated), else computed;
    ``is_current`` is derived from ``valid_until_ts_us`` (a present column must agree);
    ``updated_at_ts_us`` is ``now_ts_us`` (default: the clock). The result is validated.
    """
    where = str(path)
    source = "dim file"
    now = now_us(now_ts_us)
    raw = _read_table(Path(path))
    allowed = [*SNAPSHOT_COLUMNS, *WINDOW_COLUMNS, "symbol_id", "is_current", "updated_at_ts_us"]
    try:
        require_columns(raw, [*KEY_COLUMNS, *WINDOW_COLUMNS], source=source)
        reject_unknown_columns(raw, allowed, source=source)
        attrs = normalise_snapshot(
            raw.select([c for c in SNAPSHOT_COLUMNS if c in raw.column_names]), source=source
        )
        frm = int64_column(raw, "valid_from_ts_us", source=source)
        reject_empty({"valid_from_ts_us": frm}, source=source)
        until = int64_column(raw, "valid_until_ts_us", source=source).fill_null(OPEN_END_TS_US)
        ids = (
            int64_column(raw, "symbol_id", source=source)
            if "symbol_id" in raw.column_names
            else None
        )
        if ids is not None:
            reject_empty({"symbol_id": ids}, source=source)
        dim = assemble(attrs, valid_from=frm, valid_until=until, updated_at=now, ids=ids)
        if "is_current" in raw.column_names:
            given: pa.ChunkedArray[Any] | pa.Array[Any] = raw["is_current"]
            if not pa.types.is_boolean(given.type):
                given = cast_column(given, pa.bool_(), "is_current", source)
            wrong = filled_mask(pc.not_equal(given, dim["is_current"]))
            if pc.any(wrong).as_py():
                msg = (
                    "is_current disagrees with valid_until_ts_us (open end = empty or "
                    f"2**63-1) for {describe(dim.filter(wrong), with_from=True)}"
                )
                raise DimSymbolError(msg)
        dim = dim.sort_by(SORT_KEYS)
        validate(dim)
    except PointlineError as exc:
        raise exc.with_context(file=where) from None
    return dim


def read_snapshot(path: str | Path) -> pa.Table:
    """Read a snapshot (an instrument list) from ``.csv``, ``.csv.gz`` or ``.parquet``.

    Returns the normalised snapshot (columns :data:`SNAPSHOT_COLUMNS`, defaults filled,
    sizes as exact decimals), ready for :func:`bootstrap` or :func:`upsert`. Unknown
    columns and repeated symbols are errors.
    """
    where = str(path)
    source = "snapshot file"
    raw = _read_table(Path(path))
    try:
        reject_unknown_columns(raw, SNAPSHOT_COLUMNS, source=source)
        snap = normalise_snapshot(raw, source=source)
        reject_duplicate_keys(snap, source=source)
    except PointlineError as exc:
        raise exc.with_context(file=where) from None
    return snap


def _read_table(path: Path) -> pa.Table:
    """The file as read (CSV: key and tracked columns as text, times as int64)."""
    name = path.name.lower()
    if not path.is_file():
        msg = "no such file (expected a .csv, .csv.gz or .parquet dim_symbol file)"
        raise DimSymbolError(msg, file=str(path))
    try:
        if name.endswith(".parquet"):
            return pq.read_table(path)
        if name.endswith((".csv", ".csv.gz")):
            # Text for keys, names and decimals (parsed exactly later), int64 for times.
            types: dict[str, pa.DataType] = {
                name: pa.int64() if name.endswith("_ts_us") or name == "symbol_id" else pa.string()
                for name in (*SNAPSHOT_COLUMNS, *WINDOW_COLUMNS, "symbol_id", "updated_at_ts_us")
            }
            types["is_current"] = types["is_inverse"] = pa.bool_()
            return pacsv.read_csv(
                path,
                convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=True),
            )
    except (pa.ArrowInvalid, OSError) as exc:
        msg = f"cannot read the file: {_named_column(path, str(exc))}"
        raise DimSymbolError(msg, file=str(path)) from exc
    msg = f"unsupported file type {path.name!r}; give a .csv, .csv.gz or .parquet file"
    raise DimSymbolError(msg, file=str(path))


def _named_column(path: Path, message: str) -> str:
    """pyarrow's CSV message with its 0-based ``column #N`` named from the header, and
    what the integer columns hold."""
    found = re.search(r"column #(\d+)", message)
    if found is None or not path.name.lower().endswith((".csv", ".csv.gz")):
        return message
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            header = f.readline().rstrip("\r\n").split(",")
    except (OSError, UnicodeDecodeError):
        return message
    index = int(found.group(1))
    if index >= len(header):
        return message
    name = header[index]
    hint = " (integer microseconds since the epoch)" if name.endswith("_ts_us") else ""
    return f"column {name!r}{hint}: {message}"
