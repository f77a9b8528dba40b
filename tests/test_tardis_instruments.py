"""Tardis instruments API JSON -> dim_symbol windows (docs/tardis_instruments.md).

The four samples in ``tests/cases/tardis_instruments/`` must give exactly the rows listed in
that folder's README (written there by hand from a standard-library script, so the values
below are literals, not recomputed here). The other cases write small JSON files to
``tmp_path``; numbers in them are written as JSON numbers (:func:`dumps` keeps Decimals
exact), never through a float.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pointline.dim_symbol import DIM_SCHEMA, DimSymbolError, symbol_id, validate
from pointline.vendors.tardis_instruments import TardisInstruments, read_instruments

CASES = Path(__file__).resolve().parent / "cases" / "tardis_instruments"
OPEN = 2**63 - 1
NOW = 1_700_000_000_000_000

# 2020-01-01, 2021-01-01, 2022-01-01, 2023-01-01, 2024-01-01 at 00:00 UTC, in us.
Y2020, Y2021, Y2022, Y2023, Y2024 = (
    1577836800000000,
    1609459200000000,
    1640995200000000,
    1672531200000000,
    1704067200000000,
)


def row(**values: Any) -> dict[str, Any]:
    """An expected dim_symbol row: canonical_symbol = exchange_symbol, board null, and
    ``updated_at_ts_us`` = NOW unless given."""
    out = {"canonical_symbol": values["exchange_symbol"], "board": None, "updated_at_ts_us": NOW}
    out.update(values)
    return {name: out[name] for name in DIM_SCHEMA.names}


OKEX = {
    "exchange": "okex-swap",
    "exchange_symbol": "ETH-USDT-SWAP",
    "market_type": "perpetual",
    "base_asset": "ETH",
    "quote_asset": "USDT",
    "contract_size": Decimal("0.1"),
    "expiry_ts_us": None,
    "is_inverse": False,
}
SAMPLES: dict[str, list[dict[str, Any]]] = {
    "okex-swap_ETH-USDT-SWAP.json": [
        row(
            **OKEX,
            symbol_id=-2021053480429766653,
            valid_from_ts_us=1580515200000000,
            valid_until_ts_us=1635919200000000,
            is_current=False,
            tick_size=Decimal("0.1"),
            lot_size=Decimal("1"),
            min_qty=Decimal("1"),
        ),
        row(
            **OKEX,
            symbol_id=796144875565420307,
            valid_from_ts_us=1635919200000000,
            valid_until_ts_us=1684310400000000,
            is_current=False,
            tick_size=Decimal("0.05"),
            lot_size=Decimal("1"),
            min_qty=Decimal("1"),
        ),
        row(
            **OKEX,
            symbol_id=-8781620937368599124,
            valid_from_ts_us=1684310400000000,
            valid_until_ts_us=OPEN,
            is_current=True,
            tick_size=Decimal("0.01"),
            lot_size=Decimal("0.01"),
            min_qty=Decimal("0.01"),
        ),
    ],
    "binance_PEPEUSDT.json": [
        row(
            symbol_id=-8884387062513411177,
            exchange="binance",
            exchange_symbol="PEPEUSDT",
            market_type="spot",
            base_asset="PEPE",
            quote_asset="USDT",
            valid_from_ts_us=1683244800000000,
            valid_until_ts_us=OPEN,
            is_current=True,
            tick_size=Decimal("0.00000001"),
            lot_size=Decimal("1"),
            contract_size=None,
            expiry_ts_us=None,
            min_qty=Decimal("1"),
            is_inverse=None,
        )
    ],
    "deribit_ETH-27MAR26.json": [
        row(
            symbol_id=-8119645843006490466,
            exchange="deribit",
            exchange_symbol="ETH-27MAR26",
            market_type="future",
            base_asset="ETH",
            quote_asset="USD",
            valid_from_ts_us=1743120000000000,
            valid_until_ts_us=1774598400000000,
            is_current=False,
            tick_size=Decimal("0.05"),
            lot_size=Decimal("1"),
            contract_size=Decimal("1"),
            expiry_ts_us=1774598400000000,
            min_qty=Decimal("1"),
            is_inverse=True,
        )
    ],
    "deribit_BTC-26JUN26-120000-C.json": [
        row(
            symbol_id=7065802986139886877,
            exchange="deribit",
            exchange_symbol="BTC-26JUN26-120000-C",
            market_type="option",
            base_asset="BTC",
            quote_asset="BTC",
            valid_from_ts_us=1758844800000000,
            valid_until_ts_us=OPEN,
            is_current=True,
            tick_size=Decimal("0.0001"),
            lot_size=Decimal("0.1"),
            contract_size=Decimal("1"),
            expiry_ts_us=1782460800000000,
            min_qty=Decimal("0.1"),
            is_inverse=True,
        )
    ],
}
"""The expected rows of each sample, from tests/cases/tardis_instruments/README.md."""

DECIMAL_COLUMNS = ("tick_size", "lot_size", "contract_size", "min_qty")


# --------------------------------------------------------------------------- helpers


def dumps(value: Any) -> str:
    """JSON text in which every Decimal is a JSON number written from its exact text."""

    def encode(obj: Any) -> str:
        if isinstance(obj, Decimal):
            return f"@@{obj}@@"
        raise TypeError(type(obj).__name__)

    return re.sub(r'"@@([^@"]*)@@"', r"\1", json.dumps(value, default=encode, indent=1))


def write(path: Path, value: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(value), encoding="utf-8")
    return path


def inst(drop: tuple[str, ...] = (), **values: Any) -> dict[str, Any]:
    """A BitMEX-style inverse perpetual, collected since 2020-01-01, with ``values``
    replacing (or adding) fields and the ``drop`` fields removed."""
    out: dict[str, Any] = {
        "id": "XBTUSD",
        "datasetId": "XBTUSD",
        "exchange": "bitmex",
        "baseCurrency": "BTC",
        "quoteCurrency": "USD",
        "type": "perpetual",
        "active": True,
        "availableSince": "2020-01-01T00:00:00.000Z",
        "priceIncrement": Decimal("0.5"),
        "amountIncrement": Decimal("1"),
        "minTradeAmount": Decimal("1"),
        "makerFee": Decimal("-0.00025"),
        "takerFee": Decimal("0.00075"),
        "inverse": True,
        "contractMultiplier": Decimal("1"),
    }
    out.update(values)
    for name in drop:
        del out[name]
    return out


def read_one(tmp_path: Path, value: Any, name: str = "in.json") -> TardisInstruments:
    return read_instruments([write(tmp_path / name, value)], now_ts_us=NOW)


def rows(result: TardisInstruments) -> list[dict[str, Any]]:
    return result.windows.to_pylist()


def column(result: TardisInstruments, name: str) -> list[Any]:
    return result.windows[name].to_pylist()


# --------------------------------------------------------------------------- samples


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_each_sample_imports_to_exactly_the_readme_rows(name: str) -> None:
    result = read_instruments([CASES / name], now_ts_us=NOW)
    assert result.windows.schema == DIM_SCHEMA
    validate(result.windows)
    got = rows(result)
    assert got == SAMPLES[name]
    for got_row in got:  # exact decimals, compared as Decimal values (not floats)
        for col in DECIMAL_COLUMNS:
            assert got_row[col] is None or isinstance(got_row[col], Decimal)
    assert (result.notes, result.instruments, result.skipped) == ((), 1, 0)


def test_the_sample_folder_gives_all_rows_sorted() -> None:
    result = read_instruments([CASES], now_ts_us=NOW)
    expected = sorted(
        (r for rs in SAMPLES.values() for r in rs),
        key=lambda r: (r["exchange"], r["exchange_symbol"], r["valid_from_ts_us"]),
    )
    assert rows(result) == expected
    assert (result.notes, result.instruments, result.skipped) == ((), 4, 0)


def test_first_perpetual_window_takes_its_lot_from_the_later_entry() -> None:
    first = rows(read_instruments([CASES / "okex-swap_ETH-USDT-SWAP.json"], now_ts_us=NOW))[0]
    assert first["tick_size"] == Decimal("0.1")  # entry 1
    assert first["lot_size"] == Decimal("1")  # entry 2, the first later entry naming it
    assert first["lot_size"] != Decimal("0.01")
    assert first["min_qty"] == Decimal("1")


def test_spot_fee_only_change_gives_one_row_and_1e_8_is_exact() -> None:
    result = read_instruments([CASES / "binance_PEPEUSDT.json"], now_ts_us=NOW)
    assert len(result.windows) == 1
    tick = column(result, "tick_size")[0]
    assert tick == Decimal("0.00000001")
    assert tick.as_tuple().exponent == -18  # decimal128(38, 18), no float on the way
    assert column(result, "exchange_symbol") == ["PEPEUSDT"]  # datasetId, not id pepeusdt


def test_expired_future_closes_at_available_to_with_no_current_row() -> None:
    result = read_instruments([CASES / "deribit_ETH-27MAR26.json"], now_ts_us=NOW)
    assert column(result, "valid_until_ts_us") == [1774598400000000]
    assert column(result, "is_current") == [False]


# ------------------------------------------------------------------------- file shapes


def test_an_array_file_and_a_list_of_arrays_file(tmp_path: Path) -> None:
    a = inst()
    b = inst(id="ETHUSD", datasetId="ETHUSD", baseCurrency="ETH")
    c = inst(id="XRPUSD", datasetId="XRPUSD", baseCurrency="XRP")
    array = read_one(tmp_path, [a, b], "array.json")
    assert column(array, "exchange_symbol") == ["ETHUSD", "XBTUSD"]
    assert array.instruments == 2
    nested = read_one(tmp_path, [[a], [b, c], []], "nested.json")
    assert column(nested, "exchange_symbol") == ["ETHUSD", "XBTUSD", "XRPUSD"]
    assert (nested.instruments, nested.skipped, nested.notes) == (3, 0, ())


def test_a_folder_is_read_recursively_skipping_hidden_and_non_json(tmp_path: Path) -> None:
    root = tmp_path / "export"
    write(root / "b" / "deep" / "eth.json", inst(id="ETHUSD", datasetId="ETHUSD"))
    write(root / "a.json", inst())
    write(root / ".hidden.json", inst(id="HID1", datasetId="HID1"))
    write(root / ".cache" / "x.json", inst(id="HID2", datasetId="HID2"))
    (root / "notes.txt").write_text("not json", encoding="utf-8")
    result = read_instruments([root], now_ts_us=NOW)
    assert column(result, "exchange_symbol") == ["ETHUSD", "XBTUSD"]
    assert result.instruments == 2
    # The same file twice (the folder and the file itself) is read once.
    again = read_instruments([root, root / "a.json"], now_ts_us=NOW)
    assert (again.instruments, again.notes) == (2, ())


def test_an_empty_folder_gives_no_rows_and_a_note(tmp_path: Path) -> None:
    result = read_instruments([tmp_path], now_ts_us=NOW)
    assert result.windows.schema == DIM_SCHEMA
    assert len(result.windows) == 0
    assert result.instruments == 0
    assert len(result.notes) == 1
    assert "no .json files" in result.notes[0]


def test_one_path_alone_is_read_as_a_list(tmp_path: Path) -> None:
    path = write(tmp_path / "one.json", inst())
    assert len(read_instruments(str(path), now_ts_us=NOW).windows) == 1


# --------------------------------------------------------------------------- symbols


def test_lower_case_id_without_dataset_id_is_keyed_and_noted(tmp_path: Path) -> None:
    path = tmp_path / "binance.json"
    result = read_one(
        tmp_path,
        inst(drop=("datasetId",), id="btcusdt", exchange="binance", type="spot"),
        path.name,
    )
    assert column(result, "exchange_symbol") == ["BTCUSDT"]
    assert column(result, "canonical_symbol") == ["BTCUSDT"]
    (note,) = result.notes
    assert str(path) in note
    assert "binance btcusdt" in note
    assert "datasetId" in note
    assert "'BTCUSDT'" in note


def test_kraken_slash_id_becomes_a_dash_key(tmp_path: Path) -> None:
    result = read_one(
        tmp_path, inst(exchange="kraken", type="spot", id="XBT/USD", datasetId="XBT/USD")
    )
    assert column(result, "exchange_symbol") == ["XBT-USD"]
    colon = read_one(tmp_path, inst(drop=("datasetId",), id="BTCF0:USTF0"), "colon.json")
    assert column(colon, "exchange_symbol") == ["BTCF0-USTF0"]


# --------------------------------------------------------------------------- windows


def test_a_changed_expiry_opens_a_window_for_a_rolling_alias(tmp_path: Path) -> None:
    jan5, jan12, jan19 = 1704441600000000, 1705046400000000, 1705651200000000
    alias = inst(
        exchange="huobi-dm",
        id="BTC_CW",
        datasetId="BTC_CW",
        type="future",
        availableSince="2024-01-01T00:00:00.000Z",
        expiry="2024-01-19T08:00:00.000Z",
        changes=[
            {"until": "2024-01-12T08:00:00.000Z", "expiry": "2024-01-12T08:00:00.000Z"},
            {"until": "2024-01-05T08:00:00.000Z", "expiry": "2024-01-05T08:00:00.000Z"},
        ],
    )
    result = read_one(tmp_path, alias)
    got = [
        (r["valid_from_ts_us"], r["valid_until_ts_us"], r["expiry_ts_us"], r["is_current"])
        for r in rows(result)
    ]
    assert got == [
        (Y2024, jan5, jan5, False),
        (jan5, jan12, jan12, False),
        (jan12, OPEN, jan19, True),
    ]
    assert column(result, "symbol_id") == [
        symbol_id("huobi-dm", "BTC_CW", ts) for ts in (Y2024, jan5, jan12)
    ]


def test_a_min_trade_amount_only_change_merges_with_the_latest_min_qty(tmp_path: Path) -> None:
    value = inst(
        minTradeAmount=Decimal("5"),
        inverse=False,
        changes=[
            {"until": "2021-01-01T00:00:00.000Z", "minTradeAmount": Decimal("1")},
            {"until": "2022-01-01T00:00:00.000Z", "makerFee": Decimal("0.0001")},
            {"until": "2023-01-01T00:00:00.000Z", "inverse": True},
        ],
    )
    result = read_one(tmp_path, value)
    assert rows(result) == [
        row(
            symbol_id=symbol_id("bitmex", "XBTUSD", Y2020),
            exchange="bitmex",
            exchange_symbol="XBTUSD",
            market_type="perpetual",
            base_asset="BTC",
            quote_asset="USD",
            valid_from_ts_us=Y2020,
            valid_until_ts_us=OPEN,
            is_current=True,
            tick_size=Decimal("0.5"),
            lot_size=Decimal("1"),
            contract_size=Decimal("1"),
            expiry_ts_us=None,
            min_qty=Decimal("5"),  # the latest value, not the first window's 1
            is_inverse=False,  # likewise (true before 2023)
        )
    ]


def test_untracked_changes_merge_only_between_equal_tracked_neighbours(tmp_path: Path) -> None:
    value = inst(
        changes=[
            {"until": "2021-01-01T00:00:00.000Z", "minTradeAmount": Decimal("2")},
            {"until": "2022-01-01T00:00:00.000Z", "priceIncrement": Decimal("1")},
        ]
    )
    got = [
        (r["valid_from_ts_us"], r["valid_until_ts_us"], r["tick_size"], r["min_qty"])
        for r in rows(read_one(tmp_path, value))
    ]
    assert got == [
        (Y2020, Y2022, Decimal("1"), Decimal("1")),  # [2020, 2021) had min 2: merged, latest
        (Y2022, OPEN, Decimal("0.5"), Decimal("1")),
    ]


def test_an_until_outside_the_data_window_cuts_nothing_but_supplies_older_values(
    tmp_path: Path,
) -> None:
    value = inst(
        availableTo="2023-01-01T00:00:00.000Z",
        changes=[
            {"until": "2019-06-01T00:00:00.000Z", "priceIncrement": Decimal("5")},
            {"until": "2020-01-01T00:00:00.000Z", "priceIncrement": Decimal("4")},
            {"until": "2023-01-01T00:00:00.000Z", "amountIncrement": Decimal("10")},
            {"until": "2024-01-01T00:00:00.000Z", "contractMultiplier": Decimal("2")},
        ],
    )
    (only,) = rows(read_one(tmp_path, value))
    assert (only["valid_from_ts_us"], only["valid_until_ts_us"]) == (Y2020, Y2023)
    assert only["tick_size"] == Decimal("0.5")  # untils at or before the start supply nothing
    assert only["lot_size"] == Decimal("10")  # until == availableTo: older value in force
    assert only["contract_size"] == Decimal("2")  # until after availableTo: likewise
    assert only["is_current"] is False


def test_listing_before_available_since_opens_the_first_window(tmp_path: Path) -> None:
    early = read_one(tmp_path, inst(listing="2019-06-01T12:34:56.789012Z"))
    assert column(early, "valid_from_ts_us") == [1559392496789012]
    late = read_one(tmp_path, inst(listing="2020-01-01T08:00:21.000Z"), "late.json")
    assert column(late, "valid_from_ts_us") == [Y2020]


def test_timestamps_accept_offsets_and_up_to_six_fractional_digits(tmp_path: Path) -> None:
    value = inst(
        availableSince="2020-01-01T02:00:00.5+02:00",
        expiry="2021-01-01T00:00:00.000001Z",
        availableTo="2022-12-31T19:00:00-05:00",
    )
    (only,) = rows(read_one(tmp_path, value))
    assert only["valid_from_ts_us"] == Y2020 + 500_000
    assert only["expiry_ts_us"] == Y2021 + 1
    assert only["valid_until_ts_us"] == Y2023


# --------------------------------------------------------------------------- numbers


def test_zero_lot_and_a_19_digit_tick_become_null_with_notes(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    value = inst(amountIncrement=Decimal("0"), priceIncrement=Decimal("0.0000000000000000001"))
    result = read_one(tmp_path, value, path.name)
    (only,) = rows(result)
    assert only["lot_size"] is None
    assert only["tick_size"] is None
    assert len(result.notes) == 2
    assert all(str(path) in n and "bitmex XBTUSD" in n for n in result.notes)
    assert any("priceIncrement" in n and "tick_size null" in n for n in result.notes)
    assert any("amountIncrement" in n and "lot_size null" in n for n in result.notes)


def test_a_negative_size_and_a_huge_multiplier_are_null_with_notes(tmp_path: Path) -> None:
    value = inst(contractMultiplier=Decimal("1e20"), minTradeAmount=Decimal("-1"))
    result = read_one(tmp_path, value)
    (only,) = rows(result)
    assert (only["contract_size"], only["min_qty"]) == (None, None)
    assert len(result.notes) == 2


def test_a_zero_min_trade_amount_is_kept(tmp_path: Path) -> None:
    (only,) = rows(read_one(tmp_path, inst(minTradeAmount=Decimal("0"))))
    assert only["min_qty"] == Decimal("0")


def test_numeric_string_sizes_are_exact(tmp_path: Path) -> None:
    value = inst(
        priceIncrement="0.01",
        amountIncrement="1e-8",
        contractMultiplier="100",
        minTradeAmount="0.000000000000000001",
    )
    result = read_one(tmp_path, value)
    (only,) = rows(result)
    assert only["tick_size"] == Decimal("0.01")
    assert only["lot_size"] == Decimal("0.00000001")
    assert only["contract_size"] == Decimal("100")
    assert only["min_qty"] == Decimal("0.000000000000000001")
    assert result.notes == ()


def test_json_numbers_with_exponents_and_trailing_zeros_are_exact(tmp_path: Path) -> None:
    path = tmp_path / "raw.json"
    text = dumps(inst()).replace('"priceIncrement": 0.5', '"priceIncrement": 2.50E-1')
    path.write_text(text.replace('"amountIncrement": 1', '"amountIncrement": 1.000'), "utf-8")
    (only,) = rows(read_instruments([path], now_ts_us=NOW))
    assert (only["tick_size"], only["lot_size"]) == (Decimal("0.25"), Decimal("1"))


@pytest.mark.parametrize(
    ("field", "raw", "text"),
    [
        ("priceIncrement", "NaN", "NaN"),
        ("priceIncrement", '"abc"', "abc"),
        ("priceIncrement", '" 0.1"', "0.1"),
        ("amountIncrement", "true", "True"),
        ("inverse", '"yes"', "yes"),
    ],
)
def test_values_of_the_wrong_kind_are_errors(
    tmp_path: Path, field: str, raw: str, text: str
) -> None:
    path = tmp_path / "bad.json"
    values: dict[str, Any] = {field: "@PLACEHOLDER@"}
    body = dumps(inst(**values)).replace('"@PLACEHOLDER@"', raw)
    path.write_text(body, encoding="utf-8")
    with pytest.raises(DimSymbolError, match=re.escape(text)) as caught:
        read_instruments([path], now_ts_us=NOW)
    assert caught.value.file == str(path)


# --------------------------------------------------------------------------- pitfalls


def test_an_unknown_exchange_is_skipped_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "mixed.json"
    result = read_one(tmp_path, [inst(exchange="no-such-venue", id="ABC"), inst()], path.name)
    assert column(result, "exchange_symbol") == ["XBTUSD"]
    assert (result.instruments, result.skipped) == (2, 1)
    (note,) = result.notes
    assert str(path) in note
    assert "instrument #1" in note
    assert "no-such-venue ABC" in note
    assert "skipped" in note


def test_an_undocumented_type_passes_through_with_a_note(tmp_path: Path) -> None:
    result = read_one(tmp_path, inst(type="prediction"))
    assert column(result, "market_type") == ["prediction"]
    (note,) = result.notes
    assert "'prediction'" in note
    assert "bitmex XBTUSD" in note


@pytest.mark.parametrize(
    ("values", "field", "bad"),
    [
        ({"availableSince": "2020-01-01 00:00:00"}, "availableSince", "2020-01-01 00:00:00"),
        ({"listing": "2019-01-01T00:00:00.000"}, "listing", "2019-01-01T00:00:00.000"),
        ({"availableTo": Decimal("1609459200000")}, "availableTo", "1609459200000"),
        ({"expiry": "2021-02-30T00:00:00Z"}, "expiry", "2021-02-30T00:00:00Z"),
        (
            {"changes": [{"until": "2021-01-01T00:00:00.0000001Z", "priceIncrement": 1}]},
            "changes[0].until",
            "2021-01-01T00:00:00.0000001Z",
        ),
        (
            {"changes": [{"until": "2021-01-01T00:00:00Z", "expiry": "2021-13-01T00:00:00Z"}]},
            "changes[0].expiry",
            "2021-13-01T00:00:00Z",
        ),
    ],
)
def test_a_malformed_timestamp_names_the_file_instrument_and_field(
    tmp_path: Path, values: dict[str, Any], field: str, bad: str
) -> None:
    path = tmp_path / "ts.json"
    with pytest.raises(DimSymbolError) as caught:
        read_one(tmp_path, [inst(id="OK", datasetId="OK"), inst(**values)], path.name)
    err = caught.value
    assert (err.file, err.field) == (str(path), field)
    assert str(path) in str(err)
    assert f"field {field!r}" in str(err)
    assert "instrument #2 (bitmex XBTUSD)" in str(err)
    assert bad in str(err)


@pytest.mark.parametrize(
    "field",
    [
        "id",
        "exchange",
        "type",
        "baseCurrency",
        "quoteCurrency",
        "availableSince",
        "priceIncrement",
        "amountIncrement",
    ],
)
def test_a_missing_required_field_names_the_instrument_index(tmp_path: Path, field: str) -> None:
    path = tmp_path / "missing.json"
    with pytest.raises(DimSymbolError, match="missing required field") as caught:
        read_one(tmp_path, [[inst(id="OK", datasetId="OK")], [inst(drop=(field,))]], path.name)
    assert (caught.value.file, caught.value.field) == (str(path), field)
    assert "instrument #2.1" in str(caught.value)


def test_optional_fields_may_be_absent(tmp_path: Path) -> None:
    value = inst(
        drop=("active", "makerFee", "takerFee", "minTradeAmount", "inverse", "contractMultiplier")
    )
    (only,) = rows(read_one(tmp_path, value))
    assert (only["min_qty"], only["is_inverse"], only["contract_size"]) == (None, None, None)


def test_available_to_not_after_the_start_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DimSymbolError) as caught:
        read_one(tmp_path, inst(availableTo="2020-01-01T00:00:00.000Z"))
    assert caught.value.field == "availableTo"


# -------------------------------------------------------------------------- duplicates


def test_a_conflicting_duplicate_names_both_files(tmp_path: Path) -> None:
    first = write(tmp_path / "a.json", inst())
    second = write(tmp_path / "b.json", inst(priceIncrement=Decimal("1")))
    with pytest.raises(DimSymbolError, match="different content") as caught:
        read_instruments([first, second], now_ts_us=NOW)
    assert caught.value.file == str(second)
    assert str(first) in str(caught.value)
    assert str(second) in str(caught.value)


def test_ids_that_share_a_key_conflict(tmp_path: Path) -> None:
    value = [
        inst(exchange="kraken", drop=("datasetId",), id="XBT/USD"),
        inst(exchange="kraken", drop=("datasetId",), id="XBT-USD"),
    ]
    with pytest.raises(DimSymbolError, match=re.escape("('kraken', 'XBT-USD')")):
        read_one(tmp_path, value)


def test_an_identical_duplicate_is_read_once(tmp_path: Path) -> None:
    first = write(tmp_path / "a.json", inst())
    second = write(tmp_path / "b.json", [inst()])
    result = read_instruments([first, second], now_ts_us=NOW)
    assert len(result.windows) == 1
    assert (result.instruments, result.skipped) == (1, 0)
    (note,) = result.notes
    assert str(first) in note
    assert str(second) in note


# ------------------------------------------------------------------------- bad files


def test_a_missing_path_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(DimSymbolError, match="no such file") as caught:
        read_instruments([missing])
    assert caught.value.file == str(missing)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not valid JSON"),
        ('"XBTUSD"', "expected an instrument object"),
        ("[1]", "not a JSON object"),
        ('{"code": 100, "message": "Invalid exchange"}', "API error response"),
        ("[[[]]]", "not a JSON object"),
    ],
)
def test_files_of_the_wrong_shape_are_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DimSymbolError, match=message) as caught:
        read_instruments([path])
    assert caught.value.file == str(path)


def test_updated_at_is_now_on_every_row() -> None:
    result = read_instruments([CASES], now_ts_us=42)
    assert set(column(result, "updated_at_ts_us")) == {42}
