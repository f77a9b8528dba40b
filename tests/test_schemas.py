from __future__ import annotations

import pyarrow as pa
import pytest

import pointline
from pointline.errors import SchemaError, UnknownTableError
from pointline.schemas import (
    DECIMAL_TYPE,
    EVENT_PREFIX,
    EVENT_TABLES,
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
    "cn_order_events",
    "cn_tick_events",
    "cn_l2_snapshots",
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


REPLAY_KEYS = {
    # docs/contracts.md section 4: crypto replays in arrival order, CN orders and ticks in
    # the exchange channel's publication order, CN snapshots by time and snapshot number.
    "cn_order_events": (
        "exchange", "symbol_id", "trading_date", "channel_id", "channel_seq", "file_id", "file_seq"
    ),
    "cn_tick_events": (
        "exchange", "symbol_id", "trading_date", "channel_id", "channel_seq", "file_id", "file_seq"
    ),
    "cn_l2_snapshots": (
        "exchange", "symbol_id", "ts_event_us", "snapshot_seq", "file_id", "file_seq"
    ),
}  # fmt: skip


@pytest.mark.parametrize("spec", EVENT_TABLES, ids=lambda s: s.name)
def test_event_tables_share_prefix_partitioning_and_replay_order(spec: TableSpec) -> None:
    assert spec.columns[: len(EVENT_PREFIX)] == EVENT_PREFIX
    assert spec.partition_by == ("exchange", "trading_date")
    arrival = ("exchange", "symbol_id", "ts_local_us", "file_id", "file_seq")
    assert spec.tie_break_keys == REPLAY_KEYS.get(spec.name, arrival)
    assert spec.business_keys == ("file_id", "file_seq")


def test_trades_arrow_schema_carries_nullability_description_and_version() -> None:
    schema = get_table_spec("trades").arrow_schema
    assert schema.metadata[b"pointline.schema_version"] == b"2"
    assert schema.metadata[b"pointline.table"] == b"trades"
    price = schema.field("price")
    assert price.type == pa.decimal128(38, 18)
    assert not price.nullable
    assert price.metadata[b"pointline.description"] == b"trade price"
    assert schema.field("trade_id").nullable


MONETARY_SUFFIXES = (
    "price", "qty", "_prices", "_qtys", "_levels", "open_interest", "strike", "_size"
)  # fmt: skip


def test_every_price_and_quantity_column_is_decimal128_38_18() -> None:
    monetary = [
        (spec.name, column)
        for spec in list_table_specs()
        for column in spec.columns
        if column.name.endswith(MONETARY_SUFFIXES)
    ]
    # trades 2, quotes 4, orderbook_updates 2, book_snapshots 4, derivative_ticker 4,
    # liquidations 2, options_chain 9, dim_symbol 4 (sizes and min_qty), cn_order_events 2,
    # cn_tick_events 2, cn_l2_snapshots 4
    assert len(monetary) == 39
    for table, column in monetary:
        value_type = column.dtype.value_type if pa.types.is_list(column.dtype) else column.dtype
        assert value_type == DECIMAL_TYPE == pa.decimal128(38, 18), (table, column.name)
    # ... and nothing else is a decimal (rates, vols and greeks stay float64)
    for spec in list_table_specs():
        for column in spec.columns:
            if pa.types.is_decimal(column.dtype):
                assert column.name.endswith(MONETARY_SUFFIXES), (spec.name, column.name)


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


def test_column_rejects_bad_names() -> None:
    with pytest.raises(SchemaError, match=r"lower snake case"):
        ColumnSpec(name="Price", dtype=pa.int64())


def test_specs_are_frozen() -> None:
    spec = get_table_spec("trades")
    with pytest.raises(AttributeError):
        spec.name = "x"  # type: ignore[misc]
