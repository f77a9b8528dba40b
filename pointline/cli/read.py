"""``pointline read TABLE``: a table's rows as one stream in replay order (merged across
symbols and exchanges by default: crypto by time; CN orders and ticks by channel sequence
within a channel, channels by time), as CSV, JSON lines, a table or a Parquet file."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Any, TextIO

from pointline.cli.common import EXIT_OK, EXIT_USAGE, add_root, display_rows, write_rows
from pointline.cli.progress import Progress
from pointline.lake import Lake

__all__ = ["register"]


def register(commands: Any) -> None:
    rd = commands.add_parser(
        "read", help="stream a table's rows in replay order (merged by time across symbols)"
    )
    rd.add_argument("table", metavar="TABLE", help="table name, e.g. trades (`pointline tables`)")
    rd.add_argument(
        "--exchange", action="append", help="only this exchange (repeatable; default: all)"
    )
    rd.add_argument("--symbol", action="append", help="only this symbol (repeatable)")
    rd.add_argument(
        "--start", help="event time from (inclusive): ISO date/time (UTC if no zone) or us"
    )
    rd.add_argument("--end", help="event time until (exclusive): ISO date/time or us")
    rd.add_argument(
        "--order",
        choices=("time", "symbol"),
        default="time",
        help="time: one stream merged across symbols (default; CN orders/ticks: channel "
        "order, channels by time); symbol: symbol by symbol",
    )
    rd.add_argument(
        "--format", choices=("csv", "jsonl", "table", "parquet"), default="csv", help="(csv)"
    )
    rd.add_argument(
        "--json", dest="format", action="store_const", const="jsonl", help="= --format jsonl"
    )
    rd.add_argument("--output", help="write here instead of stdout (required for parquet)")
    add_root(rd)
    rd.set_defaults(run=run, lake="require")


def run(lake: Lake, args: argparse.Namespace, out: TextIO) -> int:
    import pyarrow.parquet as pq  # noqa: PLC0415

    from pointline.reader import read  # noqa: PLC0415

    if args.format == "parquet" and not args.output:
        sys.stderr.write("pointline read: --format parquet needs --output FILE\n")
        return EXIT_USAGE
    exchanges = args.exchange or [None]
    if len(exchanges) > 1:
        sys.stderr.write("pointline read: give one --exchange, or none for all exchanges\n")
        return EXIT_USAGE
    reader = read(
        lake,
        args.table,
        exchange=exchanges[0],
        symbols=args.symbol,
        start=args.start,
        end=args.end,
        order=args.order,
    )
    # Rows go to stdout: a bar on the same terminal would garble them; with --output the
    # bar counts rows on stderr.
    with (
        Progress(
            total=None, unit="row", label="read", enabled=None if args.output else False
        ) as bar,
        contextlib.ExitStack() as stack,
    ):
        if args.format == "parquet":
            with pq.ParquetWriter(args.output, reader.schema) as parquet:
                for batch in reader:
                    parquet.write_batch(batch)
                    bar.advance(batch.num_rows)
            return EXIT_OK
        stream = (
            stack.enter_context(Path(args.output).open("w", encoding="utf-8", newline=""))
            if args.output
            else out
        )
        columns = reader.schema.names
        if args.format == "table":
            rows = [row for batch in reader for row in display_rows(batch)]
            write_rows(rows, columns, "table", stream)
            return EXIT_OK
        first = True
        for batch in reader:
            rows = list(display_rows(batch))
            if first:
                write_rows(rows, columns, args.format, stream)
                first = False
            elif args.format == "csv":
                _csv_body(rows, columns, stream)
            else:
                write_rows(rows, columns, "jsonl", stream)
            bar.advance(batch.num_rows)
        if first and args.format == "csv":
            write_rows([], columns, "csv", stream)
    return EXIT_OK


def _csv_body(rows: list[dict[str, Any]], columns: list[str], out: TextIO) -> None:
    import csv  # noqa: PLC0415

    from pointline.cli.common import csv_value  # noqa: PLC0415

    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow([csv_value(row[name]) for name in columns])
