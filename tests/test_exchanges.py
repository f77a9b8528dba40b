"""The exchange registry: Tardis ids, time zones, registration and its errors."""

from __future__ import annotations

import dataclasses
import datetime
import zoneinfo

import pyarrow as pa
import pytest

from operators.tz_partition import tz_partition
from pointline.chain import Chain
from pointline.errors import PointlineError, SchemaError, UnknownExchangeError
from pointline.exchanges import (
    DEFAULT_EXCHANGES,
    TARDIS_EXCHANGES,
    Exchange,
    ExchangeRegistry,
)
from pointline.testing import collect

# The ids docs/contracts.md section 6 names explicitly.
CONTRACT_IDS = (
    "binance",
    "binance-futures",
    "binance-delivery",
    "binance-options",
    "bitmex",
    "deribit",
    "okex",
    "okex-futures",
    "okex-swap",
    "okex-options",
    "huobi",
    "huobi-dm",
    "huobi-dm-swap",
    "huobi-dm-linear-swap",
    "bybit",
    "bybit-spot",
    "bybit-options",
    "coinbase",
    "kraken",
    "cryptofacilities",
    "bitfinex",
    "bitfinex-derivatives",
    "bitstamp",
    "gemini",
    "ftx",
    "ftx-us",
    "gate-io",
    "gate-io-futures",
    "kucoin",
    "kucoin-futures",
    "phemex",
    "delta",
    "dydx",
    "dydx-v4",
    "bitflyer",
    "upbit",
    "poloniex",
    "ascendex",
    "crypto-com",
    "woo-x",
    "hyperliquid",
    "bitget",
    "bitget-futures",
)


@pytest.mark.parametrize("name", CONTRACT_IDS)
def test_contract_ids_map_to_utc(name: str) -> None:
    assert name in TARDIS_EXCHANGES
    assert DEFAULT_EXCHANGES.get(name) == Exchange(name=name, timezone="UTC")


def test_every_tardis_id_maps_to_utc() -> None:
    assert len(TARDIS_EXCHANGES) == len(set(TARDIS_EXCHANGES)) >= 60
    assert list(TARDIS_EXCHANGES) == sorted(TARDIS_EXCHANGES)
    for name in TARDIS_EXCHANGES:
        exchange = DEFAULT_EXCHANGES.get(name)
        assert (exchange.timezone, exchange.session_roll) == ("UTC", None)
    assert set(DEFAULT_EXCHANGES) == {*TARDIS_EXCHANGES, "sse", "szse"}


@pytest.mark.parametrize("name", ["sse", "szse"])
def test_cn_exchanges_map_to_shanghai(name: str) -> None:
    assert DEFAULT_EXCHANGES.get(name).timezone == "Asia/Shanghai"


@pytest.mark.parametrize("name", ["okx", "gate"])
def test_names_tardis_does_not_use_are_unknown(name: str) -> None:
    assert name not in DEFAULT_EXCHANGES
    with pytest.raises(UnknownExchangeError, match=f"unknown exchange '{name}'"):
        DEFAULT_EXCHANGES.get(name)


def test_unknown_exchange_message_names_it_and_says_how_to_register() -> None:
    with pytest.raises(
        UnknownExchangeError,
        match=(
            r"^unknown exchange 'okx'; known: okex, [a-z, -]*\.\.\.; register it in the lake "
            r"with `pointline exchange add okx --timezone TZ` \(an IANA zone such as UTC\), "
            r"or from Python with DEFAULT_EXCHANGES\.register\('okx', timezone='UTC'\) and "
            r"pass the registry on$"
        ),
    ) as info:
        DEFAULT_EXCHANGES.get("okx")
    assert isinstance(info.value, LookupError)
    assert isinstance(info.value, PointlineError)


def test_unknown_exchange_lists_close_names_first() -> None:
    with pytest.raises(UnknownExchangeError, match=r"known: gate-io, \.\.\.;"):
        DEFAULT_EXCHANGES.get("gateio")
    with pytest.raises(UnknownExchangeError, match=r"known: none; register it"):
        ExchangeRegistry().get("binance")


def test_register_returns_a_new_registry_and_leaves_the_default_alone() -> None:
    before = len(DEFAULT_EXCHANGES)
    cme = DEFAULT_EXCHANGES.register(
        "cme", timezone="America/Chicago", session_roll=datetime.time(17)
    )
    assert cme is not DEFAULT_EXCHANGES
    assert "cme" in cme
    assert "cme" not in DEFAULT_EXCHANGES
    assert len(DEFAULT_EXCHANGES) == before
    assert len(cme) == before + 1
    assert cme.get("cme") == Exchange(
        name="cme", timezone="America/Chicago", session_roll=datetime.time(17)
    )
    assert cme.get("binance") is DEFAULT_EXCHANGES.get("binance")


def test_reregistering_needs_replace_for_a_different_definition() -> None:
    same = DEFAULT_EXCHANGES.register("binance", timezone="UTC")
    assert same == DEFAULT_EXCHANGES
    with pytest.raises(
        SchemaError,
        match=r"exchange 'binance' is already registered as .*; pass replace=True to redefine",
    ):
        DEFAULT_EXCHANGES.register("binance", timezone="Asia/Tokyo")
    moved = DEFAULT_EXCHANGES.register("binance", timezone="Asia/Tokyo", replace=True)
    assert moved.get("binance").timezone == "Asia/Tokyo"
    assert DEFAULT_EXCHANGES.get("binance").timezone == "UTC"


def test_registry_iterates_sorted_names() -> None:
    registry = ExchangeRegistry(
        [Exchange(name="b", timezone="UTC"), Exchange(name="a", timezone="Europe/London")]
    )
    assert list(registry) == ["a", "b"]
    assert len(registry) == 2
    assert "a" in registry
    assert "c" not in registry
    assert 3 not in registry
    assert list(DEFAULT_EXCHANGES) == sorted(DEFAULT_EXCHANGES)


def test_registry_rejects_conflicting_duplicates() -> None:
    one = Exchange(name="x", timezone="UTC")
    assert len(ExchangeRegistry([one, one])) == 1
    with pytest.raises(SchemaError, match="exchange 'x' is given twice with different definitions"):
        ExchangeRegistry([one, Exchange(name="x", timezone="Asia/Tokyo")])
    with pytest.raises(SchemaError, match="ExchangeRegistry takes Exchange objects"):
        ExchangeRegistry(["x"])  # type: ignore[list-item]


@pytest.mark.parametrize(
    "name", ["", "Binance", "bin ance", " binance", "binance\n", "a/b", "-x", ".hidden", "_x"]
)
def test_bad_names_are_rejected(name: str) -> None:
    with pytest.raises(SchemaError, match=r"exchange name .* is not valid: use a non-empty lower"):
        DEFAULT_EXCHANGES.register(name, timezone="UTC")


def test_non_string_name_is_rejected() -> None:
    with pytest.raises(SchemaError, match=r"exchange name None is not valid"):
        Exchange(name=None, timezone="UTC")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("timezone", "message"),
    [
        ("Mars/Olympus_Mons", r"unknown time zone 'Mars/Olympus_Mons' \(not in the tzdata"),
        ("utc", r"unknown time zone 'utc' .*did you mean 'UTC'"),
        ("America/Chicgo", r"did you mean 'America/Chicago'"),
        ("../../etc/passwd", r"unknown time zone '../../etc/passwd' \(not an IANA zone name\)"),
        ("/usr/share/zoneinfo/UTC", r"not an IANA zone name"),
        ("", r"time zone must be a non-empty IANA name"),
        ("America", r"unknown time zone 'America'"),
    ],
)
def test_bad_timezones_are_rejected(timezone: str, message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        DEFAULT_EXCHANGES.register("x", timezone=timezone)


def test_session_roll_must_be_a_naive_time() -> None:
    with pytest.raises(SchemaError, match=r"session_roll 17:00:00\+00:00 must be a naive local"):
        Exchange(
            name="cme",
            timezone="America/Chicago",
            session_roll=datetime.time(17, tzinfo=datetime.UTC),
        )
    with pytest.raises(SchemaError, match=r"session_roll must be a datetime.time"):
        Exchange(name="cme", timezone="America/Chicago", session_roll=17)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("roll", "shift_us"),
    [
        (None, 0),
        (datetime.time(0), 0),
        (datetime.time(17), 7 * 3600 * 1_000_000),
        (datetime.time(23, 59, 59, 999_999), 1),
        (datetime.time(6, 30), (17 * 3600 + 30 * 60) * 1_000_000),
    ],
)
def test_roll_shift(roll: datetime.time | None, shift_us: int) -> None:
    assert Exchange(name="x", timezone="UTC", session_roll=roll).roll_shift_us == shift_us


def test_exchange_is_frozen_and_keyword_only() -> None:
    exchange = Exchange(name="x", timezone="UTC")
    with pytest.raises(dataclasses.FrozenInstanceError):
        exchange.timezone = "Asia/Tokyo"  # type: ignore[misc]
    with pytest.raises(TypeError):
        Exchange("x", "UTC")  # type: ignore[call-arg]


# -- ids the registry does not know: the vendor's zone (docs/contracts.md 6, fix revised) --

# Exchange ids Tardis lists that the registry did not know: their files failed as
# unknown_exchange before the vendor default.
NEW_TARDIS_IDS = ("mexc-futures", "aster-futures")
T = 1_727_627_400_000_000  # 2024-09-29T16:30:00Z (2024-09-30 00:30 in Shanghai)
SCHEMA = pa.schema([pa.field("exchange", pa.string()), pa.field("ts_event_us", pa.int64())])


def dates(venues: list[str], ts: list[int], **kw: object) -> list[object]:
    batch = pa.record_batch(
        [pa.array(venues, pa.string()), pa.array(ts, pa.int64())], schema=SCHEMA
    )
    chain = Chain([tz_partition(**kw)], input_schema=SCHEMA)  # type: ignore[arg-type]
    return collect(chain.run([batch]))["trading_date"].to_pylist()


@pytest.mark.parametrize("name", NEW_TARDIS_IDS)
def test_unknown_id_takes_the_default_timezone(name: str) -> None:
    assert name not in DEFAULT_EXCHANGES
    exchange = DEFAULT_EXCHANGES.get(name, default_timezone="UTC")
    assert exchange == Exchange(name=name, timezone="UTC")
    assert exchange.session_roll is None
    assert name not in DEFAULT_EXCHANGES  # the registry is not changed
    with pytest.raises(UnknownExchangeError, match=f"pointline exchange add {name} --timezone TZ"):
        DEFAULT_EXCHANGES.get(name)


def test_the_default_never_overrides_a_known_exchange() -> None:
    szse = DEFAULT_EXCHANGES.get("szse", default_timezone="UTC")
    assert szse == Exchange(name="szse", timezone="Asia/Shanghai")
    assert DEFAULT_EXCHANGES.get("binance", default_timezone="Asia/Tokyo").timezone == "UTC"


def test_the_default_is_validated() -> None:
    with pytest.raises(SchemaError, match=r"unknown time zone 'utc' .*did you mean 'UTC'"):
        DEFAULT_EXCHANGES.get("mexc-futures", default_timezone="utc")
    with pytest.raises(SchemaError, match=r"exchange name 'MEXC' is not valid"):
        DEFAULT_EXCHANGES.get("MEXC", default_timezone="UTC")
    with pytest.raises(SchemaError, match=r"unknown time zone 'Mars/Base'"):
        tz_partition(default_timezone="Mars/Base")  # at build, before any row


def test_tz_partition_cuts_unknown_ids_in_the_default_zone() -> None:
    venues = ["mexc-futures", "aster-futures", "szse", "mexc-futures"]
    ts = [T, T, T, T - 17 * 3_600_000_000]
    assert dates(venues, ts, default_timezone="UTC") == [
        datetime.date(2024, 9, 29),
        datetime.date(2024, 9, 29),
        datetime.date(2024, 9, 30),  # a known exchange keeps its own zone
        datetime.date(2024, 9, 28),
    ]
    assert dates(["mexc-futures"], [T], default_timezone="Asia/Tokyo") == [
        datetime.date(2024, 9, 30)
    ]


def test_tz_partition_without_a_default_names_the_cli_remedy() -> None:
    with pytest.raises(
        UnknownExchangeError,
        match=(
            r"step 'tz_partition'.*unknown exchange 'mexc-futures'; .*register it in the lake "
            r"with `pointline exchange add mexc-futures --timezone TZ`"
        ),
    ) as info:
        dates(["mexc-futures"], [T])
    assert info.value.reason == "unknown_exchange"


CHICAGO = zoneinfo.ZoneInfo("America/Chicago")


EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def chicago_us(wall: str) -> int:
    """Microseconds since the epoch of a Chicago wall time (ISO 8601, no offset)."""
    moment = datetime.datetime.fromisoformat(wall).replace(tzinfo=CHICAGO)
    return (moment - EPOCH) // datetime.timedelta(microseconds=1)


def test_a_session_roll_starts_the_next_trading_date_at_the_roll() -> None:
    cme = DEFAULT_EXCHANGES.register(
        "cme", timezone="America/Chicago", session_roll=datetime.time(17)
    )
    ts = [
        chicago_us("2024-09-30T00:00"),  # Monday after midnight: Monday
        chicago_us("2024-09-30T16:59:59.999999"),  # just before the roll: Monday
        chicago_us("2024-09-30T17:00"),  # at the roll: Tuesday
        chicago_us("2024-09-30T23:59"),  # after it: Tuesday
        chicago_us("2024-03-10T17:00"),  # the DST change day (CST -> CDT), at the roll
        chicago_us("2024-03-10T16:59"),
    ]
    assert ts[2] == 1_727_733_600_000_000  # 22:00 UTC (CDT is UTC-5)
    assert dates(["cme"] * len(ts), ts, exchanges=cme) == [
        datetime.date(2024, 9, 30),
        datetime.date(2024, 9, 30),
        datetime.date(2024, 10, 1),
        datetime.date(2024, 10, 1),
        datetime.date(2024, 3, 11),
        datetime.date(2024, 3, 10),
    ]
    # the vendor default never applies to a registered exchange, nor adds a roll
    assert dates(["cme"], [ts[2]], exchanges=cme, default_timezone="UTC") == [
        datetime.date(2024, 10, 1)
    ]
    assert dates(["cme"], [ts[2]], default_timezone="UTC") == [datetime.date(2024, 9, 30)]
