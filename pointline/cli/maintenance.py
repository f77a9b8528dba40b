"""Commands that look after a lake: ``repair``, ``verify``, ``exchange add | list`` and
``demo``."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from pointline.cli.common import EXIT_BAD_FILES, EXIT_OK, add_format, add_root, count, write_rows
from pointline.cli.progress import Progress
from pointline.lake import Lake

__all__ = ["register"]


def register(commands: Any) -> None:
    repair = commands.add_parser(
        "repair", help="finish what crashed writers left (pending files, staging, locks)"
    )
    add_root(repair)
    repair.set_defaults(run=run_repair, lake="require")
    verify = commands.add_parser(
        "verify", help="re-check every live file against its Bronze file, the disk and dim_symbol"
    )
    add_root(verify)
    verify.set_defaults(run=run_verify, lake="require")
    demo = commands.add_parser("demo", help="generate Bronze, ingest it, show what landed")
    add_root(demo)
    demo.set_defaults(run=run_demo_command, lake="none")
    exchange = commands.add_parser("exchange", help="exchange time zones stored in the lake")
    add_root(exchange)
    ex_actions = exchange.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = ex_actions.add_parser(
        "add", help="register an exchange's time zone (and session roll) in the lake"
    )
    add.add_argument("name", metavar="NAME", help="exchange id as the vendor writes it")
    add.add_argument("--timezone", required=True, help="IANA zone, e.g. America/Chicago")
    add.add_argument("--session-roll", help="HH:MM local time at which the next trading day starts")
    add_root(add)
    add.set_defaults(lake="create")
    listing = ex_actions.add_parser("list", help="registered exchanges and where each zone is from")
    listing.add_argument("--all", action="store_true", help="also the built-in registry")
    add_format(listing)
    add_root(listing)
    listing.set_defaults(lake="optional")
    exchange.set_defaults(run=run_exchange)


def run_repair(lake: Lake, args: argparse.Namespace, out: TextIO) -> int:
    from pointline.recovery import damaged, repair  # noqa: PLC0415
    from pointline.refresh import disagreements  # noqa: PLC0415

    with Progress(total=None, unit="file", label="repair") as bar:
        results = repair(lake, on_file=lambda entry: bar.advance(1, entry.bronze_path))
    for result in results:
        out.write(f"re-ingested {result.bronze_path}: {result.status}\n")
    entries = lake.manifest().entries().values()
    left = [
        f"{entry.bronze_path}: still pending (a live writer holds it)"
        for entry in entries
        if entry.status == "pending"
    ]
    left.extend(
        f"{entry.bronze_path}: Silver files are missing and its Bronze file is gone or "
        "changed: ingest the Bronze file again"
        for entry in entries
        if entry.status in {"success", "quarantined"} and damaged(lake, entry)
    )
    stale = disagreements(lake).stale
    if stale:
        left.append(
            f"{count(len(stale), 'file')} disagree with dim_symbol: run `pointline refresh`"
        )
    out.writelines(f"left: {line}\n" for line in left)
    state = "; see what is left above" if left else "; `pointline verify` should be clean"
    out.write(f"repair: {count(len(results), 'file')} re-ingested{state}\n")
    bad = any(r.status in {"failed", "quarantined"} for r in results) or bool(left)
    return EXIT_BAD_FILES if bad else EXIT_OK


def run_verify(lake: Lake, args: argparse.Namespace, out: TextIO) -> int:
    from pointline.recovery import verify  # noqa: PLC0415

    live = sum(e.status in {"success", "quarantined"} for e in lake.manifest().entries().values())
    with Progress(total=live, unit="file", label="verify") as bar:
        problems = verify(lake, on_file=lambda entry: bar.advance(1, entry.bronze_path[-40:]))
    for problem in problems:
        out.write(f"{problem}\n")
    hint = (
        " (`pointline repair` re-derives missing or unreadable Silver files, `pointline "
        "refresh` files that disagree with dim_symbol, `pointline ingest` a changed Bronze "
        "file)"
        if problems
        else ""
    )
    out.write(
        f"verify: {count(live, 'live file')} checked, {count(len(problems), 'problem')}{hint}\n"
    )
    return EXIT_BAD_FILES if problems else EXIT_OK


def run_demo_command(lake: Lake, args: argparse.Namespace, out: TextIO) -> int:
    from pointline.demo import run_demo  # noqa: PLC0415

    return run_demo(lake, out=out)


def run_exchange(lake: Lake, args: argparse.Namespace, out: TextIO) -> int:
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
    stored = store.registrations() if lake.exists() else {}
    every = args.all or not lake.exists()  # no lake: the built-ins are all there is
    names = sorted(set(stored) | (set(DEFAULT_EXCHANGES) if every else set()))
    rows = []
    for name in names:
        if name in stored:
            reg = stored[name]
            venue, source = reg.exchange, reg.source
        else:
            venue, source = DEFAULT_EXCHANGES.get(name), "built-in"  # type: ignore[assignment]
        roll = format_session_roll(venue.session_roll)
        rows.append({"exchange": name, "timezone": venue.timezone, "session_roll": roll,
                     "source": source})  # fmt: skip
    if not rows and args.format == "table":
        out.write("no exchanges registered in this lake (built-ins: --all)\n")
        return EXIT_OK
    write_rows(rows, ("exchange", "timezone", "session_roll", "source"), args.format, out)
    return EXIT_OK
