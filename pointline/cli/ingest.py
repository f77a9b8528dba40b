"""``pointline ingest PATH...``: Bronze files into Silver, one line per file, a summary with
the quarantined rows per reason and the likely fix, and a progress bar over the Bronze
bytes (compressed bytes read give the ETA)."""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from pointline.bronze import BronzeFileMetadata, walk_bronze
from pointline.cli.common import (
    BAD_STATUSES,
    EXIT_BAD_FILES,
    EXIT_OK,
    add_root,
    at_least,
    count,
    print_json,
)
from pointline.cli.progress import Progress
from pointline.codes import FILE_REASONS, ROW_REASON_FIXES, FileReason
from pointline.errors import PointlineError
from pointline.ingest import IngestionResult, ingest_file
from pointline.lake import Lake
from pointline.parallel import Runner, lost_result, shareable
from pointline.vendors import BadPathError, UnknownVendorError

__all__ = ["describe", "register"]

PATH_HINT = (
    "give --vendor and --data-type to ingest a file whose path does not say them "
    "(its exchange and date then come from the rows only)"
)
"""Shown under a file whose path follows no vendor's rules."""


def register(commands: Any) -> None:
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
    ingest.add_argument(
        "--workers",
        type=at_least(1),
        metavar="N",
        help="files ingested at once, each in its own process (default: one per core, at "
        "most one per GiB of memory; 1 = in this process, with per-row progress); with "
        "--ray: the CPUs of the local cluster, or the tasks in flight on a given one",
    )
    ingest.add_argument(
        "--ray",
        action="store_true",
        help="one Ray task per file (pip install 'pointline[ray]'); a local cluster unless "
        "--ray-address is given; every node must mount the lake at the same path",
    )
    ingest.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="the Ray cluster to use: 'auto' (the one this node belongs to), host:port or "
        "ray://host:port (implies --ray)",
    )
    add_root(ingest)
    ingest.set_defaults(run=run, lake="optional")  # created once the paths are checked


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
    row.update(file_id=None, table_name=None, hint=None)
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


def hint(row: dict[str, Any]) -> str | None:
    """The likely fix when most of a file's rows went aside for one reason."""
    reasons: dict[str, int] = row.get("quarantine_reasons") or {}
    total = row.get("rows_total") or 0
    for reason, rows in reasons.items():
        if total and rows * 2 > total and reason in ROW_REASON_FIXES:
            return ROW_REASON_FIXES[reason]  # type: ignore[index]
    return None


def describe(row: dict[str, Any]) -> str:
    """One file's outcome; a skipped file in one line, with why it was skipped."""
    if row.get("skipped"):
        reason = row.get("status_reason")
        if reason is None or row.get("status") == "success":
            return "skipped (already ingested)"
        why = row.get("error_message") or FILE_REASONS.get(reason, "").removeprefix("skipped: ")
        return f"skipped ({reason}: {why})" if why else f"skipped ({reason})"
    verb = "would be " if row.get("dry_run") else ""
    text = (
        f"{row['status']}: {row['rows_total']} rows, {row['rows_written']} {verb}written, "
        f"{row['rows_quarantined']} {verb}quarantined"
    )
    reasons = row.get("quarantine_reasons") or {}
    if reasons:
        text += " (" + ", ".join(f"{reason} {n}" for reason, n in reasons.items()) + ")"
    if row.get("dry_run"):
        text += " (dry run: nothing written)"
    if row.get("error_message"):
        text += f"\n    {row['status_reason']}: {row['error_message']}"
    fix = hint(row)
    if fix:
        text += f"\n    hint: {fix}"
    return text


@dataclass(frozen=True, slots=True)
class _Options:
    """What one ``pointline ingest`` run asks of every file (picklable, for workers)."""

    vendor: str | None
    data_type: str | None
    force: bool
    dry_run: bool
    allow_duplicates: bool

    def metadata(self, lake: Lake, path: Path) -> BronzeFileMetadata:
        """The Bronze file at ``path`` as this run reads it (``--vendor``,
        ``--data-type``)."""
        return BronzeFileMetadata.from_path(
            path,
            bronze_root=lake.bronze_root,
            vendor=self.vendor,
            data_type=self.data_type,
            vendors=lake.vendors,
        )


def _ingest_one(
    where: Lake | str,
    path: Path,
    options: _Options,
    given: bool,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[dict[str, Any], str]:
    """One file: its result row and the line that describes it. ``where`` is the lake,
    or its root in a worker process (which opens it with the default registries)."""
    lake = Lake.at(where)
    try:
        meta = options.metadata(lake, path)
        row = ingest_file(
            meta,
            lake=lake,
            force=options.force,
            dry_run=options.dry_run,
            allow_duplicates=options.allow_duplicates,
            progress=progress,
        ).to_dict()
        row["hint"] = hint(row)
        return row, describe(row)
    except (PointlineError, OSError) as exc:
        unrecognised = isinstance(exc, (BadPathError, UnknownVendorError))
        row = _failed_row(path, exc, lake.bronze_root)
        if unrecognised and not given and not options.vendor:
            # A file in a folder that no vendor's rules read (a README.txt): reported and
            # skipped, not a failure of the run.
            row.update(status="skipped", skipped=True)
            why = exc.message if isinstance(exc, PointlineError) else str(exc)
            return row, f"skipped, not a Bronze file Pointline recognises: {why}"
        return row, _not_ingested(exc, row["status_reason"], hint=unrecognised)


def _lost(
    lake: Lake, path: Path, options: _Options, exc: BaseException
) -> tuple[dict[str, Any], str]:
    """The row and line of a file whose worker process died past the retries."""
    try:
        meta = options.metadata(lake, path)
    except (PointlineError, OSError):
        row = _failed_row(path, exc, lake.bronze_root)
    else:
        row = lost_result(lake, meta, exc).to_dict()
    row["hint"] = None
    return row, describe(row)


class _RunProgress:
    """The run's bar: the Bronze bytes of finished files plus what each running file has
    consumed (``ingest_file``'s progress, from this process or the workers)."""

    def __init__(self, bar: Progress, sizes: list[int]) -> None:
        self._bar, self._sizes = bar, sizes
        self._running: dict[int, tuple[int, int]] = {}  # index -> (rows, bytes)
        self._finished: set[int] = set()
        self._bytes = self._rows = 0

    def __call__(self, index: int, rows: int, done: int) -> None:
        if index not in self._finished:
            self._running[index] = (rows, min(done, self._sizes[index]))
            self._show()

    def finished(self, index: int, rows: int) -> None:
        self._running.pop(index, None)
        self._finished.add(index)
        self._bytes += self._sizes[index]
        self._rows += rows
        self._show()

    def _show(self) -> None:
        running = self._running
        rows = self._rows + sum(r for r, _ in running.values())
        n = len(self._sizes)
        if len(running) == 1:
            files = f"file {next(iter(running)) + 1}/{n}"
        else:
            files = f"{len(self._finished)}/{n} files done, {len(running)} running"
        done = self._bytes + sum(b for _, b in running.values())
        self._bar.set(done, f"{rows:,} rows, {files}")


def _outside(lake: Lake, paths: list[str]) -> list[str]:
    """The given paths that do not lie under ``ROOT/bronze`` (symlinks resolved)."""
    root = lake.bronze_root.resolve()
    return [p for p in paths if not Path(p).resolve().is_relative_to(root)]


def run(lake: Lake, args: argparse.Namespace, out: TextIO) -> int:
    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        msg = f"no such file or folder: {', '.join(missing)}"
        raise FileNotFoundError(msg)
    outside = _outside(lake, args.paths)
    if outside:
        msg = (
            f"{', '.join(outside)} {'is' if len(outside) == 1 else 'are'} not under the lake's "
            f"Bronze folder {lake.bronze_root}: Pointline ingests only files under "
            f"ROOT/bronze/<vendor>/ (copy or move them there, or give --root the lake "
            f"whose bronze/ holds them)"
        )
        raise FileNotFoundError(msg)
    if not args.dry_run:
        lake.create()
    given = {Path(p).resolve() for p in args.paths if Path(p).is_file()}
    files = list(walk_bronze(args.paths))
    if not files:
        out.write(f"no files under {', '.join(args.paths)}\n")
        return EXIT_OK
    worst = EXIT_OK
    counts: dict[str, int] = {}
    reasons: dict[str, int] = {}
    sizes = [path.stat().st_size for path in files]
    with Progress(
        total=sum(sizes), unit="B", label="ingest", enabled=None if not args.json else False
    ) as bar:
        options = _Options(
            vendor=args.vendor,
            data_type=args.data_type,
            force=args.force,
            dry_run=args.dry_run,
            allow_duplicates=args.allow_duplicates,
        )
        runner = Runner(workers=args.workers, ray=args.ray, ray_address=args.ray_address)
        if not shareable(lake):
            runner = Runner(workers=1)  # registries given in Python do not cross processes
        shown_progress = _RunProgress(bar, sizes) if bar.enabled else None
        outcomes = runner.map(
            functools.partial(_ingest_one, lake if runner.in_process(files) else str(lake.root)),
            files,
            [options] * len(files),
            [path.resolve() in given for path in files],
            lost=lambda i, exc: _lost(lake, files[i], options, exc),
            progress=shown_progress,
        )
        for index, (path, (row, text)) in enumerate(zip(files, outcomes, strict=True)):
            shown = _shown_path(path, lake.bronze_root)
            if shown_progress is not None:
                shown_progress.finished(index, row.get("rows_total") or 0)
            if row["status"] in BAD_STATUSES:
                worst = EXIT_BAD_FILES
            key = "skipped" if row["skipped"] else str(row["status"])
            counts[key] = counts.get(key, 0) + 1
            for reason, n in (row.get("quarantine_reasons") or {}).items():
                reasons[reason] = reasons.get(reason, 0) + n
            if args.json:
                print_json(row, out)
                out.flush()
            else:
                bar.write(out, f"{shown}: {text}\n")
    if not args.json:
        summary = ", ".join(f"{n} {key}" for key, n in sorted(counts.items()))
        out.write(f"{count(len(files), 'file')}: {summary}\n")
        if reasons:
            by_reason = ", ".join(
                f"{reason} {n}" for reason, n in sorted(reasons.items(), key=lambda i: -i[1])
            )
            out.write(
                f"quarantined rows by reason: {by_reason} (`pointline quarantine` lists them)\n"
            )
    return worst
