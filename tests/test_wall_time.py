"""17-digit wall times to UTC µs (pointline.kernels.wall_time) agree with zoneinfo."""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pytest

from pointline.kernels.wall_time import parse_wall_ms, wall_to_utc_us

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def by_zoneinfo(text: str, zone: str) -> int:
    local = dt.datetime.strptime(text, "%Y%m%d%H%M%S%f").replace(tzinfo=ZoneInfo(zone))
    return (local - EPOCH) // dt.timedelta(microseconds=1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20240102091500000", 1704158100000000),  # docs/cn.md section 2
        ("19910715000000000", 679503600000000),  # 1991 daylight saving: 15:00Z the day before
        ("19910403000000000", 670608000000000),  # before DST began on 14 April: +8 h
        ("19860504020000000", by_zoneinfo("19860504020000000", "Asia/Shanghai")),  # skipped hour
        ("19910915013000000", by_zoneinfo("19910915013000000", "Asia/Shanghai")),  # repeated hour
    ],
)
def test_shanghai_examples(text: str, expected: int) -> None:
    assert parse_wall_ms(pa.array([text]), "Asia/Shanghai").values.to_pylist() == [expected]


@pytest.mark.parametrize(
    "zone",
    ["Asia/Shanghai", "America/New_York", "Europe/London", "Australia/Lord_Howe", "UTC"],
)
def test_agrees_with_zoneinfo_everywhere_including_gaps_and_folds(zone: str) -> None:
    rng = random.Random(zone)
    texts = []
    for i in range(4000):
        year = rng.randint(1900, 2100) if i % 2 else rng.randint(1984, 1992)
        texts.append(
            f"{year:04d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
            f"{rng.randint(0, 23):02d}{rng.randint(0, 59):02d}{rng.randint(0, 59):02d}"
            f"{rng.randint(0, 999):03d}"
        )
    # Every 3.5 hours around China's 1986-1991 transitions, too.
    start = dt.datetime(1986, 4, 1, tzinfo=dt.UTC)  # only its wall clock is used
    texts += [
        (start + dt.timedelta(minutes=30 * k)).strftime("%Y%m%d%H%M%S") + "000"
        for k in range(0, 6 * 365 * 48, 7)
    ]
    got = parse_wall_ms(pa.array(texts), zone).values.to_pylist()
    assert got == [by_zoneinfo(t, zone) for t in texts]


@pytest.mark.parametrize(
    "text",
    [
        "2024010209150000",  # 16 digits
        "202401020915000000",  # 18 digits
        "2024010209150000x",
        "20240230091500000",  # 30 February
        "20230229091500000",  # not a leap year
        "20241301091500000",  # month 13
        "20240100091500000",  # day 0
        "20240102241500000",  # hour 24
        "20240102096000000",  # minute 60
        "20240102091560000",  # second 60
        "2024-01-02 09:15:00",
    ],
)
def test_anything_else_is_unparseable_and_null(text: str) -> None:
    parsed = parse_wall_ms(pa.array([text, "20240102091500000"]), "Asia/Shanghai")
    assert parsed.values.to_pylist() == [None, 1704158100000000]
    assert parsed.unparseable.tolist() == [True, False]


def test_blanks_are_trimmed_and_empty_cells_are_null_not_unparseable() -> None:
    parsed = parse_wall_ms(pa.array([" 20240229091500000 ", "", None, "  "]), "Asia/Shanghai")
    assert (
        parsed.values.to_pylist()
        == [by_zoneinfo("20240229091500000", "Asia/Shanghai")] + [None] * 3
    )
    assert parsed.unparseable.tolist() == [False] * 4


def test_a_sliced_array_reads_its_own_cells() -> None:
    array = pa.array(["x", "20240102091500000", "20240102091500001"]).slice(1)
    assert parse_wall_ms(array, "Asia/Shanghai").values.to_pylist() == [
        1704158100000000,
        1704158100001000,
    ]


def test_a_fixed_zone_is_one_offset() -> None:
    assert wall_to_utc_us(np.array([0, 3_600_000_000]), "Etc/GMT-8").tolist() == [
        -8 * 3_600_000_000,
        -7 * 3_600_000_000,
    ]


def test_nulls_beside_17_digit_cells_keep_every_digit() -> None:
    # Past 2^53 µs-free integers: a float64 detour would lose the last digits.
    texts = [None, "29991231235959999", None, "20240102091500001"]
    parsed = parse_wall_ms(pa.array(texts), "Asia/Shanghai")
    assert parsed.values.to_pylist() == [
        None,
        by_zoneinfo("29991231235959999", "Asia/Shanghai"),
        None,
        by_zoneinfo("20240102091500001", "Asia/Shanghai"),
    ]
    assert parsed.unparseable.tolist() == [False] * 4


def test_a_bad_cell_among_good_ones_is_the_only_one_flagged() -> None:
    texts = ["20240102091500000", "2024013209150000x", None, " 20240102091500001", "  "]
    parsed = parse_wall_ms(pa.array(texts), "Asia/Shanghai")
    assert parsed.values.to_pylist() == [1704158100000000, None, None, 1704158100001000, None]
    assert parsed.unparseable.tolist() == [False, True, False, False, False]


def test_a_batch_of_one_day_is_checked_like_any_other() -> None:
    # Every cell on one date: the date is read once; a bad one fails every cell.
    good = parse_wall_ms(pa.array(["20240229091500000", "20240229235959999"]), "Asia/Shanghai")
    assert good.values.to_pylist() == [
        by_zoneinfo("20240229091500000", "Asia/Shanghai"),
        by_zoneinfo("20240229235959999", "Asia/Shanghai"),
    ]
    bad = parse_wall_ms(pa.array(["20230229091500000", "20230229101500000"]), "Asia/Shanghai")
    assert bad.values.to_pylist() == [None, None]
    assert bad.unparseable.tolist() == [True, True]


def _reference(text: str, zone: str) -> int | None:
    """zoneinfo's reading of a 17-digit text, None when it is not a real date and time
    (fields cut by position: ``strptime`` would read ``2460`` as 2:46:0)."""
    cuts = [(0, 4), (4, 6), (6, 8), (8, 10), (10, 12), (12, 14), (14, 17)]
    year, month, day, hour, minute, second, milli = (int(text[a:b]) for a, b in cuts)
    try:
        local = dt.datetime(
            year, month, day, hour, minute, second, milli * 1000, tzinfo=ZoneInfo(zone)
        )
    except ValueError:
        return None
    return (local - EPOCH) // dt.timedelta(microseconds=1)


@pytest.mark.parametrize("date", ["20240102", "19910915", "20240229", "20230229"])
def test_a_one_day_batch_reads_every_clock_like_zoneinfo(date: str) -> None:
    """A batch of one date takes the one-day path (the date read once, the clocks in
    int32): every clock, real or not (hour 24, minute 60, second 60), as zoneinfo says."""
    rng = random.Random(date)
    clocks = [
        f"{rng.randint(0, 25):02d}{rng.randint(0, 61):02d}{rng.randint(0, 61):02d}"
        f"{rng.randint(0, 999):03d}"
        for _ in range(3000)
    ]
    texts = [date + clock for clock in ["000000000", "235959999", *clocks]]
    parsed = parse_wall_ms(pa.array(texts), "Asia/Shanghai")
    expected = [_reference(text, "Asia/Shanghai") for text in texts]
    assert parsed.values.to_pylist() == expected
    assert parsed.unparseable.tolist() == [value is None for value in expected]
