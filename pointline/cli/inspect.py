"""Commands that show what is in a lake: ``manifest``, ``quarantine`` and ``tables``."""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any, TextIO

from pointline.cli.common import EXIT_OK, add_format, add_root, at_least, count, write_rows
from pointline.errors import PointlineError
from pointline.lake import Lake
from pointline.manifest import ManifestEntry

__all__ = ["register"]

MANIFEST_COLUMNS = (
    "bronze_path", "status", "status_reason", "exchange", "vendor", "data_type", "rows_total",
    "rows_written", "rows_quarantined", "trading_date_min", "trading_date_max", "file_id",
    "file_hash", "error_message",
)  # fmt: skip
_MANIFEST_TABLE = (
    "bronze_path", "status", "rows_written", "rows_quarantined", "trading_date_min",
    "trading_date_max", "status_reason",
)  # fmt: skip
_QUARANTINE_TABLE = (
    "rule_name", "table_name", "bronze_path", "file_seq", "field_name", "field_value", "raw_row",
)  # fmt: skip
_DEFAULT_LIMIT = 50


def register(commands: Any) -> None:
    manifest = commands.add_parser(
        "manifest", help="the state of every Bronze file (filters: --status, --exchange, ...)"
    )
    manifest.add_argument("--status", action="append", help="only this status (repeatable)")
    manifest.add_argument("--exchange", action="append", help="only this exchange (repeatable)")
    manifest.add_argument("--data-type", action="append", help="only this data type")
    add_format(manifest)
    add_root(manifest)
    manifest.set_defaults(run=run_manifest, lake="require")

    quarantine = commands.add_parser(
        "quarantine", help="the rows set aside, with why, the raw row and its Bronze file"
    )
    quarantine.add_argument("--reason", help="only this reason, e.g. missing_pit_symbol_coverage")
    quarantine.add_argument("--table", help="only rows meant for this table")
    quarantine.add_argument("--file-id", type=int, help="only this Bronze file (its file_id)")
    quarantine.add_argument(
        "--limit",
        type=at_least(0),
        metavar="K",
        help=f"at most this many rows (default {_DEFAULT_LIMIT} for --format table, else all; "
        "0 = all)",
    )
    quarantine.add_argument(
        "--summary", action="store_true", help="count rows by reason, table and file"
    )
    add_format(quarantine)
    add_root(quarantine)
    quarantine.set_defaults(run=run_quarantine, lake="require")

    tables = commands.add_parser(
        "tables", help="the tables: columns and types, partitioning, replay keys"
    )
    tables.add_argument("table", nargs="?", metavar="TABLE", help="one table's columns")
    add_format(tables)
    add_root(tables)
    tables.set_defaults(run=run_tables, lake="none")


# --------------------------------------------------------------------------- manifest


def _exchange_of(lake: Lake, entry: ManifestEntry) -> str | None:
    """The exchange a file's path names, else the one its Silver partitions name."""
    try:
        _, facts = lake.vendors.describe(PurePosixPath(entry.bronze_path))
    except PointlineError:
        facts = None
    if facts is not None and facts.extras.get("exchange"):
        return facts.extras["exchange"]
    for relative in entry.silver_files:
        found = Lake.partition_of(relative).get("exchange")
        if found:
            return found
    return None


def run_manifest(lake: Lake, args: argparse.Namespace, out: TextIO) -> int:
    rows = []
    for entry in sorted(lake.manifest().entries().values(), key=lambda e: e.bronze_path):
        row = {name: getattr(entry, name, None) for name in MANIFEST_COLUMNS}
        row["exchange"] = _exchange_of(lake, entry)
        if args.status and entry.status not in args.status:
            continue
        if args.exchange and row["exchange"] not in args.exchange:
            continue
        if args.data_type and entry.data_type not in args.data_type:
            continue
        rows.append(row)
    if args.format != "table":
        write_rows(rows, MANIFEST_COLUMNS, args.format, out)
        return EXIT_OK
    if not rows:
        filtered = args.status or args.exchange or args.data_type
        out.write(f"no files{' match' if filtered else ''} in the manifest of {lake.root}\n")
        return EXIT_OK
    write_rows(rows, _MANIFEST_TABLE, "table", out)
    errors = [r for r in rows if r["error_message"]]
    for row in errors:
        out.write(f"{row['bronze_path']}: {row['status_reason']}: {row['error_message']}\n")
    by_status: dict[str, int] = {}
    for row in rows:
        status = str(row["status"])
        by_status[status] = by_status.get(status, 0) + 1
    text = ", ".join(f"{n} {status}" for status, n in sorted(by_status.items()))
    out.write(f"{count(len(rows), 'file')}: {text}\n")
    return EXIT_OK


# ------------------------------------------------------------------------- quarantine


def run_quarantine(lake: Lake, args: argparse.Namespace, out: TextIO) -> int:
    from pointline.quarantine import (  # noqa: PLC0415
        QUARANTINE_COLUMNS,
        quarantine_counts,
        quarantined_rows,
    )

    filters = {"reason": args.reason, "table": args.table, "file_id": args.file_id}
    if args.summary:
        counts = [c.to_dict() for c in quarantine_counts(lake, **filters)]
        columns = ("rule_name", "table_name", "rows", "bronze_path", "file_id")
        if args.format != "table":
            write_rows(counts, columns, args.format, out)
            return EXIT_OK
        if not counts:
            out.write("no quarantined rows\n")
            return EXIT_OK
        write_rows(counts, columns[:4], "table", out)
        totals: dict[str, int] = {}
        for c in counts:
            totals[c["rule_name"]] = totals.get(c["rule_name"], 0) + c["rows"]
        text = ", ".join(
            f"{reason} {n}" for reason, n in sorted(totals.items(), key=lambda i: -i[1])
        )
        out.write(f"{sum(totals.values())} quarantined rows: {text}\n")
        return EXIT_OK
    limit = (
        args.limit if args.limit is not None else (_DEFAULT_LIMIT if args.format == "table" else 0)
    )

    def rows() -> Iterator[dict[str, Any]]:
        for batch in quarantined_rows(lake, **filters):
            yield from batch.to_pylist()

    every = rows()
    shown = list(itertools.islice(every, limit)) if limit else every
    if args.format != "table":
        write_rows(shown, QUARANTINE_COLUMNS, args.format, out)
        return EXIT_OK
    listed = list(shown)
    if not listed:
        out.write("no quarantined rows\n")
        return EXIT_OK
    write_rows(listed, _QUARANTINE_TABLE, "table", out, widths={"raw_row": 60, "field_value": 24})
    more = sum(1 for _ in every)
    if more:
        out.write(f"... and {more} more (--limit 0 for all, --summary for counts)\n")
    return EXIT_OK


# ----------------------------------------------------------------------------- tables


def run_tables(lake: Lake, args: argparse.Namespace, out: TextIO) -> int:
    from pointline.schemas import get_table_spec, list_table_specs  # noqa: PLC0415

    if args.table:
        spec = get_table_spec(args.table)
        rows = [
            {
                "column": c.name,
                "type": str(c.dtype),
                "nullable": c.nullable,
                "description": c.description,
            }
            for c in spec.columns
        ]
        if args.format == "table":
            out.write(f"{spec.name} ({spec.kind}): {spec.description}\n")
            out.write(f"partitioned by: {', '.join(spec.partition_by) or '-'}\n")
            out.write(f"replay keys: {', '.join(spec.tie_break_keys) or '-'}\n\n")
        write_rows(rows, ("column", "type", "nullable", "description"), args.format, out)
        return EXIT_OK
    rows = [
        {
            "table": s.name,
            "kind": s.kind,
            "columns": len(s.columns),
            "partitioned_by": ", ".join(s.partition_by),
            "replay_keys": ", ".join(s.tie_break_keys),
            "description": s.description,
        }
        for s in list_table_specs()
    ]
    columns = ("table", "kind", "columns", "partitioned_by", "replay_keys", "description")
    write_rows(rows, columns, args.format, out, widths={"description": 60})
    return EXIT_OK
