"""The decimal kernel, :mod:`pointline.kernels.decimal`, against hand values and Python's
``decimal`` module (docs/contracts.md section 3).

``parse_decimal`` turns decimal text into ``decimal128(38, 18)`` exactly, or flags the row
``unparseable``, ``inexact`` (a non-zero digit past the 18th fractional place) or
``out_of_range`` (magnitude >= 10^20); null and ``""`` give a null value and no flag.
``decimal_text`` writes values back as canonical plain text.

What is covered:

* a table of hand cases with the exact value or flag and the canonical text, including
  the inputs on which pyarrow 26's own cast is silently wrong (``1e-999`` becomes 0,
  ``1e30`` and ``97343904232130450700898`` wrap) or crashes (``1e-2147483647``, run in a
  child process so that a crash is a failure, not the end of the test run);
* Hypothesis properties: every spelling of an exact in-range value parses to it; any text
  from a small alphabet gets exactly the outcome of a reference classifier written here with
  :mod:`re` and :mod:`decimal`; a batch (also chunked, also ``large_string``) gives each
  row the outcome it gets alone;
* input shapes (chunked, sliced, ``large_string``, ``string_view``, ``null``-typed, empty,
  all null, not text) and ``decimal_text`` on slices and on other decimal types;
* the fast path: a column of plain short prices is one cast, never read row by row.

Values are compared as :class:`decimal.Decimal`, never as floats.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pointline.errors import SchemaError
from pointline.kernels import decimal as decimal_kernel
from pointline.kernels.decimal import DecimalResult, decimal_text, parse_decimal

REPO_ROOT = Path(__file__).resolve().parents[1]

DECIMAL_TYPE = pa.decimal128(38, 18)
LIMIT = Decimal(10) ** 20
"""Magnitudes at or above this are out of range."""
LARGEST = Decimal("99999999999999999999.999999999999999999")
SMALLEST_STEP = Decimal("0.000000000000000001")
NEGATIVE_LARGEST = LARGEST.copy_negate()  # unary minus would round to 28 digits

# The outcome of one row: (kind, value); the value is set only for VALUE.
VALUE = "value"
NULL = "null"
UNPARSEABLE = "unparseable"
INEXACT = "inexact"
OUT_OF_RANGE = "out_of_range"
FLAGS = (UNPARSEABLE, INEXACT, OUT_OF_RANGE)
Outcome = tuple[str, Decimal | None]

CTX = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)
"""Arithmetic that never rounds here (the default context rounds at 28 digits:
``LARGEST.normalize()`` would be ``1E+20``)."""

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------- reference


GRAMMAR = re.compile(r"([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(?:[eE]([+-]?[0-9]+))?")
"""The contract's grammar: mantissa, then an optional exponent. ``[0-9]`` is ASCII only."""


def reference(text: str | None) -> Outcome:
    """What the contract says ``text`` becomes, worked out with ``re`` and ``decimal``."""
    if text is None or text == "":
        return (NULL, None)
    match = GRAMMAR.fullmatch(text)
    if match is None:
        return (UNPARSEABLE, None)
    mantissa, exponent_text = match.groups()
    # Decimal() refuses exponents beyond about 10^18 (and int() more than 4300 digits); a
    # mantissa of a few thousand digits at most is classified the same with the exponent
    # capped at +-10^6.
    exponent_digits = (exponent_text or "0").lstrip("+-").lstrip("0")
    negative = (exponent_text or "").startswith("-")
    exponent = min(int(exponent_digits or "0"), 10**6) if len(exponent_digits) <= 7 else 10**6
    if negative:
        exponent = -exponent
    value = Decimal(f"{mantissa}e{exponent}")
    if value.copy_abs() >= LIMIT:  # abs() would round to 28 digits
        return (OUT_OF_RANGE, None)
    places = CTX.normalize(value).as_tuple().exponent  # trailing zeros dropped
    assert isinstance(places, int)  # finite
    if places < -18:
        return (INEXACT, None)
    return (VALUE, value)


def canonical(value: Decimal) -> str:
    """The canonical plain text of ``value``: no exponent, no trailing fractional zeros,
    no bare dot, never ``-0`` (``Decimal("100")`` normalizes to ``1E+2``; ``f`` formats it
    back as ``100``)."""
    if value == 0:
        return "0"
    return format(CTX.normalize(value), "f")


def expected_texts(rows: list[Outcome]) -> list[str | None]:
    """What ``decimal_text`` writes for rows with these outcomes."""
    return [None if got is None else canonical(got) for _, got in rows]


# --------------------------------------------------------------------------- helpers


def strings(rows: Sequence[str | None], kind: pa.DataType | None = None) -> pa.Array[Any]:
    return pa.array(rows, kind or pa.string())


def outcomes(result: DecimalResult) -> list[Outcome]:
    """One outcome per row, after checking the result's shape and that no row has two
    outcomes (a value and a flag, or two flags)."""
    assert isinstance(result.values, pa.Array)
    assert result.values.type == DECIMAL_TYPE
    n = len(result.values)
    masks = {name: getattr(result, name) for name in FLAGS}
    for name, mask in masks.items():
        assert mask.dtype == np.bool_, name
        assert mask.shape == (n,), name
    assert (result.bad == (result.unparseable | result.inexact | result.out_of_range)).all()
    rows: list[Outcome] = []
    for index, got in enumerate(result.values.to_pylist()):
        raised = [name for name in FLAGS if masks[name][index]]
        assert len(raised) + (got is not None) <= 1, (index, got, raised)
        if raised:
            rows.append((raised[0], None))
        elif got is None:
            rows.append((NULL, None))
        else:
            rows.append((VALUE, got))
    return rows


def parse_each(rows: Sequence[str | None], kind: pa.DataType | None = None) -> list[Outcome]:
    """Every row parsed on its own."""
    return [outcomes(parse_decimal(strings([row], kind)))[0] for row in rows]


def short(text: str | None) -> str:
    """A readable test id."""
    if text is None:
        return "None"
    return repr(text) if len(text) <= 48 else f"{text[:20]!r}...({len(text)} chars)"


def spy_on_the_slow_path() -> Any:
    """Watch the kernel's row-by-row reader (it still runs)."""
    return mock.patch.object(
        decimal_kernel, "_read_one_by_one", wraps=decimal_kernel._read_one_by_one
    )


# --------------------------------------------------------------------------- hand cases


def number(text: str) -> Outcome:
    """The outcome of a row that holds the number ``text``."""
    return (VALUE, Decimal(text))


CASES: list[tuple[str | None, Outcome, str | None]] = [
    # (text, outcome, canonical text); the examples first
    ("0.0000000012345", number("0.0000000012345"), "0.0000000012345"),
    ("0.0000000012355", number("0.0000000012355"), "0.0000000012355"),
    ("0.0000000004", number("0.0000000004"), "0.0000000004"),
    ("0.00000798374123", number("0.00000798374123"), "0.00000798374123"),
    ("23640926208", number("23640926208"), "23640926208"),
    ("12500000000", number("12500000000"), "12500000000"),
    ("41234567890.5", number("41234567890.5"), "41234567890.5"),
    ("1e-05", number("0.00001"), "0.00001"),
    ("5.5E-7", number("0.00000055"), "0.00000055"),
    (str(LARGEST), (VALUE, LARGEST), "99999999999999999999.999999999999999999"),
    (f"-{LARGEST}", (VALUE, NEGATIVE_LARGEST), "-99999999999999999999.999999999999999999"),
    ("100000000000000000000", (OUT_OF_RANGE, None), None),
    ("-1e20", (OUT_OF_RANGE, None), None),
    ("0.0000000000000000001", (INEXACT, None), None),
    ("1.50000000000000000000000", number("1.5"), "1.5"),
    ("007", number("7"), "7"),
    ("-0", number("0"), "0"),
    ("+2", number("2"), "2"),
    (".5", number("0.5"), "0.5"),
    ("5.", number("5"), "5"),
    ("0E+400", number("0"), "0"),
    # pyarrow 26's cast is silently wrong on these
    ("97343904232130450700898", (OUT_OF_RANGE, None), None),
    ("340282366920938463463374607431768211457", (OUT_OF_RANGE, None), None),  # 2^128 + 1
    ("1e-999", (INEXACT, None), None),
    ("1e30", (OUT_OF_RANGE, None), None),
    ("0e-99999999999999", number("0"), "0"),
    ("1.0000000000000000000000000000000000000000000", number("1"), "1"),
    # edges of the range and of the 18 places, on each path (<= 20 bytes, <= 38, longer)
    ("99999999999999999999", number("99999999999999999999"), "99999999999999999999"),
    ("-99999999999999999999", number("-99999999999999999999"), "-99999999999999999999"),
    ("99999999999999999999.5", number("99999999999999999999.5"), "99999999999999999999.5"),
    ("100000000000000000000.0000000000000000001", (OUT_OF_RANGE, None), None),  # both
    ("1e20", (OUT_OF_RANGE, None), None),
    ("0.1e21", (OUT_OF_RANGE, None), None),
    ("9.9999999999999999999e19", number("99999999999999999999"), "99999999999999999999"),
    ("9.99999999999999999999e19", number("99999999999999999999.9"), "99999999999999999999.9"),
    ("1e19", number("10000000000000000000"), "10000000000000000000"),
    ("0.000000000000000001", (VALUE, SMALLEST_STEP), "0.000000000000000001"),
    ("-.000000000000000001", (VALUE, -SMALLEST_STEP), "-0.000000000000000001"),
    ("1e-18", (VALUE, SMALLEST_STEP), "0.000000000000000001"),
    ("1e-19", (INEXACT, None), None),
    ("10e-19", (VALUE, SMALLEST_STEP), "0.000000000000000001"),
    (".0000000000000000005", (INEXACT, None), None),  # 20 bytes
    (".1000000000000000000", number("0.1"), "0.1"),  # 20 bytes, 19 places, a trailing 0
    ("0.0000000000000000010", (VALUE, SMALLEST_STEP), "0.000000000000000001"),
    ("0.00000000000000000100000000000000000", (VALUE, SMALLEST_STEP), "0.000000000000000001"),
    ("1" + "0" * 37, (OUT_OF_RANGE, None), None),  # 38 digits
    ("0" * 37 + "1", number("1"), "1"),  # 38 bytes
    ("0" * 60 + "1.5" + "0" * 60, number("1.5"), "1.5"),
    ("-0." + "0" * 17 + "1" + "0" * 40, (VALUE, -SMALLEST_STEP), "-0.000000000000000001"),
    (
        "12345678901234567890.123456789012345678",
        number("12345678901234567890.123456789012345678"),
        "12345678901234567890.123456789012345678",
    ),
    # spellings of zero and of round numbers
    ("0", number("0"), "0"),
    ("-0.000", number("0"), "0"),
    ("+0.", number("0"), "0"),
    ("0.00", number("0"), "0"),
    ("-0e-5", number("0"), "0"),
    ("100", number("100"), "100"),
    ("1E+2", number("100"), "100"),
    ("-5", number("-5"), "-5"),
    ("-5.000", number("-5"), "-5"),
    ("9.390", number("9.39"), "9.39"),
    ("0.00000001", number("0.00000001"), "0.00000001"),
    ("-1.5e-3", number("-0.0015"), "-0.0015"),
    ("+.5E+1", number("5"), "5"),
    ("1.e1", number("10"), "10"),
    ("1e-0", number("1"), "1"),
    ("1e+00000000000000000000000000005", number("100000"), "100000"),
    # null and empty: no value and no flag
    (None, (NULL, None), None),
    ("", (NULL, None), None),
    # not in the grammar
    ("abc", (UNPARSEABLE, None), None),
    ("1.2.3", (UNPARSEABLE, None), None),
    ("NaN", (UNPARSEABLE, None), None),
    ("nan", (UNPARSEABLE, None), None),
    ("inf", (UNPARSEABLE, None), None),
    ("-Infinity", (UNPARSEABLE, None), None),
    (" 1", (UNPARSEABLE, None), None),
    ("1 ", (UNPARSEABLE, None), None),
    ("\t1", (UNPARSEABLE, None), None),
    ("1\n", (UNPARSEABLE, None), None),
    ("1_000", (UNPARSEABLE, None), None),
    ("1,5", (UNPARSEABLE, None), None),
    (".", (UNPARSEABLE, None), None),
    ("-.", (UNPARSEABLE, None), None),
    ("e5", (UNPARSEABLE, None), None),
    (".e5", (UNPARSEABLE, None), None),
    ("1e", (UNPARSEABLE, None), None),
    ("1e+", (UNPARSEABLE, None), None),
    ("1e5.5", (UNPARSEABLE, None), None),
    ("1ee5", (UNPARSEABLE, None), None),
    ("1e--5", (UNPARSEABLE, None), None),
    ("--1", (UNPARSEABLE, None), None),
    ("+-1", (UNPARSEABLE, None), None),
    ("0x10", (UNPARSEABLE, None), None),
    ("\u0661", (UNPARSEABLE, None), None),  # ARABIC-INDIC DIGIT ONE
    ("1\u0660", (UNPARSEABLE, None), None),  # ARABIC-INDIC DIGIT ZERO
    ("\uff11", (UNPARSEABLE, None), None),  # FULLWIDTH DIGIT ONE
    ("1e\u0661", (UNPARSEABLE, None), None),
    ("+", (UNPARSEABLE, None), None),
    ("-", (UNPARSEABLE, None), None),
    ("x" * 50, (UNPARSEABLE, None), None),
    ("1" * 25 + "x", (UNPARSEABLE, None), None),  # a medium-length row
    ("1" * 45 + " ", (UNPARSEABLE, None), None),  # a long row
]


@pytest.mark.parametrize(("text", "expected", "text_out"), CASES, ids=[short(c[0]) for c in CASES])
def test_a_hand_case_alone(text: str | None, expected: Outcome, text_out: str | None) -> None:
    assert reference(text) == expected  # the test's own reference agrees with the hand value
    result = parse_decimal(strings([text]))
    assert outcomes(result) == [expected]
    assert decimal_text(result.values).to_pylist() == [text_out]


def test_the_hand_cases_in_one_array_get_the_same_outcomes() -> None:
    texts = [text for text, _, _ in CASES]
    result = parse_decimal(strings(texts))
    assert outcomes(result) == [expected for _, expected, _ in CASES]
    assert decimal_text(result.values).to_pylist() == [text_out for _, _, text_out in CASES]


def test_sub_nano_prices_stay_distinct_and_non_zero() -> None:
    """The int64-at-10^9 encoding merged these two prices and turned 4e-10 into 0."""
    result = parse_decimal(strings(["0.0000000012345", "0.0000000012355", "0.0000000004"]))
    first, second, tiny = result.values.to_pylist()
    assert first is not None
    assert second is not None
    assert tiny is not None
    assert first != second
    assert second - first == Decimal("0.000000000001")
    assert tiny > 0
    assert decimal_text(result.values).to_pylist() == [
        "0.0000000012345",
        "0.0000000012355",
        "0.0000000004",
    ]


HUGE_EXPONENTS = [
    ("1e" + "0" * 5000, number("1")),
    ("1e-" + "0" * 4999 + "5", number("0.00001")),
    ("0e" + "9" * 5000, number("0")),
    ("1e-" + "9" * 5000, (INEXACT, None)),
    ("1e+" + "9" * 5000, (OUT_OF_RANGE, None)),
]


@pytest.mark.parametrize(
    ("text", "expected"), HUGE_EXPONENTS, ids=[short(c[0]) for c in HUGE_EXPONENTS]
)
def test_an_exponent_of_thousands_of_digits(text: str, expected: Outcome) -> None:
    """In the grammar, so a value or a flag, never an exception (Python's ``int()`` refuses
    more than 4300 digits)."""
    assert reference(text) == expected
    result = parse_decimal(strings(["1.5", text, None]))
    assert outcomes(result) == [number("1.5"), expected, (NULL, None)]


def test_pyarrow_crash_inputs_are_flagged_and_the_process_lives() -> None:
    """pyarrow 26 segfaults casting ``1e-2147483647``; run in a child process so a crash
    fails this test instead of ending the run."""
    texts = [
        "1e-2147483647",
        "-1e-2147483647",
        "1e-2147483648",
        "1e-2147483649",
        "1e-9223372036854775808",
        "1e2147483647",
        "0e-2147483647",
        "1.5",
        "1e-2147483647",
    ]
    code = textwrap.dedent(
        """
        import json, sys
        import pyarrow as pa
        from pointline.kernels.decimal import parse_decimal

        result = parse_decimal(pa.array(json.loads(sys.argv[1]), pa.string()))
        rows = zip(
            result.values.to_pylist(),
            result.unparseable.tolist(),
            result.inexact.tolist(),
            result.out_of_range.tolist(),
            strict=True,
        )
        print(json.dumps([[None if v is None else str(v), *flags] for v, *flags in rows]))
        """
    )
    child = subprocess.run(
        [sys.executable, "-c", code, json.dumps(texts)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO_ROOT,
        check=False,
    )
    assert child.returncode == 0, f"the child process died ({child.returncode}): {child.stderr}"
    got = [(None if v is None else Decimal(v), *flags) for v, *flags in json.loads(child.stdout)]
    inexact = (None, False, True, False)
    assert got == [
        inexact,
        inexact,
        inexact,
        inexact,
        inexact,
        (None, False, False, True),
        (Decimal(0), False, False, False),
        (Decimal("1.5"), False, False, False),
        inexact,
    ]


# --------------------------------------------------------------------------- properties


@st.composite
def in_range_values(draw: st.DrawFn) -> Decimal:
    """A Decimal with at most 18 fractional digits and magnitude below 10^20."""
    digits = draw(st.integers(1, 38))
    places = draw(st.integers(max(0, digits - 20), 18))
    unscaled = draw(st.integers(-(10**digits - 1), 10**digits - 1))
    return Decimal(f"{unscaled}E-{places}")


EDGE_VALUES = [LARGEST, NEGATIVE_LARGEST, SMALLEST_STEP, -SMALLEST_STEP, Decimal(0), Decimal("100")]
VALUES = st.one_of(st.sampled_from(EDGE_VALUES), in_range_values())


def spellings(d: Decimal, shift: int, pad: int) -> list[str]:
    """Texts that all mean exactly ``d``."""
    plain = format(d, "f")  # "-1.50", "0.000", "12"
    sign, unsigned = ("-", plain[1:]) if plain.startswith("-") else ("", plain)
    with_point = plain if "." in plain else plain + "."
    shifted = format(CTX.scaleb(d, shift), "f")  # d * 10^shift, plain
    negative, coefficient, exponent = d.as_tuple()
    texts = [
        plain,
        with_point + "0" * pad,  # extra trailing zeros
        sign + "0" * pad + unsigned,  # extra leading zeros
        f"{d:e}",
        f"{d:E}",
        str(d),  # "1.5E-7" for small values
        f"{'-' if negative else ''}{''.join(map(str, coefficient))}e{exponent}",
        f"{shifted}e{-shift}",
        f"{shifted}E{-shift:+d}",
    ]
    if not sign:
        texts += ["+" + plain, f"+{d:e}"]
    if unsigned.startswith("0."):
        texts.append(sign + unsigned[1:])  # ".5"
    return texts


@FUZZ
@given(d=VALUES, shift=st.integers(-40, 40), pad=st.integers(1, 30))
def test_every_spelling_of_an_exact_value_parses_to_it(d: Decimal, shift: int, pad: int) -> None:
    texts = spellings(d, shift, pad)
    assert [reference(text) for text in texts] == [(VALUE, d)] * len(texts)  # the test's own
    assert parse_each(texts) == [(VALUE, d)] * len(texts)
    together = parse_decimal(strings(texts))
    assert outcomes(together) == [(VALUE, d)] * len(texts)
    text = canonical(d)
    assert decimal_text(together.values).to_pylist() == [text] * len(texts)
    assert outcomes(parse_decimal(strings([text]))) == [(VALUE, d)]  # canonical text reads back


PIECES = [
    "0",
    "1",
    "5",
    "9",
    "0000000000",
    "9999999999",
    "1234567890",
    "000000000000000000001",
    ".",
    "e",
    "E",
    "e-",
    "E+",
    "-",
    "+",
    " ",
    "18",
    "19",
    "20",
    "38",
    "999",
]
"""Pieces whose joins land near the grammar, the 18 places and the 10^20 limit."""


def number_like(sign: str, whole: str, fraction: str | None, e: str, exponent: str | None) -> str:
    text = sign + whole
    if fraction is not None:
        text += "." + fraction
    if exponent is not None:
        text += e + exponent
    return text


DIGITS = st.text("0123456789", max_size=25)
NUMBER_LIKE = st.builds(
    number_like,
    sign=st.sampled_from(["", "+", "-"]),
    whole=st.one_of(
        DIGITS, st.integers(1, 46).flatmap(lambda n: st.text("0123456789", min_size=n, max_size=n))
    ),
    fraction=st.none() | DIGITS,
    e=st.sampled_from("eE"),
    exponent=st.one_of(
        st.none(),
        st.integers(-120, 120).map(str),
        st.integers(-120, 120).map(lambda n: f"{n:+03d}"),
        st.integers(-(10**6), 10**6).map(str),
    ),
)
"""Mostly numbers, of any size and exponent: where pyarrow's cast wraps or drops digits."""

FUZZ_TEXT = st.one_of(
    st.text("0123456789.+-eE x", max_size=45),
    st.lists(st.sampled_from(PIECES), max_size=8).map("".join),
    st.from_regex(GRAMMAR, fullmatch=True),
    NUMBER_LIKE,
)


@FUZZ
@given(texts=st.lists(FUZZ_TEXT, min_size=1, max_size=20))
def test_any_text_alone_gets_the_reference_outcome(texts: list[str]) -> None:
    """The fuzz that finds pyarrow's silent errors (a wrapped or dropped value) if the
    kernel ever hands it a row it cannot cast. Such a regression can also hit pyarrow's
    crash on a large negative exponent here; pytest's faulthandler then names this test."""
    for text in texts:  # each parsed alone: several draws per example
        expected = reference(text)
        result = parse_decimal(strings([text]))
        assert outcomes(result) == [expected], text
        assert decimal_text(result.values).to_pylist() == expected_texts([expected]), text


def with_leading_zeros(d: Decimal, pad: int) -> str:
    plain = format(d, "f")
    return "-" + "0" * pad + plain[1:] if plain.startswith("-") else "0" * pad + plain


PYARROW_TRAPS = [
    "97343904232130450700898",
    "340282366920938463463374607431768211457",
    "1e-999",
    "1e30",
    "0e-99999999999999",
    "1.0000000000000000000000000000000000000000000",
]
SHORT_PRICES = st.builds(
    lambda unscaled, places: format(Decimal(f"{unscaled}E-{places}"), "f"),
    st.integers(-(10**12), 10**12),
    st.integers(0, 8),
)
ROW = st.one_of(
    st.none(),
    st.just(""),
    SHORT_PRICES,
    st.builds(lambda d: f"{d:e}", VALUES),  # exponent rows
    st.builds(with_leading_zeros, VALUES, st.integers(0, 40)),  # long rows
    FUZZ_TEXT,
    st.sampled_from(PYARROW_TRAPS),
)
ROWS = st.one_of(st.lists(ROW, max_size=40), st.lists(SHORT_PRICES, min_size=1, max_size=40))


@FUZZ
@given(
    rows=ROWS,
    cuts=st.lists(st.integers(0, 40), max_size=4),
    kind=st.sampled_from([pa.string(), pa.large_string()]),
)
def test_a_batch_gives_each_row_its_outcome_alone(
    rows: list[str | None], cuts: list[int], kind: pa.DataType
) -> None:
    alone = parse_each(rows, kind)
    assert alone == [reference(row) for row in rows]
    batch = parse_decimal(strings(rows, kind))
    assert outcomes(batch) == alone
    assert decimal_text(batch.values).to_pylist() == expected_texts(alone)
    bounds = [0, *sorted(min(cut, len(rows)) for cut in cuts), len(rows)]
    chunks = [strings(rows[start:end], kind) for start, end in itertools.pairwise(bounds)]
    chunked = parse_decimal(pa.chunked_array(chunks, type=kind))  # type: ignore[call-overload]
    assert outcomes(chunked) == alone


# --------------------------------------------------------------------------- shapes


MIXED = ["1.5", None, "1e-05", "x", "", "0.0000000000000000001", "1e30", "-7"]
MIXED_OUTCOMES = [
    number("1.5"),
    (NULL, None),
    number("0.00001"),
    (UNPARSEABLE, None),
    (NULL, None),
    (INEXACT, None),
    (OUT_OF_RANGE, None),
    number("-7"),
]


def test_a_chunked_array_of_several_chunks() -> None:
    chunks = [
        pa.array(MIXED[:2]),
        pa.array([], pa.string()),
        pa.array(MIXED[2:5]),
        pa.array(MIXED[5:]),
    ]
    result = parse_decimal(pa.chunked_array(chunks))
    assert isinstance(result.values, pa.Array)  # one array, not chunked
    assert outcomes(result) == MIXED_OUTCOMES


@pytest.mark.parametrize("kind", [pa.string(), pa.large_string(), pa.string_view()])
def test_string_types(kind: pa.DataType) -> None:
    assert outcomes(parse_decimal(strings(MIXED, kind))) == MIXED_OUTCOMES


@pytest.mark.parametrize("kind", [pa.string(), pa.large_string()])
@pytest.mark.parametrize(("offset", "length"), [(1, 3), (3, 5), (5, 3), (2, 0), (7, 1)])
def test_a_sliced_array(kind: pa.DataType, offset: int, length: int) -> None:
    """The exponent scan reads the data buffer through the offsets: rows outside the slice
    (``1e-05`` and ``1e30`` here) must not change the rows inside it."""
    sliced = strings(["1e-05", *MIXED, "1e30"], kind).slice(offset, length)
    assert sliced.offset == offset
    expected = [number("0.00001"), *MIXED_OUTCOMES, (OUT_OF_RANGE, None)][offset : offset + length]
    assert outcomes(parse_decimal(sliced)) == expected


def test_a_slice_without_an_exponent_of_an_array_with_one() -> None:
    sliced = strings(["1e5", "2.5", "3", "1e-999"]).slice(1, 2)
    with spy_on_the_slow_path() as slow:
        result = parse_decimal(sliced)
    assert outcomes(result) == [number("2.5"), number("3")]
    slow.assert_not_called()


@pytest.mark.parametrize(
    "empty_ish",
    [
        pa.nulls(3),
        pa.array([], pa.string()),
        pa.array([None, None], pa.string()),
        pa.array(["", None, ""], pa.large_string()),
        pa.chunked_array([], pa.string()),
        pa.chunked_array([pa.nulls(2), pa.nulls(1)]),
    ],
    ids=["null-typed", "empty", "all-null", "empty-strings", "no-chunks", "null-chunks"],
)
def test_no_text_gives_null_values_and_no_flags(empty_ish: Any) -> None:
    result = parse_decimal(empty_ish)
    assert len(result.values) == len(empty_ish)
    assert outcomes(result) == [(NULL, None)] * len(empty_ish)
    assert result.values.null_count == len(empty_ish)


@pytest.mark.parametrize(
    "not_text",
    [
        pa.array([1, 2]),
        pa.array([1.5]),
        pa.array([b"1.5"], pa.binary()),
        pa.array([Decimal("1.5")], DECIMAL_TYPE),
        pa.chunked_array([pa.array([1])]),
        ["1.5"],
        "1.5",
        None,
    ],
    ids=["int64", "float64", "binary", "decimal", "chunked-int", "list", "str", "None"],
)
def test_not_string_data_is_a_schema_error(not_text: Any) -> None:
    with pytest.raises(SchemaError, match="parse_decimal expects"):
        parse_decimal(not_text)


# --------------------------------------------------------------------------- decimal_text

TEXT_VALUES = [
    "1.5",
    None,
    "-0.000000001",
    "0",
    "12500000000",
    "0.000000000000000001",
    None,
    "-99999999999999999999.999999999999999999",
    "9.39",
    "-5",
    "0.1",
    "41234567890.5",
]


@pytest.mark.parametrize(("offset", "length"), [(0, 12), (3, 7), (1, 1), (6, 1), (9, 3), (12, 0)])
def test_decimal_text_on_a_sliced_array(offset: int, length: int) -> None:
    """The validity bitmap and the values are both read at the slice's offset."""
    values = pa.array([None if v is None else Decimal(v) for v in TEXT_VALUES], DECIMAL_TYPE)
    sliced = values.slice(offset, length)
    assert decimal_text(sliced).to_pylist() == TEXT_VALUES[offset : offset + length]


def test_decimal_text_on_a_chunked_array() -> None:
    values = pa.chunked_array(
        [
            pa.array([Decimal("1.50"), None], DECIMAL_TYPE),
            pa.array([], DECIMAL_TYPE),
            pa.array([Decimal("-0.0500")], DECIMAL_TYPE),
        ]
    )
    assert decimal_text(values).to_pylist() == ["1.5", None, "-0.05"]


def test_decimal_text_on_decimal128_10_2() -> None:
    kind = pa.decimal128(10, 2)
    raw = ["1.50", "-0.05", "12345678.90", "0.00", "-100.00", None, "99999999.99", "-0.10"]
    values = pa.array([None if v is None else Decimal(v) for v in raw], kind)
    expected = ["1.5", "-0.05", "12345678.9", "0", "-100", None, "99999999.99", "-0.1"]
    assert decimal_text(values).to_pylist() == expected
    assert decimal_text(values.slice(2, 5)).to_pylist() == expected[2:7]


def test_decimal_text_at_scale_0() -> None:
    values = pa.array([Decimal(12500000000), Decimal(-5), Decimal(0), None], pa.decimal128(38, 0))
    assert decimal_text(values).to_pylist() == ["12500000000", "-5", "0", None]


OTHER_DECIMALS = [
    (pa.decimal128(5, -2), ["12300", "-100", "0"]),
    (pa.decimal32(9, 2), ["1.5", "-2.25", "0"]),
    (pa.decimal64(18, 2), ["1.5", "-2.25", "0"]),
    (pa.decimal256(20, 2), ["1.5", "-2.25", "0"]),
    (pa.decimal256(76, 2), ["1.5", "-2.25", "0"]),
]


@pytest.mark.parametrize(("kind", "texts"), OTHER_DECIMALS, ids=[str(k) for k, _ in OTHER_DECIMALS])
def test_decimal_text_on_other_decimal_types_is_exact_or_refused(
    kind: pa.DataType, texts: list[str]
) -> None:
    """Any decimal type: the exact canonical text, or a SchemaError; never other text."""
    values = pa.array([Decimal(text) for text in texts], kind)
    try:
        got = decimal_text(values).to_pylist()
    except SchemaError:
        return
    assert got == texts


@pytest.mark.parametrize("not_decimal", [pa.array(["1.5"]), pa.array([1.5]), pa.array([15])])
def test_decimal_text_refuses_non_decimal_values(not_decimal: Any) -> None:
    with pytest.raises(SchemaError, match="decimal_text expects a decimal128 array"):
        decimal_text(not_decimal)


# --------------------------------------------------------------------------- the one-cast path


def test_plain_short_prices_are_one_cast() -> None:
    prices = ["27341.52", "0.001", "12500000000", "-3.5", None, "9.39", "", "0.00000001"]
    with spy_on_the_slow_path() as slow:
        result = parse_decimal(strings(prices * 50))
    slow.assert_not_called()
    assert (
        outcomes(result)
        == [
            number("27341.52"),
            number("0.001"),
            number("12500000000"),
            number("-3.5"),
            (NULL, None),
            number("9.39"),
            (NULL, None),
            number("0.00000001"),
        ]
        * 50
    )


def test_plain_prices_of_21_to_38_bytes_are_one_cast_too() -> None:
    prices = ["12345678901234.123456789", "-0.000000000000000001", "-99999999999999999999"]
    assert all(21 <= len(price) <= 38 for price in prices)
    with spy_on_the_slow_path() as slow:
        result = parse_decimal(strings([*prices, "1.5"]))
    slow.assert_not_called()
    assert outcomes(result) == [*map(number, prices), number("1.5")]


def test_one_exponent_row_is_read_alone() -> None:
    prices = ["27341.52", "1e-05", "0.001"]
    with spy_on_the_slow_path() as slow:
        result = parse_decimal(strings(prices))
    slow.assert_called_once()
    assert slow.call_args.args[1].tolist() == [False, True, False]  # the rows read one by one
    assert outcomes(result) == [number("27341.52"), number("0.00001"), number("0.001")]


def test_when_the_cast_refuses_a_row_only_the_rows_it_cannot_take_are_read_alone() -> None:
    prices = ["1.5", "abc", ".0000000000000000005", "2", "0.1"]
    with spy_on_the_slow_path() as slow:
        result = parse_decimal(strings(prices))
    slow.assert_called_once()
    assert slow.call_args.args[1].tolist() == [False, True, True, False, False]
    assert outcomes(result) == [
        number("1.5"),
        (UNPARSEABLE, None),
        (INEXACT, None),
        number("2"),
        number("0.1"),
    ]


def spy_on_the_integer_path() -> Any:
    """Watch the kernel's whole-number path (int64 cast, then times 10^18 in two words)."""
    return mock.patch.object(
        decimal_kernel, "_scaled_integers", wraps=decimal_kernel._scaled_integers
    )


def test_whole_quantities_take_the_integer_path_exactly() -> None:
    quantities = ["1600", "999999999999999999", "000000000000000001", None, "0", "4294967296"]
    with spy_on_the_integer_path() as integer:
        result = parse_decimal(strings(quantities * 3).slice(2))
    integer.assert_called_once()
    expected = [number(q) if q is not None else (NULL, None) for q in quantities]
    assert outcomes(result) == (expected * 3)[2:]


@pytest.mark.parametrize(
    "column",
    [
        ["1600", "1234567890123456789"],  # 19 digits: past the int64 bound of the path
        ["1600", "16.5"],
        ["1600", "-5"],
        ["1600", "+5"],
        ["1600", ""],
        ["1600", " 16"],
        ["1600", "0x10"],
        ["1600", "1e3"],
        ["1600", "١٦"],  # Arabic-Indic digits: not ASCII
    ],
    ids=short,
)
def test_anything_but_short_digit_strings_leaves_the_integer_path(column: list[str]) -> None:
    with spy_on_the_integer_path() as integer:
        result = parse_decimal(strings(column))
    integer.assert_not_called()
    assert outcomes(result) == [reference(text) for text in column]


@given(
    rows=st.lists(st.one_of(st.none(), st.from_regex(r"[0-9]{1,18}", fullmatch=True)), min_size=1),
    offset=st.integers(0, 3),
)
@FUZZ
def test_any_column_of_whole_numbers_gets_the_reference_outcomes(
    rows: list[str | None], offset: int
) -> None:
    array = strings([*["7"] * offset, *rows]).slice(offset)
    assert outcomes(parse_decimal(array)) == [reference(text) for text in rows]
