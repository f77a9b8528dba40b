"""The command line tells the truth: the quarantine in view, lakes recognised, mistakes
loud, README commands that print rows, and a progress bar that moves on a terminal."""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest
from conftest import read_pty

from pointline.cli import main
from pointline.codes import ROW_REASON_FIXES

TRADES = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount"
T0 = 1_727_568_000_000_000  # 2024-09-29T00:00:00Z
README = Path(__file__).resolve().parents[1] / "README.md"


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def put_trades(root: Path, symbol: str, rows: int, *, bad: int = 0) -> Path:
    path = root / f"bronze/tardis/binance-futures_trades_2024-09-29_{symbol}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [TRADES]
    lines += [f"binance-futures,{symbol},{T0 + i},{T0 + i},{i},buy,1.5,2" for i in range(rows)]
    lines += [f"binance-futures,{symbol},{T0},{T0},x{i},buy,1.5,abc" for i in range(bad)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ------------------------------------------------------------------ quarantine in view


def test_an_ingest_without_symbols_says_why_and_what_to_do(tmp_path: Path) -> None:
    """Observed: every row quarantined, `status_reason: null`, no reason named."""
    root = tmp_path / "lake"
    put_trades(root, "BTCUSDT", 5)
    code, text = run("--root", str(root), "ingest", "--json", str(root / "bronze"))
    assert code == 2
    (row,) = [json.loads(line) for line in text.splitlines()]
    assert row["status"] == "quarantined"
    assert row["quarantine_reasons"] == {"missing_pit_symbol_coverage": 5}
    assert row["hint"] == ROW_REASON_FIXES["missing_pit_symbol_coverage"]
    code, text = run("--root", str(root), "ingest", "--force", str(root / "bronze"))
    assert code == 2
    assert text.splitlines() == [
        "tardis/binance-futures_trades_2024-09-29_BTCUSDT.csv: quarantined: 5 rows, 0 written, "
        "5 quarantined (missing_pit_symbol_coverage 5)",
        "    hint: dim_symbol has no window for these symbols at these times: run `pointline "
        "dim-symbol bootstrap` (or import symbols: `dim-symbol import-tardis` for crypto, "
        "`dim-symbol import-tushare` for CN, `dim-symbol import`), then `pointline refresh`",
        "1 file: 1 quarantined",
        "quarantined rows by reason: missing_pit_symbol_coverage 5 (`pointline quarantine` "
        "lists them)",
    ]


def test_quarantine_lists_rows_with_their_file_and_counts_them(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    put_trades(root, "BTCUSDT", 3, bad=2)
    put_trades(root, "ETHUSDT", 4)
    assert run("--root", str(root), "dim-symbol", "bootstrap")[0] == 0
    put_trades(root, "SOLUSDT", 2)  # not bootstrapped: both rows lack a symbol window
    run("--root", str(root), "ingest", str(root / "bronze"))

    code, text = run("--root", str(root), "quarantine", "--format", "jsonl")
    assert code == 0
    rows = [json.loads(line) for line in text.splitlines()]
    assert [(r["rule_name"], r["field_name"], r["field_value"], r["file_seq"]) for r in rows] == [
        ("unparseable_value", "amount", "abc", 4),
        ("unparseable_value", "amount", "abc", 5),
        ("missing_pit_symbol_coverage", "symbol", "SOLUSDT", 1),
        ("missing_pit_symbol_coverage", "symbol", "SOLUSDT", 2),
    ]
    assert rows[0]["bronze_path"] == "tardis/binance-futures_trades_2024-09-29_BTCUSDT.csv"
    assert rows[0]["raw_row"] == f"binance-futures,BTCUSDT,{T0},{T0},x0,buy,1.5,abc"

    code, text = run("--root", str(root), "quarantine", "--reason", "unparseable_value")
    lines = text.splitlines()
    assert lines[0].split() == [
        "rule_name", "table_name", "bronze_path", "file_seq", "field_name", "field_value",
        "raw_row",
    ]  # fmt: skip
    assert len(lines) == 3
    code, text = run("--root", str(root), "quarantine", "--limit", "1")
    assert text.splitlines()[-1] == "... and 3 more (--limit 0 for all, --summary for counts)"

    code, text = run("--root", str(root), "quarantine", "--summary")
    lines = text.splitlines()
    assert lines[0].split() == ["rule_name", "table_name", "rows", "bronze_path"]
    assert [line.split()[:3] for line in lines[1:3]] == [
        ["missing_pit_symbol_coverage", "trades", "2"],
        ["unparseable_value", "trades", "2"],
    ]
    assert lines[-1] == ("4 quarantined rows: missing_pit_symbol_coverage 2, unparseable_value 2")
    code, text = run("--root", str(root), "quarantine", "--summary", "--format", "csv")
    assert text.splitlines()[0] == "rule_name,table_name,rows,bronze_path,file_id"


# -------------------------------------------------------------- lakes are recognised


@pytest.mark.parametrize(
    "command",
    [
        ["manifest"],
        ["verify"],
        ["repair"],
        ["refresh"],
        ["quarantine"],
        ["read", "trades"],
        ["dim-symbol", "show"],
        ["dim-symbol", "history", "binance", "BTCUSDT"],
    ],
)
def test_commands_that_read_a_lake_refuse_a_folder_without_one(
    tmp_path: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("--root", str(tmp_path), *command) == (1, "")
    assert capsys.readouterr().err.startswith(
        f"pointline {' '.join(command[:2] if command[0] == 'dim-symbol' else command[:1])}: "
        f"no Pointline lake at {tmp_path} (expected {tmp_path / '_pointline'})"
    )
    assert not (tmp_path / "_pointline").exists()


def test_version_tables_and_exchange_list_need_no_lake(tmp_path: Path) -> None:
    from importlib.metadata import version

    nowhere = str(tmp_path / "nothing")
    assert run("--root", nowhere, "--version") == (0, f"pointline {version('pointline')}\n")
    code, text = run("--root", nowhere, "tables")
    assert code == 0
    trades = next(line for line in text.splitlines() if line.startswith("trades "))
    assert "exchange, trading_date" in trades
    assert "exchange, symbol_id, ts_local_us, file_id, file_seq" in trades
    code, text = run("tables", "trades", "--format", "jsonl")
    columns = [json.loads(line) for line in text.splitlines()]
    assert {
        k: columns[[c["column"] for c in columns].index("price")][k]
        for k in ("column", "type", "nullable")
    } == {"column": "price", "type": "decimal128(38, 18)", "nullable": False}
    code, text = run("--root", nowhere, "exchange", "list")
    assert code == 0
    assert "binance-futures" in text
    assert not Path(nowhere).exists()


def test_a_lake_has_its_folders_from_the_first_write(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    put_trades(root, "BTCUSDT", 2)
    assert run("--root", str(root), "dim-symbol", "bootstrap")[0] == 0
    assert (root / "silver" / "validation_log").is_dir()  # even before anything is set aside
    assert run("--root", str(root), "quarantine") == (0, "no quarantined rows\n")


def test_manifest_filters_and_formats(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    put_trades(root, "BTCUSDT", 2)
    run("--root", str(root), "dim-symbol", "bootstrap")
    put_trades(root, "ETHUSDT", 2)
    run("--root", str(root), "ingest", str(root / "bronze"))
    code, text = run("--root", str(root), "manifest", "--status", "quarantined", "--json")
    rows = [json.loads(line) for line in text.splitlines()]
    assert [(r["bronze_path"].split("_")[-1], r["exchange"]) for r in rows] == [
        ("ETHUSDT.csv", "binance-futures")
    ]
    code, text = run("--root", str(root), "manifest", "--exchange", "deribit")
    assert (code, text) == (0, f"no files match in the manifest of {root}\n")
    code, text = run("--root", str(root), "manifest", "--data-type", "trades", "--format", "csv")
    assert len(text.splitlines()) == 3  # header + 2 files, in Bronze path order
    assert text.splitlines()[1].startswith("tardis/binance-futures_trades_2024-09-29_BTCUSDT")


def test_repair_and_verify_agree_on_a_missing_silver_file(tmp_path: Path) -> None:
    """Observed: repair said "consistent" while verify reported a missing Silver file."""
    root = tmp_path / "lake"
    put_trades(root, "BTCUSDT", 3)
    run("--root", str(root), "dim-symbol", "bootstrap")
    run("--root", str(root), "ingest", str(root / "bronze"))
    (silver,) = (root / "silver" / "trades").rglob("*.parquet")
    silver.unlink()
    code, text = run("--root", str(root), "verify")
    assert code == 2
    assert "owned files are missing" in text
    assert (
        "`pointline repair` re-derives missing or unreadable Silver files" in text.splitlines()[-1]
    )
    code, text = run("--root", str(root), "repair")
    assert code == 0
    assert text.splitlines()[-1] == "repair: 1 file re-ingested; `pointline verify` should be clean"
    assert run("--root", str(root), "verify") == (0, "verify: 1 live file checked, 0 problems\n")


# ------------------------------------------------------------------- the README, as is


def test_the_readme_quickstart_prints_rows_after_the_demo(tmp_path: Path) -> None:
    section = README.read_text(encoding="utf-8").split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    commands = [
        line.strip().split("  #")[0].split()
        for line in section.splitlines()
        if line.strip().startswith(".venv/bin/pointline")
        and ("demo-lake" in line or "--root" not in line)
    ]
    assert any("read" in c for c in commands)
    demo = tmp_path / "demo-lake"
    assert run("--root", str(demo), "demo")[0] == 0
    for command in commands:
        args = [str(demo) if a == "demo-lake" else a for a in command[1:]]
        code, text = run(*args)
        assert code == 0, command
        assert len(text.splitlines()) >= 2, command  # a header and rows
        if "read" in command:
            body = text.splitlines()[1:]
            assert body
            assert all(" BTCUSDT " in row or " ETHUSDT " in row for row in body)


# ------------------------------------------------------------------ progress on a TTY


def test_the_progress_bar_moves_during_a_multi_second_ingest(tmp_path: Path) -> None:
    from pointline.testing.tardis import write_tardis_file

    root = tmp_path / "lake"
    path = root / "bronze/tardis/binance-futures_incremental_book_L2_2024-09-29_PERPETUALS.csv.gz"
    write_tardis_file(path, "incremental_book_L2", rows=1_500_000)
    assert run("--root", str(root), "dim-symbol", "bootstrap")[0] == 0
    pid, fd = pty.fork()
    if pid == 0:  # the child: stdout and stderr are the terminal, 120 x 24 as a real one
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
        os.execv(
            sys.executable,
            [
                sys.executable,
                "-m",
                "pointline",
                "--root",
                str(root),
                "ingest",
                str(root / "bronze"),
            ],
        )
    seen, status = read_pty(fd, pid)
    assert os.waitstatus_to_exitcode(status) == 0, seen[-2000:]
    text = seen.decode("utf-8", "replace")
    percents = {int(p) for p in re.findall(r"ingest:\s+(\d+)%", text)}
    assert len(percents) >= 3, text[-2000:]  # drawn again and again while it ran
    assert re.search(r"[\d.]+[kMG]?i?B/s", text), text[-2000:]  # a rate
    assert "rows, file 1/1" in text
    assert "1 file: 1 success" in text  # the summary line once it is done
    # Piped (no terminal): no bar at all.
    done = subprocess.run(
        [sys.executable, "-m", "pointline", "--root", str(root), "ingest", "--force",
         str(root / "bronze")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (0, "")


def test_the_bar_moves_within_files_when_workers_run_them(tmp_path: Path) -> None:
    """``--workers 2`` on two equal files: the bar moves before either file is done
    (reports from the workers), not only when a file finishes (50%, 100%)."""
    from pointline.testing.tardis import write_tardis_file

    root = tmp_path / "lake"
    folder = root / "bronze/tardis"
    for seed in (1, 2):
        path = folder / f"binance-futures_incremental_book_L2_2024-09-29_PERPETUALS-{seed}.csv.gz"
        write_tardis_file(path, "incremental_book_L2", rows=1_000_000, seed=seed)
    assert run("--root", str(root), "dim-symbol", "bootstrap")[0] == 0
    pid, fd = pty.fork()
    if pid == 0:
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
        os.execv(
            sys.executable,
            [sys.executable, "-m", "pointline", "--root", str(root), "ingest", str(folder),
             "--workers", "2"],
        )  # fmt: skip
    seen, status = read_pty(fd, pid)
    assert os.waitstatus_to_exitcode(status) == 0, seen[-2000:]
    text = seen.decode("utf-8", "replace")
    percents = {int(p) for p in re.findall(r"ingest:\s+(\d+)%", text)}
    assert any(0 < p < 50 for p in percents), (percents, text[-2000:])
    assert "0/2 files done, 2 running" in text
    assert "2 files: 2 success" in text
