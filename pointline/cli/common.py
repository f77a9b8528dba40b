"""What every command shares: exit codes, the ``--root`` and ``--format`` options, row
output as a table, CSV or JSON lines, exact decimal text, ISO times, the lake check and
the progress display."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Final, TextIO, cast

import pyarrow as pa

from pointline.errors import PointlineError
from pointline.lake import Lake

__all__ = [
    "BAD_STATUSES",
    "EXIT_BAD_FILES",
    "EXIT_OK",
    "EXIT_USAGE",
    "FORMATS",
    "NoLakeError",
    "add_format",
    "add_root",
    "at_least",
    "count",
    "csv_value",
    "display_rows",
    "iso_us",
    "print_json",
    "require_lake",
    "write_rows",
]

EXIT_OK, EXIT_USAGE, EXIT_BAD_FILES = 0, 1, 2
"""0 all good; 1 a usage error or no lake; 2 data problems (a file failed or was
quarantined, verify found problems)."""
BAD_STATUSES: Final = frozenset({"failed", "quarantined"})
FORMATS: Final = ("table", "csv", "jsonl")
"""``--format`` of every command that prints rows (``read`` adds ``parquet``)."""


class NoLakeError(PointlineError, FileNotFoundError):
    """A command that reads or mends a lake was pointed at a folder without one."""


def require_lake(lake: Lake) -> None:
    """Raise :class:`NoLakeError` unless ``lake.root`` holds a Pointline lake
    (``ROOT/_pointline``)."""
    if not lake.control_dir.is_dir():
        msg = (
            f"no Pointline lake at {lake.root} (expected {lake.control_dir}); give --root "
            "(or $POINTLINE_ROOT) the folder `pointline ingest` or `pointline demo` wrote"
        )
        raise NoLakeError(msg)


def add_root(parser: argparse.ArgumentParser) -> None:
    """``--root`` after the command name too (SUPPRESS: the global one stays in force)."""
    parser.add_argument(
        "--root", default=argparse.SUPPRESS, help="lake root (same as the global --root)"
    )


def add_format(parser: argparse.ArgumentParser, *, default: str = "table") -> None:
    """``--format table|csv|jsonl`` and its short form ``--json``."""
    parser.add_argument("--format", choices=FORMATS, default=default, help="output format")
    parser.add_argument(
        "--json", dest="format", action="store_const", const="jsonl", help="= --format jsonl"
    )


def print_json(obj: Any, out: TextIO) -> None:
    """One JSON object on one line (keys sorted; dates, decimals as text)."""
    out.write(json.dumps(obj, default=str, sort_keys=True) + "\n")


def count(n: int, noun: str) -> str:
    """``1 window``, ``2 windows``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def iso_us(ts_us: int) -> str:
    """Microseconds since the epoch as ISO 8601 UTC (``Z``); the open end is ``open``."""
    import datetime  # noqa: PLC0415

    from pointline.dim_symbol import OPEN_END_TS_US  # noqa: PLC0415

    if ts_us == OPEN_END_TS_US:
        return "open"
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
    return (epoch + datetime.timedelta(microseconds=ts_us)).isoformat().replace("+00:00", "Z")


def decimals_as_text(batch: pa.RecordBatch) -> pa.RecordBatch:
    """``batch`` with every decimal column (and list of decimals) as canonical decimal
    text (docs/contracts.md section 3: ``9.39``, ``0.00000001``, ``0``)."""
    from pointline.kernels.decimal import decimal_text  # noqa: PLC0415

    columns: list[Any] = []
    for column in batch.columns:
        if pa.types.is_decimal(column.type):
            columns.append(decimal_text(column))
        elif pa.types.is_list(column.type) and pa.types.is_decimal(column.type.value_type):
            levels = cast("pa.ListArray[Any]", column)  # checked just above
            items = decimal_text(levels.values)
            columns.append(pa.ListArray.from_arrays(levels.offsets, items, mask=levels.is_null()))
        else:
            columns.append(column)
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


def display_rows(batch: pa.RecordBatch) -> Iterator[dict[str, Any]]:
    """The rows of a batch as Python values, decimals as exact text."""
    yield from decimals_as_text(batch).to_pylist()


def csv_value(value: Any) -> Any:
    """A Python value as a CSV cell: lists as JSON, booleans lower case, null empty."""
    if isinstance(value, list):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value


def _cell(value: Any, width: int | None) -> str:
    text = "-" if value is None else str(csv_value(value))
    if width is not None and len(text) > width:
        return text[: max(width - 3, 0)] + "..."
    return text


def write_rows(
    rows: Iterable[dict[str, Any]],
    columns: Sequence[str],
    fmt: str,
    out: TextIO,
    *,
    widths: dict[str, int] | None = None,
) -> int:
    """Write ``rows`` (dicts holding at least ``columns``) as ``fmt``: ``table`` (a header,
    aligned columns; ``widths`` caps a column, longer text ends in ``...``), ``csv`` (a
    header) or ``jsonl`` (one object per row, only ``columns``). Returns the row count.
    A table is laid out from all its rows, so callers limit what they pass."""
    written = 0
    if fmt == "jsonl":
        for row in rows:
            print_json({name: row[name] for name in columns}, out)
            written += 1
        return written
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([csv_value(row[name]) for name in columns])
            written += 1
        return written
    caps = widths or {}
    cells = [[_cell(row[name], caps.get(name)) for name in columns] for row in rows]
    sizes = [max([len(name), *(len(line[i]) for line in cells)]) for i, name in enumerate(columns)]
    out.write(
        "  ".join(name.ljust(size) for name, size in zip(columns, sizes, strict=True)).rstrip()
    )
    out.write("\n")
    for line in cells:
        out.write("  ".join(c.ljust(s) for c, s in zip(line, sizes, strict=True)).rstrip() + "\n")
    return len(cells)


def stderr_is_terminal() -> bool:
    """Whether progress may be drawn (stderr is a TTY)."""
    return sys.stderr.isatty()


def at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number >= ``minimum``.

    >>> at_least(1)("2")
    2
    """

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            msg = f"expected a whole number >= {minimum}, got {text!r}"
            raise argparse.ArgumentTypeError(msg)
        return value

    return parse
