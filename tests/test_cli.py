"""The ``pointline`` command line: arguments, exit status, output streams, every command."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest

from pointline import BronzeFileMetadata, Lake
from pointline.cli import main
from pointline.dim_symbol import symbol_id
from pointline.manifest import file_id_for

HEADER = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount"
T0 = 1_727_568_000_000_000  # 2024-09-29T00:00:00Z
INGEST_FIELDS = {
    "status", "file_id", "bronze_path", "table_name", "skipped", "rows_total", "rows_written",
    "rows_quarantined", "status_reason", "error_message", "trading_date_min",
    "trading_date_max", "ts_event_min_us", "ts_event_max_us", "duration_s", "dry_run",
    "dim_symbol_version", "quarantine_reasons", "hint",
}  # fmt: skip
MANIFEST_FIELDS = {
    "file_id", "vendor", "data_type", "bronze_path", "file_hash", "status", "status_reason",
    "error_message", "rows_total", "rows_written", "rows_quarantined", "trading_date_min",
    "trading_date_max", "exchange",
}  # fmt: skip


def trades_file(root: Path, symbol: str = "BTCUSDT", *, rows: int = 5, bad: int = 0) -> Path:
    """A small Tardis trades CSV under ``<root>/bronze`` (``bad`` unparseable rows)."""
    path = (
        root
        / "bronze/tardis/exchange=binance-futures/type=trades/date=2024-09-29"
        / f"symbol={symbol}/f.csv"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [HEADER]
    for i in range(rows):
        ts = T0 + i * 1_000_000
        lines.append(f"binance-futures,{symbol},{ts},{ts + 500},{i},buy,65000.5,0.01{i}")
    lines += [f"binance-futures,{symbol},{T0},{T0},x{i},buy,65000,abc" for i in range(bad)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every stdout line parsed as JSON: fails on anything that is not."""
    return [json.loads(line) for line in text.splitlines()]


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    """A lake with two trades files and dim_symbol bootstrapped through the CLI."""
    root = tmp_path / "lake"
    trades_file(root, "BTCUSDT")
    trades_file(root, "ETHUSDT", bad=1)
    code, text = run("--root", str(root), "dim-symbol", "bootstrap")
    assert code == 0
    assert "bootstrapped 2 symbols" in text
    return root


def test_ingest_json_lines_then_skip(lake: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, text = run("--root", str(lake), "ingest", "--json", str(lake / "bronze"))
    assert code == 0
    rows = json_lines(text)
    assert len(rows) == 2
    assert all(set(row) == INGEST_FIELDS for row in rows)
    assert [r["status"] for r in rows] == ["success", "success"]
    assert [r["rows_quarantined"] for r in rows] == [0, 1]
    assert all(r["rows_total"] == r["rows_written"] + r["rows_quarantined"] for r in rows)
    assert rows[0]["trading_date_min"] == "2024-09-29"
    assert capsys.readouterr().err == ""  # stderr is not a terminal: no progress line

    code, text = run("--root", str(lake), "ingest", "--json", str(lake / "bronze"))
    assert code == 0
    assert [r["skipped"] for r in json_lines(text)] == [True, True]

    code, text = run("--root", str(lake), "ingest", "--force", str(lake / "bronze"))
    assert code == 0
    assert "2 files: 2 success" in text


def test_dry_run_writes_nothing(lake: Path) -> None:
    code, text = run("--root", str(lake), "ingest", "--dry-run", "--json", str(lake / "bronze"))
    assert code == 0
    assert all(r["dry_run"] and not r["skipped"] for r in json_lines(text))
    assert not list((lake / "silver").rglob("*.parquet"))
    assert json_lines(run("--root", str(lake), "manifest", "--json")[1]) == []
    code, text = run("--root", str(lake), "ingest", "--dry-run", str(lake / "bronze"))
    assert code == 0
    assert "5 rows would be written, 0 rows would be quarantined" not in text
    assert (
        ": success: 5 rows, 5 would be written, 0 would be quarantined (dry run: nothing " in text
    )


def test_manifest_json_fields(lake: Path) -> None:
    run("--root", str(lake), "ingest", str(lake / "bronze"))
    code, text = run("--root", str(lake), "manifest", "--json")
    assert code == 0
    rows = json_lines(text)
    assert len(rows) == 2
    assert all(set(row) == MANIFEST_FIELDS for row in rows)
    eth = next(r for r in rows if "ETHUSDT" in r["bronze_path"])
    assert (eth["vendor"], eth["data_type"], eth["status"]) == ("tardis", "trades", "success")
    assert (eth["rows_total"], eth["rows_written"], eth["rows_quarantined"]) == (6, 5, 1)
    assert (eth["trading_date_min"], eth["trading_date_max"]) == ("2024-09-29", "2024-09-29")
    assert len(eth["file_hash"]) == 64

    code, text = run("--root", str(lake), "manifest")
    assert code == 0
    lines = text.splitlines()
    assert lines[0].split() == [
        "bronze_path", "status", "rows_written", "rows_quarantined", "trading_date_min",
        "trading_date_max", "status_reason",
    ]  # fmt: skip
    assert [line.split()[1:3] for line in lines[1:3]] == [["success", "5"], ["success", "5"]]
    assert lines[-1] == "2 files: 2 success"


def test_failed_and_quarantined_files_exit_2(lake: Path) -> None:
    unknown = trades_file(lake, "NOTINDIM")  # not in dim_symbol: every row quarantined
    code, text = run("--root", str(lake), "ingest", "--json", str(unknown))
    assert code == 2
    (row,) = json_lines(text)
    assert (row["status"], row["rows_written"], row["rows_quarantined"]) == ("quarantined", 0, 5)

    path = trades_file(lake, "BTCUSDT")
    code, text = run("--root", str(lake), "ingest", "--json", "--data-type", "nope", str(path))
    assert code == 2
    (row,) = json_lines(text)
    assert row["status"] == "failed"
    assert "nope" in row["error_message"]


def test_a_path_outside_bronze_is_one_clear_error(
    lake: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = tmp_path / "elsewhere.csv"
    outside.write_text(HEADER + "\n", encoding="utf-8")
    good = lake / "bronze"
    code, text = run("--root", str(lake), "ingest", "--json", str(outside), str(good))
    assert (code, text) == (1, "")
    assert capsys.readouterr().err == (
        f"pointline ingest: {outside} is not under the lake's Bronze folder {lake / 'bronze'}: "
        "Pointline ingests only files under ROOT/bronze/<vendor>/ (copy or move them there, "
        "or give --root the lake whose bronze/ holds them)\n"
    )
    # The lake root itself (its Silver files are never taken as Bronze) is refused too.
    run("--root", str(lake), "ingest", str(good))
    assert run("--root", str(lake), "ingest", str(lake))[0] == 1
    assert f"{lake} is not under the lake's Bronze folder" in capsys.readouterr().err


def test_usage_errors_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = str(tmp_path / "lake")
    assert run("--root", root, "ingest", "--frobnicate", "x") == (1, "")
    assert "unrecognized arguments: --frobnicate" in capsys.readouterr().err
    assert run("--root", root)[0] == 1
    assert "required" in capsys.readouterr().err
    assert run("--root", root, "dim-symbol", "import")[0] == 1
    assert "FILE" in capsys.readouterr().err
    assert run("--root", root, "ingest", str(tmp_path / "nope")) == (1, "")
    assert "no such file or folder" in capsys.readouterr().err
    assert run("--root", root, "dim-symbol", "import", str(tmp_path / "nope.csv")) == (1, "")
    assert "no such file" in capsys.readouterr().err
    code, text = run("--help")
    assert code == 0
    assert "usage: pointline" in text


def test_progress_only_on_a_terminal_and_never_with_json(
    lake: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    code, text = run("--root", str(lake), "ingest", "--json", str(lake / "bronze"))
    assert code == 0
    assert len(json_lines(text)) == 2
    assert terminal.getvalue() == ""  # --json: quiet
    code, text = run("--root", str(lake), "ingest", "--force", str(lake / "bronze"))
    assert code == 0
    assert "ingest:" in terminal.getvalue()  # the bar, on stderr
    assert "ingest:" not in text
    assert text.splitlines()[-2:] == [
        "2 files: 2 success",
        "quarantined rows by reason: unparseable_value 1 (`pointline quarantine` lists them)",
    ]


KEYS = (
    ("binance-futures", "BTCUSDT", T0 - 10),
    ("binance-futures", "BTCUSDT", T0),
    ("deribit", "BTC-PERPETUAL", T0),
)


def test_dim_symbol_import_and_show(tmp_path: Path) -> None:
    root = str(tmp_path / "lake")
    csv = tmp_path / "dim.csv"
    csv.write_text(
        "exchange,exchange_symbol,valid_from_ts_us,valid_until_ts_us\n"
        f"binance-futures,BTCUSDT,{T0 - 10},{T0}\n"
        f"binance-futures,BTCUSDT,{T0},\n"
        f"deribit,BTC-PERPETUAL,{T0},\n",
        encoding="utf-8",
    )
    code, text = run("--root", root, "dim-symbol", "import", str(csv))
    assert code == 0
    assert text == (
        f"imported 3 windows from {csv}: dim_symbol version 1 (3 windows); 2 symbols changed, "
        "2 with new windows\n"
    )
    code, text = run("--root", root, "dim-symbol", "show", "--json")
    assert code == 0
    rows = json_lines(text)
    assert [(r["exchange_symbol"], r["is_current"]) for r in rows] == [
        ("BTCUSDT", False),
        ("BTCUSDT", True),
        ("BTC-PERPETUAL", True),
    ]
    code, text = run("--root", root, "dim-symbol", "show")
    btc_old, btc, perp = (symbol_id(*k) for k in KEYS)
    assert text.splitlines() == [
        "dim_symbol version 1: 3 windows",
        f"  binance-futures    BTCUSDT                {btc_old:>20} "
        "[2024-09-28T23:59:59.999990Z, 2024-09-29T00:00:00Z) type=unknown",
        f"  binance-futures    BTCUSDT                {btc:>20} "
        "[2024-09-29T00:00:00Z, open) type=unknown",
        f"  deribit            BTC-PERPETUAL          {perp:>20} "
        "[2024-09-29T00:00:00Z, open) type=unknown",
    ]
    # A second import merges: its symbols' windows are replaced, other symbols stay.
    csv.write_text(
        "exchange,exchange_symbol,valid_from_ts_us,valid_until_ts_us,tick_size\n"
        "binance-futures,BTCUSDT,0,,0.10\n",
        encoding="utf-8",
    )
    code, text = run("--root", root, "dim-symbol", "import", str(csv))
    assert "dim_symbol version 2 (2 windows); 1 symbol changed, 1 with new windows" in text
    assert run("--root", root, "dim-symbol", "import", str(csv))[1].endswith(
        "dim_symbol unchanged (version 2)\n"
    )
    code, text = run("--root", root, "dim-symbol", "history", "binance-futures", "BTCUSDT")
    from_zero = symbol_id("binance-futures", "BTCUSDT", 0)
    assert text.splitlines() == [
        "dim_symbol version 2: 1 window",
        f"  binance-futures    BTCUSDT                {from_zero:>20}"
        " [1970-01-01T00:00:00Z, open) type=unknown tick=0.1",
    ]
    assert run("--root", root, "dim-symbol", "history", "deribit", "BTC-PERPETUAL")[0] == 0
    assert run("--root", root, "dim-symbol", "history", "deribit", "NOPE")[0] == 1
    code, text = run("--root", root, "dim-symbol", "import", "--replace", str(csv))
    assert text.startswith(f"replaced by {csv}: dim_symbol version 3 (1 window); 1 symbol ")


def test_root_from_environment_and_after_the_command(
    lake: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POINTLINE_ROOT", str(lake))
    code, text = run("dim-symbol", "show", "--json")
    assert (code, len(json_lines(text))) == (0, 2)
    monkeypatch.setenv("POINTLINE_ROOT", str(lake.parent / "elsewhere"))
    assert len(json_lines(run("dim-symbol", "show", "--root", str(lake), "--json")[1])) == 2
    assert len(json_lines(run("--root", str(lake), "dim-symbol", "show", "--json")[1])) == 2


def test_folder_under_a_hidden_folder_is_ingested(tmp_path: Path) -> None:
    root = tmp_path / ".hidden" / "lake"
    trades_file(root)
    (root / "bronze/tardis/.DS_Store").write_text("junk", encoding="utf-8")
    assert run("--root", str(root), "dim-symbol", "bootstrap")[0] == 0
    code, text = run("--root", str(root), "ingest", "--json", str(root / "bronze"))
    assert code == 0
    assert [r["status"] for r in json_lines(text)] == ["success"]


@pytest.mark.parametrize("where", ["global", "command"])
def test_demo_root_and_rerun(tmp_path: Path, where: str) -> None:
    root = str(tmp_path / "demo")
    argv = ["--root", root, "demo"] if where == "global" else ["demo", "--root", root]
    code, first = run(*argv)
    assert code == 0
    assert "Validation log: 4 quarantined rows" in first
    assert "Prices and quantities are decimal128(38, 18)" in first
    assert "inexact_value                bid_price 64999.0000000000000000001" in first
    assert first.count("  success ") == 12  # 4 Tardis files, 8 of the CN day
    assert "cn_order_events    exchange=szse             trading_date=2024-01-02" in first
    assert "cn_l2_snapshots    000001  bid_price_levels[0]=" in first
    code, second = run(*argv)
    assert code == 0
    assert second.count("  skipped ") == 12
    assert "Silver partitions:" in second
    assert "Validation log: 4 quarantined rows" in second
    rows = json_lines(run("--root", root, "manifest", "--json")[1])
    assert [r["status"] for r in rows] == ["success"] * 12


def test_demo_refuses_a_lake_with_other_bronze(
    lake: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("demo", "--root", str(lake)) == (1, "")
    assert "not the demo's" in capsys.readouterr().err
    assert not list((lake / "silver").rglob("*.parquet"))


def test_python_dash_m_and_console_script(lake: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pointline", "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0
    assert "usage: pointline" in done.stdout
    script = Path(sysconfig.get_path("scripts")) / "pointline"
    assert script.is_file()
    done = subprocess.run(
        [str(script), "--root", str(lake), "ingest", "--json", str(lake / "bronze")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert [r["status"] for r in json_lines(done.stdout)] == ["success", "success"]
    assert done.stderr == ""
    done = subprocess.run(
        [sys.executable, "-m", "pointline", "--root", str(lake), "ingest", "--bogus"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout) == (1, "")
    assert "pointline ingest: error:" in done.stderr


# ------------------------------------------------- files skipped or not ingested, and why


def flat_trades(root: Path, name: str, symbol: str = "BTCUSDT") -> Path:
    """A one-row binance-futures trades CSV under ``<root>/bronze/tardis/`` named ``name``."""
    path = root / "bronze" / "tardis" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{HEADER}\nbinance-futures,{symbol},{T0},{T0 + 5},1,buy,1.5,2\n")
    return path


def test_bootstrap_prints_every_skipped_file_and_why(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    flat_trades(root, "binance-futures_trades_2024-09-29_BTCUSDT.csv")
    flat_trades(root, "2024/binance-futures_trade_2024-09-29_ETHUSDT.csv", "ETHUSDT")
    (root / "bronze/tardis/README.txt").write_text("notes\n")
    code, text = run("--root", str(root), "dim-symbol", "bootstrap")
    assert code == 0
    lines = text.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(
        "skipped tardis/2024/binance-futures_trade_2024-09-29_ETHUSDT.csv: unsupported_data_type: "
        "tardis data type 'trade' is not supported; did you mean 'trades'? (supported: "
    )
    assert lines[1] == (
        "skipped tardis/README.txt: bad_path: cannot tell the data type from the path; expected "
        "the tardis-dev client's file name, "
        "bronze/tardis/<exchange>_<data_type>_<YYYY-MM-DD>_<symbol>.csv.gz (in any folder below "
        "bronze/tardis/), or hive folders, bronze/tardis/exchange=<exchange>/type=<data_type>/"
        "date=<YYYY-MM-DD>/symbol=<symbol>/<file>"
    )
    assert lines[2] == (
        "bootstrapped 1 symbol from Bronze (1 file read, 0 files known from earlier runs); "
        "dim_symbol version 1; 2 files skipped (listed above)"
    )


def test_ingest_says_why_a_file_was_not_ingested(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    flat_trades(root, "binance-futures_trades_2024-09-29_BTCUSDT.csv")
    unknown = flat_trades(root, "binance-futures_trade_2024-09-29_BTCUSDT.csv")
    readme = root / "bronze/tardis/README.txt"
    readme.write_text("notes\n")
    assert run("--root", str(root), "dim-symbol", "bootstrap")[0] == 0

    code, text = run("--root", str(root), "ingest", "--json", str(unknown), str(readme))
    assert code == 2
    rows = json_lines(text)
    assert all(set(row) == INGEST_FIELDS for row in rows)
    assert [(r["bronze_path"], r["status"], r["status_reason"]) for r in rows] == [
        ("tardis/binance-futures_trade_2024-09-29_BTCUSDT.csv", "failed", "unsupported_data_type"),
        ("tardis/README.txt", "failed", "bad_path"),
    ]
    assert "did you mean 'trades'?" in rows[0]["error_message"]

    code, text = run("--root", str(root), "ingest", str(root / "bronze"))
    assert code == 2
    lines = text.splitlines()
    assert lines[0] == (  # in a folder: reported and skipped, not a failure of the run
        "tardis/README.txt: skipped, not a Bronze file Pointline recognises: cannot tell the "
        "data type from the path; expected the tardis-dev client's file name, "
        "bronze/tardis/<exchange>_<data_type>_<YYYY-MM-DD>_<symbol>.csv.gz (in any folder below "
        "bronze/tardis/), or hive folders, bronze/tardis/exchange=<exchange>/type=<data_type>/"
        "date=<YYYY-MM-DD>/symbol=<symbol>/<file>"
    )
    assert lines[1].startswith(
        "tardis/binance-futures_trade_2024-09-29_BTCUSDT.csv: failed, not ingested "
        "(unsupported_data_type): tardis data type 'trade' is not supported; did you mean "
        "'trades'? (supported: "
    )
    assert lines[2] == (
        "tardis/binance-futures_trades_2024-09-29_BTCUSDT.csv: success: 1 rows, 1 written, "
        "0 quarantined"
    )
    assert lines[3:] == ["3 files: 1 failed, 1 skipped, 1 success"]

    # with the flags the hint names, the path need not say anything
    code, text = run(
        "--root", str(root), "ingest", "--vendor", "tardis", "--data-type", "trades", str(readme)
    )
    assert code == 2
    assert "missing_columns" in text
    assert "hint:" not in text


def test_ingest_says_why_a_file_was_skipped(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    first = flat_trades(root, "binance-futures_trades_2024-09-29_BTCUSDT.csv")
    flat_trades(root, "copy/binance-futures_trades_2024-09-29_BTCUSDT.csv")  # same bytes
    assert run("--root", str(root), "dim-symbol", "bootstrap")[0] == 0
    code, text = run("--root", str(root), "ingest", str(first))
    assert code == 0
    code, text = run("--root", str(root), "ingest", str(root / "bronze"))
    assert code == 0
    lines = text.splitlines()
    assert (
        lines[0]
        == "tardis/binance-futures_trades_2024-09-29_BTCUSDT.csv: skipped (already ingested)"
    )
    assert lines[1].startswith(
        "tardis/copy/binance-futures_trades_2024-09-29_BTCUSDT.csv: skipped (duplicate_content: "
        "same bytes as tardis/binance-futures_trades_2024-09-29_BTCUSDT.csv (file_id "
    )
    assert lines[2] == "2 files: 2 skipped"


def test_ingest_says_a_file_another_writer_holds_was_skipped(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    path = flat_trades(root, "binance-futures_trades_2024-09-29_BTCUSDT.csv")
    lake = Lake(root)
    meta = BronzeFileMetadata.from_path(path, bronze_root=lake.bronze_root)
    with lake.file_lock(file_id_for(*meta.identity)) as held:  # a live writer: this process
        assert held
        code, text = run("--root", str(root), "ingest", str(path))
    assert code == 0
    assert text.splitlines() == [
        "tardis/binance-futures_trades_2024-09-29_BTCUSDT.csv: skipped (in_progress: another "
        "live process is ingesting the file)",
        "1 file: 1 skipped",
    ]


INSTRUMENT = (
    '{"id": "%s", "exchange": "%s", "type": "spot", "baseCurrency": "BTC",'
    ' "quoteCurrency": "USD", "availableSince": "2024-05-01T00:00:00.000Z",'
    ' "priceIncrement": %s, "amountIncrement": 1}'
)


def test_history_finds_either_spelling_and_suggests_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = str(tmp_path / "lake")
    (tmp_path / "xbt.json").write_text(INSTRUMENT % ("XBT/USD", "kraken", "0.1"))
    assert run("--root", root, "dim-symbol", "import-tardis", str(tmp_path / "xbt.json"))[0] == 0
    for spelling in ("XBT-USD", "XBT/USD", "xbt-usd"):
        code, text = run("--root", root, "dim-symbol", "history", "kraken", spelling)
        assert (code, text.splitlines()[0]) == (0, "dim_symbol version 1: 1 window")
    assert run("--root", root, "dim-symbol", "history", "kraken", "XBT-USDT")[0] == 1
    assert capsys.readouterr().err == (
        "pointline dim-symbol history: kraken has no symbol 'XBT-USDT' in dim_symbol; "
        "did you mean XBT-USD?\n"
    )
    assert run("--root", root, "dim-symbol", "history", "krakn", "XBT-USD")[0] == 1
    assert capsys.readouterr().err == (
        "pointline dim-symbol history: dim_symbol has no symbols on exchange 'krakn'; "
        "did you mean kraken?\n"
    )


def test_import_tardis_says_what_changed_and_refuses_nothing_to_import(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = str(tmp_path / "lake")
    path = tmp_path / "xbt.json"
    path.write_text(INSTRUMENT % ("XBT/USD", "kraken", "0.1"))
    run("--root", root, "dim-symbol", "import-tardis", str(path))
    path.write_text(INSTRUMENT % ("XBT/USD", "kraken", "0.5"))  # a correction, same window
    code, text = run("--root", root, "dim-symbol", "import-tardis", str(path))
    assert (code, text.splitlines()[-1] + "\n") == (
        0,
        "read 1 Tardis instrument: 1 imported as 1 window, 0 skipped: dim_symbol version 2 "
        "(1 window); 1 symbol changed, 0 with new windows, 1 with corrected attributes in "
        "the same windows (same symbol_ids)\n",
    )
    (tmp_path / "empty").mkdir()
    assert run("--root", root, "dim-symbol", "import-tardis", str(tmp_path / "empty"))[0] == 1
    assert "no instrument to import" in capsys.readouterr().err
    venue = tmp_path / "venue.json"
    venue.write_text(INSTRUMENT % ("BTCUSD", "my-venue", "1"))
    code, text = run("--root", root, "dim-symbol", "import-tardis", str(venue))
    assert code == 1
    assert "exchange 'my-venue' is neither a Tardis exchange id nor one registered" in text
    assert run("--root", root, "exchange", "add", "my-venue", "--timezone", "UTC")[0] == 0
    code, text = run("--root", root, "dim-symbol", "import-tardis", str(venue))
    assert (code, text.splitlines()[-1][:46]) == (
        0,
        "read 1 Tardis instrument: 1 imported as 1 wind",
    )


@pytest.mark.parametrize("limit", ["-1", "x"])
def test_quarantine_limit_must_be_a_whole_number(
    tmp_path: Path, limit: str, capsys: pytest.CaptureFixture[str]
) -> None:
    Lake(tmp_path).create()
    assert main(["--root", str(tmp_path), "quarantine", "--limit", limit]) == 1
    assert f"--limit: expected a whole number >= 0, got '{limit}'" in capsys.readouterr().err


def test_ingest_of_a_missing_path_creates_no_lake(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "new"
    assert main(["--root", str(root), "ingest", str(tmp_path / "nosuch")]) == 1
    assert "no such file or folder" in capsys.readouterr().err
    assert not root.exists()
