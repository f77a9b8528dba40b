"""Small Arrow helpers that several modules need (imports pyarrow and numpy only).

>>> as_array(pa.chunked_array([[1], [2, 3]])).to_pylist()
[1, 2, 3]
>>> numpy_mask(pa.array([True, None, False])).tolist()
[True, False, False]
>>> numpy_mask(pa.chunked_array([[True], [None, True]])).tolist()
[True, False, True]
>>> bool_array(np.array([True, False])).to_pylist()
[True, False]
>>> masked_array(np.array([7, 8]), np.array([True, False]), pa.int64()).to_pylist()
[7, None]
>>> filled_mask(pa.array([True, None]), null=True).to_pylist()
[True, True]
>>> full_int64(7, 2).to_pylist(), int64_scalar(5).type
([7, 7], DataType(int64))
>>> text_lengths(pa.array(["ab", None, ""])).tolist()
[2, 0, 0]
>>> only_value(pa.array(["szse", "szse"])), only_value(pa.array(["a", "b"]))
('szse', None)
>>> text_bytes(pa.array(["ab", None, "c"]).slice(1)).tobytes()
b'c'
>>> index_in(pa.array(["2", None, "x", "1"]), ("1", "2")).to_pylist()
[1, None, None, 0]
>>> visible_ascii(pa.array(["BTC-USD", None])), visible_ascii(pa.array(["a b"]))
(True, False)
>>> repeated_text("szse", 3).to_pylist()
['szse', 'szse', 'szse']
>>> only_digits(pa.array(["0123", None, ""])), only_digits(pa.array(["12", "-3"]))
(True, False)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "as_array",
    "bool_array",
    "filled_mask",
    "full_int64",
    "index_in",
    "int64_scalar",
    "masked_array",
    "numpy_mask",
    "only_digits",
    "only_value",
    "repeated_text",
    "text_bytes",
    "text_lengths",
    "visible_ascii",
]

_BYTE_VALUES = 256
_ZERO_DIGIT = ord("0")
_NINE_DIGIT = ord("9")
_FIRST_VISIBLE = 0x21  # "!": below it, space and the control characters
_LAST_VISIBLE = 0x7E  # "~": above it, DEL and every byte of a non-ASCII character


def as_array(values: pa.Array[Any] | pa.ChunkedArray[Any]) -> pa.Array[Any]:
    """``values`` as one contiguous array: a chunked array is combined, an array returned.

    Same length and type as ``values``; combining copies the data of a chunked array with
    more than one chunk.
    """
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def numpy_mask(mask: pa.Array[Any] | pa.ChunkedArray[Any]) -> npt.NDArray[np.bool_]:
    """A boolean Arrow array as a numpy ``bool`` array of the same length, null -> False.
    The bits are unpacked by numpy (~0.2 ns a row; pyarrow's ``to_numpy`` of booleans
    converts them one by one, ~2 ns).

    Raises ``TypeError`` if ``mask`` is not of type ``bool``.
    """
    if mask.type != pa.bool_():
        msg = f"a mask must be boolean, got {mask.type}"
        raise TypeError(msg)
    array = as_array(mask)
    values = _bits(array.buffers()[1], array.offset, len(array))
    if array.null_count:
        values &= _bits(array.buffers()[0], array.offset, len(array))
    return values


def _bits(buffer: pa.Buffer | None, offset: int, length: int) -> npt.NDArray[np.bool_]:
    """``length`` bits of an Arrow bitmap from bit ``offset``, as a fresh numpy array."""
    if length == 0 or buffer is None:
        return np.zeros(length, dtype=np.bool_)
    packed = np.frombuffer(memoryview(buffer), dtype=np.uint8)
    unpacked = np.unpackbits(packed, count=offset + length, bitorder="little")
    return unpacked[offset:].view(np.bool_)


def bool_array(mask: npt.NDArray[np.bool_]) -> pa.Array[Any]:
    """A numpy ``bool`` array as an Arrow ``bool`` array (``pa.BooleanArray``), no nulls;
    packed by numpy (~0.15 ns a row against ~1.2 for ``pa.array``)."""
    bits = pa.py_buffer(np.packbits(mask, bitorder="little").data)
    return pa.Array.from_buffers(pa.bool_(), len(mask), [None, bits], null_count=0)


def masked_array(
    values: npt.NDArray[Any], valid: npt.NDArray[np.bool_], dtype: pa.DataType
) -> pa.Array[Any]:
    """``pa.array(values, dtype, mask=~valid)`` for fixed-width numpy ``values`` already of
    ``dtype``'s width (int64 for ``pa.int64()``, int32 for ``pa.date32()``): the values
    buffer shared (so ``values`` must not change afterwards), the validity packed by numpy
    (~0.2 ns a row against ~5 for ``pa.array`` with a mask). No validity buffer when every
    value is valid.

    Raises ``TypeError`` if the widths differ."""
    contiguous = np.ascontiguousarray(values)
    if contiguous.dtype.itemsize * 8 != dtype.bit_width:
        msg = f"{contiguous.dtype} values cannot back a {dtype} array"
        raise TypeError(msg)
    nulls = len(valid) - int(np.count_nonzero(valid))
    validity = pa.py_buffer(np.packbits(valid, bitorder="little").data) if nulls else None
    buffers = [validity, pa.py_buffer(contiguous.data)]
    return pa.Array.from_buffers(dtype, len(contiguous), buffers, null_count=nulls)


def text_lengths(text: pa.Array[Any]) -> npt.NDArray[np.int64]:
    """Bytes per cell of a string (or binary) array, 0 for nulls, as numpy int64: the
    differences of its offsets, in one numpy pass (a few times cheaper than
    ``pc.binary_length`` and a conversion)."""
    n = len(text)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = _offsets(text)
    lengths: npt.NDArray[np.int64] = np.subtract(offsets[1:], offsets[:-1], dtype=np.int64)
    if text.null_count:
        lengths[~_bits(text.buffers()[0], text.offset, n)] = 0
    return lengths


def repeated_text(value: str, length: int) -> pa.Array[Any]:
    """A ``string`` array (``pa.StringArray``) of ``length`` copies of ``value``, built
    from its buffers (a few times cheaper than ``pa.repeat`` of a string scalar).

    Raises ``ValueError`` if the copies would pass the 2 GiB of a ``string`` array.
    """
    encoded = value.encode()
    if len(encoded) * length >= 2**31:
        msg = f"{length} copies of a {len(encoded)}-byte text do not fit one string array"
        raise ValueError(msg)
    offsets = np.arange(length + 1, dtype=np.int32) * np.int32(len(encoded))
    buffers = [None, pa.py_buffer(offsets.data), pa.py_buffer(encoded * length)]
    return pa.Array.from_buffers(pa.string(), length, buffers, null_count=0)


def text_bytes(text: pa.Array[Any]) -> npt.NDArray[np.uint8]:
    """The bytes a string (or binary) array's cells span, first cell to last, as a numpy
    view of the data buffer (no copy). A slice spans only its own cells; a null cell
    usually spans nothing but may span bytes (Arrow allows it)."""
    data = text.buffers()[2] if len(text) else None
    if data is None:
        return np.zeros(0, dtype=np.uint8)
    offsets = _offsets(text)
    return np.frombuffer(memoryview(data), dtype=np.uint8)[int(offsets[0]) : int(offsets[-1])]


def _offsets(text: pa.Array[Any]) -> npt.NDArray[Any]:
    """The ``len(text) + 1`` offsets of a non-empty string or binary array (a view)."""
    large = pa.types.is_large_string(text.type) or pa.types.is_large_binary(text.type)
    raw = memoryview(text.buffers()[1])  # type: ignore[arg-type]  # set when len(text) > 0
    offsets = np.frombuffer(raw, dtype=np.int64 if large else np.int32)
    return offsets[text.offset : text.offset + len(text) + 1]


def visible_ascii(text: pa.Array[Any]) -> bool:
    """Whether every byte of the cells is visible ASCII (``!`` to ``~``): such text has no
    whitespace to trim (ASCII or Unicode) and no letter but ASCII ones. One pass over the
    bytes (well under 1 ns a byte), so a trim can be skipped when it would change nothing."""
    span = text_bytes(text)
    if len(span) == 0:
        return True
    return bool(span.min() >= _FIRST_VISIBLE) and bool(span.max() <= _LAST_VISIBLE)


def index_in(text: pa.Array[Any], keys: Sequence[str]) -> pa.Array[Any]:
    """``pc.index_in(text, keys)`` for a string array: per cell, the position of its value
    in ``keys`` (int32), null where the cell is null or not a key. When every key is one
    ASCII character (a vendor's flag: ``1``/``2``, ``B``/``S``) and no cell is longer than
    one byte, the position comes from a byte table indexed by each cell's byte: ~12 ns a
    row instead of ~24 for hashing. Same result either way."""
    single = all(len(key) == 1 and key.isascii() for key in keys)
    lengths = text_lengths(text) if single and len(text) else None
    if lengths is None or int(lengths.max()) > 1:
        return pc.index_in(text, value_set=pa.array(list(keys), pa.string()))
    if int(lengths.max()) == 0:  # no cell holds a byte
        return pa.nulls(len(text), pa.int32())
    table = np.full(_BYTE_VALUES, -1, dtype=np.int32)
    for position, key in reversed(list(enumerate(keys))):  # a repeated key: its first place
        table[ord(key)] = position
    data = np.frombuffer(memoryview(text.buffers()[2]), dtype=np.uint8)  # type: ignore[arg-type]  # a cell holds a byte
    first = np.take(data, _offsets(text)[:-1], mode="clip")  # a cell's byte (if any)
    positions = np.where(lengths == 1, np.take(table, first), -1)  # null, empty: none
    return masked_array(positions, positions >= 0, pa.int32())


def only_digits(text: pa.Array[Any]) -> bool:
    """Whether every byte of the cells is an ASCII digit (empty and null cells pass: check
    lengths apart). Two reductions over the bytes, a few times cheaper than
    ``pc.ascii_is_decimal`` per cell; false is also possible when a null cell spans other
    bytes, so use it to pick a fast path, never to reject."""
    span = text_bytes(text)
    return len(span) == 0 or (bool(span.min() >= _ZERO_DIGIT) and bool(span.max() <= _NINE_DIGIT))


def only_value(values: pa.Array[Any] | pa.ChunkedArray[Any]) -> Any:
    """The one value every cell holds (as a Python object), or ``None`` when the array is
    empty, has a null or holds two values. For a column that is constant in a file (its
    exchange; a CN file's symbol): strings by their lengths and bytes with numpy (~1 ns a
    row), other types by one comparison pass; either is many times cheaper than hashing
    each row (``unique``, ``dictionary_encode``)."""
    if len(values) == 0 or values.null_count:
        return None
    array = as_array(values)
    first = array[0].as_py()
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        encoded = first.encode()
        if not bool((text_lengths(array) == len(encoded)).all()):
            return None
        return first if text_bytes(array).tobytes() == encoded * len(array) else None
    return first if pc.all(pc.equal(array, array[0])).as_py() else None


def filled_mask(
    values: pa.Array[Any] | pa.ChunkedArray[Any], *, null: bool = False
) -> pa.Array[Any]:
    """A boolean array (one contiguous ``pa.BooleanArray``) with nulls replaced by ``null``.

    Same length as ``values``, which must be boolean (otherwise Arrow raises a
    ``pa.ArrowException`` such as ``ArrowTypeError``).
    """
    filled: Any = pc.fill_null(values, pa.scalar(null))
    return as_array(filled)


def full_int64(value: int, length: int) -> pa.Array[Any]:
    """An ``int64`` array (``pa.Int64Array``) of ``length`` copies of ``value``, no nulls.

    Raises ``OverflowError`` if ``value`` does not fit in int64.
    """
    return pa.array(np.full(length, value, dtype=np.int64), type=pa.int64())


def int64_scalar(value: int) -> pa.Scalar[Any]:
    """``value`` as an ``int64`` Arrow scalar (for comparisons that must not upcast).

    Raises ``OverflowError`` (or ``ArrowInvalid``) if ``value`` does not fit in int64.
    """
    return pa.scalar(value, pa.int64())
