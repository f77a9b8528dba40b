"""The vendor protocol: a third vendor is one module, registered, with no edit elsewhere."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from pointline import BronzeFileMetadata, Lake
from pointline.bootstrap import bootstrap_dim_symbol
from pointline.ingest import ingest_file
from pointline.vendors import BadPathError, UnknownVendorError, UnsupportedDataTypeError
from pointline.vendors.registry import DEFAULT_VENDORS

ACME = Path(__file__).parent / "cases" / "acme"
TICKS = "time,price\n1727568000000000,1.5\n1727568001000000,0.000000001\n1727568002000000,x\n"


@pytest.fixture
def acme(monkeypatch: pytest.MonkeyPatch) -> object:
    monkeypatch.syspath_prepend(str(ACME))
    import acme_vendor

    return acme_vendor.VENDOR


def _bronze(root: Path) -> Path:
    path = root / "bronze" / "acme" / "binance" / "BTCUSDT" / "ticks.csv"
    path.parent.mkdir(parents=True)
    path.write_text(TICKS)
    return path


def test_a_registered_vendor_ingests_with_no_other_edit(tmp_path: Path, acme: object) -> None:
    lake = Lake(tmp_path, vendors=DEFAULT_VENDORS.register(acme))  # type: ignore[arg-type]
    path = _bronze(tmp_path)
    assert bootstrap_dim_symbol(lake) == (1, 1)
    meta = BronzeFileMetadata.from_path(path, bronze_root=lake.bronze_root, vendors=lake.vendors)
    assert (meta.vendor, meta.data_type, dict(meta.extras)) == (
        "acme",
        "ticks",
        {"exchange": "binance", "symbol": "BTCUSDT"},
    )
    result = ingest_file(meta, lake=lake)
    assert (result.status, result.table_name) == ("success", "trades")
    assert (result.rows_total, result.rows_written, result.rows_quarantined) == (3, 2, 1)
    trades = ds.dataset(lake.table_dir("trades"), partitioning="hive").to_table()
    rows = trades.sort_by("file_seq").to_pylist()
    assert [(r["ts_event_us"], r["price"], r["side"]) for r in rows] == [
        (1727568000000000, Decimal("1.5"), "unknown"),
        (1727568001000000, Decimal("1E-9"), "unknown"),
    ]
    log = ds.dataset(lake.validation_dir).to_table().to_pylist()
    assert [(r["file_seq"], r["rule_name"], r["field_name"], r["raw_row"]) for r in log] == [
        (3, "unparseable_value", "price", "1727568002000000,x")
    ]


def test_the_default_registry_does_not_know_it(tmp_path: Path) -> None:
    path = _bronze(tmp_path)
    with pytest.raises(
        UnknownVendorError, match=r"no vendor is called 'acme' \(known: quant360, tardis\)"
    ):
        BronzeFileMetadata.from_path(path, bronze_root=tmp_path / "bronze")


def test_its_path_rules_and_data_types_are_its_own(tmp_path: Path, acme: object) -> None:
    vendors = DEFAULT_VENDORS.register(acme)  # type: ignore[arg-type]
    bad = tmp_path / "bronze" / "acme" / "ticks.csv"
    bad.parent.mkdir(parents=True)
    bad.write_text(TICKS)
    with pytest.raises(BadPathError, match=r"acme/ticks.csv: expected acme/<exchange>/"):
        BronzeFileMetadata.from_path(bad, bronze_root=tmp_path / "bronze", vendors=vendors)
    with pytest.raises(UnsupportedDataTypeError, match=r"did you mean 'ticks'\?"):
        vendors.get("acme").format("tick")


def test_an_installed_plugin_is_found_by_the_cli(tmp_path: Path) -> None:
    """A package that declares a ``pointline.vendors`` entry point: the CLI ingests its
    files in a fresh process, with no edit to Pointline."""
    site = tmp_path / "site"
    site.mkdir()
    shutil.copy(ACME / "acme_vendor.py", site / "acme_vendor.py")
    info = site / "acme_vendor-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-vendor\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[pointline.vendors]\nacme = acme_vendor:VENDOR\n")
    root = tmp_path / "lake"
    _bronze(root)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *sys.path])}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pointline", "--root", str(root), *args],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )

    assert cli("dim-symbol", "bootstrap").returncode == 0
    done = cli("ingest", "--json", str(root / "bronze"))
    assert done.returncode == 0, done.stderr
    (row,) = [json.loads(line) for line in done.stdout.splitlines()]
    assert (row["status"], row["table_name"], row["rows_written"], row["rows_quarantined"]) == (
        "success",
        "trades",
        2,
        1,
    )


def test_built_in_rules_use_the_one_vocabulary() -> None:
    from operators import rules
    from operators.parse import MALFORMED_ROW
    from pointline.codes import ROW_REASONS
    from pointline.kernels.pit import MISSING_COVERAGE
    from pointline.vendors import Rule

    names = {value.name for value in vars(rules).values() if isinstance(value, Rule)}
    assert names == {
        "invalid_trade",
        "invalid_liquidation",
        "invalid_quote",
        "invalid_book_update",
        "invalid_option_contract",
        "invalid_cn_order",
        "invalid_cn_tick",
        "invalid_cn_l2",
    }
    assert names | {MALFORMED_ROW, MISSING_COVERAGE} <= set(ROW_REASONS)
