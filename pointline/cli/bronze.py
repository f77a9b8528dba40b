"""``pointline bronze import-quant360 ARCHIVE.7z...``: vendor archives into immutable
Bronze files (``pointline.archives`` with the Quant360 rules of
``pointline.vendors.quant360_archives``), one line per archive, a progress bar over each
archive's members."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, TextIO

from pointline.archives import (
    ArchiveResult,
    ArchiveStore,
    import_archive,
    require_py7zr,
    sweep_staging,
)
from pointline.cli.common import EXIT_BAD_FILES, EXIT_OK, add_root, count, print_json
from pointline.cli.progress import Progress
from pointline.lake import Lake
from pointline.vendors.quant360_archives import describe_archive

__all__ = ["describe", "register"]


def register(commands: Any) -> None:
    bronze = commands.add_parser("bronze", help="bring vendor deliveries into ROOT/bronze")
    add_root(bronze)
    actions = bronze.add_subparsers(dest="action", required=True, metavar="ACTION")
    quant360 = actions.add_parser(
        "import-quant360",
        help="Quant360 7z archives -> one gzipped Bronze CSV per symbol (needs pointline[cn])",
    )
    quant360.add_argument("archives", nargs="+", metavar="ARCHIVE", help="Quant360 .7z archives")
    quant360.add_argument("--json", action="store_true", help="one JSON object per archive")
    add_root(quant360)
    quant360.set_defaults(run=run_import_quant360, lake="optional")  # created once checked


def describe(result: ArchiveResult) -> str:
    """One archive's outcome: status, member counts, then why it failed and each
    refused or ignored member on its own line."""
    if result.status == "skipped":
        return f"skipped ({result.reason}: {result.message})" if result.reason else "skipped"
    text = (
        f"{result.status}: {result.published} published, {result.skipped} skipped, "
        f"{result.refused} refused, {result.ignored} ignored"
    )
    if result.status == "failed":
        text += f"\n    {result.reason}: {result.message}"
    for member in result.members:
        if member.outcome == "ignored":
            text += f"\n    ignored {member.member}: {member.message}"
        elif member.outcome == "refused" and result.refused > 1:
            text += f"\n    refused {member.member}: {member.message}"
    return text


class _Bars:
    """The progress bar over one archive's members, made once their number is known."""

    def __init__(self, label: str, *, enabled: bool) -> None:
        self.label = label
        self.enabled = enabled
        self.bar: Progress | None = None

    def on_member(self, done: int, total: int, member: str | None) -> None:
        if self.bar is None:
            shown = None if self.enabled else False
            self.bar = Progress(total=total, unit="member", label=self.label, enabled=shown)
        self.bar.set(done, member)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def run_import_quant360(lake: Lake, args: argparse.Namespace, out: TextIO) -> int:
    folders = [p for p in args.archives if Path(p).is_dir()]
    if folders:
        msg = f"{', '.join(folders)}: a folder; give the archive files (e.g. FOLDER/*.7z)"
        raise IsADirectoryError(msg)
    missing = [p for p in args.archives if not Path(p).is_file()]
    if missing:
        msg = f"no such archive file: {', '.join(missing)}"
        raise FileNotFoundError(msg)
    require_py7zr()
    lake.create()
    sweep_staging(lake)
    store = ArchiveStore(lake.archives_dir)
    counts: dict[str, int] = {}
    worst = EXIT_OK
    for path in args.archives:
        bars = _Bars(Path(path).name, enabled=not args.json)
        try:
            result = import_archive(
                lake, path, describe=describe_archive, store=store, on_member=bars.on_member
            )
        finally:
            bars.close()
        counts[result.status] = counts.get(result.status, 0) + 1
        if result.status == "failed":
            worst = EXIT_BAD_FILES
        if args.json:
            print_json(result.to_dict(), out)
            out.flush()
        else:
            out.write(f"{result.archive}: {describe(result)}\n")
    if not args.json:
        summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        out.write(f"{count(len(args.archives), 'archive')}: {summary}\n")
    return worst
