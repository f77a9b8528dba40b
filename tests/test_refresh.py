"""Silver follows dim_symbol: backfills stay covered, verify flags files a dim_symbol change
made stale, refresh re-derives exactly those, byte-identical to a fresh lake."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from conftest import silver_digests

from pointline import Lake, dim_symbol, read
from pointline.bootstrap import bootstrap_dim_symbol
from pointline.bronze import BronzeFileMetadata, walk_bronze
from pointline.cli import main
from pointline.ingest import ingest_file
from pointline.recovery import verify
from pointline.refresh import disagreements, refresh

TRADES = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount"
QUOTES = "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount"
DAY = 86_400_000_000
MAY1 = 1_714_521_600_000_000  # 2024-05-01T00:00:00Z
MAY2 = MAY1 + DAY
HOUR = 3_600_000_000


def put(lake: Lake, name: str, text: str) -> Path:
    path = lake.bronze_root / "tardis" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def trades(exchange: str, symbol: str, *times: int) -> str:
    rows = [f"{exchange},{symbol},{t},{t + 1},{i},buy,100.5,0.25" for i, t in enumerate(times)]
    return "\n".join([TRADES, *rows]) + "\n"


def ingest_path(lake: Lake, path: Path) -> str:
    meta = BronzeFileMetadata.from_path(path, bronze_root=lake.bronze_root, vendors=lake.vendors)
    return ingest_file(meta, lake=lake).status


def ingest_all(lake: Lake) -> list[str]:
    return [ingest_path(lake, path) for path in walk_bronze([lake.bronze_root])]


def windows(*rows: tuple[str, str, int, int]) -> pa.Table:
    """dim_symbol rows for ``(exchange, symbol, valid_from, valid_until)`` windows."""
    table = pa.table(
        {
            "exchange": [r[0] for r in rows],
            "exchange_symbol": [r[1] for r in rows],
            "valid_from_ts_us": pa.array([r[2] for r in rows], pa.int64()),
            "valid_until_ts_us": pa.array([r[3] for r in rows], pa.int64()),
        }
    )
    attrs = dim_symbol.coerce.normalise_snapshot(
        table.select(["exchange", "exchange_symbol"]), source="test"
    )
    return dim_symbol.scd2.assemble(
        attrs,
        valid_from=table["valid_from_ts_us"],
        valid_until=table["valid_until_ts_us"],
        updated_at=1,
    )


def apply(lake: Lake, new: pa.Table) -> int:
    """Merge ``new`` (scope: the symbols it carries) into the lake's dim_symbol; save."""
    store = lake.dim_symbol_store()
    version, dim = store.load()
    return store.save(dim_symbol.merge_windows(dim, new), expected_version=version)


# ----------------------------------------------------------------------- backfills


def test_a_backfilled_day_lands_under_the_same_symbol_id(tmp_path: Path) -> None:
    """The issue's example: bybit ETHUSDT trades of 2024-05-02, then of 2024-05-01."""
    lake = Lake(tmp_path)
    later = put(
        lake, "bybit_trades_2024-05-02_ETHUSDT.csv", trades("bybit", "ETHUSDT", MAY2 + 5, MAY2 + 9)
    )
    assert bootstrap_dim_symbol(lake) == (1, 1)
    assert ingest_path(lake, later) == "success"
    earlier = put(
        lake, "bybit_trades_2024-05-01_ETHUSDT.csv", trades("bybit", "ETHUSDT", MAY1 + 3, MAY1 + 7)
    )
    again = bootstrap_dim_symbol(lake)
    assert again == (0, 1)  # the symbol is known and its window opens at 0: nothing to add
    assert (again.read, again.cached) == (1, 1)  # the earlier file was not read again
    meta = BronzeFileMetadata.from_path(earlier, bronze_root=lake.bronze_root)
    result = ingest_file(meta, lake=lake)
    assert (result.status, result.rows_written, result.rows_quarantined) == ("success", 2, 0)

    rows = read(lake, "trades", exchange="bybit", columns=["symbol_id", "ts_event_us"])
    got = rows.read_all().to_pylist()
    assert [r["ts_event_us"] for r in got] == [MAY1 + 3, MAY1 + 7, MAY2 + 5, MAY2 + 9]
    assert {r["symbol_id"] for r in got} == {dim_symbol.symbol_id("bybit", "ETHUSDT", 0)}
    assert verify(lake) == []


def test_a_data_type_whose_rows_start_earlier_is_covered(tmp_path: Path) -> None:
    """Trades bootstrapped first; the book's quotes of the same symbol start earlier."""
    lake = Lake(tmp_path)
    put(lake, "binance_trades_2024-05-01_BTCUSDT.csv", trades("binance", "BTCUSDT", MAY1 + HOUR))
    assert bootstrap_dim_symbol(lake) == (1, 1)
    quotes = f"{QUOTES}\nbinance,BTCUSDT,{MAY1},{MAY1 + 1},1,101,100,2\n"
    put(lake, "binance_quotes_2024-05-01_BTCUSDT.csv", quotes)
    assert bootstrap_dim_symbol(lake) == (0, 1)
    assert ingest_all(lake) == ["success", "success"]
    assert verify(lake) == []


# --------------------------------------------------------------- verify and refresh


def make_lake(root: Path) -> Lake:
    """Three symbols on two days, bootstrapped, ingested."""
    lake = Lake(root)
    for symbol in ("BTCUSDT", "ETHUSDT", "SOLUSDT"):
        for day, start in (("2024-05-01", MAY1), ("2024-05-02", MAY2)):
            times = [start + h * HOUR for h in (1, 6, 12, 18)]
            put(lake, f"binance_trades_{day}_{symbol}.csv", trades("binance", symbol, *times))
    bootstrap_dim_symbol(lake)
    assert set(ingest_all(lake)) == {"success"}
    return lake


def test_refresh_re_derives_only_the_files_a_change_touches(tmp_path: Path) -> None:
    lake = make_lake(tmp_path / "lake")
    assert verify(lake) == []
    # ETHUSDT: the tick size changed at noon on May 2 (a vendor window split).
    apply(
        lake,
        windows(
            ("binance", "ETHUSDT", 0, MAY2 + 12 * HOUR),
            ("binance", "ETHUSDT", MAY2 + 12 * HOUR, dim_symbol.OPEN_END_TS_US),
        ),
    )
    check = disagreements(lake)
    version, stale, outdated = check.version, check.stale, check.agreeing
    assert version == 2
    assert check.current == 0
    assert [s.entry.bronze_path for s in stale] == ["tardis/binance_trades_2024-05-02_ETHUSDT.csv"]
    assert (stale[0].wrong_ids, stale[0].uncovered, stale[0].now_covered) == (2, 0, 0)
    assert len(outdated) == 5
    problems = verify(lake)
    assert len(problems) == 1
    assert "2 row(s) carry a symbol_id that is not their window's" in problems[0]
    assert "run `pointline refresh`" in problems[0]

    done = refresh(lake)
    assert [r.bronze_path for r in done.results] == ["tardis/binance_trades_2024-05-02_ETHUSDT.csv"]
    assert [r.status for r in done.results] == ["success"]
    assert done.confirmed == 5
    assert verify(lake) == []
    entries = lake.manifest().entries().values()
    assert {e.dim_symbol_version for e in entries} == {2}
    again = refresh(lake)  # nothing left: every file is recorded at the current version
    assert (again.stale, again.results, again.confirmed, again.current) == ((), (), 0, 6)

    got = read(lake, "trades", exchange="binance", symbols=["ETHUSDT"]).read_all()
    first, second = (dim_symbol.symbol_id("binance", "ETHUSDT", t) for t in (0, MAY2 + 12 * HOUR))
    assert got["symbol_id"].to_pylist() == [first] * 6 + [second] * 2  # one id per window
    times = got["ts_event_us"].to_pylist()
    assert times == sorted(times)  # a symbol with two windows still replays in time order


def test_refresh_matches_a_fresh_lake_byte_for_byte(tmp_path: Path) -> None:
    lake = make_lake(tmp_path / "lake")
    # Vendor windows replace BTCUSDT's bootstrap window: listed at 06:00 May 1 (rows
    # before it are quarantined), split at 12:00 May 2; SOLUSDT delisted on May 2.
    apply(
        lake,
        windows(
            ("binance", "BTCUSDT", MAY1 + 6 * HOUR, MAY2 + 12 * HOUR),
            ("binance", "BTCUSDT", MAY2 + 12 * HOUR, dim_symbol.OPEN_END_TS_US),
            ("binance", "SOLUSDT", 0, MAY2),
        ),
    )
    assert len(disagreements(lake).stale) == 3
    assert len(verify(lake)) == 3
    refresh(lake)
    assert verify(lake) == []

    fresh = Lake(tmp_path / "fresh")
    for path in walk_bronze([lake.bronze_root]):
        target = fresh.root / path.relative_to(lake.root)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    final = lake.dim_symbol_store().load()[1]
    fresh.dim_symbol_store().save(final, expected_version=0)
    ingest_all(fresh)
    assert silver_digests(lake) == silver_digests(fresh)
    assert any("validation_log" in name for name in silver_digests(lake))


def test_quarantined_rows_that_a_later_bootstrap_covers(tmp_path: Path) -> None:
    """Ingest before any dim_symbol: every row is quarantined; bootstrap; refresh."""
    lake = Lake(tmp_path)
    put(lake, "binance_trades_2024-05-01_BTCUSDT.csv", trades("binance", "BTCUSDT", MAY1, MAY1 + 1))
    assert ingest_all(lake) == ["quarantined"]
    bootstrap_dim_symbol(lake)
    problems = verify(lake)
    assert len(problems) == 1
    assert "2 quarantined row(s) are now covered" in problems[0]
    assert "derived with version 0" in problems[0]
    done = refresh(lake)
    assert [(r.status, r.rows_written, r.rows_quarantined) for r in done.results] == [
        ("success", 2, 0)
    ]
    assert verify(lake) == []
    assert not list((lake.silver_root / "validation_log").glob("*.parquet"))


def test_rows_a_window_no_longer_covers_go_to_the_quarantine(tmp_path: Path) -> None:
    lake = make_lake(tmp_path)
    apply(lake, windows(("binance", "SOLUSDT", MAY1 + 12 * HOUR, dim_symbol.OPEN_END_TS_US)))
    stale = sorted(disagreements(lake).stale, key=lambda s: s.entry.bronze_path)
    assert [(s.entry.bronze_path, s.uncovered, s.wrong_ids) for s in stale] == [
        ("tardis/binance_trades_2024-05-01_SOLUSDT.csv", 2, 2),
        ("tardis/binance_trades_2024-05-02_SOLUSDT.csv", 0, 4),
    ]
    done = refresh(lake)
    results = sorted(done.results, key=lambda r: r.bronze_path)
    assert [(r.rows_written, r.rows_quarantined) for r in results] == [(2, 2), (4, 0)]
    assert verify(lake) == []


def test_a_refresh_killed_before_its_commit_leaves_the_old_output_live(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = make_lake(tmp_path)
    before = silver_digests(lake)
    apply(lake, windows(("binance", "ETHUSDT", 0, MAY2), ("binance", "ETHUSDT", MAY2, 2**63 - 1)))

    def boom(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("pointline.ingest.Manifest.commit", boom)
    with pytest.raises(KeyboardInterrupt):
        refresh(lake)
    monkeypatch.undo()
    assert silver_digests(lake) == before  # the previous output stays readable
    assert len(verify(lake)) == 1
    refresh(lake)
    assert verify(lake) == []


# ------------------------------------------------- Tardis instruments, end to end (CLI)

INSTRUMENTS = Path(__file__).parent / "cases" / "tardis_instruments"
NOV3 = 1_635_897_600_000_000  # 2021-11-03T00:00:00Z; the okex-swap tick changes at 06:00
JAN31 = 1_580_428_800_000_000  # 2020-01-31T00:00:00Z, the day before availableSince


def test_import_tardis_then_refresh_equals_a_lake_built_with_it(tmp_path: Path) -> None:
    def run(root: Path, *args: str) -> tuple[int, str]:
        out = io.StringIO()
        return main(["--root", str(root), *args], out=out), out.getvalue()

    lake = Lake(tmp_path / "lake")
    six = NOV3 + 6 * HOUR
    okex = trades("okex-swap", "ETH-USDT-SWAP", NOV3 + 3 * HOUR, six - 1, six, NOV3 + 9 * HOUR)
    put(lake, "okex-swap_trades_2021-11-03_ETH-USDT-SWAP.csv", okex)
    early = trades("okex-swap", "ETH-USDT-SWAP", JAN31 + 12 * HOUR)
    put(lake, "okex-swap_trades_2020-01-31_ETH-USDT-SWAP.csv", early)
    put(lake, "binance_trades_2021-11-03_BTCUSDT.csv", trades("binance", "BTCUSDT", NOV3 + 1))
    assert run(lake.root, "dim-symbol", "bootstrap")[0] == 0
    assert run(lake.root, "ingest", str(lake.bronze_root))[0] == 0
    assert run(lake.root, "verify")[0] == 0

    code, text = run(
        lake.root, "dim-symbol", "import-tardis", str(INSTRUMENTS / "okex-swap_ETH-USDT-SWAP.json")
    )
    assert code == 0
    assert text.splitlines() == [
        "read 1 Tardis instrument: 1 imported as 3 windows, 0 skipped: dim_symbol version 2 "
        "(4 windows); 1 symbol changed, 1 with new windows",
        "2 ingested file(s) no longer agree with dim_symbol; run `pointline refresh` to "
        "re-derive them (`pointline verify` lists them)",
    ]
    code, text = run(lake.root, "verify")
    assert code == 2
    assert sorted(line.split(":")[0] for line in text.splitlines()[:-1]) == [
        "tardis/okex-swap_trades_2020-01-31_ETH-USDT-SWAP.csv",
        "tardis/okex-swap_trades_2021-11-03_ETH-USDT-SWAP.csv",
    ]
    code, text = run(lake.root, "refresh")
    assert code == 2  # the 2020-01-31 file is now wholly quarantined: before the listing
    lines = text.splitlines()
    assert sum(line.startswith("re-deriving tardis/okex-swap_trades_") for line in lines) == 2
    assert "run `pointline refresh`" not in text
    assert lines[-1] == (
        "refresh: 2 file(s) re-derived under dim_symbol version 2; 1 file(s) checked and "
        "found to agree; 0 already derived with it"
    )
    assert run(lake.root, "verify")[0] == 0

    got = read(lake, "trades", exchange="okex-swap", columns=["ts_event_us", "symbol_id"])
    assert [tuple(r.values()) for r in got.read_all().to_pylist()] == [
        (NOV3 + 3 * HOUR, -2021053480429766653),  # [2020-02-01, 2021-11-03 06:00): tick 0.1
        (six - 1, -2021053480429766653),
        (six, 796144875565420307),  # [2021-11-03 06:00, 2023-05-17 08:00): tick 0.05
        (NOV3 + 9 * HOUR, 796144875565420307),
    ]
    log = pq.read_table(lake.silver_root / "validation_log").to_pylist()
    assert [(r["rule_name"], r["ts_event_us"]) for r in log] == [
        ("missing_pit_symbol_coverage", JAN31 + 12 * HOUR)
    ]

    fresh = Lake(tmp_path / "fresh")
    for path in walk_bronze([lake.bronze_root]):
        target = fresh.root / path.relative_to(lake.root)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    fresh.dim_symbol_store().save(lake.dim_symbol_store().load()[1], expected_version=0)
    run(fresh.root, "ingest", str(fresh.bronze_root))
    assert silver_digests(lake) == silver_digests(fresh)


def test_one_symbol_key_in_bootstrap_import_and_the_pit_join(tmp_path: Path) -> None:
    """Kraken rows say ``XBT/USD``; files, datasetIds and dim_symbol say ``XBT-USD``."""
    lake = Lake(tmp_path)
    put(lake, "kraken_trades_2024-05-01_XBT-USD.csv", trades("kraken", "XBT/USD", MAY1 + 1))
    assert bootstrap_dim_symbol(lake) == (1, 1)
    dim = lake.dim_symbol_store().load()[1]
    assert dim.select(["exchange", "exchange_symbol"]).to_pylist() == [
        {"exchange": "kraken", "exchange_symbol": "XBT-USD"}
    ]
    assert ingest_all(lake) == ["success"]
    got = read(lake, "trades", exchange="kraken").read_all()
    assert got.select(["symbol", "symbol_id"]).to_pylist() == [
        {"symbol": "XBT/USD", "symbol_id": dim_symbol.symbol_id("kraken", "XBT-USD", 0)}
    ]
    instrument = (
        '{"id": "XBT/USD", "exchange": "kraken", "type": "spot", "baseCurrency": "BTC",'
        ' "quoteCurrency": "USD", "availableSince": "2024-05-01T00:00:00.000Z",'
        ' "priceIncrement": 0.1, "amountIncrement": 1e-8}'
    )
    (tmp_path / "xbt.json").write_text(instrument, encoding="utf-8")
    code = main(
        ["--root", str(lake.root), "dim-symbol", "import-tardis", str(tmp_path / "xbt.json")],
        out=io.StringIO(),
    )
    assert code == 0
    refresh(lake)
    assert verify(lake) == []
    got = read(lake, "trades", exchange="kraken", columns=["symbol_id"]).read_all()
    assert got["symbol_id"].to_pylist() == [dim_symbol.symbol_id("kraken", "XBT-USD", MAY1)]


def test_a_file_ingested_with_an_explicit_vendor_and_type_is_bootstrapped(
    tmp_path: Path,
) -> None:
    """Its path says nothing; the manifest says how it was ingested, so bootstrap reads it
    the same way and the quarantined rows come back with refresh."""
    lake = Lake(tmp_path)
    path = put(lake, "exports/march.csv", trades("binance", "ADAUSDT", MAY1 + 5))
    meta = BronzeFileMetadata.from_path(
        path, bronze_root=lake.bronze_root, vendor="tardis", data_type="trades"
    )
    assert ingest_file(meta, lake=lake).status == "quarantined"
    result = bootstrap_dim_symbol(lake)
    assert (result, result.skipped) == ((1, 1), ())
    assert [r.status for r in refresh(lake).results] == ["success"]
    assert verify(lake) == []


@pytest.mark.parametrize("point", ["mid_stream", "after_commit", "mid_publish"])
def test_a_refresh_killed_at_any_point_hides_nothing(tmp_path: Path, point: str) -> None:
    """The process dies (``os._exit(137)``) inside the re-derivation: every row stays
    readable once, and the next refresh finishes the job."""
    lake = make_lake(tmp_path)
    apply(lake, windows(("binance", "ETHUSDT", 0, MAY2), ("binance", "ETHUSDT", MAY2, 2**63 - 1)))
    env = {**os.environ, "POINTLINE_FAULT": point}
    done = subprocess.run(
        [sys.executable, "-m", "pointline", "--root", str(lake.root), "refresh"],
        env=env,
        capture_output=True,
        check=False,
    )
    assert done.returncode == 137, done.stderr.decode()[-2000:]
    globbed = ds.dataset(
        [str(p) for p in lake.silver_root.glob("trades/**/*.parquet")], format="parquet"
    )
    assert globbed.count_rows() == 24  # pyarrow globbing silver/: nothing half visible
    assert read(lake, "trades", exchange="binance").read_all().num_rows == 24
    refresh(lake)
    assert verify(lake) == []
