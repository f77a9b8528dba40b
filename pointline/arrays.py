"""Small Arrow helpers that several modules need (imports pyarrow and numpy only).

>>> as_array(pa.chunked_array([[1], [2, 3]])).to_pylist()
[1, 2, 3]
>>> numpy_mask(pa.array([True, None, False])).tolist()
[True, False, False]
>>> numpy_mask(pa.chunked_array([[True], [None, True]])).tolist()
[True, False, True]
>>> filled_mask(pa.array([True, None]), null=True).to_pylist()
[True, True]
>>> full_int64(7, 2).to_pylist(), int64_scalar(5).type
([7, 7], DataType(int64))
>>> text_lengths(pa.array(["ab", None, ""])).tolist()
[2, 0, 0]
>>> only_value(pa.array(["szse", "szse"])), only_value(pa.array(["a", "b"]))
('szse', None)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "as_array",
    "filled_mask",
    "full_int64",
    "int64_scalar",
    "numpy_mask",
    "only_value",
    "text_lengths",
]


def as_array(values: pa.Array[Any] | pa.ChunkedArray[Any]) -> pa.Array[Any]:
    """``values`` as one contiguous array: a chunked array is combined, an array returned.

    Same length and type as ``values``; combining copies the data of a chunked array with
    more than one chunk.
    """
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def numpy_mask(mask: pa.Array[Any] | pa.ChunkedArray[Any]) -> npt.NDArray[np.bool_]:
    """A boolean Arrow array as a numpy ``bool`` array of the same length, null -> False.

    Raises ``TypeError`` if ``mask`` is not of type ``bool``.
    """
    if mask.type != pa.bool_():
        msg = f"a mask must be boolean, got {mask.type}"
        raise TypeError(msg)
    array = as_array(mask)
    if array.null_count:
        array = array.fill_null(False)
    return np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.bool_)


def text_lengths(text: pa.Array[Any]) -> npt.NDArray[np.int64]:
    """Bytes per cell of a string (or binary) array, 0 for nulls, as numpy int64."""
    lengths: pa.Array[Any] = pc.binary_length(text)  # type: ignore[call-overload]  # stub: StringArray only
    if lengths.null_count:
        lengths = lengths.fill_null(0)
    return np.asarray(lengths.to_numpy(), dtype=np.int64)


def only_value(values: pa.Array[Any] | pa.ChunkedArray[Any]) -> Any:
    """The one value every cell holds (as a Python object), or ``None`` when the array is
    empty, has a null or holds two values. One comparison pass: for a column that is
    constant in a file (its exchange; a CN file's symbol) it is about 10x cheaper than
    hashing each row (``unique``, ``dictionary_encode``)."""
    if len(values) == 0 or values.null_count:
        return None
    first = values[0]
    return first.as_py() if pc.all(pc.equal(values, first)).as_py() else None


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
