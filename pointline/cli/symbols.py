"""Commands on the symbol dimension: ``dim-symbol import | import-tardis | import-tushare |
bootstrap | show | history`` and ``refresh`` (Silver follows dim_symbol)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TextIO

import pyarrow as pa

from pointline.bootstrap import bootstrap_dim_symbol
from pointline.cli.common import (
    BAD_STATUSES,
    EXIT_BAD_FILES,
    EXIT_OK,
    EXIT_USAGE,
    add_format,
    add_root,
    count,
    display_rows,
    iso_us,
    print_json,
    write_rows,
)
from pointline.cli.ingest import describe
from pointline.cli.progress import Progress
from pointline.lake import Lake

__all__ = ["register"]


def register(commands: Any) -> None:
    dim = commands.add_parser("dim-symbol", help="manage the symbol dimension")
    add_root(dim)
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
    add_root(imp)
    imp.set_defaults(lake="create")
    tardis = actions.add_parser(
        "import-tardis",
        help="merge Tardis instrument metadata (JSON saved from the instruments API)",
    )
    tardis.add_argument("paths", nargs="+", metavar="PATH", help="JSON files or folders of them")
    add_root(tardis)
    tardis.set_defaults(lake="create")
    tushare = actions.add_parser(
        "import-tushare",
        help="sync the SSE and SZSE listings of a Tushare stock_basic CSV (docs/cn.md section 6)",
    )
    tushare.add_argument(
        "file", metavar="FILE", help="CSV of pro.stock_basic (list_status L, D and P)"
    )
    tushare.add_argument(
        "--json", action="store_true", help="one JSON object with the counts (notes included)"
    )
    add_root(tushare)
    tushare.set_defaults(lake="create")
    boot = actions.add_parser(
        "bootstrap", help="give every symbol found in Bronze a window (valid from 0)"
    )
    add_root(boot)
    boot.set_defaults(lake="create")
    show = actions.add_parser("show", help="print the current dim_symbol")
    add_format(show)
    add_root(show)
    show.set_defaults(lake="require")
    history = actions.add_parser("history", help="print one symbol's windows")
    history.add_argument("exchange", metavar="EXCHANGE")
    history.add_argument("symbol", metavar="SYMBOL", help="exchange_symbol, e.g. ETH-USDT-SWAP")
    add_format(history)
    add_root(history)
    history.set_defaults(lake="require")
    dim.set_defaults(run=run_dim_symbol)
    refresh = commands.add_parser(
        "refresh", help="re-derive the ingested files that disagree with dim_symbol"
    )
    refresh.add_argument("--json", action="store_true", help="one JSON object per file")
    add_root(refresh)
    refresh.set_defaults(run=run_refresh, lake="require")


def _window_lines(dim: pa.Table) -> Iterator[str]:
    """One line per dim_symbol window: key, id, ISO window, the tracked attributes."""
    for row in display_rows(dim.combine_chunks().to_batches()[0]) if dim.num_rows else ():
        if row["expiry_ts_us"] is not None:
            row["expiry_ts_us"] = iso_us(row["expiry_ts_us"])
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
            f"[{iso_us(row['valid_from_ts_us'])}, {iso_us(row['valid_until_ts_us'])}) "
            f"{attributes}\n"
        )


@dataclass(frozen=True, slots=True)
class _Saved:
    """What one dim_symbol change did: versions before and after (equal: unchanged),
    windows after, symbols with any changed row, symbols with new windows (start, end or
    id), and ingested files that no longer agree (0 when unchanged or nothing ingested)."""

    old: int
    new: int
    windows: int
    changed: int
    moved: int
    stale: int


def _apply_dim(lake: Lake, merge: Any) -> _Saved:
    """Load dim_symbol, apply ``merge(dim) -> new dim`` and save it if it changed (a stale
    save is an error)."""
    from pointline import dim_symbol  # noqa: PLC0415
    from pointline.dim_symbol.model import SORT_KEYS  # noqa: PLC0415

    store = lake.dim_symbol_store()
    version, dim = store.load()
    merged = merge(dim).sort_by(SORT_KEYS)
    if merged.equals(dim.sort_by(SORT_KEYS)):
        return _Saved(version, version, merged.num_rows, 0, 0, 0)
    new_version = store.save(merged, expected_version=version)
    moved = dim_symbol.changed_keys(dim, merged)
    changed = _changed_symbols(dim, merged)
    return _Saved(
        version, new_version, merged.num_rows, len(changed), len(moved), _stale_files(lake)
    )


def _report_saved(saved: _Saved, *, what: str, out: TextIO) -> None:
    """Print what a change did and whether Silver must follow."""
    if saved.new == saved.old:
        out.write(f"{what}: dim_symbol unchanged (version {saved.old})\n")
        return
    text = (
        f"{what}: dim_symbol version {saved.new} ({count(saved.windows, 'window')}); "
        f"{count(saved.changed, 'symbol')} changed, {saved.moved} with new windows"
    )
    if saved.changed > saved.moved:
        text += (
            f", {saved.changed - saved.moved} with corrected attributes in the same windows "
            "(same symbol_ids)"
        )
    out.write(text + "\n")
    _stale_hint(saved.stale, out)


def _save_dim(lake: Lake, merge: Any, *, what: str, out: TextIO) -> tuple[int, int]:
    """Load dim_symbol, apply ``merge(dim) -> new dim``, save it (stale save: an error),
    print what changed and whether Silver must follow; ``(old, new)`` versions."""
    saved = _apply_dim(lake, merge)
    _report_saved(saved, what=what, out=out)
    return saved.old, saved.new


def _changed_symbols(before: pa.Table, after: pa.Table) -> set[tuple[str, str]]:
    """The (exchange, exchange_symbol) keys with any row that differs (but for
    ``updated_at_ts_us``) between two dim_symbol tables."""
    names = [n for n in before.column_names if n != "updated_at_ts_us"]

    def rows(dim: pa.Table) -> set[tuple[Any, ...]]:
        return {tuple(r[n] for n in names) for r in dim.select(names).to_pylist()}

    at = names.index("exchange"), names.index("exchange_symbol")
    return {(str(r[at[0]]), str(r[at[1]])) for r in rows(before) ^ rows(after)}


def _stale_files(lake: Lake) -> int:
    """How many live files no longer agree with dim_symbol (0 when nothing is ingested)."""
    from pointline.refresh import disagreements  # noqa: PLC0415

    if not lake.manifest().entries():
        return 0
    return len(disagreements(lake).stale)


def _stale_hint(stale: int, out: TextIO) -> None:
    if stale:
        out.write(
            f"{stale} ingested file(s) no longer agree with dim_symbol; run "
            "`pointline refresh` to re-derive them (`pointline verify` lists them)\n"
        )


def _follow_hint(lake: Lake, out: TextIO) -> None:
    """Say how many live files no longer agree with dim_symbol (and the fix)."""
    _stale_hint(_stale_files(lake), out)


def run_dim_symbol(lake: Lake, args: argparse.Namespace, out: TextIO) -> int:
    from pointline import dim_symbol  # noqa: PLC0415

    store = lake.dim_symbol_store()
    if args.action in {"show", "history"}:
        version, dim = store.load()
        if args.action == "history":
            dim, problem = _history(lake, dim, args.exchange, args.symbol)
            if problem:
                sys.stderr.write(f"pointline dim-symbol history: {problem}\n")
                return EXIT_USAGE
        if args.format != "table":
            rows = list(display_rows(dim.combine_chunks().to_batches()[0])) if dim.num_rows else []
            write_rows(rows, dim.column_names, args.format, out)
            return EXIT_OK
        out.write(f"dim_symbol version {version}: {count(dim.num_rows, 'window')}\n")
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
                f"{', '.join(args.paths)} ({count(found.instruments, 'instrument')} read, "
                f"{found.skipped} skipped; see the notes above)\n"
            )
            return EXIT_USAGE
        _save_dim(
            lake,
            lambda dim: dim_symbol.merge_windows(dim, found.windows),
            what=(
                f"read {count(found.instruments, 'Tardis instrument')}: {taken} imported "
                f"as {count(found.windows.num_rows, 'window')}, {found.skipped} skipped"
            ),
            out=out,
        )
        return EXIT_OK
    if args.action == "import-tushare":
        return _import_tushare(lake, args.file, as_json=args.json, out=out)
    with Progress(total=None, unit="file", label="bootstrap") as bar:
        result = bootstrap_dim_symbol(lake, on_file=lambda path, size: bar.advance(1, path[-40:]))
    for skipped in result.skipped:
        out.write(f"skipped {skipped}\n")
    text = (
        f"bootstrapped {count(result.added, 'symbol')} from Bronze "
        f"({count(result.read, 'file')} read, {count(result.cached, 'file')} known from "
        f"earlier runs); dim_symbol version {result.version}"
    )
    if result.skipped:
        text += f"; {count(len(result.skipped), 'file')} skipped (listed above)"
    out.write(text + "\n")
    if result.added:
        _follow_hint(lake, out)
    return EXIT_OK


def _import_tushare(lake: Lake, file: str, *, as_json: bool, out: TextIO) -> int:
    """``dim-symbol import-tushare FILE``: the windows of the kept rows replace those of
    their exchanges (a listing the file no longer carries leaves dim_symbol)."""
    from pointline import dim_symbol  # noqa: PLC0415
    from pointline.vendors.tushare import read_stock_basic  # noqa: PLC0415

    found = read_stock_basic(file)
    exchanges = sorted(found.exchanges)
    drops = ", ".join(f"{reason} {n}" for reason, n in found.dropped.items() if n) or "none"
    read = (
        f"read {count(found.rows, 'row')} of Tushare stock_basic {file}: {found.kept} kept, "
        f"dropped: {drops}"
    )
    if not found.kept:
        for note in found.notes:
            sys.stderr.write(f"note: {note}\n")
        sys.stderr.write(
            f"pointline dim-symbol import-tushare: no SSE or SZSE listing to import in {file} "
            f"({read}); dim_symbol unchanged\n"
        )
        return EXIT_USAGE
    saved = _apply_dim(
        lake,
        lambda dim: dim_symbol.merge_windows(dim, found.windows, exchanges=exchanges),
    )
    if as_json:
        print_json(
            {
                "file": file,
                "rows": found.rows,
                "kept": found.kept,
                "dropped": found.dropped,
                "notes": list(found.notes),
                "exchanges": exchanges,
                "windows_imported": found.windows.num_rows,
                "dim_symbol_version_before": saved.old,
                "dim_symbol_version": saved.new,
                "dim_symbol_windows": saved.windows,
                "symbols_changed": saved.changed,
                "symbols_with_new_windows": saved.moved,
                "stale_files": saved.stale,
            },
            out,
        )
        _stale_hint(saved.stale, sys.stderr)
        return EXIT_OK
    for note in found.notes:
        out.write(f"note: {note}\n")
    out.write(read + "\n")
    _report_saved(
        saved,
        what=f"synced {', '.join(exchanges)} as {count(found.windows.num_rows, 'window')}",
        out=out,
    )
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


def run_refresh(lake: Lake, args: argparse.Namespace, out: TextIO) -> int:
    from pointline.refresh import refresh  # noqa: PLC0415

    def announce(found: Any) -> None:
        if not args.json:
            out.write(f"re-deriving {found.describe()}\n")

    done = refresh(lake, on_file=announce)
    for result in done.results:
        row = result.to_dict()
        if args.json:
            print_json(row, out)
        else:
            out.write(f"{result.bronze_path}: {describe(row)}\n")
    if not args.json:
        out.write(
            f"refresh: {len(done.results)} file(s) re-derived under dim_symbol version "
            f"{done.version}; {done.confirmed} file(s) checked and found to agree; "
            f"{done.current} already derived with it\n"
        )
    bad = any(r.status in BAD_STATUSES for r in done.results)
    return EXIT_BAD_FILES if bad else EXIT_OK
