from __future__ import annotations

import dataclasses
import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from operators.columns import FILE_SEQ, RAW_LINE, raw
from operators.normalize import normalize
from pointline.chain import FLAG_COLUMN, FLAG_FIELD, Chain, Map, decode_flags
from pointline.errors import ChainError, SchemaError
from pointline.schemas import DECIMAL_TYPE
from pointline.testing import assert_tables_equal, batches_from_rows, rebatch
from pointline.vendors import PathFacts, UnsupportedDataTypeError
from pointline.vendors.quant360 import FORMATS as QUANT360_FORMATS
from pointline.vendors.tardis import FORMATS, HEADERS, VENDOR

TS = "1583020803145000"  # 2020-03-01T00:00:03.145Z
FILE_DATE = datetime.date(2020, 3, 1)
LOCAL_TS = "1583020803307160"

DEFAULTS: dict[str, dict[str, str]] = {
    "trades": {"id": "t1", "side": "buy", "price": "100", "amount": "2"},
    "liquidations": {"id": "l1", "side": "sell", "price": "100", "amount": "2"},
    "quotes": {"ask_amount": "3", "ask_price": "101", "bid_price": "100", "bid_amount": "2"},
    "incremental_book_L2": {"is_snapshot": "false", "side": "bid", "price": "100", "amount": "2"},
    "derivative_ticker": {
        "funding_timestamp": "1583020800000000",
        "funding_rate": "0.0001",
        "predicted_funding_rate": "-2.5e-05",
        "open_interest": "1000",
        "last_price": "9500.5",
        "index_price": "9500",
        "mark_price": "9500.25",
    },
    "options_chain": {
        "type": "put",
        "strike_price": "9875",
        "expiration": "1591689600000000",
        "mark_price": "0.0221",
        "delta": "-0.61752",
    },
}


def input_schema(data_type: str) -> pa.Schema:
    return pa.schema(
        [pa.field(raw(h), pa.string()) for h in HEADERS[data_type]]
        + [pa.field(FILE_SEQ, pa.int64()), pa.field(RAW_LINE, pa.string()), FLAG_FIELD]
    )


def row(data_type: str, **fields: str | None) -> dict[str, Any]:
    """One input row: the common defaults, then the type's defaults, then ``fields``."""
    values: dict[str, str | None] = {
        "exchange": "bitmex",
        "symbol": "XBTUSD",
        "timestamp": TS,
        "local_timestamp": LOCAL_TS,
        **DEFAULTS.get(data_type, {}),
        **fields,
    }
    unknown = set(values) - set(HEADERS[data_type])
    assert not unknown, unknown
    return {raw(h): v for h, v in values.items()}


def run(
    data_type: str,
    rows: list[dict[str, Any]],
    *,
    batch_size: int = 65_536,
    facts: PathFacts | None = None,
) -> pa.Table:
    """Normalize ``rows`` as a file whose path says ``facts`` (default: a bitmex file of
    2020-03-01, the day of :data:`TS`)."""
    rows = [{FILE_SEQ: i + 1, **r} for i, r in enumerate(rows)]
    schema = input_schema(data_type)
    facts = facts or PathFacts(data_type, FILE_DATE, {"exchange": "bitmex"})
    chain = Chain([normalize_tardis(data_type, facts=facts)], input_schema=schema)
    return chain.run(batches_from_rows(rows, schema, batch_size=batch_size)).read_all()


def canonical(table: pa.Table, *columns: str) -> list[dict[str, Any]]:
    return table.select(list(columns)).to_pylist()


def flags_of(table: pa.Table) -> list[tuple[str, str, str | None] | None]:
    column = table.column(FLAG_COLUMN).combine_chunks()
    steps, rules, fields = (a.to_pylist() for a in decode_flags(column))
    return [
        None if step is None else (step, rule, field)
        for step, rule, field in zip(steps, rules, fields, strict=True)
    ]


# --------------------------------------------------------------------------- schema


EXPECTED_PRODUCED = {
    "trades": [
        ("trade_id", pa.string()),
        ("side", pa.string()),
        ("is_buyer_maker", pa.bool_()),
        ("price", DECIMAL_TYPE),
        ("qty", DECIMAL_TYPE),
    ],
    "liquidations": [
        ("liquidation_id", pa.string()),
        ("side", pa.string()),
        ("price", DECIMAL_TYPE),
        ("qty", DECIMAL_TYPE),
    ],
    "quotes": [
        ("bid_price", DECIMAL_TYPE),
        ("bid_qty", DECIMAL_TYPE),
        ("ask_price", DECIMAL_TYPE),
        ("ask_qty", DECIMAL_TYPE),
        ("seq_num", pa.int64()),
    ],
    "incremental_book_L2": [
        ("book_seq", pa.int64()),
        ("side", pa.string()),
        ("price", DECIMAL_TYPE),
        ("qty", DECIMAL_TYPE),
        ("is_snapshot", pa.bool_()),
    ],
    "book_snapshot_5": [
        ("depth", pa.int32()),
        ("bid_prices", pa.list_(DECIMAL_TYPE)),
        ("bid_qtys", pa.list_(DECIMAL_TYPE)),
        ("ask_prices", pa.list_(DECIMAL_TYPE)),
        ("ask_qtys", pa.list_(DECIMAL_TYPE)),
    ],
}


@pytest.mark.parametrize("data_type", sorted(EXPECTED_PRODUCED))
def test_output_schema_keeps_input_and_appends_nullable_canonical_columns(data_type: str) -> None:
    schema = input_schema(data_type)
    out = normalize_tardis(data_type).output_schema(schema)
    prefix = [
        ("exchange", pa.string()),
        ("symbol", pa.string()),
        ("ts_event_us", pa.int64()),
        ("ts_local_us", pa.int64()),
    ]
    expected = pa.schema(
        list(schema)
        + [pa.field(n, t, nullable=True) for n, t in prefix + EXPECTED_PRODUCED[data_type]]
    )
    assert out.equals(expected)


def normalize_tardis(data_type: str, **options: Any) -> Map:
    return normalize(FORMATS[data_type], **options)


def test_every_supported_type_builds_and_runs_on_no_rows() -> None:
    for data_type in FORMATS:
        table = run(data_type, [])
        assert table.num_rows == 0


def test_unknown_data_type_names_the_closest_and_the_known_ones() -> None:
    with pytest.raises(
        UnsupportedDataTypeError,
        match=r"tardis data type 'trade' is not supported; did you mean 'trades'\? "
        r"\(supported: book_snapshot_25, .*, trades\)",
    ):
        VENDOR.format("trade")


def test_a_format_that_misses_a_table_column_fails_when_built() -> None:
    fmt = FORMATS["trades"]
    broken = dataclasses.replace(fmt, derived=fmt.derived[:1])  # no is_buyer_maker
    with pytest.raises(
        SchemaError,
        match=r"'trades' does not map onto table 'trades': "
        r"missing \['is_buyer_maker'\]",
    ):
        normalize(broken)


def test_missing_raw_column_fails_when_the_chain_is_built() -> None:
    schema = input_schema("trades").remove(input_schema("trades").get_field_index(raw("price")))
    with pytest.raises(ChainError, match=r"step .normalize.: needs column .raw:price."):
        Chain([normalize_tardis("trades")], input_schema=schema)


# --------------------------------------------------------------------------- mapping


def test_trades_mapping() -> None:
    table = run(
        "trades",
        [
            row("trades", exchange=" BitMEX ", symbol=" XBTUSD ", side="SELL", price="0.1"),
            row("trades", side="buy", price="8531.5", amount="1e-05", id=None),
            row("trades", side="Unknown", price="+2.5E3", amount="0.000000001"),
        ],
    )
    assert canonical(
        table,
        "exchange",
        "symbol",
        "ts_event_us",
        "ts_local_us",
        "trade_id",
        "side",
        "is_buyer_maker",
        "price",
        "qty",
    ) == [
        {
            "exchange": "bitmex",
            "symbol": "XBTUSD",
            "ts_event_us": 1583020803145000,
            "ts_local_us": 1583020803307160,
            "trade_id": "t1",
            "side": "sell",
            "is_buyer_maker": True,
            "price": Decimal("0.1"),
            "qty": 2,
        },
        {
            "exchange": "bitmex",
            "symbol": "XBTUSD",
            "ts_event_us": 1583020803145000,
            "ts_local_us": 1583020803307160,
            "trade_id": None,
            "side": "buy",
            "is_buyer_maker": False,
            "price": Decimal("8531.5"),
            "qty": Decimal("0.00001"),
        },
        {
            "exchange": "bitmex",
            "symbol": "XBTUSD",
            "ts_event_us": 1583020803145000,
            "ts_local_us": 1583020803307160,
            "trade_id": "t1",
            "side": "unknown",
            "is_buyer_maker": None,
            "price": 2500,
            "qty": Decimal("0.000000001"),
        },
    ]
    assert flags_of(table) == [None, None, None]
    # the raw columns travel on unchanged
    assert table.column(raw("exchange")).to_pylist()[0] == " BitMEX "


def test_liquidations_mapping() -> None:
    table = run("liquidations", [row("liquidations", id="abc", side="Buy", price="0.5")])
    assert canonical(table, "liquidation_id", "side", "price", "qty") == [
        {"liquidation_id": "abc", "side": "buy", "price": Decimal("0.5"), "qty": 2}
    ]
    assert flags_of(table) == [None]


def test_quotes_mapping_and_one_empty_side_is_valid() -> None:
    table = run(
        "quotes",
        [
            row("quotes"),
            row("quotes", ask_amount=None, ask_price=None),
            row("quotes", bid_price=None, bid_amount=""),
            row("quotes", ask_price="100"),  # locked book: bid == ask is fine
        ],
    )
    assert canonical(table, "bid_price", "bid_qty", "ask_price", "ask_qty") == [
        {"bid_price": 100, "bid_qty": 2, "ask_price": 101, "ask_qty": 3},
        {"bid_price": 100, "bid_qty": 2, "ask_price": None, "ask_qty": None},
        {"bid_price": None, "bid_qty": None, "ask_price": 101, "ask_qty": 3},
        {"bid_price": 100, "bid_qty": 2, "ask_price": 100, "ask_qty": 3},
    ]
    assert table.column("seq_num").to_pylist() == [None] * 4
    assert flags_of(table) == [None] * 4


def test_orderbook_updates_mapping_and_zero_qty_is_a_delete() -> None:
    table = run(
        "incremental_book_L2",
        [
            row("incremental_book_L2", is_snapshot="TRUE", side="ASK", price="6421.5"),
            row("incremental_book_L2", is_snapshot="False", amount="0"),
        ],
    )
    assert canonical(table, "book_seq", "side", "price", "qty", "is_snapshot") == [
        {
            "book_seq": None,
            "side": "ask",
            "price": Decimal("6421.5"),
            "qty": 2,
            "is_snapshot": True,
        },
        {"book_seq": None, "side": "bid", "price": 100, "qty": 0, "is_snapshot": False},
    ]
    assert flags_of(table) == [None, None]


def test_derivative_ticker_mapping() -> None:
    table = run("derivative_ticker", [row("derivative_ticker", open_interest=None)])
    assert canonical(
        table,
        "mark_price",
        "index_price",
        "last_price",
        "open_interest",
        "funding_rate",
        "predicted_funding_rate",
        "funding_ts_us",
    ) == [
        {
            "mark_price": Decimal("9500.25"),
            "index_price": 9500,
            "last_price": Decimal("9500.5"),
            "open_interest": None,
            "funding_rate": 0.0001,
            "predicted_funding_rate": -2.5e-05,
            "funding_ts_us": 1583020800000000,
        }
    ]
    assert flags_of(table) == [None]


def test_options_chain_mapping() -> None:
    table = run(
        "options_chain",
        [row("options_chain", type="PUT", underlying_index=" SYN.BTC-9JUN20 ", bid_iv="55.91")],
    )
    got = canonical(
        table,
        "option_type",
        "strike",
        "expiration_ts_us",
        "mark_price",
        "bid_price",
        "bid_iv",
        "underlying_index",
        "delta",
        "rho",
    )
    assert got == [
        {
            "option_type": "put",
            "strike": 9875,
            "expiration_ts_us": 1591689600000000,
            "mark_price": Decimal("0.0221"),
            "bid_price": None,
            "bid_iv": 55.91,
            "underlying_index": "SYN.BTC-9JUN20",
            "delta": -0.61752,
            "rho": None,
        }
    ]
    assert flags_of(table) == [None]


def test_book_snapshot_levels_best_first_with_null_for_an_empty_level() -> None:
    levels: dict[str, str | None] = {}
    for i in range(5):
        levels[f"asks[{i}].price"] = f"{101 + i}"
        levels[f"asks[{i}].amount"] = "1"
        levels[f"bids[{i}].price"] = f"{100 - i}.5"
        levels[f"bids[{i}].amount"] = "0.25"
    levels["bids[4].price"] = None
    levels["bids[4].amount"] = None
    table = run("book_snapshot_5", [row("book_snapshot_5", **levels)])
    assert canonical(table, "depth", "bid_prices", "bid_qtys", "ask_prices", "ask_qtys") == [
        {
            "depth": 5,
            "bid_prices": [
                Decimal("100.5"),
                Decimal("99.5"),
                Decimal("98.5"),
                Decimal("97.5"),
                None,
            ],
            "bid_qtys": [Decimal("0.25")] * 4 + [None],
            "ask_prices": [101, 102, 103, 104, 105],
            "ask_qtys": [1] * 5,
        }
    ]
    assert flags_of(table) == [None]


@pytest.mark.parametrize("empty", [None, ""])
def test_event_time_falls_back_to_local_timestamp_row_by_row(empty: str | None) -> None:
    table = run("trades", [row("trades", timestamp=empty), row("trades")])
    assert table.column("ts_event_us").to_pylist() == [1583020803307160, 1583020803145000]
    assert table.column("ts_local_us").to_pylist() == [1583020803307160, 1583020803307160]
    assert flags_of(table) == [None, None]


def test_integer_text_edge_cases() -> None:
    table = run(
        "trades",
        [
            row("trades", timestamp="+1583020803145000"),  # a sign: parsed exactly
            row("trades", timestamp="0001583020803145000"),  # 19 chars, leading zeros
            row("trades", timestamp="0x10"),  # Arrow's cast would take hex: we do not
            row("trades", timestamp="1583020803145000000"),  # nanoseconds: fits, wrong scale
            row("trades", timestamp="99999999999999999999"),  # beyond int64
            row("trades", timestamp="1" + "0" * 5000),  # beyond what Python's int() reads
            row("trades", timestamp="-" + "0" * 5000 + "7"),  # -7, with 5000 leading zeros
        ],
    )
    assert table.column("ts_event_us").to_pylist()[:2] == [1583020803145000] * 2
    assert flags_of(table) == [
        None,
        None,
        ("normalize", "unparseable_value", "timestamp"),
        ("normalize", "timestamp_out_of_range", "timestamp"),
        ("normalize", "value_out_of_range", "timestamp"),
        ("normalize", "value_out_of_range", "timestamp"),
        ("normalize", "timestamp_out_of_range", "timestamp"),
    ]


# --------------------------------------------------------------------------- rules


def flag(rule: str, field: str | None = None) -> tuple[str, str, str | None]:
    return ("normalize", rule, field)


RULE_CASES: list[tuple[str, dict[str, str | None], tuple[str, str, str | None]]] = [
    # every table: the prefix
    ("trades", {"exchange": None}, flag("missing_field", "exchange")),
    ("trades", {"exchange": "  "}, flag("missing_field", "exchange")),
    ("trades", {"symbol": ""}, flag("missing_field", "symbol")),
    ("quotes", {"timestamp": None, "local_timestamp": None}, flag("missing_field", "timestamp")),
    ("trades", {"local_timestamp": "12a"}, flag("unparseable_value", "local_timestamp")),
    ("trades", {"timestamp": "1.5e15"}, flag("unparseable_value", "timestamp")),
    ("trades", {"timestamp": "946684799999999"}, flag("timestamp_out_of_range", "timestamp")),
    (
        "trades",
        {"timestamp": None, "local_timestamp": "5"},
        flag("timestamp_out_of_range", "local_timestamp"),
    ),
    ("trades", {"local_timestamp": "-1"}, flag("timestamp_out_of_range", "local_timestamp")),
    # trades
    ("trades", {"price": None}, flag("missing_field", "price")),
    ("trades", {"amount": ""}, flag("missing_field", "amount")),
    ("trades", {"side": None}, flag("missing_field", "side")),
    ("trades", {"price": "1.2.3"}, flag("unparseable_value", "price")),
    ("trades", {"amount": "NaN"}, flag("unparseable_value", "amount")),
    ("trades", {"price": "100000000000000000000"}, flag("value_out_of_range", "price")),
    ("trades", {"price": "-1e20"}, flag("value_out_of_range", "price")),
    ("trades", {"amount": "0.0000000000000000001"}, flag("inexact_value", "amount")),
    ("trades", {"price": "1.2345e-19"}, flag("inexact_value", "price")),
    ("trades", {"side": "short"}, flag("invalid_trade", "side")),
    ("trades", {"amount": "0"}, flag("invalid_trade", "amount")),
    ("trades", {"amount": "-2"}, flag("invalid_trade", "amount")),
    ("trades", {"side": "hold", "amount": "0"}, flag("invalid_trade", "side")),
    ("trades", {"exchange": "deribit"}, flag("exchange_mismatch", "exchange")),
    # liquidations
    ("liquidations", {"side": "unknown"}, flag("invalid_liquidation", "side")),
    ("liquidations", {"amount": "0"}, flag("invalid_liquidation", "amount")),
    ("liquidations", {"amount": None}, flag("missing_field", "amount")),
    # quotes
    ("quotes", {"bid_amount": "-1"}, flag("invalid_quote", "bid_amount")),
    ("quotes", {"ask_amount": "-0.5"}, flag("invalid_quote", "ask_amount")),
    ("quotes", {"ask_price": "x"}, flag("unparseable_value", "ask_price")),
    # orderbook updates
    ("incremental_book_L2", {"side": "buy"}, flag("invalid_book_update", "side")),
    ("incremental_book_L2", {"amount": "-1"}, flag("invalid_book_update", "amount")),
    ("incremental_book_L2", {"is_snapshot": None}, flag("invalid_book_update", "is_snapshot")),
    ("incremental_book_L2", {"is_snapshot": "yes"}, flag("invalid_book_update", "is_snapshot")),
    ("incremental_book_L2", {"side": ""}, flag("missing_field", "side")),
    # derivative ticker
    ("derivative_ticker", {"funding_rate": "abc"}, flag("unparseable_value", "funding_rate")),
    (
        "derivative_ticker",
        {"funding_timestamp": "soon"},
        flag("unparseable_value", "funding_timestamp"),
    ),
    # options chain
    ("options_chain", {"type": "future"}, flag("invalid_option_contract", "type")),
    ("options_chain", {"expiration": "0"}, flag("invalid_option_contract", "expiration")),
    ("options_chain", {"type": None}, flag("missing_field", "type")),
    ("options_chain", {"delta": "inf"}, flag("unparseable_value", "delta")),
]


@pytest.mark.parametrize(("data_type", "fields", "expected"), RULE_CASES)
def test_row_rules(
    data_type: str, fields: dict[str, str | None], expected: tuple[str, str, str | None]
) -> None:
    table = run(data_type, [row(data_type), row(data_type, **fields), row(data_type)])
    assert flags_of(table) == [None, expected, None]


FIRST_FLAG_CASES: list[tuple[str, dict[str, str | None], tuple[str, str, str | None]]] = [
    # fields in header order: exchange before price
    ("trades", {"exchange": None, "price": "x"}, flag("missing_field", "exchange")),
    # unparseable price before the empty amount that follows it in the header
    ("trades", {"price": "x", "amount": None}, flag("unparseable_value", "price")),
    # field rules before the time range
    ("trades", {"timestamp": "5", "amount": "y"}, flag("unparseable_value", "amount")),
    # the time range before the table rule
    ("trades", {"timestamp": "5", "side": "short"}, flag("timestamp_out_of_range", "timestamp")),
    # an overflow before the table rule
    (
        "quotes",
        {"bid_price": "1e20", "ask_price": "-1"},
        flag("value_out_of_range", "bid_price"),
    ),
]


@pytest.mark.parametrize(("data_type", "fields", "expected"), FIRST_FLAG_CASES)
def test_first_flag_wins(
    data_type: str, fields: dict[str, str | None], expected: tuple[str, str, str | None]
) -> None:
    assert flags_of(run(data_type, [row(data_type, **fields)])) == [expected]


def test_rows_flagged_by_parse_keep_their_flag_and_get_null_values() -> None:
    malformed = {raw(h): None for h in HEADERS["trades"]} | {
        RAW_LINE: "bitmex,XBTUSD,1,2",
        FLAG_COLUMN: "parse.unparseable_value",
    }
    table = run("trades", [row("trades"), malformed, row("trades")])
    assert flags_of(table) == [None, ("parse", "unparseable_value", None), None]
    assert canonical(table, "exchange", "price", "ts_event_us")[1] == {
        "exchange": None,
        "price": None,
        "ts_event_us": None,
    }


# --------------------------------------------------------------------------- execution shape


def mixed_rows() -> list[dict[str, Any]]:
    rows = []
    for i in range(40):
        fields: dict[str, str | None] = {"price": f"{100 + i}.{i}", "amount": str(i % 7)}
        if i % 5 == 0:
            fields["timestamp"] = None
        if i % 9 == 0:
            fields["side"] = "bad"
        if i % 11 == 0:
            fields["price"] = "oops"
        rows.append(row("trades", **fields))
    return rows


def test_batch_size_invariance_and_rerun() -> None:
    rows = mixed_rows()
    expected = run("trades", rows, batch_size=65_536)
    assert sum(f is not None for f in flags_of(expected)) > 5
    for batch_size in (1, 7):
        got = run("trades", rows, batch_size=batch_size)
        assert flags_of(got) == flags_of(expected)
        assert_tables_equal(
            pa.Table.from_batches(rebatch(got.drop_columns([FLAG_COLUMN]), 65_536)),
            pa.Table.from_batches(rebatch(expected.drop_columns([FLAG_COLUMN]), 65_536)),
        )
    schema = input_schema("trades")
    chain = Chain([normalize_tardis("trades")], input_schema=schema)
    batches = batches_from_rows([{FILE_SEQ: 1, **r} for r in rows], schema, batch_size=7)
    first = chain.run(batches).read_all()
    second = chain.run(batches).read_all()
    assert first.equals(second)


# --------------------------------------------------------------------------- golden


def read_sample(path: Path, data_type: str, rows: int) -> list[dict[str, Any]]:
    headers = HEADERS[data_type]
    table = pacsv.read_csv(
        path,
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(headers, pa.string()), strings_can_be_null=True
        ),
    )
    table = table.select(list(headers)).rename_columns([raw(h) for h in headers])
    return table.slice(0, rows).to_pylist()


def test_golden_bitmex_trades(tardis_samples: Path) -> None:
    table = run("trades", read_sample(tardis_samples / "bitmex_trades_XBTUSD.csv", "trades", 3))
    # bitmex,XBTUSD,1583020803145000,1583020803307160,ccc3c1fa-...,sell,8531.5,2152
    # bitmex,XBTUSD,1583020803276000,1583020803336743,b46c84da-...,sell,8531.5,1
    # bitmex,XBTUSD,1583020803276000,1583020803336743,cd770a93-...,sell,8531.5,1
    common = {"exchange": "bitmex", "symbol": "XBTUSD", "side": "sell", "is_buyer_maker": True}
    assert canonical(
        table,
        "exchange",
        "symbol",
        "ts_event_us",
        "ts_local_us",
        "trade_id",
        "side",
        "is_buyer_maker",
        "price",
        "qty",
    ) == [
        common
        | {
            "ts_event_us": 1583020803145000,
            "ts_local_us": 1583020803307160,
            "trade_id": "ccc3c1fa-212c-e8b0-1706-9b9c4f3d5ecf",
            "price": Decimal("8531.5"),
            "qty": Decimal("2152"),
        },
        common
        | {
            "ts_event_us": 1583020803276000,
            "ts_local_us": 1583020803336743,
            "trade_id": "b46c84da-6942-b404-ab94-18a9ad497fdd",
            "price": Decimal("8531.5"),
            "qty": Decimal("1"),
        },
        common
        | {
            "ts_event_us": 1583020803276000,
            "ts_local_us": 1583020803336743,
            "trade_id": "cd770a93-91bc-74f4-37b4-85d6fa8e7256",
            "price": Decimal("8531.5"),
            "qty": Decimal("1"),
        },
    ]
    assert flags_of(table) == [None] * 3


def test_golden_huobi_quotes(tardis_samples: Path) -> None:
    path = tardis_samples / "huobi-dm-swap_quotes_BTC-USD.csv"
    facts = PathFacts("quotes", datetime.date(2020, 5, 1), {"exchange": "huobi-dm-swap"})
    table = run("quotes", read_sample(path, "quotes", 2), facts=facts)
    # huobi-dm-swap,BTC-USD,1588291201099000,1588291201234268,5494,8629.3,8629.2,806
    # huobi-dm-swap,BTC-USD,1588291201133000,1588291201454126,5493,8629.3,8629.2,806
    common = {
        "exchange": "huobi-dm-swap",
        "symbol": "BTC-USD",
        "bid_price": Decimal("8629.2"),
        "bid_qty": Decimal("806"),
        "ask_price": Decimal("8629.3"),
        "seq_num": None,
    }
    assert canonical(
        table,
        "exchange",
        "symbol",
        "ts_event_us",
        "ts_local_us",
        "bid_price",
        "bid_qty",
        "ask_price",
        "ask_qty",
        "seq_num",
    ) == [
        common
        | {
            "ts_event_us": 1588291201099000,
            "ts_local_us": 1588291201234268,
            "ask_qty": Decimal("5494"),
        },
        common
        | {
            "ts_event_us": 1588291201133000,
            "ts_local_us": 1588291201454126,
            "ask_qty": Decimal("5493"),
        },
    ]
    assert flags_of(table) == [None] * 2


def test_golden_deribit_incremental_book_l2(tardis_samples: Path) -> None:
    table = run(
        "incremental_book_L2",
        read_sample(
            tardis_samples / "deribit_incremental_book_L2_BTC-PERPETUAL.csv",
            "incremental_book_L2",
            3,
        ),
        facts=PathFacts("incremental_book_L2", datetime.date(2020, 4, 1), {"exchange": "deribit"}),
    )
    # deribit,BTC-PERPETUAL,1585699200245000,1585699200355684,true,ask,6421.5,18640
    # deribit,BTC-PERPETUAL,1585699200245000,1585699200355684,true,ask,6422,1190
    # deribit,BTC-PERPETUAL,1585699200245000,1585699200355684,true,ask,6422.5,1080
    common = {
        "exchange": "deribit",
        "symbol": "BTC-PERPETUAL",
        "ts_event_us": 1585699200245000,
        "ts_local_us": 1585699200355684,
        "book_seq": None,
        "side": "ask",
        "is_snapshot": True,
    }
    assert canonical(
        table,
        "exchange",
        "symbol",
        "ts_event_us",
        "ts_local_us",
        "book_seq",
        "side",
        "price",
        "qty",
        "is_snapshot",
    ) == [
        common | {"price": Decimal("6421.5"), "qty": Decimal("18640")},
        common | {"price": Decimal("6422"), "qty": Decimal("1190")},
        common | {"price": Decimal("6422.5"), "qty": Decimal("1080")},
    ]
    assert flags_of(table) == [None] * 3


def test_time_range_bounds_are_inclusive_and_follow_the_file_date() -> None:
    # A file of 2020-03-01 accepts times up to 2020-03-03T23:59:59.999999Z.
    rows = [
        row("trades", timestamp="946684800000000"),  # 2000-01-01T00:00:00Z
        row("trades", timestamp="1583279999999999", local_timestamp="1583279999999999"),
        row("trades", timestamp="1583280000000000"),  # 2020-03-04T00:00:00Z
        row("trades", local_timestamp="1583280000000000"),
    ]
    assert flags_of(run("trades", rows)) == [
        None,
        None,
        flag("timestamp_out_of_range", "timestamp"),
        flag("timestamp_out_of_range", "local_timestamp"),
    ]
    # The same rows in a file dated two days later are all in range; without a date, the
    # bound is 2100-01-01. Never the wall clock: the result is the same on any day.
    later = PathFacts("trades", datetime.date(2020, 3, 3), {"exchange": "bitmex"})
    assert flags_of(run("trades", rows, facts=later)) == [None] * 4
    undated = [
        *rows,
        row("trades", timestamp="4102444799999999"),
        row("trades", timestamp="4102444800000000"),
    ]
    assert flags_of(run("trades", undated, facts=PathFacts("trades"))) == [None] * 5 + [
        flag("timestamp_out_of_range", "timestamp")
    ]


# ------------------------------------------------- fast paths: a batch reads as its rows

_CLEAN_POOLS = [
    ["1", "2", "2014", "0"],
    ["11.930", "9.99", "0", "27341.52", "1"],
    ["20240102091500255", "20240102150000000"],
    [TS, LOCAL_TS],
    ["bid", "ask", "buy", "sell", "BUY", "Sell"],
    ["true", "false", "TRUE"],
    ["B", "S", "A", "D", "U", "F", "4"],
    ["XBTUSD", "bitmex", "000001", "szse"],
    ["[1.5,2,0]", "[]", "[9.390,0,0,0,0,0,0,0,0,0]"],
]
_HOSTILE = [
    None, "", " 1", "2 ", "\u00a01", "1\u3000", "\t2", " BUY ", "-5", "+5", "0x10", "0X1f",
    "9" * 19, "9" * 30, "1e3", "é", "1.2.3", "-0", "007", "Bid", "2024010209150025",
    "20240230091500000", " 20240102091500255", "[1,x]", "nan",
]  # fmt: skip
_FORMATS = {
    **{f"tardis/{name}": (fmt, PathFacts(name, FILE_DATE, {"exchange": "bitmex"}))
       for name, fmt in FORMATS.items()},
    **{f"quant360/{name}": (fmt, PathFacts(name.split("_", 1)[1], datetime.date(2024, 1, 2),
                                            {"exchange": name.split("_")[0], "symbol": "000001"}))
       for name, fmt in QUANT360_FORMATS.items()},
}  # fmt: skip


@st.composite
def _columns(draw: st.DrawFn) -> tuple[str, list[dict[str, Any]]]:
    """A format and up to 12 rows; each column's cells from one clean pool, mixed with
    hostile cells in some columns (so a batch takes the slow path where a lone row does
    not)."""
    name = draw(st.sampled_from(sorted(_FORMATS)))
    fmt = _FORMATS[name][0]
    n = draw(st.integers(1, 12))
    cells: dict[str, list[str | None]] = {}
    for header in fmt.header:
        pool = draw(st.sampled_from(_CLEAN_POOLS))
        if draw(st.booleans()):
            pool = [*pool, *draw(st.lists(st.sampled_from(_HOSTILE), min_size=1, max_size=3))]
        cells[header] = draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n))
    rows = [{raw(h): cells[h][i] for h in fmt.header} for i in range(n)]
    return name, rows


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=_columns())
def test_a_batch_reads_every_row_as_that_row_alone(case: tuple[str, list[dict[str, Any]]]) -> None:
    """Every reader has a column-wide fast path (no trim when no byte could be blank, a
    byte table for one-character codes, a digits-only cast); a batch that mixes clean and
    hostile cells takes the general path. Both must give each row the same values and
    flags."""
    name, rows = case
    fmt, facts = _FORMATS[name]
    rows = [{FILE_SEQ: i + 1, **r} for i, r in enumerate(rows)]
    schema = pa.schema(
        [pa.field(raw(h), pa.string()) for h in fmt.header]
        + [pa.field(FILE_SEQ, pa.int64()), pa.field(RAW_LINE, pa.string()), FLAG_FIELD]
    )
    chain = Chain([normalize(fmt, facts)], input_schema=schema)
    together = chain.run(batches_from_rows(rows, schema)).read_all()
    alone = chain.run(batches_from_rows(rows, schema, batch_size=1)).read_all()
    assert_tables_equal(_flags_as_text(together), _flags_as_text(alone))


def _flags_as_text(table: pa.Table) -> pa.Table:
    """The flag column as plain text (each batch has its own dictionary of labels)."""
    index = table.schema.get_field_index(FLAG_COLUMN)
    text = table.column(index).cast(pa.string())
    return table.set_column(index, FLAG_COLUMN, text).combine_chunks()
