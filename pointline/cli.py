"""The ``pointline`` command line (also ``python -m pointline``).

    pointline [--root DIR] ingest PATH... [--vendor V] [--data-type T] [--force] [--dry-run]
                                  [--json]
    pointline [--root DIR] manifest [--json]
    pointline [--root DIR] dim-symbol import FILE [--replace] | import-tardis PATH... |
                                      bootstrap | show [--json] | history EXCHANGE SYMBOL
    pointline [--root DIR] refresh [--json]
    pointline [--root DIR] demo
    pointline [--root DIR] read TABLE --exchange X [--symbol S ...] [--start ISO|us]
                                  [--end ISO|us] [--format csv|jsonl|parquet] [--output FILE]

``--root`` defaults to ``$POINTLINE_ROOT``, else ``./lake``; every command also takes it
after its name (``pointline demo --root DIR``). Exit status: 0 when every file ended
``success`` (or was skipped), 2 when any file ended ``failed`` or ``quarantined``,
1 for usage errors (bad arguments, a missing path, an unreadable dim_symbol file).

``ingest`` and ``dim-symbol bootstrap`` print every file they skip or cannot read, one
line each: its path (relative to ROOT/bronze), the reason code (``bad_path``,
``unsupported_data_type``, ``duplicate_content``, ...) and why; under a path no vendor's
rules read, ``ingest`` adds a hint line naming ``--vendor`` and ``--data-type``.

With ``--json`` stdout carries one JSON object per line and nothing else; messages and
the progress line (only when stderr is a terminal) go to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import shutil
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO, cast

import pyarrow as pa

from pointline.bootstrap import bootstrap_dim_symbol
from pointline.bronze import BronzeFileMetadata, walk_bronze
from pointline.codes import FILE_REASONS, FileReason
from pointline.errors import PointlineError
from pointline.ingest import IngestionResult, finish_publishes, ingest_file
from pointline.lake import Lake
from pointline.vendors import BadPathError, UnknownVendorError

__all__ = ["EXIT_BAD_FILES", "EXIT_OK", "EXIT_USAGE", "main", "main_exit"]

EXIT_OK, EXIT_USAGE, EXIT_BAD_FILES = 0, 1, 2
BAD_STATUSES = frozenset({"failed", "quarantined"})


def _print_json(obj: Any, out: TextIO) -> None:
    out.write(json.dumps(obj, default=str, sort_keys=True) + "\n")


PATH_HINT = (
    "give --vendor and --data-type to ingest a file whose path does not say them "
    "(its exchange and date then come from the rows only)"
)
"""Shown under a file whose path follows no vendor's rules."""


def _failed_row(path: Path, exc: BaseException, bronze_root: Path) -> dict[str, Any]:
    """A result row (the IngestionResult fields) for a file that could not be ingested:
    its metadata could not be built (a bad path, a file name naming an unknown data type,
    an unreadable file). The reason is the error's own (``bad_path`` for an OS error); the
    path is relative to the bronze root when the file lies under it."""
    reason: FileReason = exc.reason if isinstance(exc, PointlineError) else "bad_path"
    row = IngestionResult(
        status="failed",
        file_id=0,
        bronze_path=_shown_path(path, bronze_root),
        table_name="unknown",
        status_reason=reason,
        error_message=str(exc),
    ).to_dict()
    row.update(file_id=None, table_name=None)
    return row


def _shown_path(path: Path, bronze_root: Path) -> str:
    """``path`` relative to the bronze root (POSIX) if it lies under it, else as given."""
    try:
        return path.resolve().relative_to(bronze_root.resolve()).as_posix()
    except (OSError, ValueError):
        return str(path)


def _not_ingested(exc: BaseException, reason: str, *, hint: bool) -> str:
    """One line for a file whose metadata could not be built (nothing of it was read or
    recorded): why, then the CLI's way around a path that says nothing."""
    message = exc.message if isinstance(exc, PointlineError) and exc.file else str(exc)
    text = f"failed, not ingested ({reason}): {message}"
    return f"{text}\n    hint: {PATH_HINT}" if hint else text


def _describe(row: dict[str, Any]) -> str:
    """One file's outcome; a skipped file in one line, with why it was skipped."""
    if row.get("skipped"):
        reason = row.get("status_reason")
        if reason is None or row.get("status") == "success":
            return "skipped (already ingested)"
        why = row.get("error_message") or FILE_REASONS.get(reason, "").removeprefix("skipped: ")
        return f"skipped ({reason}: {why})" if why else f"skipped ({reason})"
    text = (
        f"{row['status']}: {row['rows_total']} rows, {row['rows_written']} written, "
        f"{row['rows_quarantined']} quarantined"
    )
    if row.get("dry_run"):
        text += " (dry run, nothing written)"
    if row.get("error_message"):
        text += f"\n    {row['status_reason']}: {row['error_message']}"
    return text


class _Progress:
    """One line on stderr, rewritten in place; only when stderr is a terminal."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.enabled = sys.stderr.isatty()

    def show(self, number: int, path: Path) -> None:
        if self.enabled:
            line = f"[{number}/{self.total}] ingesting {path}"
            width = shutil.get_terminal_size().columns - 1  # never wrap: \r must rewrite it
            if len(line) > width:
                line = line[: max(width - 3, 0)] + "..."
            sys.stderr.write(f"\r\x1b[K{line}")
            sys.stderr.flush()

    def clear(self) -> None:
        if self.enabled:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def _cmd_ingest(lake: Lake, args: argparse.Namespace, out: TextIO) -> int:
    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        sys.stderr.write(f"pointline ingest: no such file or folder: {', '.join(missing)}\n")
        return EXIT_USAGE
    files = list(walk_bronze(args.paths))
    if not files:
        sys.stderr.write(f"pointline ingest: no files under {', '.join(args.paths)}\n")
        return EXIT_OK
    progress = _Progress(len(files))
    worst = EXIT_OK
    counts: dict[str, int] = {}
    for number, path in enumerate(files, 1):
        progress.show(number, path)
        try:
            meta = BronzeFileMetadata.from_path(
                path,
                bronze_root=lake.bronze_root,
                vendor=args.vendor,
                data_type=args.data_type,
                vendors=lake.vendors,
            )
            row = ingest_file(
                meta,
                lake=lake,
                force=args.force,
                dry_run=args.dry_run,
                allow_duplicates=args.allow_duplicates,
            ).to_dict()
        except (PointlineError, OSError) as exc:
            row = _failed_row(path, exc, lake.bronze_root)
            hint = isinstance(exc, (BadPathError, UnknownVendorError))  # path says nothing
            text = _not_ingested(exc, row["status_reason"], hint=hint)
        else:
            text = _describe(row)
        progress.clear()
        if row["status"] in BAD_STATUSES:
            worst = EXIT_BAD_FILES
        key = "skipped" if row["skipped"] else str(row["status"])
        counts[key] = counts.get(key, 0) + 1
        if args.json:
            _print_json(row, out)
        else:
            out.write(f"{row['bronze_path']}: {text}\n")
        out.flush()
    if not args.json:
        summary = ", ".join(f"{n} {key}" for key, n in sorted(counts.items()))
        out.write(f"{len(files)} file{'s' if len(files) != 1 else ''}: {summary}\n")
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
        out.write(f"the manifest of {lake.root} is empty\n")
    for row in rows:
        low, high = row["trading_date_min"], row["trading_date_max"]
        dates = f"{low}..{high}" if low is not None else "-"
        out.write(
            f"{row['file_id']:>20} {row['status']:<11} {row['rows_written'] or 0:>9} written "
            f"{row['rows_quarantined'] or 0:>7} quarantined  {dates}  {row['bronze_path']}\n"
        )
        if row["error_message"]:
            out.write(f"{'':>21}{row['status_reason']}: {row['error_message']}\n")
    return EXIT_OK


def _count(n: int, noun: str) -> str:
    """``1 window``, ``2 windows``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _iso_us(ts_us: int) -> str:
    """Microseconds since the epoch as ISO 8601 UTC (``Z``); the open end is ``open``."""
    from pointline.dim_symbol import OPEN_END_TS_US  # noqa: PLC0415

    if ts_us == OPEN_END_TS_US:
        return "open"
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
    moment = epoch + datetime.timedelta(microseconds=ts_us)
    return moment.isoformat().replace("+00:00", "Z")


def _window_lines(dim: pa.Table) -> Iterator[str]:
    """One line per dim_symbol window: key, id, ISO window, the tracked attributes."""
    for row in _display_rows(dim.combine_chunks().to_batches()[0]) if dim.num_rows else ():
        if row["expiry_ts_us"] is not None:
            row["expiry_ts_us"] = _iso_us(row["expiry_ts_us"])
        attributes = " ".join(
            f"{name}={row[column]}"
            for name, column in (
                ("type", "market_type"),
                ("base", "base_asset"),
                ("quote", "quote_asset"),
                ("tick", "tick_size"),
                ("lot", "lot_size"),
                ("contract", "contract_size"),
                ("expiry", "expiry_ts_us"),
            )
            if row[column] is not None
        )
        yield (
            f"  {row['exchange']:<18} {row['exchange_symbol']:<22} {row['symbol_id']:>20} "
            f"[{_iso_us(row['valid_from_ts_us'])}, {_iso_us(row['valid_until_ts_us'])}) "
            f"{attributes}\n"
        )


def _save_dim(lake: Lake, merge: Any, *, what: str, out: TextIO) -> tuple[int, int]:
    """Load dim_symbol, apply ``merge(dim) -> new dim``, save it (stale save: an error),
    print what changed and whether Silver must follow; ``(old, new)`` versions."""
    from pointline import dim_symbol  # noqa: PLC0415
    from pointline.dim_symbol.model import SORT_KEYS  # noqa: PLC0415

    store = lake.dim_symbol_store()
    version, dim = store.load()
    merged = merge(dim).sort_by(SORT_KEYS)
    if merged.equals(dim.sort_by(SORT_KEYS)):
        out.write(f"{what}: dim_symbol unchanged (version {version})\n")
        return version, version
    new_version = store.save(merged, expected_version=version)
    moved = dim_symbol.changed_keys(dim, merged)
    changed = _changed_symbols(dim, merged)
    text = (
        f"{what}: dim_symbol version {new_version} ({_count(merged.num_rows, 'window')}); "
        f"{_count(len(changed), 'symbol')} changed, {len(moved)} with new windows"
    )
    if len(changed) > len(moved):
        text += (
            f", {len(changed - moved)} with corrected attributes in the same windows "
            "(same symbol_ids)"
        )
    out.write(text + "\n")
    _follow_hint(lake, out)
    return version, new_version


def _changed_symbols(before: pa.Table, after: pa.Table) -> set[tuple[str, str]]:
    """The (exchange, exchange_symbol) keys with any row that differs (but for
    ``updated_at_ts_us``) between two dim_symbol tables."""
    names = [n for n in before.column_names if n != "updated_at_ts_us"]

    def rows(dim: pa.Table) -> set[tuple[Any, ...]]:
        return {tuple(r[n] for n in names) for r in dim.select(names).to_pylist()}

    at = names.index("exchange"), names.index("exchange_symbol")
    return {(str(r[at[0]]), str(r[at[1]])) for r in rows(before) ^ rows(after)}


def _follow_hint(lake: Lake, out: TextIO) -> None:
    """Say how many live files no longer agree with dim_symbol (and the fix)."""
    from pointline.refresh import disagreements  # noqa: PLC0415

    if not lake.manifest().entries():
        return
    stale = disagreements(lake).stale
    if stale:
        out.write(
            f"{len(stale)} ingested file(s) no longer agree with dim_symbol; run "
            "`pointline refresh` to re-derive them (`pointline verify` lists them)\n"
        )


def _cmd_dim_symbol(lake: Lake, args: argparse.Namespace, out: TextIO) -> int:
    from pointline import dim_symbol  # noqa: PLC0415

    store = lake.dim_symbol_store()
    if args.action in {"show", "history"}:
        version, dim = store.load()
        if args.action == "history":
            dim, problem = _history(lake, dim, args.exchange, args.symbol)
            if problem:
                sys.stderr.write(f"pointline dim-symbol history: {problem}\n")
                return EXIT_USAGE
        if args.json:
            for row in _display_rows(dim.combine_chunks().to_batches()[0]) if dim.num_rows else ():
                _print_json(row, out)
            return EXIT_OK
        out.write(f"dim_symbol version {version}: {_count(dim.num_rows, 'window')}\n")
        out.writelines(_window_lines(dim))
        return EXIT_OK
    if args.action == "import":
        imported = dim_symbol.read_dim_file(args.file)
        if args.replace:
            _save_dim(lake, lambda dim: imported, what=f"replaced by {args.file}", out=out)
        else:
            _save_dim(
                lake,
                lambda dim: dim_symbol.merge_windows(dim, imported),
                what=f"imported {imported.num_rows} windows from {args.file}",
                out=out,
            )
        return EXIT_OK
    if args.action == "import-tardis":
        from pointline.exchanges import TARDIS_EXCHANGES  # noqa: PLC0415
        from pointline.vendors.tardis_instruments import read_instruments  # noqa: PLC0415

        known = {*TARDIS_EXCHANGES, *lake.exchange_registry()}
        found = read_instruments(args.paths, exchanges=known)
        for note in found.notes:
            out.write(f"note: {note}\n")
        taken = found.instruments - found.skipped
        if not taken:
            sys.stderr.write(
                f"pointline dim-symbol import-tardis: no instrument to import in "
                f"{', '.join(args.paths)} ({_count(found.instruments, 'instrument')} read, "
                f"{found.skipped} skipped; see the notes above)\n"
            )
            return EXIT_USAGE
        _save_dim(
            lake,
            lambda dim: dim_symbol.merge_windows(dim, found.windows),
            what=(
                f"read {_count(found.instruments, 'Tardis instrument')}: {taken} imported "
                f"as {_count(found.windows.num_rows, 'window')}, {found.skipped} skipped"
            ),
            out=out,
        )
        return EXIT_OK
    result = bootstrap_dim_symbol(lake)
    for skipped in result.skipped:
        out.write(f"skipped {skipped}\n")
    text = (
        f"bootstrapped {_count(result.added, 'symbol')} from Bronze "
        f"({_count(result.read, 'file')} read, {_count(result.cached, 'file')} known from "
        f"earlier runs); dim_symbol version {result.version}"
    )
    if result.skipped:
        count = len(result.skipped)
        text += f"; {count} file{'s' if count != 1 else ''} skipped (listed above)"
    out.write(text + "\n")
    if result.added:
        _follow_hint(lake, out)
    return EXIT_OK


def _history(lake: Lake, dim: pa.Table, exchange: str, symbol: str) -> tuple[pa.Table, str]:
    """The windows of ``symbol`` on ``exchange``, found as written or under a vendor's
    symbol key (``XBT/USD`` -> ``XBT-USD``); else an empty table and why, with the
    closest names."""
    import difflib  # noqa: PLC0415

    import pyarrow.compute as pc  # noqa: PLC0415

    on_exchange = dim.filter(pc.equal(dim["exchange"], pa.scalar(exchange)))
    spellings = [symbol, *(vendor.symbol_key(symbol) for vendor in lake.vendors)]
    for spelling in dict.fromkeys(spellings):
        found = on_exchange.filter(pc.equal(on_exchange["exchange_symbol"], pa.scalar(spelling)))
        if found.num_rows:
            return found, ""
    if not on_exchange.num_rows:
        known = sorted({str(name) for name in dim["exchange"].to_pylist()})
        close = difflib.get_close_matches(exchange, known, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        return on_exchange, f"dim_symbol has no symbols on exchange {exchange!r}{hint}"
    names = sorted({str(name) for name in on_exchange["exchange_symbol"].to_pylist()})
    close = difflib.get_close_matches(spellings[-1], names, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return on_exchange.slice(0, 0), f"{exchange} has no symbol {symbol!r} in dim_symbol{hint}"


def _cmd_refresh(lake: Lake, args: argparse.Namespace, out: TextIO) -> int:
    from pointline.refresh import refresh  # noqa: PLC0415

    def announce(found: Any) -> None:
        if not args.json:
            out.write(f"re-deriving {found.describe()}\n")

    done = refresh(lake, on_file=announce)
    for result in done.results:
        row = result.to_dict()
        if args.json:
            _print_json(row, out)
        else:
            out.write(f"{result.bronze_path}: {_describe(row)}\n")
    if not args.json:
        out.write(
            f"refresh: {len(done.results)} file(s) re-derived under dim_symbol version "
            f"{done.version}; {done.confirmed} file(s) checked and found to agree; "
            f"{done.current} already derived with it\n"
        )
    bad = any(r.status in BAD_STATUSES for r in done.results)
    return EXIT_BAD_FILES if bad else EXIT_OK


def _cmd_repair(lake: Lake, args: argparse.Namespace, out: TextIO) -> int:
    from pointline.recovery import repair  # noqa: PLC0415

    results = repair(lake)
    for result in results:
        out.write(f"re-ingested {result.bronze_path}: {result.status}\n")
    busy = [e for e in lake.manifest().entries().values() if e.status == "pending"]
    for entry in busy:
        out.write(f"still pending (a live writer holds it): {entry.bronze_path}\n")
    state = "some files are still being written" if busy else "the lake is consistent"
    out.write(f"repair: {len(results)} crashed file(s) re-ingested; {state}\n")
    bad = any(r.status in {"failed", "quarantined"} for r in results)
    return EXIT_BAD_FILES if bad else EXIT_OK


def _cmd_verify(lake: Lake, args: argparse.Namespace, out: TextIO) -> int:
    from pointline.recovery import verify  # noqa: PLC0415

    problems = verify(lake)
    for problem in problems:
        out.write(f"{problem}\n")
    live = sum(e.status in {"success", "quarantined"} for e in lake.manifest().entries().values())
    out.write(f"verify: {live} live file(s) checked, {len(problems)} problem(s)\n")
    return EXIT_BAD_FILES if problems else EXIT_OK


def _cmd_demo(lake: Lake, args: argparse.Namespace, out: TextIO) -> int:
    from pointline.demo import run_demo  # noqa: PLC0415

    return run_demo(lake, out=out)


def _timestamp_us(text: str) -> int:
    """Integer microseconds since the epoch, or an ISO datetime (UTC when naive)."""
    stripped = text.strip()
    if stripped.lstrip("-").isdigit():
        return int(stripped)
    try:
        moment = datetime.datetime.fromisoformat(stripped)
    except ValueError as exc:
        msg = f"{text!r} is neither an ISO datetime nor integer microseconds"
        raise argparse.ArgumentTypeError(msg) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
    return (moment - epoch) // datetime.timedelta(microseconds=1)


def _decimals_as_text(batch: pa.RecordBatch) -> pa.RecordBatch:
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


def _display_rows(batch: pa.RecordBatch) -> Iterator[dict[str, Any]]:
    """The rows of a batch as Python values, decimals as exact text."""
    yield from _decimals_as_text(batch).to_pylist()


def _csv_value(value: Any) -> Any:
    if isinstance(value, list):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value


def _cmd_exchange(lake: Lake, args: argparse.Namespace, out: TextIO) -> int:
    from pointline.exchange_store import format_session_roll, parse_session_roll  # noqa: PLC0415
    from pointline.exchanges import DEFAULT_EXCHANGES, Exchange  # noqa: PLC0415

    store = lake.exchange_store()
    if args.action == "add":
        wanted = Exchange(
            name=args.name,
            timezone=args.timezone,
            session_roll=parse_session_roll(args.session_roll),
        )
        wrote = store.register(wanted)
        roll = format_session_roll(wanted.session_roll)
        what = f"{wanted.name}: {wanted.timezone}" + (f", session roll {roll}" if roll else "")
        out.write(f"{'registered' if wrote else 'already registered'} {what}\n")
        return EXIT_OK
    stored = store.registrations()
    names = sorted(set(stored) | (set(DEFAULT_EXCHANGES) if args.all else set()))
    for name in names:
        if name in stored:
            reg = stored[name]
            venue, source = reg.exchange, reg.source
        else:
            venue, source = DEFAULT_EXCHANGES.get(name), "built-in"  # type: ignore[assignment]
        roll = format_session_roll(venue.session_roll) or "-"
        out.write(f"{name:<28} {venue.timezone:<22} {roll:<6} {source}\n")
    if not names:
        out.write("no exchanges registered in this lake (built-ins: --all)\n")
    return EXIT_OK


def _cmd_read(lake: Lake, args: argparse.Namespace, out: TextIO) -> int:
    import csv  # noqa: PLC0415

    import pyarrow.parquet as pq  # noqa: PLC0415

    from pointline.reader import read  # noqa: PLC0415

    if args.format == "parquet" and not args.output:
        sys.stderr.write("pointline read: --format parquet needs --output FILE\n")
        return EXIT_USAGE
    reader = read(
        lake,
        args.table,
        exchange=args.exchange,
        symbols=args.symbol,
        start_us=args.start,
        end_us=args.end,
    )
    if args.format == "parquet":
        with pq.ParquetWriter(args.output, reader.schema) as parquet:
            for batch in reader:
                parquet.write_batch(batch)
        return EXIT_OK
    with contextlib.ExitStack() as stack:
        stream = (
            stack.enter_context(Path(args.output).open("w", encoding="utf-8", newline=""))
            if args.output
            else out
        )
        if args.format == "jsonl":
            for batch in reader:
                for row in _display_rows(batch):
                    _print_json(row, stream)
            return EXIT_OK
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(reader.schema.names)
        for batch in reader:
            for row in _display_rows(batch):
                writer.writerow([_csv_value(v) for v in row.values()])
    return EXIT_OK


def _add_root(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS: when not given after the command, the global --root stays in force.
    parser.add_argument(
        "--root", default=argparse.SUPPRESS, help="lake root (same as the global --root)"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pointline", description="Raw market-data files into replayable Parquet tables."
    )
    parser.add_argument(
        "--root", default=None, help="lake root (default: $POINTLINE_ROOT, else ./lake)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    ingest = commands.add_parser("ingest", help="ingest Bronze files or folders")
    ingest.add_argument(
        "paths", nargs="+", metavar="PATH", help="files or folders under ROOT/bronze"
    )
    ingest.add_argument("--vendor", help="vendor, if the path does not say")
    ingest.add_argument("--data-type", help="data type, if the path does not say")
    ingest.add_argument("--force", action="store_true", help="re-ingest successful files")
    ingest.add_argument("--dry-run", action="store_true", help="run everything, write nothing")
    ingest.add_argument(
        "--allow-duplicates",
        action="store_true",
        help="ingest a file even when the same bytes are live under another path",
    )
    ingest.add_argument("--json", action="store_true", help="one JSON object per file")
    _add_root(ingest)
    manifest = commands.add_parser("manifest", help="show the state of every file")
    manifest.add_argument("--json", action="store_true", help="one JSON object per file")
    _add_root(manifest)
    dim = commands.add_parser("dim-symbol", help="manage the symbol dimension")
    _add_root(dim)
    actions = dim.add_subparsers(dest="action", required=True, metavar="ACTION")
    imp = actions.add_parser(
        "import",
        help="merge a CSV or Parquet history: its windows replace those of the symbols it carries",
    )
    imp.add_argument(
        "file",
        metavar="FILE",
        help="columns exchange, exchange_symbol, valid_from_ts_us, valid_until_ts_us",
    )
    imp.add_argument(
        "--replace", action="store_true", help="replace the whole table instead of merging"
    )
    _add_root(imp)
    tardis = actions.add_parser(
        "import-tardis",
        help="merge Tardis instrument metadata (JSON saved from the instruments API)",
    )
    tardis.add_argument("paths", nargs="+", metavar="PATH", help="JSON files or folders of them")
    _add_root(tardis)
    _add_root(
        actions.add_parser(
            "bootstrap", help="give every symbol found in Bronze a window (valid from 0)"
        )
    )
    show = actions.add_parser("show", help="print the current dim_symbol")
    show.add_argument("--json", action="store_true", help="one JSON object per row")
    _add_root(show)
    history = actions.add_parser("history", help="print one symbol's windows")
    history.add_argument("exchange", metavar="EXCHANGE")
    history.add_argument("symbol", metavar="SYMBOL", help="exchange_symbol, e.g. ETH-USDT-SWAP")
    history.add_argument("--json", action="store_true", help="one JSON object per row")
    _add_root(history)
    refresh = commands.add_parser(
        "refresh", help="re-derive the ingested files that disagree with dim_symbol"
    )
    refresh.add_argument("--json", action="store_true", help="one JSON object per file")
    _add_root(refresh)
    _add_root(
        commands.add_parser(
            "repair", help="finish what crashed writers left (pending files, staging, locks)"
        )
    )
    _add_root(
        commands.add_parser(
            "verify", help="re-check every live file against its Bronze file and the disk"
        )
    )
    demo = commands.add_parser("demo", help="generate Bronze, ingest it, show what landed")
    _add_root(demo)
    exchange = commands.add_parser("exchange", help="exchange time zones stored in the lake")
    _add_root(exchange)
    ex_actions = exchange.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = ex_actions.add_parser(
        "add", help="register an exchange's time zone (and session roll) in the lake"
    )
    add.add_argument("name", metavar="NAME", help="exchange id as the vendor writes it")
    add.add_argument("--timezone", required=True, help="IANA zone, e.g. America/Chicago")
    add.add_argument("--session-roll", help="HH:MM local time at which the next trading day starts")
    _add_root(add)
    listing = ex_actions.add_parser("list", help="registered exchanges and where each zone is from")
    listing.add_argument("--all", action="store_true", help="also the built-in registry")
    _add_root(listing)
    rd = commands.add_parser("read", help="stream a table's rows in replay order")
    rd.add_argument("table", metavar="TABLE", help="table name, e.g. trades")
    rd.add_argument("--exchange", required=True, help="exchange id, e.g. binance-futures")
    rd.add_argument("--symbol", action="append", help="only this symbol (repeatable)")
    rd.add_argument("--start", type=_timestamp_us, help="ISO datetime (UTC if naive) or us")
    rd.add_argument("--end", type=_timestamp_us, help="exclusive; ISO datetime or us")
    rd.add_argument("--format", choices=("csv", "jsonl", "parquet"), default="csv")
    rd.add_argument("--output", help="write here instead of stdout (required for parquet)")
    _add_root(rd)
    return parser


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Run the CLI; returns the exit status. ``out`` replaces stdout (tests)."""
    stream = out or sys.stdout
    parser = _parser()
    try:
        with contextlib.redirect_stdout(stream):  # --help goes to ``out`` too
            args = parser.parse_args(argv)
    except SystemExit as exc:
        return EXIT_USAGE if exc.code else EXIT_OK
    root = args.root or os.environ.get("POINTLINE_ROOT") or "./lake"
    lake = Lake.at(root)
    handlers = {
        "ingest": _cmd_ingest,
        "manifest": _cmd_manifest,
        "dim-symbol": _cmd_dim_symbol,
        "demo": _cmd_demo,
        "repair": _cmd_repair,
        "verify": _cmd_verify,
        "refresh": _cmd_refresh,
        "read": _cmd_read,
        "exchange": _cmd_exchange,
    }
    name = args.command
    if args.command in {"dim-symbol", "exchange"}:
        name = f"{args.command} {args.action}"
    try:
        if args.command not in {"demo"} and lake.control_dir.is_dir():
            finished = finish_publishes(lake)  # what a crash left: finish it or remove it
            if finished:
                sys.stderr.write(
                    f"pointline: finished or removed {finished} unpublished output(s) a "
                    "crash left under _pointline/staging\n"
                )
        return handlers[args.command](lake, args, stream)
    except BrokenPipeError:
        raise
    except (PointlineError, OSError) as exc:
        sys.stderr.write(f"pointline {name}: {exc}\n")
        return EXIT_USAGE


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
