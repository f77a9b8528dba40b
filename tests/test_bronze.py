from __future__ import annotations

import os
from pathlib import Path

import pytest

from pointline import BronzeFileMetadata, Lake, ingest_file
from pointline.bronze import BronzeChangedError, BronzeError

HEADER = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"
ROW = "binance,BTCUSDT,1727568000000000,1727568000000100,1,buy,1.5,2\n"


def bronze_file(lake: Lake, text: str) -> Path:
    path = lake.bronze_root / "tardis/exchange=binance/type=trades/date=2024-09-29/symbol=X/t.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_path_facts_and_relative_identity(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    path = bronze_file(lake, HEADER + ROW)
    meta = BronzeFileMetadata.from_path(path, bronze_root=lake.bronze_root)
    assert meta.bronze_path == "tardis/exchange=binance/type=trades/date=2024-09-29/symbol=X/t.csv"
    assert (meta.vendor, meta.data_type, meta.extras["exchange"]) == ("tardis", "trades", "binance")
    assert meta.file_size_bytes == len(HEADER + ROW)
    same = BronzeFileMetadata.from_path(os.path.relpath(path), bronze_root=lake.bronze_root)
    assert same.identity == meta.identity


def test_outside_the_bronze_root_is_an_error(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    outside = tmp_path / "elsewhere.csv"
    outside.write_text(HEADER)
    with pytest.raises(BronzeError, match=r"elsewhere.csv: is outside the bronze root"):
        BronzeFileMetadata.from_path(outside, bronze_root=lake.bronze_root)
    link = lake.bronze_root / "tardis/type=trades/escape.csv"
    link.parent.mkdir(parents=True)
    link.symlink_to(outside)
    with pytest.raises(BronzeError, match=r"outside the bronze root .*after resolving links"):
        BronzeFileMetadata.from_path(link, bronze_root=lake.bronze_root)


def test_a_file_changed_after_its_metadata_was_taken_fails_cleanly(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    path = bronze_file(lake, HEADER + ROW)
    meta = BronzeFileMetadata.from_path(path, bronze_root=lake.bronze_root)
    path.write_text(HEADER + ROW + ROW)
    with pytest.raises(BronzeChangedError, match=r"changed on disk"):
        meta.check_unchanged(lake.bronze_root)
    result = ingest_file(meta, lake=lake)
    assert (result.status, result.status_reason) == ("failed", "bronze_changed")
    assert "build the metadata again" in (result.error_message or "")
    assert not list(lake.silver_root.rglob("*.parquet"))
