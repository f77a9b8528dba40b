"""The byte-level helpers of pointline.arrays against plain Python over the cells."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pointline.arrays import (
    bool_array,
    index_in,
    masked_array,
    numpy_mask,
    only_digits,
    only_value,
    repeated_text,
    text_bytes,
    text_lengths,
    visible_ascii,
)

_CELL = st.one_of(
    st.none(),
    st.sampled_from(["", "1", "2", "U", "B", "x", "0", "9", "12", "é", " ", "\u00a0", "a b"]),
    st.text(max_size=4),
)
_KEYS = st.lists(st.sampled_from(["1", "2", "U", "B", "é", "12", "", "x"]), max_size=4)


def _array(cells: list[str | None], large: bool, start: int) -> pa.Array:
    array = pa.array(cells, pa.large_string() if large else pa.string())
    return array.slice(min(start, len(cells)))


def _null_spanning_bytes() -> pa.Array:
    """["1", null, "2"] whose null cell spans the bytes "zz" (valid Arrow)."""
    offsets = np.array([0, 1, 3, 4], dtype=np.int32)
    validity = pa.py_buffer(np.packbits([1, 0, 1], bitorder="little").tobytes())
    return pa.StringArray.from_buffers(
        3, pa.py_buffer(offsets.tobytes()), pa.py_buffer(b"1zz2"), validity, null_count=1
    )


@settings(max_examples=400, deadline=None)
@given(cells=st.lists(_CELL, max_size=20), keys=_KEYS, large=st.booleans(), start=st.integers(0, 3))
def test_index_in_is_arrows_index_in(
    cells: list[str | None], keys: list[str], large: bool, start: int
) -> None:
    array = _array(cells, large, start)
    expected = pc.index_in(array, value_set=pa.array(keys, pa.string()))
    result = index_in(array, keys)
    assert result.type == expected.type
    assert result.to_pylist() == expected.to_pylist()


def test_index_in_reads_a_null_cell_that_spans_bytes_as_null() -> None:
    array = _null_spanning_bytes()
    assert index_in(array, ["2", "z", "1"]).to_pylist() == [2, None, 0]


def test_index_in_examples() -> None:
    codes = pa.array(["2", None, "", "U", "1", "22"])
    assert index_in(codes.slice(0, 5), ["1", "2", "U"]).to_pylist() == [1, None, None, 2, 0]
    assert index_in(codes, ["1", "2", "U"]).to_pylist() == [1, None, None, 2, 0, None]
    assert index_in(codes, ["2", "2", "1"]).to_pylist() == [0, None, None, None, 2, None]


@settings(max_examples=300, deadline=None)
@given(cells=st.lists(_CELL, max_size=20), large=st.booleans(), start=st.integers(0, 3))
def test_text_bytes_and_the_checks_over_them(
    cells: list[str | None], large: bool, start: int
) -> None:
    array = _array(cells, large, start)
    present = [c for c in array.to_pylist() if c is not None]
    joined = "".join(present).encode()
    assert text_bytes(array).tobytes() == joined
    lengths = text_lengths(array)
    assert lengths.dtype == np.int64
    assert lengths.tolist() == [0 if c is None else len(c.encode()) for c in array.to_pylist()]
    assert only_digits(array) == all(b in b"0123456789" for b in joined)
    assert visible_ascii(array) == all(0x21 <= b <= 0x7E for b in joined)


def test_the_checks_count_bytes_a_null_cell_spans() -> None:
    """Conservative by design: the bytes under a null may say "no" (a slower path, same
    result), never "yes" about a cell that is not so."""
    array = _null_spanning_bytes()
    assert text_bytes(array).tobytes() == b"1zz2"
    assert text_lengths(array).tolist() == [1, 0, 1]  # a null cell has no length
    assert not only_digits(array)
    assert visible_ascii(array)
    assert text_bytes(pa.array([], pa.string())).tobytes() == b""
    assert only_digits(pa.array([None, ""], pa.string()))


@settings(max_examples=100, deadline=None)
@given(value=st.text(max_size=6), length=st.integers(0, 50))
def test_repeated_text_is_length_copies(value: str, length: int) -> None:
    array = repeated_text(value, length)
    array.validate(full=True)
    assert array.type == pa.string()
    assert array.to_pylist() == [value] * length


@settings(max_examples=200, deadline=None)
@given(
    cells=st.lists(st.one_of(st.none(), st.booleans()), max_size=40),
    start=st.integers(0, 9),
    chunked=st.booleans(),
)
def test_numpy_mask_reads_bits_null_as_false(
    cells: list[bool | None], start: int, chunked: bool
) -> None:
    array = pa.array(cells, pa.bool_()).slice(min(start, len(cells)))
    source = pa.chunked_array([array.slice(0, 3), array.slice(3)]) if chunked else array
    expected = [bool(c) for c in array.to_pylist()]
    mask = numpy_mask(source)
    assert mask.dtype == np.bool_
    assert mask.tolist() == expected
    mask[:] = True  # a fresh array: writing to it changes nothing else
    assert [bool(c) for c in array.to_pylist()] == expected


@settings(max_examples=200, deadline=None)
@given(valid=st.lists(st.booleans(), max_size=40), dtype=st.sampled_from(["int64", "int32"]))
def test_bool_array_and_masked_array_are_pa_array(valid: list[bool], dtype: str) -> None:
    mask = np.array(valid, dtype=np.bool_)
    assert bool_array(mask).equals(pa.array(mask))
    values = np.arange(len(valid), dtype=dtype) * 7 - 5
    arrow_type = pa.int64() if dtype == "int64" else pa.date32()
    result = masked_array(values, mask, arrow_type)
    result.validate(full=True)
    assert result.equals(pa.array(values, arrow_type, mask=~mask))


def test_masked_array_refuses_values_of_another_width() -> None:
    with pytest.raises(TypeError, match="int64 values cannot back a date32"):
        masked_array(np.zeros(2, dtype=np.int64), np.ones(2, dtype=np.bool_), pa.date32())


@settings(max_examples=300, deadline=None)
@given(
    cells=st.lists(
        st.one_of(st.none(), st.sampled_from(["szse", "sz", "szsf", "", "é"])), max_size=8
    ),
    start=st.integers(0, 3),
    large=st.booleans(),
)
def test_only_value_of_text(cells: list[str | None], start: int, large: bool) -> None:
    array = _array(cells, large, start)
    present = array.to_pylist()
    one = len(present) > 0 and None not in present and len(set(present)) == 1
    assert only_value(array) == (present[0] if one else None)
