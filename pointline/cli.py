"""The ``pointline`` command line.

    pointline [--root DIR] ingest PATH... [--vendor V] [--data-type T] [--force] [--dry-run]
                                  [--json]
    pointline [--root DIR] manifest [--json]
    pointline [--root DIR] dim-symbol import FILE | bootstrap | show [--json]
    pointline [--root DIR] demo

``--root`` defaults to ``$POINTLINE_ROOT``, else ``./lake``. Exit status: 0 when every file
ended ``success`` (or was skipped), 2 when any file ended ``failed`` or ``quarantined``,
1 for usage errors.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from pointline.bronze import BronzeFileMetadata
from pointline.errors import PointlineError
from pointline.ingest import IngestionResult, bootstrap_dim_symbol, ingest_file
from pointline.lake import Lake

__all__ = ["main", "main_exit"]

EXIT_OK, EXIT_USAGE, EXIT_BAD_FILES = 0, 1, 2


def _bronze_files(paths: Sequence[str]) -> Iterator[Path]:
    for given in paths:
        path = Path(given)
        if path.is_dir():
            yield from sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and not any(part.startswith((".", "_")) for part in p.parts)
            )
        else:
            yield path


def _print_json(obj: Any, out: TextIO) -> None:
    out.write(json.dumps(obj, default=str, sort_keys=True) + "\n")


def _cmd_ingest(lake: Lake, args: argparse.Namespace, out: TextIO) -> int:
    files = list(_bronze_files(args.paths))
    missing = [str(p) for p in files if not p.exists()]
    if missing:
        sys.stderr.write(f"pointline ingest: no such file or folder: {', '.join(missing)}\n")
        return EXIT_USAGE
    progress = sys.stderr.isatty() and not args.json
    worst = EXIT_OK
    for number, path in enumerate(files, 1):
        try:
            meta = BronzeFileMetadata.from_path(
                path, bronze_root=lake.bronze_root, vendor=args.vendor, data_type=args.data_type
            )
            result: IngestionResult | dict[str, Any] = ingest_file(
                meta, lake=lake, force=args.force, dry_run=args.dry_run
            )
        except PointlineError as exc:
            result = {
                "bronze_path": str(path),
                "status": "failed",
                "file_id": None,
                "skipped": False,
                "status_reason": "bad_path",
                "error_message": str(exc),
            }
        row = result.to_dict() if isinstance(result, IngestionResult) else result
        if row["status"] in {"failed", "quarantined"}:
            worst = EXIT_BAD_FILES
        if args.json:
            _print_json(row, out)
        else:
            detail = (
                "skipped (already ingested)"
                if row.get("skipped")
                else f"{row['status']}: {row.get('rows_written', 0)} written, "
                f"{row.get('rows_quarantined', 0)} quarantined"
            )
            if row.get("error_message"):
                detail += f"\n    {row['error_message']}"
            prefix = f"[{number}/{len(files)}] " if progress else ""
            out.write(f"{prefix}{row['bronze_path']}: {detail}\n")
    return worst


MANIFEST_COLUMNS = (
    "file_id", "vendor", "data_type", "bronze_path", "file_hash", "status", "status_reason",
    "error_message", "rows_total", "rows_written", "rows_quarantined", "trading_date_min",
    "trading_date_max",
)  # fmt: skip


def _cmd_manifest(lake: Lake, args: argparse.Namespace, out: TextIO) -> int:
    rows = lake.manifest().state_table().select(list(MANIFEST_COLUMNS)).to_pylist()
    if args.json:
        for row in rows:
            _print_json(row, out)
        return EXIT_OK
    if not rows:
        out.write("the manifest is empty\n")
    for row in rows:
        dates = f"{row['trading_date_min']}..{row['trading_date_max']}"
        out.write(
            f"{row['file_id']:>20} {row['status']:<11} {row['rows_written'] or 0:>9} written "
            f"{row['rows_quarantined'] or 0:>7} quarantined  {dates}  {row['bronze_path']}\n"
        )
        if row["error_message"]:
            out.write(f"{'':>21}{row['status_reason']}: {row['error_message']}\n")
    return EXIT_OK


def _cmd_dim_symbol(lake: Lake, args: argparse.Namespace, out: TextIO) -> int:
    from pointline import dim_symbol  # noqa: PLC0415 - keeps CLI start-up light

    store = lake.dim_symbol_store()
    if args.action == "show":
        version, dim = store.load()
        if args.json:
            for row in dim.to_pylist():
                _print_json(row, out)
            return EXIT_OK
        out.write(f"dim_symbol version {version}: {dim.num_rows} rows\n")
        for row in dim.to_pylist():
            out.write(
                f"  {row['exchange']:<18} {row['exchange_symbol']:<22} {row['symbol_id']:>20} "
                f"[{row['valid_from_ts_us']}, {row['valid_until_ts_us']})\n"
            )
        return EXIT_OK
    if args.action == "import":
        if not args.file:
            sys.stderr.write("pointline dim-symbol import: give the FILE to import\n")
            return EXIT_USAGE
        version, _ = store.load()
        imported = dim_symbol.read_dim_file(args.file)
        new_version = store.save(imported, expected_version=version)
        out.write(f"imported {imported.num_rows} rows as dim_symbol version {new_version}\n")
        return EXIT_OK
    added, new_version = bootstrap_dim_symbol(lake)
    out.write(f"bootstrapped {added} symbols from Bronze; dim_symbol version {new_version}\n")
    return EXIT_OK


def _cmd_demo(lake: Lake, args: argparse.Namespace, out: TextIO) -> int:
    from pointline.demo import run_demo  # noqa: PLC0415

    return run_demo(lake, out=out)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pointline", description="Raw market-data files into replayable Parquet tables."
    )
    parser.add_argument(
        "--root",
        default=os.environ.get("POINTLINE_ROOT", "./lake"),
        help="lake root (default: $POINTLINE_ROOT, else ./lake)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    ingest = commands.add_parser("ingest", help="ingest Bronze files or folders")
    ingest.add_argument("paths", nargs="+", metavar="PATH")
    ingest.add_argument("--vendor", help="vendor, if the path does not say")
    ingest.add_argument("--data-type", help="data type, if the path does not say")
    ingest.add_argument("--force", action="store_true", help="re-ingest successful files")
    ingest.add_argument("--dry-run", action="store_true", help="run everything, write nothing")
    ingest.add_argument("--json", action="store_true", help="one JSON object per file")
    manifest = commands.add_parser("manifest", help="show the state of every file")
    manifest.add_argument("--json", action="store_true")
    dim = commands.add_parser("dim-symbol", help="manage the symbol dimension")
    dim.add_argument("action", choices=["import", "bootstrap", "show"])
    dim.add_argument("file", nargs="?", help="CSV or Parquet file (import)")
    dim.add_argument("--json", action="store_true")
    demo = commands.add_parser("demo", help="generate Bronze, ingest it, show what landed")
    demo.add_argument("--root", dest="demo_root", help="lake root for the demo")
    return parser


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Run the CLI; returns the exit status."""
    stream = out or sys.stdout
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return EXIT_USAGE if exc.code else EXIT_OK
    root = getattr(args, "demo_root", None) or args.root
    lake = Lake.at(root)
    handlers = {
        "ingest": _cmd_ingest,
        "manifest": _cmd_manifest,
        "dim-symbol": _cmd_dim_symbol,
        "demo": _cmd_demo,
    }
    try:
        return handlers[args.command](lake, args, stream)
    except PointlineError as exc:
        sys.stderr.write(f"pointline {args.command}: {exc}\n")
        return EXIT_BAD_FILES


def main_exit() -> None:
    """Console-script entry point."""
    sys.exit(main())
