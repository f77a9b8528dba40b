"""The trading-date kernel against zoneinfo, row by row and at every transition.

The oracle is ``zoneinfo`` reading the *same* ``tzdata`` package the kernel reads
(``ZoneInfo.from_file``): a bare ``ZoneInfo(tz)`` prefers the host's ``/usr/share/zoneinfo``,
whose release may differ from the ``tzdata`` wheel's.
"""

from __future__ import annotations

import datetime
import importlib.resources
import io
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pointline.errors import SchemaError, UnknownExchangeError
from pointline.exchanges import DEFAULT_EXCHANGES, ExchangeRegistry, tzif_bytes
from pointline.kernels.trading_date import (
    DAY_US,
    HORIZON_YEAR,
    derive_trading_date,
    local_dates,
    transition_table,
)

UTC = datetime.UTC
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=UTC)
ZONES = ("America/New_York", "Europe/London", "Asia/Shanghai", "Australia/Sydney", "UTC")
# One registered exchange per zone, named after it.
REGISTRY: ExchangeRegistry = DEFAULT_EXCHANGES
for _zone in ZONES:
    REGISTRY = REGISTRY.register(_zone.lower().replace("/", "-"), timezone=_zone)
REGISTRY = REGISTRY.register("cme", timezone="America/Chicago", session_roll=datetime.time(17))


def venue(zone: str) -> str:
    return zone.lower().replace("/", "-")


def us(when: datetime.datetime) -> int:
    """Microseconds since the epoch of an aware datetime."""
    delta = when - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def utc_us(text: str) -> int:
    """Microseconds since the epoch of an ISO date-time read as UTC."""
    return us(datetime.datetime.fromisoformat(text).replace(tzinfo=UTC))


@cache
def zone_info(zone: str) -> ZoneInfo:
    return ZoneInfo.from_file(io.BytesIO(tzif_bytes(zone)), key=zone)


def oracle(ts: int, zone: str) -> datetime.date:
    return (EPOCH + datetime.timedelta(microseconds=ts)).astimezone(zone_info(zone)).date()


LO_1990 = utc_us("1990-01-01")
HI_2040 = utc_us("2040-01-01")
SZSE_SEED = utc_us("2024-09-29T16:30:00")


# ------------------------------------------------------------------ the seed signal


def test_seed_signal() -> None:
    assert SZSE_SEED == 1_727_627_400_000_000
    assert derive_trading_date(SZSE_SEED, "szse") == datetime.date(2024, 9, 30)
    assert derive_trading_date(SZSE_SEED, "binance") == datetime.date(2024, 9, 29)
    both = pa.array([SZSE_SEED])
    assert derive_trading_date(both, "szse").to_pylist() == [datetime.date(2024, 9, 30)]
    assert derive_trading_date(both, "binance").to_pylist() == [datetime.date(2024, 9, 29)]


# ------------------------------------------------------------------ against zoneinfo


@pytest.mark.parametrize("zone", ZONES)
@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(LO_1990, HI_2040 - 1), min_size=1, max_size=400))
def test_whole_arrays_match_zoneinfo(zone: str, stamps: list[int]) -> None:
    got = derive_trading_date(np.array(stamps, dtype=np.int64), venue(zone), exchanges=REGISTRY)
    assert got.to_pylist() == [oracle(ts, zone) for ts in stamps]


@pytest.mark.parametrize("zone", ZONES)
@settings(max_examples=40, deadline=None)
@given(st.integers(LO_1990, HI_2040 - 1), st.integers(0, 3 * DAY_US), st.integers(1, 300))
def test_sorted_runs_match_zoneinfo(zone: str, start: int, span: int, n: int) -> None:
    # Sorted batches of a few days, the shape real files have, often straddling a change.
    stamps = np.linspace(start, start + span, n).astype(np.int64)
    got = derive_trading_date(pa.array(stamps), venue(zone), exchanges=REGISTRY)
    assert got.to_pylist() == [oracle(int(ts), zone) for ts in stamps]


def zoneinfo_transitions(zone: str, lo: int, hi: int) -> list[int]:
    """Every instant (us) in [lo, hi) where zoneinfo's UTC offset changes.

    Found without the kernel: a scan every 6 hours, then bisection to the exact second
    (zoneinfo works in whole seconds). These zones change at most twice a year.
    """

    def offset(seconds: int) -> datetime.timedelta | None:
        when = EPOCH + datetime.timedelta(seconds=seconds)
        return when.astimezone(zone_info(zone)).utcoffset()

    step = 6 * 3600
    found = []
    seconds = lo // 1_000_000
    current = offset(seconds)
    while seconds < hi // 1_000_000:
        nxt = seconds + step
        if offset(nxt) != current:
            a, b = seconds, nxt  # offset(a) == current != offset(b)
            while b - a > 1:
                mid = (a + b) // 2
                a, b = (mid, b) if offset(mid) == current else (a, mid)
            found.append(b * 1_000_000)
            current = offset(b)
            seconds = b
        else:
            seconds = nxt
    return found


@pytest.mark.parametrize("zone", ZONES)
def test_every_transition_1990_2040(zone: str) -> None:
    table = transition_table(zone)
    ours = [int(t) for t in table.transitions if LO_1990 <= t < HI_2040]
    assert ours == zoneinfo_transitions(zone, LO_1990, HI_2040)
    if zone not in {"UTC", "Asia/Shanghai"}:
        assert len(ours) >= 99  # two a year (Shanghai has none since 1991, UTC none at all)
    probes = np.array([t + d for t in ours for d in (-1, 0, 1)], dtype=np.int64)
    got = derive_trading_date(probes, venue(zone), exchanges=REGISTRY).to_pylist()
    assert got == [oracle(int(ts), zone) for ts in probes]
    # The offsets themselves, not only the dates they produce.
    index = np.searchsorted(table.transitions, probes, side="right")
    expected = [
        (EPOCH + datetime.timedelta(microseconds=int(ts))).astimezone(zone_info(zone)).utcoffset()
        for ts in probes
    ]
    assert [datetime.timedelta(microseconds=int(o)) for o in table.offsets[index]] == expected


@pytest.mark.parametrize("zone", ["America/New_York", "Australia/Sydney", "Europe/Dublin"])
def test_footer_rule_extends_past_the_stored_transitions(zone: str) -> None:
    # tzdata files are slim: stored transitions stop early and the TZ rule in the footer
    # gives the rest. The table must carry on to the end of HORIZON_YEAR.
    table = transition_table(zone)
    last = EPOCH + datetime.timedelta(microseconds=int(table.transitions[-1]))
    assert last.year == HORIZON_YEAR >= 2200
    rng = np.random.default_rng(7)
    stamps = rng.integers(utc_us("2037-01-01"), utc_us(f"{HORIZON_YEAR}-12-31"), 400)
    registry = REGISTRY.register(venue(zone), timezone=zone)
    got = derive_trading_date(stamps, venue(zone), exchanges=registry)
    assert got.to_pylist() == [oracle(int(ts), zone) for ts in stamps]


def test_before_the_first_transition_matches_zoneinfo() -> None:
    stamps = [utc_us("0001-01-02"), utc_us("1800-06-01"), utc_us("1883-11-18T16:59:00")]
    for zone in ("America/New_York", "Asia/Shanghai", "Australia/Sydney"):
        got = derive_trading_date(np.array(stamps), venue(zone), exchanges=REGISTRY)
        assert got.to_pylist() == [oracle(ts, zone) for ts in stamps]


def test_every_tzdata_zone_matches_zoneinfo() -> None:
    # Guards the TZif reader and the POSIX-rule evaluation on every footer form tzdata
    # uses (negative and >24h rule times, negative DST, 30-minute DST, ...).
    text = importlib.resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8")
    rng = np.random.default_rng(598)
    lo, hi = utc_us("1900-01-01"), utc_us(f"{HORIZON_YEAR}-12-31")
    for zone in text.split():
        table = transition_table(zone)
        near = table.transitions[(table.transitions > lo) & (table.transitions < hi)]
        probes = np.concatenate(
            [near - 1, near, rng.integers(utc_us("0001-01-02"), hi, 60)]
        ).astype(np.int64)
        index = np.searchsorted(table.transitions, probes, side="right")
        got = [datetime.timedelta(microseconds=int(o)) for o in table.offsets[index]]
        expected = [
            (EPOCH + datetime.timedelta(microseconds=int(ts)))
            .astimezone(zone_info(zone))
            .utcoffset()
            for ts in probes
        ]
        assert got == expected, zone


def test_table_shape() -> None:
    for zone in ZONES:
        table = transition_table(zone)
        assert len(table.offsets) == len(table.transitions) + 1
        assert np.all(np.diff(table.transitions) > 0)
        assert np.all(np.diff(table.offsets) != 0)
        assert not table.transitions.flags.writeable
        assert transition_table(zone) is table  # cached
    utc = transition_table("UTC")
    assert utc.is_fixed
    assert utc.offsets.tolist() == [0]


# ------------------------------------------------------------------ scalar and array agree


@settings(max_examples=200, deadline=None)
@given(st.integers(utc_us("0001-01-02"), utc_us("9999-12-30")), st.sampled_from([*ZONES, "cme"]))
def test_scalar_and_array_agree(ts: int, zone: str) -> None:
    name = "cme" if zone == "cme" else venue(zone)
    scalar = derive_trading_date(ts, name, exchanges=REGISTRY)
    assert isinstance(scalar, datetime.date)
    assert derive_trading_date(np.array([ts]), name, exchanges=REGISTRY).to_pylist() == [scalar]
    assert derive_trading_date(pa.array([ts]), name, exchanges=REGISTRY).to_pylist() == [scalar]
    assert derive_trading_date(np.int64(ts), name, exchanges=REGISTRY) == scalar


# ------------------------------------------------------------------ input shapes

STAMPS = [SZSE_SEED + k * 3_600_000_000 for k in range(-30, 30, 7)]
EXPECTED = [oracle(ts, "Asia/Shanghai") for ts in STAMPS]


@pytest.mark.parametrize(
    "values",
    [
        np.array(STAMPS, dtype=np.int64),
        np.array(STAMPS, dtype=np.uint64),
        np.array(STAMPS, dtype=np.int64)[::-1][::-1],  # a non-contiguous view
        pa.array(STAMPS, type=pa.int64()),
        pa.array(STAMPS, type=pa.uint64()),
        pa.chunked_array([STAMPS[:3], [], STAMPS[3:]], type=pa.int64()),
        pa.chunked_array([STAMPS], type=pa.int64()),
    ],
    ids=["int64", "uint64", "view", "arrow", "arrow-uint64", "chunked", "one-chunk"],
)
def test_input_kinds_agree(values: Any) -> None:
    got = derive_trading_date(values, "szse")
    assert isinstance(got, pa.Date32Array)
    assert got.to_pylist() == EXPECTED


def test_small_integer_dtypes_are_widened() -> None:
    small = np.array([0, 86_399_999, -1], dtype=np.int32)
    expected = [datetime.date(1970, 1, 1), datetime.date(1970, 1, 1), datetime.date(1969, 12, 31)]
    assert derive_trading_date(small, "binance").to_pylist() == expected
    assert derive_trading_date(pa.array(small), "binance").to_pylist() == expected


@pytest.mark.parametrize("batch", [1, 7, 65536])
def test_chunking_does_not_change_the_result(batch: int) -> None:
    rng = np.random.default_rng(batch)
    stamps = np.sort(rng.integers(utc_us("2024-03-01"), utc_us("2024-12-01"), 20_000))
    registry = REGISTRY.register("nyse", timezone="America/New_York")
    whole = derive_trading_date(stamps, "nyse", exchanges=registry)
    parts = [
        derive_trading_date(stamps[i : i + batch], "nyse", exchanges=registry)
        for i in range(0, len(stamps), batch)
    ]
    assert pa.chunked_array(parts).to_pylist() == whole.to_pylist()
    chunked = pa.chunked_array([stamps[i : i + batch] for i in range(0, len(stamps), batch)])
    assert derive_trading_date(chunked, "nyse", exchanges=registry).equals(whole)
    assert derive_trading_date(chunked, "nyse", exchanges=registry).equals(whole)  # twice


def test_empty_inputs() -> None:
    assert len(derive_trading_date(np.array([], dtype=np.int64), "szse")) == 0
    assert derive_trading_date(pa.array([], type=pa.int64()), "szse").type == pa.date32()
    empty = pa.chunked_array([], type=pa.int64())
    assert derive_trading_date(empty, "szse").to_pylist() == []
    assert local_dates(np.array([], dtype=np.int64), REGISTRY.get("szse")).dtype == np.int32


def test_local_dates_returns_int32_days() -> None:
    days = local_dates(np.array([SZSE_SEED, 0]), DEFAULT_EXCHANGES.get("szse"))
    assert days.dtype == np.int32
    assert days.tolist() == [(datetime.date(2024, 9, 30) - datetime.date(1970, 1, 1)).days, 0]


# ------------------------------------------------------------------ nulls


@pytest.mark.parametrize(
    "values",
    [
        [None, SZSE_SEED, None, SZSE_SEED - DAY_US, None],
        [SZSE_SEED, None],
        [None],
        [None, None, None],
    ],
)
def test_nulls_stay_at_their_rows(values: list[int | None]) -> None:
    got = derive_trading_date(pa.array(values, type=pa.int64()), "szse")
    assert got.to_pylist() == [None if v is None else oracle(v, "Asia/Shanghai") for v in values]
    assert got.null_count == values.count(None)
    assert got.type == pa.date32()


def test_nulls_in_sliced_and_chunked_arrays() -> None:
    values = [SZSE_SEED, None, SZSE_SEED + DAY_US, None, SZSE_SEED - DAY_US, SZSE_SEED]
    expected = [None if v is None else oracle(v, "Asia/Shanghai") for v in values]
    sliced = pa.array(values, type=pa.int64()).slice(1, 4)
    assert derive_trading_date(sliced, "szse").to_pylist() == expected[1:5]
    chunked = pa.chunked_array([values[:3], values[3:]], type=pa.int64())
    assert derive_trading_date(chunked, "szse").to_pylist() == expected


def test_null_slots_do_not_widen_or_break_the_search() -> None:
    # Arrow leaves the value under a null slot undefined; put extreme values there.
    values = np.array([SZSE_SEED, np.iinfo(np.int64).max, SZSE_SEED], dtype=np.int64)
    validity = pa.py_buffer(np.packbits([1, 0, 1], bitorder="little").tobytes())
    arr = pa.Array.from_buffers(pa.int64(), 3, [validity, pa.py_buffer(values.tobytes())], 1)
    got = derive_trading_date(arr, "szse").to_pylist()
    assert got == [datetime.date(2024, 9, 30), None, datetime.date(2024, 9, 30)]


# ------------------------------------------------------------------ session roll


def chicago(year: int, month: int, day: int, *hms: int) -> int:
    hour, minute, second, micro = (*hms, 0, 0, 0, 0)[:4]
    local = datetime.datetime(
        year, month, day, hour, minute, second, micro, tzinfo=zone_info("America/Chicago")
    )
    return us(local)


@pytest.mark.parametrize(
    ("local", "trading_date"),
    [
        # Monday 2024-03-04, standard time (UTC-6)
        ((2024, 3, 4, 0, 30), (2024, 3, 4)),
        ((2024, 3, 4, 16, 59, 59, 999_999), (2024, 3, 4)),
        ((2024, 3, 4, 17, 0), (2024, 3, 5)),
        ((2024, 3, 4, 23, 59, 59, 999_999), (2024, 3, 5)),
        # Sunday 2024-03-10: DST starts at 02:00 local
        ((2024, 3, 10, 1, 59, 59, 999_999), (2024, 3, 10)),
        ((2024, 3, 10, 3, 0), (2024, 3, 10)),
        ((2024, 3, 10, 16, 59, 59, 999_999), (2024, 3, 10)),
        ((2024, 3, 10, 17, 0), (2024, 3, 11)),
        # Monday 2024-03-11, daylight time (UTC-5)
        ((2024, 3, 11, 16, 59, 59, 999_999), (2024, 3, 11)),
        ((2024, 3, 11, 17, 0), (2024, 3, 12)),
        # Sunday 2024-11-03: DST ends at 02:00 local
        ((2024, 11, 3, 16, 59, 59, 999_999), (2024, 11, 3)),
        ((2024, 11, 3, 17, 0), (2024, 11, 4)),
    ],
)
def test_session_roll(local: tuple[int, ...], trading_date: tuple[int, int, int]) -> None:
    ts = chicago(*local)
    expected = datetime.date(*trading_date)
    assert derive_trading_date(ts, "cme", exchanges=REGISTRY) == expected
    assert derive_trading_date(pa.array([ts]), "cme", exchanges=REGISTRY).to_pylist() == [expected]


def test_session_roll_in_utc_hours_across_dst() -> None:
    # 17:00 Chicago is 23:00Z in winter and 22:00Z in summer.
    winter = [utc_us("2024-03-04T22:59:59") + 999_999, utc_us("2024-03-04T23:00:00")]
    summer = [utc_us("2024-03-11T21:59:59") + 999_999, utc_us("2024-03-11T22:00:00")]
    got = derive_trading_date(np.array(winter + summer), "cme", exchanges=REGISTRY)
    assert got.to_pylist() == [
        datetime.date(2024, 3, 4),
        datetime.date(2024, 3, 5),
        datetime.date(2024, 3, 11),
        datetime.date(2024, 3, 12),
    ]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(LO_1990, HI_2040), min_size=1, max_size=100))
def test_session_roll_is_local_date_of_wall_time_plus_seven_hours(stamps: list[int]) -> None:
    got = derive_trading_date(np.array(stamps), "cme", exchanges=REGISTRY).to_pylist()
    expected = []
    for ts in stamps:
        wall = (EPOCH + datetime.timedelta(microseconds=ts)).astimezone(
            zone_info("America/Chicago")
        )
        expected.append((wall.replace(tzinfo=None) + datetime.timedelta(hours=7)).date())
    assert got == expected


# ------------------------------------------------------------------ errors


def test_unknown_exchange() -> None:
    with pytest.raises(UnknownExchangeError, match=r"unknown exchange 'okx'; known: okex"):
        derive_trading_date(SZSE_SEED, "okx")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (np.array([1.5, 2.0]), r"must hold integer microseconds .* got dtype float64"),
        (np.array(["2024-01-01"]), r"got dtype <U10"),
        (np.array([True]), r"got dtype bool"),
        (np.array(["2024-01-01"], dtype="datetime64[us]"), r"got dtype datetime64\[us\]"),
        (pa.array([1.5]), r"must be integer microseconds .* got Arrow type double"),
        (pa.array([1], type=pa.timestamp("us", tz="UTC")), r"got Arrow type timestamp"),
        (pa.array(["x"]), r"got Arrow type string"),
        (pa.chunked_array([[1.5]]), r"got Arrow type double"),
        (np.zeros((2, 2), dtype=np.int64), r"must be a 1-D array, got shape \(2, 2\)"),
        (True, r"got the boolean True"),
        (1.5, r"must be an int, a 1-D integer numpy array, .* got float"),
        ("1727627400000000", r"got str"),
        ([1, 2], r"got list"),
        (None, r"got NoneType"),
        (2**63, r"does not fit int64"),
        (np.array([2**63], dtype=np.uint64), r"uint64 value 9223372036854775808 does not fit"),
        (pa.array([2**63], type=pa.uint64()), r"does not fit int64 microseconds"),
    ],
)
def test_bad_input_is_rejected(values: Any, message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        derive_trading_date(values, "szse")


def test_timestamps_at_the_int64_limits() -> None:
    top = int(np.iinfo(np.int64).max)
    # UTC needs no shift, so the whole int64 range works on arrays ...
    assert len(derive_trading_date(np.array([top, -top - 1]), "binance")) == 2
    # ... but a date past year 9999 is no datetime.date, and a shift would overflow.
    with pytest.raises(SchemaError, match=r"outside the years 1-9999"):
        derive_trading_date(top, "binance")
    with pytest.raises(SchemaError, match=r"too close to the int64 limits .* Asia/Shanghai"):
        derive_trading_date(np.array([top]), "szse")


def test_beyond_the_horizon_keeps_the_last_offset() -> None:
    ts = utc_us("2300-07-01T12:00:00")
    assert derive_trading_date(ts, "america-new_york", exchanges=REGISTRY) == datetime.date(
        2300, 7, 1
    )
