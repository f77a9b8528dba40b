"""The repository's own hand-made cases, ingested end to end and compared with hand values.

Each folder ``tests/cases/<vendor>/<data_type>/`` holds one small Bronze CSV written by
hand with the quirks of real vendor files, and ``expected.json``: where the file is placed
under the Bronze root, the ingest result, the Silver rows and the validation-log rows,
with values worked out by hand (or with Python's ``decimal`` module), never by pyarrow.
See ``tests/cases/README.md``.

Prices and quantities are written in the expected files as exact decimal text; Silver
stores them as decimal128(38, 18), read back as ``decimal.Decimal`` (:func:`as_decimal`).

The test knows ingest only by its public names: ``bootstrap_dim_symbol``, ``ingest_file``,
``BronzeFileMetadata.from_path`` and ``Lake``, and Silver and the validation log only as
Parquet datasets under ``Lake.table_dir`` and ``Lake.validation_dir``.
"""

from __future__ import annotations

import datetime
import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest

from pointline import BronzeFileMetadata, Lake
from pointline.bootstrap import bootstrap_dim_symbol
from pointline.ingest import ingest_file

CASES = Path(__file__).resolve().parent / "cases"
TARDIS_DATA_TYPES = (
    "trades",
    "quotes",
    "book_ticker",
    "incremental_book_L2",
    "book_snapshot_5",
    "book_snapshot_25",
    "derivative_ticker",
    "options_chain",
    "liquidations",
)
CASE_DIRS = sorted(p.parent for p in CASES.glob("*/*/expected.json"))
CASE_IDS = [p.relative_to(CASES).as_posix() for p in CASE_DIRS]
PARTITIONING = ds.partitioning(
    pa.schema([("exchange", pa.string()), ("trading_date", pa.date32())]), flavor="hive"
)
REQUIRED_KEYS = {"file_seq", "exchange", "symbol", "ts_event_us", "ts_local_us"}


def as_decimal(value: Any, column_type: pa.DataType) -> Decimal | None:
    """A Silver price or quantity (a ``decimal128(38, 18)`` value) as an exact ``Decimal``;
    ``None`` stays ``None``."""
    if value is None:
        return None
    if column_type != pa.decimal128(38, 18):
        msg = f"{column_type} is not the price and quantity type decimal128(38, 18)"
        raise TypeError(msg)
    return value if isinstance(value, Decimal) else Decimal(str(value))


def canonical(number: Decimal) -> str:
    """Plain decimal text without an exponent or trailing zeros: ``8531.5``, ``0.00001``."""
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def render(actual: Any, column_type: pa.DataType, expected: Any) -> Any:
    """``actual`` (a Silver value) in the form ``expected`` (a JSON value) is written in:
    decimal text for prices and quantities, text for floats given as text, ISO dates."""
    if actual is None or expected is None:
        return actual
    if pa.types.is_list(column_type) or pa.types.is_large_list(column_type):
        if not isinstance(expected, list) or len(expected) != len(actual):
            return actual
        return [render(a, column_type.value_type, e) for a, e in zip(actual, expected, strict=True)]
    if isinstance(expected, str):
        if pa.types.is_decimal(column_type):
            return canonical(as_decimal(actual, column_type))  # type: ignore[arg-type]
        if pa.types.is_floating(column_type):
            return expected if actual == float(expected) else repr(actual)
        if pa.types.is_date(column_type):
            return actual.isoformat()
    return actual


def rendered_rows(table: pa.Table, expected: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of ``table`` (sorted by file_seq), restricted to the keys the expected
    rows name, each value rendered like its expected counterpart."""
    keys = list(dict.fromkeys(k for row in expected for k in row))
    missing = [k for k in keys if k not in table.column_names]
    assert not missing, f"columns {missing} are not in {table.column_names}"
    types = {k: table.schema.field(k).type for k in keys}
    rows = table.sort_by("file_seq").select(keys).to_pylist()
    by_seq = {row["file_seq"]: row for row in expected}
    return [
        {k: render(row[k], types[k], by_seq.get(row["file_seq"], {}).get(k)) for k in keys}
        for row in rows
    ]


def read_dir(directory: Path, file_id: int, **options: Any) -> pa.Table | None:
    """The rows of ``file_id`` in a Parquet dataset folder (None if it has no files)."""
    if not directory.is_dir():
        return None
    dataset = ds.dataset(directory, format="parquet", **options)
    if not dataset.files:
        return None
    return dataset.to_table(filter=pc.field("file_id") == pa.scalar(file_id, pa.int64()))


def place(case: Path, lake: Lake, bronze: dict[str, str]) -> Path:
    """Copy the case's CSV under the Bronze root in the hive layout; returns its path."""
    [csv] = sorted(case.glob("*.csv"))
    target = (
        lake.bronze_root
        / "tardis"
        / f"exchange={bronze['exchange']}"
        / f"type={bronze['data_type']}"
        / f"date={bronze['date']}"
        / f"symbol={bronze['symbol']}"
        / csv.name
    )
    target.parent.mkdir(parents=True)
    shutil.copyfile(csv, target)
    return target


def load(case: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    return doc


# ---------------------------------------------------------------------------- the cases


@pytest.mark.parametrize("case", CASE_DIRS, ids=CASE_IDS)
def test_case(case: Path, tmp_path: Path) -> None:
    expected = load(case)
    lake = Lake(tmp_path / "lake")
    path = place(case, lake, expected["bronze"])
    bootstrap_dim_symbol(lake)
    meta = BronzeFileMetadata.from_path(path, bronze_root=lake.bronze_root)
    result = ingest_file(meta, lake=lake)

    counts = {k: getattr(result, k) for k in expected["result"]}
    assert counts == expected["result"], result.error_message
    assert result.table_name == expected["table"]

    table = read_dir(lake.table_dir(expected["table"]), result.file_id, partitioning=PARTITIONING)
    if expected["silver"]:
        assert table is not None
        assert rendered_rows(table, expected["silver"]) == expected["silver"]
        assert table["symbol_id"].null_count == 0
    else:
        assert table is None or table.num_rows == 0

    log = read_dir(lake.validation_dir, result.file_id)
    if expected["quarantined"]:
        assert log is not None
        assert rendered_rows(log, expected["quarantined"]) == expected["quarantined"]
        assert set(log["table_name"].to_pylist()) == {expected["table"]}
    else:
        assert log is None or log.num_rows == 0

    # every Bronze row exactly once, in Silver or in the log
    seqs = [row["file_seq"] for row in expected["silver"] + expected["quarantined"]]
    assert sorted(seqs) == list(range(1, result.rows_total + 1))


# ----------------------------------------------------------------- the cases themselves


def test_every_tardis_data_type_has_a_case() -> None:
    assert {p.name for p in CASE_DIRS if p.parent.name == "tardis"} == set(TARDIS_DATA_TYPES)


@pytest.mark.parametrize("case", CASE_DIRS, ids=CASE_IDS)
def test_expected_files_are_well_formed(case: Path) -> None:
    expected = load(case)
    assert expected["bronze"]["data_type"] == case.name
    assert case.parent.name == "tardis"
    assert len(list(case.glob("*.csv"))) == 1
    for row in expected["silver"]:
        assert set(row) >= REQUIRED_KEYS, row
    for row in expected["quarantined"]:
        assert set(row) >= {"file_seq", "rule_name"}, row

    def texts(value: Any) -> list[str]:
        if isinstance(value, list):
            return [t for v in value for t in texts(v)]
        return [value] if isinstance(value, str) else []

    for row in expected["silver"]:
        for key, value in row.items():
            if key.endswith(("price", "prices", "qty", "qtys", "open_interest", "strike")):
                for text in texts(value):
                    assert text == canonical(Decimal(text)), (key, text)  # plain, no trailing 0


def test_the_quirks_are_still_in_the_files() -> None:
    """The case files keep the byte-level quirks they were written for."""
    ticker = next((CASES / "tardis/derivative_ticker").glob("*.csv")).read_bytes()
    liquidations = next((CASES / "tardis/liquidations").glob("*.csv")).read_bytes()
    assert not ticker.endswith(b"\n")  # no final newline, as Tardis's derivative_ticker sample
    assert not liquidations.endswith(b"\n")  # cut off inside the last row
    snapshot = next((CASES / "tardis/book_snapshot_25").glob("*.csv")).read_text()
    header = snapshot.splitlines()[0].split(",")
    assert len(header) == 4 + 4 * 25
    assert header[-1] == "bids[24].amount"
    assert ",," in snapshot.splitlines()[2]  # empty levels
    for case in CASE_DIRS:
        data = next(case.glob("*.csv")).read_bytes()
        assert b"\r" not in data  # the real samples use LF only
        assert not data.startswith(b"\xef\xbb\xbf")  # and have no BOM


# ---------------------------------------------------------------------------- as_decimal


def test_as_decimal_reads_decimal128_exactly() -> None:
    texts = ["8531.5", "0.00001", "0", "-2.25", "12.345678912", "0.0000000012345"]
    exact = pa.array([Decimal(t) for t in texts], pa.decimal128(38, 18))
    got = [as_decimal(v, exact.type) for v in exact.to_pylist()]
    assert got == [Decimal(t) for t in texts]
    assert [canonical(d) for d in got] == texts  # type: ignore[arg-type]
    assert as_decimal(None, exact.type) is None
    big = Decimal("23640926208.000000000000000001")
    assert as_decimal(pa.array([big], exact.type)[0].as_py(), exact.type) == big
    for other in (pa.float64(), pa.int64(), pa.decimal128(38, 9)):
        with pytest.raises(TypeError):
            as_decimal(1, other)


def test_render_compares_lists_dates_and_floats() -> None:
    levels = pa.list_(pa.decimal128(38, 18))
    assert render([Decimal("1.500"), None], levels, ["1.5", None]) == ["1.5", None]
    assert render(datetime.date(2020, 6, 7), pa.date32(), "2020-06-07") == "2020-06-07"
    assert render(1e-05, pa.float64(), "0.00001") == "0.00001"
    assert render(1e-05, pa.float64(), "0.0001") == "1e-05"
    assert render(1583049600000000, pa.int64(), 1583049600000000) == 1583049600000000
