"""Tests for pointline.kernels.fixed_point: exact decimal text to int64 fixed point.

Every expectation is checked on both paths (Arrow's decimal cast and the numpy fallback),
and the property tests compare both, row by row, with Python's ``decimal`` module.
"""

from __future__ import annotations

import doctest
import re
from collections.abc import Sequence
from decimal import (
    MAX_EMAX,
    MIN_EMIN,
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    Inexact,
    localcontext,
)
from typing import Any
from unittest import mock

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pointline.errors import SchemaError
from pointline.kernels import fixed_point
from pointline.kernels.fixed_point import FixedPointResult, parse_fixed_point

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
GRAMMAR = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# Wide enough for every test string; Inexact raises if the scaling ever rounded.
EXACT = Context(prec=100_000, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[Inexact])

# (value, unparseable, out_of_range) for one row.
Expected = tuple[int | None, bool, bool]
OK = False, False
UNPARSEABLE = True, False
OUT_OF_RANGE = False, True


def reference(text: str | None, scale: int) -> Expected:
    """The contract, with Python's decimal module."""
    if text is None or text == "":
        return None, False, False
    if GRAMMAR.fullmatch(text) is None:
        return None, True, False
    with localcontext(EXACT):
        scaled = (Decimal(text) * 10**scale).to_integral_value(rounding=ROUND_HALF_EVEN)
        if not INT64_MIN <= scaled <= INT64_MAX:  # compare before int(): 1e999999999999
            return None, False, True
        return int(scaled), False, False


def observed(result: FixedPointResult) -> list[Expected]:
    return list(
        zip(
            result.values.to_pylist(),
            result.unparseable.tolist(),
            result.out_of_range.tolist(),
            strict=True,
        )
    )


@pytest.fixture(params=[False, True], ids=["auto", "fallback"])
def force_fallback(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def parse(text: Any, *, force_fallback: bool, scale_digits: int = 9) -> FixedPointResult:
    return parse_fixed_point(text, scale_digits=scale_digits, _force_fallback=force_fallback)


# ------------------------------------------------------------------------- exact cases

CASES: list[tuple[str | None, Expected]] = [
    # accepted
    ("0.1", (100_000_000, *OK)),
    ("-1.5", (-1_500_000_000, *OK)),
    ("+2", (2_000_000_000, *OK)),
    (".5", (500_000_000, *OK)),
    ("-.5", (-500_000_000, *OK)),
    ("5.", (5_000_000_000, *OK)),
    ("1e-05", (10_000, *OK)),
    ("5.5E+3", (5_500_000_000_000, *OK)),
    ("1.e1", (10_000_000_000, *OK)),
    ("007", (7_000_000_000, *OK)),
    ("-0", (0, *OK)),
    ("-0.0e-0", (0, *OK)),
    ("0E+400", (0, *OK)),
    ("27341.52", (27_341_520_000_000, *OK)),
    ("1e0000000000000000000000003", (1_000_000_000_000, *OK)),
    ("1.50000000000000000000", (1_500_000_000, *OK)),
    ("0" * 60 + "1", (1_000_000_000, *OK)),
    # null, not an error
    (None, (None, False, False)),
    ("", (None, False, False)),
    # rejected
    ("abc", (None, *UNPARSEABLE)),
    ("1.2.3", (None, *UNPARSEABLE)),
    ("NaN", (None, *UNPARSEABLE)),
    ("inf", (None, *UNPARSEABLE)),
    ("Infinity", (None, *UNPARSEABLE)),
    (" 1", (None, *UNPARSEABLE)),
    ("1 ", (None, *UNPARSEABLE)),
    ("1_000", (None, *UNPARSEABLE)),
    (".", (None, *UNPARSEABLE)),
    ("e5", (None, *UNPARSEABLE)),
    ("1e", (None, *UNPARSEABLE)),
    ("1e+", (None, *UNPARSEABLE)),
    ("--1", (None, *UNPARSEABLE)),
    ("+", (None, *UNPARSEABLE)),
    ("-", (None, *UNPARSEABLE)),
    ("+.e1", (None, *UNPARSEABLE)),
    ("1e1.5", (None, *UNPARSEABLE)),
    ("1e5e5", (None, *UNPARSEABLE)),
    ("0x10", (None, *UNPARSEABLE)),
    ("\u0661", (None, *UNPARSEABLE)),  # ARABIC-INDIC DIGIT ONE
    ("1\u00a0", (None, *UNPARSEABLE)),
    ("1\x00", (None, *UNPARSEABLE)),
    # Arrow's decimal cast accepts these (its exponent is an int32 that may be hex or '+-')
    ("1e+-1", (None, *UNPARSEABLE)),
    ("1e0x1", (None, *UNPARSEABLE)),
    ("1E+0XA", (None, *UNPARSEABLE)),
    ("00E.", (None, *UNPARSEABLE)),
    ("1E.5", (None, *UNPARSEABLE)),
    ("5e-.", (None, *UNPARSEABLE)),
    # Arrow's cast wraps digit strings >= 2**128, and crashes on exponents near -2**31
    (str(2**128 + 1), (None, *OUT_OF_RANGE)),
    (str(2**128 + 1) + "e-30", (340_282_366_920_938_463, *OK)),
    (str(2**128 + 1) + "e-20", (None, *OUT_OF_RANGE)),
    ("0." + str(2**128 + 1), (340_282_367, *OK)),
    ("1e-2147483647", (0, *OK)),
    ("-0.5e-2147483648", (0, *OK)),
    ("1e-4049196", (0, *OK)),
    ("1e-999", (0, *OK)),
    ("1e0999", (None, *OUT_OF_RANGE)),
    ("0e2147483647", (0, *OK)),
    # more fractional digits than the scale: round half to even
    ("0.0000000005", (0, *OK)),
    ("0.0000000015", (2, *OK)),
    ("0.0000000025", (2, *OK)),
    ("-0.0000000025", (-2, *OK)),
    ("-0.0000000035", (-4, *OK)),
    ("0.00000000250000000001", (3, *OK)),
    ("0.0000000024999", (2, *OK)),
    ("1.99999999999", (2_000_000_000, *OK)),
    ("1e-400", (0, *OK)),
    ("-1e-10", (0, *OK)),
    ("5e-10", (0, *OK)),
    ("15e-10", (2, *OK)),
    ("1e-999999999999", (0, *OK)),
    # the int64 range
    ("9223372036.854775807", (INT64_MAX, *OK)),
    ("-9223372036.854775808", (INT64_MIN, *OK)),
    ("9223372036.8547758074999", (INT64_MAX, *OK)),
    ("-9223372036.8547758075", (INT64_MIN, *OK)),  # ...807.5 rounds to even 808
    ("-9223372036.8547758085", (INT64_MIN, *OK)),  # ...808.5 rounds to even 808
    ("9223372036.854775808", (None, *OUT_OF_RANGE)),
    ("9223372036.8547758075", (None, *OUT_OF_RANGE)),
    ("-9223372036.854775809", (None, *OUT_OF_RANGE)),
    ("-9223372036.8547758085000001", (None, *OUT_OF_RANGE)),
    ("1e400", (None, *OUT_OF_RANGE)),
    ("-1e400", (None, *OUT_OF_RANGE)),
    ("1e999999999999", (None, *OUT_OF_RANGE)),
    ("1" * 30, (None, *OUT_OF_RANGE)),
    ("1" * 50, (None, *OUT_OF_RANGE)),
    ("1e10", (None, *OUT_OF_RANGE)),
    ("0.000000000000000000001e30", (1_000_000_000_000_000_000, *OK)),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[repr(c[0]) for c in CASES])
def test_case(text: str | None, expected: Expected, force_fallback: bool) -> None:
    assert reference(text, 9) == expected  # the table agrees with the contract
    assert observed(parse(pa.array([text], pa.string()), force_fallback=force_fallback)) == [
        expected
    ]


def test_all_cases_in_one_array(force_fallback: bool) -> None:
    texts = [text for text, _ in CASES]
    result = parse(pa.array(texts, pa.large_string()), force_fallback=force_fallback)
    assert observed(result) == [expected for _, expected in CASES]


SCALED_CASES: list[tuple[int, str, Expected]] = [
    (0, "2.5", (2, *OK)),
    (0, "3.5", (4, *OK)),
    (0, "-2.5", (-2, *OK)),
    (0, "0.5000001", (1, *OK)),
    (0, "12e3", (12_000, *OK)),
    (0, "9223372036854775807", (INT64_MAX, *OK)),
    (0, "9223372036854775807.5", (None, *OUT_OF_RANGE)),
    (0, "9223372036854775808", (None, *OUT_OF_RANGE)),
    (0, "-9223372036854775808", (INT64_MIN, *OK)),
    (0, "-9223372036854775808.5", (INT64_MIN, *OK)),
    (2, "1.005", (100, *OK)),
    (2, "1.015", (102, *OK)),
    (2, "27341.52", (2_734_152, *OK)),
    (2, "-0.005", (0, *OK)),
    (2, "x", (None, *UNPARSEABLE)),
    (8, "0.00000001", (1, *OK)),
    (8, "0.000000005", (0, *OK)),
    (8, "0.000000015", (2, *OK)),
    (8, "92233720368.54775807", (INT64_MAX, *OK)),
    (8, "92233720368.54775808", (None, *OUT_OF_RANGE)),
    (18, "1", (10**18, *OK)),
    (18, "9.223372036854775807", (INT64_MAX, *OK)),
    (18, "9.223372036854775808", (None, *OUT_OF_RANGE)),
    (18, "-9.223372036854775808", (INT64_MIN, *OK)),
    (18, "10", (None, *OUT_OF_RANGE)),
    (18, "1e-18", (1, *OK)),
    (18, "5e-19", (0, *OK)),
]


@pytest.mark.parametrize(("scale", "text", "expected"), SCALED_CASES)
def test_other_scales(scale: int, text: str, expected: Expected, force_fallback: bool) -> None:
    assert reference(text, scale) == expected
    result = parse(pa.array([text]), force_fallback=force_fallback, scale_digits=scale)
    assert observed(result) == [expected]


# --------------------------------------------------------------- shapes of the input


def test_sliced_array(force_fallback: bool) -> None:
    base = pa.array(["9", None, "1.5", "", "x", "2e3", "7"])
    result = parse(base.slice(2, 4), force_fallback=force_fallback)
    assert observed(result) == [
        (1_500_000_000, *OK),
        (None, False, False),
        (None, *UNPARSEABLE),
        (2_000_000_000_000, *OK),
    ]


def test_null_slots_with_bytes_are_ignored(force_fallback: bool) -> None:
    # Arrow allows a null slot to cover data; here the middle row is null over "0x1".
    arr = pa.Array.from_buffers(
        pa.string(),
        3,
        [
            pa.py_buffer(bytes([0b101])),
            pa.py_buffer(np.array([0, 1, 4, 5], dtype=np.int32).tobytes()),
            pa.py_buffer(b"10x12"),
        ],
    )
    result = parse(arr, force_fallback=force_fallback)
    assert observed(result) == [(1_000_000_000, *OK), (None, False, False), (2_000_000_000, *OK)]


def test_chunked_array(force_fallback: bool) -> None:
    chunked = pa.chunked_array([["1", None], [], ["x", "2.5", "1e400"]], pa.large_string())
    result = parse(chunked.slice(1), force_fallback=force_fallback)
    assert isinstance(result.values, pa.Int64Array)
    assert observed(result) == [
        (None, False, False),
        (None, *UNPARSEABLE),
        (2_500_000_000, *OK),
        (None, *OUT_OF_RANGE),
    ]


def test_chunking_does_not_change_the_result() -> None:
    rng = np.random.default_rng(7)
    texts: list[str | None] = [
        f"{whole}.{fraction:03d}"
        for whole, fraction in zip(
            rng.integers(-(10**9), 10**9, 300), rng.integers(0, 1000, 300), strict=True
        )
    ]
    texts[5], texts[77], texts[150] = None, "oops", "1e-12"
    whole = observed(parse_fixed_point(pa.array(texts)))
    for size in (1, 7, 65536):
        chunks = [texts[i : i + size] for i in range(0, len(texts), size)]
        chunked = pa.chunked_array(chunks, pa.string())
        assert observed(parse_fixed_point(chunked)) == whole
        assert observed(parse_fixed_point(chunked)) == whole  # and again


@pytest.mark.parametrize(
    "kind", [pa.string(), pa.large_string(), pa.string_view()], ids=["string", "large", "view"]
)
def test_string_types(kind: pa.DataType, force_fallback: bool) -> None:
    result = parse(pa.array(["1", None, "-2.5", "a"], kind), force_fallback=force_fallback)
    assert observed(result) == [
        (1_000_000_000, *OK),
        (None, False, False),
        (-2_500_000_000, *OK),
        (None, *UNPARSEABLE),
    ]


@pytest.mark.parametrize(
    "text",
    [
        pa.array([], pa.string()),
        pa.array([], pa.large_string()),
        pa.chunked_array([], pa.string()),
        pa.chunked_array([], pa.string_view()),
        pa.array(["1", "2"]).slice(2),
    ],
    ids=["string", "large", "chunked", "chunked-view", "slice"],
)
def test_empty_input(text: Any, force_fallback: bool) -> None:
    result = parse(text, force_fallback=force_fallback)
    assert len(result.values) == 0
    assert result.values.type == pa.int64()
    assert result.unparseable.shape == result.out_of_range.shape == (0,)
    assert not result.has_errors


def test_all_null_and_null_type(force_fallback: bool) -> None:
    for text in (pa.array([None, "", None], pa.string()), pa.nulls(3)):
        result = parse(text, force_fallback=force_fallback)
        assert observed(result) == [(None, False, False)] * 3


def test_long_rows_are_exact(force_fallback: bool) -> None:
    texts = [
        "0." + "0" * 3000 + "1",
        "1" + "0" * 3000 + "e-3000",
        "-" + "0" * 20_000 + "2.5",
        "1" * 5000,
        "1.5" + "e" * 100_000,
        "12.5",
        "1" + "0" * 70 + "e-79",
        "0" * 40 + "1" + "0" * 40 + "e-41",
    ]
    result = parse(pa.array(texts), force_fallback=force_fallback)
    assert observed(result) == [reference(t, 9) for t in texts]
    assert observed(result)[:3] == [(0, *OK), (1_000_000_000, *OK), (-2_500_000_000, *OK)]


def test_many_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tiny blocks in the fallback: every block boundary must keep rows in place.
    monkeypatch.setattr(fixed_point, "_BLOCK_CELLS", 64)
    texts: list[str | None] = [f"{i}.{i % 7}5" if i % 11 else "bad" for i in range(500)]
    texts[3::17] = [None] * len(texts[3::17])
    texts[5::23] = [""] * len(texts[5::23])
    texts[7::29] = ["-0." + "0" * 20 + str(i) for i in range(len(texts[7::29]))]
    result = parse(pa.array(texts), force_fallback=True)
    assert observed(result) == [reference(t, 9) for t in texts]


def test_fast_path_handles_clean_input() -> None:
    texts = ["27341.52", None, "", "-0.00000001", "1e3", "9223372036.854775808"]
    with mock.patch.object(fixed_point, "_parse_fallback", side_effect=AssertionError):
        result = parse_fixed_point(pa.array(texts))
    assert observed(result) == [reference(t, 9) for t in texts]


@pytest.mark.parametrize(
    "bad",
    ["1e-4049196", "-0.5e-2147483648", "1e+-5", "1e0X1", str(2**128 + 1)],
    ids=["crash", "crash-int32", "plus-minus", "hex", "wraps"],
)
def test_text_arrow_gets_wrong_never_reaches_its_cast(bad: str) -> None:
    texts = ["1.5", None, "2e3", bad, "", "7"]
    with mock.patch.object(pc, "cast", side_effect=AssertionError):
        result = parse_fixed_point(pa.array(texts))
    assert observed(result) == [reference(t, 9) for t in texts]


def test_exponent_guard_stays_inside_each_row() -> None:
    # "1e-05" then "2734" must not read as the four-digit exponent "-052734".
    texts = ["1e-05", "2734", "5E+3", "1.5", "1e-9", "12e-009"]
    with mock.patch.object(fixed_point, "_parse_fallback", side_effect=AssertionError):
        result = parse_fixed_point(pa.array(texts))
    assert observed(result) == [reference(t, 9) for t in texts]


# ------------------------------------------------------------------ result and errors


def test_result_helpers() -> None:
    result = parse_fixed_point(pa.array(["1", "x", None, "1e400"]))
    assert result.bad.tolist() == [False, True, False, True]
    assert result.has_errors
    clean = parse_fixed_point(pa.array(["1", None, ""]))
    assert not clean.has_errors
    assert clean.values.null_count == 2


@pytest.mark.parametrize("scale", [-1, 19, 38])
def test_scale_out_of_range(scale: int) -> None:
    with pytest.raises(ValueError, match=rf"scale_digits must be from 0 to 18, got {scale}"):
        parse_fixed_point(pa.array(["1"]), scale_digits=scale)


def test_scale_not_int() -> None:
    with pytest.raises(TypeError, match="scale_digits must be an int from 0 to 18, got True"):
        parse_fixed_point(pa.array(["1"]), scale_digits=True)


def test_not_a_string_array() -> None:
    with pytest.raises(SchemaError, match=r"expects string or large_string text, got int64"):
        parse_fixed_point(pa.array([1, 2]))
    with pytest.raises(SchemaError, match=r"got list; hint: wrap Python lists with pa.array"):
        parse_fixed_point(["1"])  # type: ignore[arg-type]


def test_docstring_examples() -> None:
    assert doctest.testmod(fixed_point, raise_on_error=True).attempted > 0


# ------------------------------------------------------------------ property tests

SCALES = st.sampled_from([0, 2, 8, 9, 18])


@st.composite
def numbers(draw: st.DrawFn) -> str:
    """Decimal-looking text, valid or nearly so: lengths 0-40, exponents -450..450."""
    sign = draw(st.sampled_from(["", "", "+", "-"]))
    whole = draw(st.text("0123456789", max_size=40))
    dot = draw(st.sampled_from(["", ".", "."]))
    fraction = draw(st.text("0123456789", max_size=40)) if dot else ""
    exponent = ""
    if draw(st.booleans()):
        value = draw(st.integers(-450, 450))
        marker = draw(st.sampled_from(["e", "E"]))
        explicit = "+" if value >= 0 and draw(st.booleans()) else ""
        zeros = "0" * draw(st.integers(0, 3))
        exponent = f"{marker}{explicit}{'-' if value < 0 else ''}{zeros}{abs(value)}"
    return f"{sign}{whole}{dot}{fraction}{exponent}"


@st.composite
def near_limits(draw: st.DrawFn, scale: int) -> str:
    """Text within a few units (and fractions of a unit) of the int64 limits at ``scale``."""
    units = draw(st.integers(-(2**63) - 3, -(2**63) + 3) | st.integers(2**63 - 4, 2**63 + 2))
    digits = str(abs(units)).rjust(scale + 1, "0")
    whole, fraction = digits[: len(digits) - scale], digits[len(digits) - scale :]
    extra = draw(st.sampled_from(["", "5", "50", "49", "51", "4999999", "5000001"]))
    text = f"{'-' if units < 0 else draw(st.sampled_from(['', '+']))}{whole}"
    if fraction or extra:
        text += f".{fraction}{extra}"
    return text


@st.composite
def wrapping(draw: st.DrawFn) -> str:
    """Digit strings of 2**128 and more (Arrow wraps them), with a dot and an exponent."""
    digits = str(2**128 * draw(st.integers(1, 3)) + draw(st.integers(0, 2**70)))
    dot = draw(st.integers(0, len(digits)))
    exponent = draw(st.sampled_from(["", "e-30", "e-38", "E-29", "e-40", "e1"]))
    return f"{digits[:dot]}.{digits[dot:]}{exponent}"


def garbage() -> st.SearchStrategy[str]:
    # Any Unicode text too (surrogates are excluded by default: Arrow needs valid UTF-8).
    return st.text("0123456789+-.eE xa_", max_size=12) | st.text(max_size=4)


def texts(scale: int) -> st.SearchStrategy[str | None]:
    return st.one_of(
        st.none(), st.just(""), numbers(), numbers(), near_limits(scale), wrapping(), garbage()
    )


@st.composite
def arrays(draw: st.DrawFn) -> tuple[int, list[str | None], Any]:
    """(scale, row texts, the Arrow input holding them: sliced and/or chunked)."""
    scale = draw(SCALES)
    rows = draw(st.lists(texts(scale), min_size=1, max_size=25))
    kind = draw(st.sampled_from([pa.string(), pa.large_string()]))
    before = draw(st.lists(texts(scale), max_size=3))
    after = draw(st.lists(texts(scale), max_size=3))
    whole = pa.array(before + rows + after, kind)
    sliced = whole.slice(len(before), len(rows))
    if draw(st.booleans()):
        cut = draw(st.integers(0, len(rows)))
        return scale, rows, pa.chunked_array([sliced.slice(0, cut), sliced.slice(cut)])
    return scale, rows, sliced


def check_both_paths(scale: int, rows: Sequence[str | None], arrow_input: Any) -> None:
    expected = [reference(text, scale) for text in rows]
    for force in (False, True):
        result = parse_fixed_point(arrow_input, scale_digits=scale, _force_fallback=force)
        assert observed(result) == expected, f"force_fallback={force}"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arrays())
def test_property_matches_decimal(case: tuple[int, list[str | None], Any]) -> None:
    check_both_paths(*case)


@st.composite
def castable(draw: st.DrawFn, scale: int) -> str:
    """Valid numbers of at most 38 bytes that Arrow's decimal128(38, scale) cast takes."""
    sign = draw(st.sampled_from(["", "+", "-"]))
    whole = draw(st.text("0123456789", min_size=1, max_size=min(20, 30 - scale)))
    fraction = draw(st.text("0123456789", max_size=scale))
    exponent = draw(st.integers(max(-3, len(fraction) - scale), 3))
    text = f"{sign}{whole}.{fraction}" if fraction or draw(st.booleans()) else f"{sign}{whole}"
    return f"{text}e{exponent}" if draw(st.booleans()) else text


@st.composite
def castable_arrays(draw: st.DrawFn) -> tuple[int, list[str | None], Any]:
    scale = draw(SCALES)
    rows: list[str | None] = list(draw(st.lists(castable(scale), min_size=1, max_size=20)))
    step = draw(st.integers(2, 4))
    rows[::step] = [None] * len(rows[::step])
    start = draw(st.integers(0, 3))
    arr = pa.array(["junk", "1e", "0x1"][:start] + rows).slice(start)
    return scale, rows, arr


@settings(max_examples=200, deadline=None)
@given(castable_arrays())
def test_property_fast_path(case: tuple[int, list[str | None], Any]) -> None:
    scale, rows, arr = case
    with mock.patch.object(fixed_point, "_parse_fallback", side_effect=AssertionError):
        result = parse_fixed_point(arr, scale_digits=scale)
    assert observed(result) == [reference(text, scale) for text in rows]
    check_both_paths(scale, rows, arr)
