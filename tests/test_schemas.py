from __future__ import annotations

import pyarrow as pa
import pytest

import pointline
from pointline.errors import SchemaError, UnknownTableError
from pointline.schemas import (
    EVENT_PREFIX,
    EVENT_TABLES,
    PRICE_SCALE,
    ColumnSpec,
    TableSpec,
    get_table_spec,
    list_table_specs,
)

EXPECTED_TABLES = {
    "trades",
    "quotes",
    "orderbook_updates",
    "book_snapshots",
    "derivative_ticker",
    "liquidations",
    "options_chain",
    "dim_symbol",
    "ingest_manifest",
    "validation_log",
}


def test_registry_lists_every_table_sorted() -> None:
    names = [spec.name for spec in list_table_specs()]
    assert names == sorted(EXPECTED_TABLES)


def test_lookup_is_exported_from_top_level_package() -> None:
    assert pointline.get_table_spec("trades") is get_table_spec("trades")
    assert pointline.list_table_specs() == list_table_specs()


def test_unknown_table_error_lists_known_tables() -> None:
    with pytest.raises(UnknownTableError, match=r"unknown table 'trade'; known tables: .*trades"):
        get_table_spec("trade")
    with pytest.raises(LookupError):
        get_table_spec("nope")


@pytest.mark.parametrize("spec", EVENT_TABLES, ids=lambda s: s.name)
def test_event_tables_share_prefix_partitioning_and_arrival_order(spec: TableSpec) -> None:
    assert spec.columns[: len(EVENT_PREFIX)] == EVENT_PREFIX
    assert spec.partition_by == ("exchange", "trading_date")
    assert spec.tie_break_keys == ("exchange", "symbol_id", "ts_local_us", "file_id", "file_seq")
    assert spec.business_keys == ("file_id", "file_seq")


def test_trades_arrow_schema_carries_nullability_scale_and_version() -> None:
    schema = get_table_spec("trades").arrow_schema
    assert schema.metadata[b"pointline.schema_version"] == b"1"
    assert schema.metadata[b"pointline.table"] == b"trades"
    price = schema.field("price")
    assert price.type == pa.int64()
    assert not price.nullable
    assert price.metadata[b"pointline.scale"] == b"1000000000"
    assert schema.field("trade_id").nullable
    assert b"pointline.scale" not in (schema.field("trade_id").metadata or {})


def test_every_price_and_qty_column_is_scaled_int64() -> None:
    for spec in list_table_specs():
        for column in spec.columns:
            looks_monetary = column.name.endswith(("price", "_qty", "qty", "_prices", "_qtys"))
            if looks_monetary and column.name != "is_buyer_maker":
                assert column.scale == PRICE_SCALE, (spec.name, column.name)


def test_required_columns_are_the_non_nullable_ones() -> None:
    spec = get_table_spec("quotes")
    assert "bid_price" not in spec.required_columns
    assert spec.required_columns[:5] == (
        "exchange",
        "trading_date",
        "symbol",
        "symbol_id",
        "ts_event_us",
    )


def test_column_lookup_error_lists_columns() -> None:
    with pytest.raises(SchemaError, match=r"table 'trades' has no column 'prize'; columns: "):
        get_table_spec("trades").column("prize")


def _spec(**overrides: object) -> TableSpec:
    fields: dict[str, object] = {
        "name": "t",
        "kind": "event",
        "columns": (
            ColumnSpec(name="a", dtype=pa.int64()),
            ColumnSpec(name="b", dtype=pa.string(), nullable=True),
        ),
    }
    fields.update(overrides)
    return TableSpec(**fields)  # type: ignore[arg-type]


def test_spec_rejects_duplicate_columns() -> None:
    col = ColumnSpec(name="a", dtype=pa.int64())
    with pytest.raises(SchemaError, match=r"column 'a' is defined twice"):
        _spec(columns=(col, col))


@pytest.mark.parametrize("role", ["partition_by", "business_keys", "tie_break_keys"])
def test_spec_rejects_keys_naming_unknown_columns(role: str) -> None:
    with pytest.raises(SchemaError, match=rf"{role} names unknown columns \['zzz'\]"):
        _spec(**{role: ("a", "zzz")})


def test_spec_rejects_nullable_partition_column() -> None:
    with pytest.raises(SchemaError, match=r"partition columns \['b'\] must not be nullable"):
        _spec(partition_by=("b",))


def test_column_rejects_scale_on_non_integer() -> None:
    with pytest.raises(SchemaError, match=r"a scale needs int64"):
        ColumnSpec(name="x", dtype=pa.float64(), scale=PRICE_SCALE)


def test_column_rejects_bad_names() -> None:
    with pytest.raises(SchemaError, match=r"lower snake case"):
        ColumnSpec(name="Price", dtype=pa.int64())


def test_specs_are_frozen() -> None:
    spec = get_table_spec("trades")
    with pytest.raises(AttributeError):
        spec.name = "x"  # type: ignore[misc]
