"""The ``pointline`` command line (also ``python -m pointline``).

    pointline [--root DIR] ingest PATH... [--vendor V] [--data-type T] [--force] [--dry-run]
                                  [--allow-duplicates] [--json]
    pointline [--root DIR] manifest [--status S] [--exchange X] [--data-type T] [--format F]
    pointline [--root DIR] quarantine [--reason R] [--table T] [--file-id N] [--limit K]
                                      [--summary] [--format F]
    pointline [--root DIR] read TABLE [--exchange X] [--symbol S ...] [--start T] [--end T]
                                  [--order time|symbol] [--format csv|jsonl|table|parquet]
                                  [--output FILE]
    pointline [--root DIR] dim-symbol import FILE [--replace] | import-tardis PATH... |
                                      bootstrap | show [--json] | history EXCHANGE SYMBOL
    pointline [--root DIR] refresh | repair | verify | demo
    pointline [--root DIR] exchange add NAME --timezone TZ [--session-roll HH:MM] | list
    pointline [--root DIR] bronze import-quant360 ARCHIVE.7z... [--json]
    pointline tables [TABLE] [--format F]
    pointline --version

``--root`` defaults to ``$POINTLINE_ROOT``, else ``./lake``; every command also takes it
after its name. ``--format table|csv|jsonl`` wherever rows are printed (``--json`` is
``--format jsonl``). Commands that write create the lake; commands that only read or
mend it refuse a folder without one (``ROOT/_pointline``).

Exit status: 0 all good; 1 a usage error, a missing path or no lake; 2 data problems (a
file failed or was quarantined, ``verify`` found problems).

With ``--json`` stdout carries one JSON object per line and nothing else; messages go to
stderr, and so does the progress bar, drawn only when stderr is a terminal.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from importlib.metadata import version
from typing import TextIO

from pointline.cli import bronze, ingest, inspect, maintenance, read, symbols
from pointline.cli.common import EXIT_BAD_FILES, EXIT_OK, EXIT_USAGE, require_lake
from pointline.errors import PointlineError
from pointline.ingest import finish_publishes
from pointline.lake import Lake

__all__ = ["EXIT_BAD_FILES", "EXIT_OK", "EXIT_USAGE", "main", "main_exit"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pointline", description="Raw market-data files into replayable Parquet tables."
    )
    parser.add_argument(
        "--root", default=None, help="lake root (default: $POINTLINE_ROOT, else ./lake)"
    )
    parser.add_argument("--version", action="version", version=f"pointline {version('pointline')}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (ingest, inspect, read, symbols, maintenance, bronze):
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Run the CLI; returns the exit status. ``out`` replaces stdout (tests)."""
    stream = out or sys.stdout
    parser = _parser()
    try:
        with contextlib.redirect_stdout(stream):  # --help and --version go to ``out`` too
            args = parser.parse_args(argv)
    except SystemExit as exc:
        return EXIT_USAGE if exc.code else EXIT_OK
    root = args.root or os.environ.get("POINTLINE_ROOT") or "./lake"
    lake = Lake.at(root)
    name = args.command + (f" {args.action}" if getattr(args, "action", None) else "")
    try:
        needs = args.lake
        if needs == "require":
            require_lake(lake)
        elif needs == "create" and not getattr(args, "dry_run", False):
            lake.create()
        if needs != "none" and lake.exists():
            finished = finish_publishes(lake)  # what a crash left: finish it or remove it
            if finished:
                sys.stderr.write(
                    f"pointline: finished or removed {finished} unpublished output(s) a "
                    "crash left under _pointline/staging\n"
                )
        code: int = args.run(lake, args, stream)
    except BrokenPipeError:
        raise
    except (PointlineError, OSError) as exc:
        sys.stderr.write(f"pointline {name}: {exc}\n")
        return EXIT_USAGE
    return code


def main_exit() -> None:
    """Console-script entry point."""
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # Output piped into e.g. ``head``: stop quietly (Python docs, "Note on SIGPIPE").
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        code = EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("pointline: interrupted\n")
        code = 130
    sys.exit(code)
