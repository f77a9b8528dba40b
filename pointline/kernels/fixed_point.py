"""Exact conversion of decimal text to int64 fixed point, vectorised, with no float.

:func:`parse_fixed_point` turns an Arrow string column such as ``["27341.52", "-0.5", "x"]``
into int64 values scaled by ``10**scale_digits`` (``27341520000000``, ``-500000000``, null)
plus one flag per row saying why a value is missing. No float is involved anywhere and no
Python code runs per row.

Two paths give identical results:

* the fast path casts the whole array to ``decimal128(38, scale_digits)`` with Arrow and
  reads the low 64 bits of each 128-bit value (the high 64 bits must be their sign
  extension, otherwise the value is out of range). A cheap scan of the bytes first keeps
  away text on which that cast is wrong or crashes (see :func:`_arrow_agrees`);
* the fallback, taken when the scan refuses or the cast raises (any unparseable row, a
  value needing rounding, a zero with a huge exponent, a value beyond 38 digits, ...),
  parses every row with numpy over the Arrow buffers: the strings become a
  ``width x rows`` byte matrix, built and processed in blocks of about 256 Ki cells (rows
  are grouped by length, so one long row cannot blow the matrix up), the grammar is checked
  with whole-matrix character-class counts, and the digits are accumulated as exact uint64
  with half-even rounding and an exact int64 range check.

The only Python loops are over chunks, length groups, blocks of rows (one row per block
only for rows longer than the block) and a handful of character columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, cast

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from pointline.errors import SchemaError

__all__ = ["DEFAULT_SCALE_DIGITS", "MAX_SCALE_DIGITS", "FixedPointResult", "parse_fixed_point"]

DEFAULT_SCALE_DIGITS: Final = 9
"""Default number of decimal digits kept: ``"0.1"`` becomes ``100_000_000``."""

MAX_SCALE_DIGITS: Final = 18
"""Largest supported ``scale_digits`` (``10**18`` is the largest power of ten in int64)."""

_BoolArray = npt.NDArray[np.bool_]
_I64Array = npt.NDArray[np.int64]
_U8Array = npt.NDArray[np.uint8]
_IntArray = npt.NDArray[np.signedinteger[Any]]  # int16 positions, int32/int64 offsets

# Cells (bytes) of one character matrix in the fallback; about 256 KiB keeps the int64 and
# uint64 temporaries (8 bytes per cell) inside a few MiB.
_BLOCK_CELLS: Final = 1 << 18
# Rows are grouped by length into classes (0, 16], (16, 32], (32, 64], ... so that the
# matrix width of a class is at most twice the length of any of its rows.
_WIDTH_CLASSES: Final = np.array([1 << k for k in range(4, 63)], dtype=np.int64)
# 10**p for the power p of a significant digit in the scaled result, indexed by p + 1
# clipped to [0, 20]: p <= -1 (fraction, handled by rounding) and p >= 19 (out of range,
# handled separately) contribute 0.
_DIGIT_POWERS: Final = np.array([0] + [10**k for k in range(19)] + [0], dtype=np.uint64)
# d * 10**p for a digit d, at index d * 21 + (p + 1 clipped to [0, 20]).
_DIGIT_TERMS: Final = np.outer(np.arange(10, dtype=np.uint64), _DIGIT_POWERS).ravel()
# 10**q for the q-th exponent digit from the right, q clipped to [0, 15]; an exponent with
# a non-zero digit at q >= 15 saturates (any |exponent| beyond the row width acts alike).
_EXPONENT_POWERS: Final = np.array([10**k for k in range(15)] + [0], dtype=np.int64)
_EXPONENT_DIGITS: Final = 15
_INT64_MAX_MAGNITUDE: Final = np.uint64((1 << 63) - 1)
_INT64_MIN_MAGNITUDE: Final = np.uint64(1 << 63)

# Limits of the text handed to Arrow's cast (see _arrow_agrees).
_ARROW_MAX_ROW_BYTES: Final = 38
_ARROW_MAX_EXPONENT_DIGITS: Final = 3

_NUMBER_BYTES: Final = b"0123456789+-.eE"
_SCAN_BYTES: Final = 1 << 18  # bytes copied per scan step: a cache-sized, reused allocation

_PLUS: Final = ord("+")
_MINUS: Final = ord("-")
_DOT: Final = ord(".")
_ZERO: Final = ord("0")
_NINE: Final = ord("9")
_UPPER_E: Final = ord("E")
_LOWER_E: Final = ord("e")
_CASE_BIT: Final = 0x20


@dataclass(frozen=True, slots=True)
class FixedPointResult:
    """The outcome of :func:`parse_fixed_point`, one entry per input row.

    Attributes:
        values: the scaled int64 values; null where the input was null or empty, where the
            text is not a decimal number, or where the scaled value does not fit in int64.
        unparseable: bool per row: the text is not a decimal number.
        out_of_range: bool per row: a valid number whose scaled value is outside int64.

    Null and empty inputs are neither unparseable nor out of range: the caller decides
    whether the field is required (``values.is_null()`` finds them).
    """

    values: pa.Int64Array
    unparseable: _BoolArray
    out_of_range: _BoolArray

    @property
    def bad(self) -> _BoolArray:
        """Rows that carried text but produced no value: ``unparseable | out_of_range``."""
        return self.unparseable | self.out_of_range

    @property
    def has_errors(self) -> bool:
        """True when any row is unparseable or out of range."""
        return bool(self.unparseable.any() or self.out_of_range.any())


@dataclass(frozen=True, slots=True)
class _Parsed:
    """Numpy form of a result: ``values`` is meaningful where ``ok`` is set."""

    values: _I64Array
    ok: _BoolArray
    unparseable: _BoolArray
    out_of_range: _BoolArray


@dataclass(frozen=True, slots=True)
class _Strings:
    """A string array's buffers as numpy arrays, its offset applied."""

    array: pa.Array[Any]
    offsets: _IntArray  # the array's own n + 1 offsets (int32 or int64)
    lengths: _IntArray  # bytes per row
    data: _U8Array  # the whole data buffer
    valid: _BoolArray  # not null

    @property
    def text(self) -> _U8Array:
        """The bytes of the rows (null slots included), first row first."""
        return self.data[int(self.offsets[0]) : int(self.offsets[-1])]


def parse_fixed_point(
    text: pa.Array[Any] | pa.ChunkedArray[Any],
    *,
    scale_digits: int = DEFAULT_SCALE_DIGITS,
    _force_fallback: bool = False,
) -> FixedPointResult:
    """Convert decimal text to int64 fixed point at scale ``10**scale_digits``, exactly.

    The accepted grammar (no surrounding whitespace) is
    ``[+-]?( digits [ . digits? ] | . digits )( [eE] [+-]? digits )?`` with ASCII digits,
    so ``-1.5``, ``+2``, ``.5``, ``5.``, ``1e-05``, ``5.5E+3``, ``007``, ``-0`` and
    ``0E+400`` are numbers while ``abc``, ``1.2.3``, ``NaN``, ``inf``, ``" 1"``, ``1_000``,
    ``.``, ``e5``, ``1e``, ``--1`` and ``0x10`` are not.

    Per row:

    * null or empty text gives a null value and no flag;
    * text outside the grammar gives a null value and ``unparseable``;
    * otherwise the number times ``10**scale_digits`` is rounded to an integer, half to
      even (at scale 9, ``0.0000000015`` gives 2 and ``-0.0000000025`` gives -2), with any
      exponent applied exactly (``1e-400`` gives 0, ``1e999999999999`` does not overflow);
    * a result outside ``[-2**63, 2**63 - 1]`` gives a null value and ``out_of_range``
      (``9223372036.854775808`` at scale 9), zero never is (``0E+400``).

    This is the value of ``int((Decimal(s) * 10**scale_digits).to_integral_value(
    rounding=ROUND_HALF_EVEN))``, computed without Python code per row.

    Args:
        text: a ``string``, ``large_string`` or ``string_view`` array or chunked array (a
            ``null``-typed array counts as all null). Slices are fine.
        scale_digits: decimal digits kept, 0 to 18.
        _force_fallback: testing hook, parse with numpy even when Arrow's cast would do.

    Returns:
        One value and two flags per row; ``values`` is a single (unchunked) array.

    Raises:
        SchemaError: ``text`` is not a string array.
        TypeError: ``scale_digits`` is not an int.
        ValueError: ``scale_digits`` is out of range.

    Example:
        >>> import pyarrow as pa
        >>> result = parse_fixed_point(pa.array(["27341.52", "-0.5", None, "", "x", "1e30"]))
        >>> result.values.to_pylist()
        [27341520000000, -500000000, None, None, None, None]
        >>> result.unparseable.tolist(), result.out_of_range.tolist()
        ([False, False, False, False, True, False], [False, False, False, False, False, True])
    """
    if isinstance(scale_digits, bool) or not isinstance(scale_digits, int):
        msg = f"scale_digits must be an int from 0 to {MAX_SCALE_DIGITS}, got {scale_digits!r}"
        raise TypeError(msg)
    if not 0 <= scale_digits <= MAX_SCALE_DIGITS:
        msg = f"scale_digits must be from 0 to {MAX_SCALE_DIGITS}, got {scale_digits}"
        raise ValueError(msg)
    chunks = _ensure_chunks(text)
    parts = [_parse_array(chunk, scale_digits, force_fallback=_force_fallback) for chunk in chunks]
    if len(parts) == 1:
        whole = parts[0]
    else:
        whole = _Parsed(
            values=np.concatenate([p.values for p in parts]),
            ok=np.concatenate([p.ok for p in parts]),
            unparseable=np.concatenate([p.unparseable for p in parts]),
            out_of_range=np.concatenate([p.out_of_range for p in parts]),
        )
    return FixedPointResult(
        values=_int64_array(whole.values, whole.ok),
        unparseable=whole.unparseable,
        out_of_range=whole.out_of_range,
    )


def _ensure_chunks(text: pa.Array[Any] | pa.ChunkedArray[Any]) -> list[pa.Array[Any]]:
    """Normalise the input to a non-empty list of string or large_string arrays."""
    if isinstance(text, pa.ChunkedArray):
        chunks: list[pa.Array[Any]] = list(text.chunks)
        kind = text.type
    elif isinstance(text, pa.Array):
        chunks = [text]
        kind = text.type
    else:
        msg = (
            "parse_fixed_point expects a pyarrow string Array or ChunkedArray, "
            f"got {type(text).__name__}; hint: wrap Python lists with pa.array(...)"
        )
        raise SchemaError(msg)
    if pa.types.is_null(kind):
        return [pa.nulls(len(text), pa.string())]
    if pa.types.is_string_view(kind):
        chunks = [chunk.cast(pa.large_string()) for chunk in chunks]
    elif not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        msg = (
            f"parse_fixed_point expects string or large_string text, got {kind}; "
            "hint: read the column as text (pa.string()) before converting"
        )
        raise SchemaError(msg)
    return chunks or [pa.array([], pa.string())]


def _parse_array(arr: pa.Array[Any], scale: int, *, force_fallback: bool) -> _Parsed:
    """Parse one string array, by the fast path when Arrow's cast agrees, else by numpy."""
    strings = _string_buffers(arr)
    present = strings.valid & (strings.lengths > 0)
    if not force_fallback:
        fast = _parse_fast(strings, present, scale)
        if fast is not None:
            return fast
    return _parse_fallback(strings, present, scale)


def _string_buffers(arr: pa.Array[Any]) -> _Strings:
    n = len(arr)
    _, offsets_buffer, data_buffer = arr.buffers()
    offset_type = np.dtype(np.int64 if pa.types.is_large_string(arr.type) else np.int32)
    if n == 0 or offsets_buffer is None:
        offsets = np.zeros(n + 1, dtype=offset_type)
    else:
        start = arr.offset * offset_type.itemsize
        raw = _bytes_of(offsets_buffer)[start : start + (n + 1) * offset_type.itemsize]
        offsets = raw.view(offset_type)
    return _Strings(
        array=arr,
        offsets=offsets,
        lengths=offsets[1:] - offsets[:-1],
        data=np.zeros(0, dtype=np.uint8) if data_buffer is None else _bytes_of(data_buffer),
        valid=_validity(arr),
    )


def _bytes_of(buffer: pa.Buffer) -> _U8Array:
    """A zero-copy numpy view of an Arrow buffer."""
    return np.frombuffer(memoryview(buffer), dtype=np.uint8)


def _buffer_of(values: npt.NDArray[Any]) -> pa.Buffer:
    """A zero-copy Arrow buffer over a numpy array (made contiguous first)."""
    return pa.py_buffer(np.ascontiguousarray(values).data)


def _validity(arr: pa.Array[Any]) -> _BoolArray:
    n = len(arr)
    bitmap = arr.buffers()[0]
    if arr.null_count == 0 or bitmap is None:
        return np.ones(n, dtype=np.bool_)
    bits = np.unpackbits(_bytes_of(bitmap), count=arr.offset + n, bitorder="little")
    return bits[arr.offset :].view(np.bool_)


def _int64_array(values: _I64Array, ok: _BoolArray) -> pa.Int64Array:
    """Wrap numpy values as an Arrow int64 array, null where not ``ok`` (values there are 0)."""
    n = values.size
    valid_count = int(np.count_nonzero(ok))
    if valid_count == n:
        validity = None
        clean = values
    else:
        validity = _buffer_of(np.packbits(ok, bitorder="little"))
        clean = np.where(ok, values, np.int64(0))
    array = pa.Array.from_buffers(
        pa.int64(), n, [validity, _buffer_of(clean)], null_count=n - valid_count
    )
    return cast(pa.Int64Array, array)


# --------------------------------------------------------------------------- fast path


def _parse_fast(strings: _Strings, present: _BoolArray, scale: int) -> _Parsed | None:
    """Arrow's decimal128 cast, or None when it raises or when it is not safe to trust."""
    n = present.size
    if not _arrow_agrees(strings):
        return None
    arr = strings.array
    if np.count_nonzero(present) != np.count_nonzero(strings.valid):
        # Empty strings are null, but Arrow's cast rejects them: mask them first.
        arr = pa.Array.from_buffers(
            arr.type,
            n,
            [
                _buffer_of(np.packbits(present, bitorder="little")),
                _buffer_of(strings.offsets),
                arr.buffers()[2] or pa.py_buffer(b""),
            ],
        )
    try:
        decimals = pc.cast(arr, pa.decimal128(38, scale))
    except pa.ArrowInvalid:
        return None
    decimal_buffer = decimals.buffers()[1]
    if decimal_buffer is None:  # pragma: no cover - Arrow always allocates it
        return None
    raw = _bytes_of(decimal_buffer)[decimals.offset * 16 : (decimals.offset + n) * 16]
    words = raw.view(np.int64).reshape(-1, 2)
    low, high = words[:, 0], words[:, 1]
    if not high.any() and (n == 0 or int(low.min()) >= 0):
        out_of_range = np.zeros(n, dtype=np.bool_)  # the usual case: all small and >= 0
        ok = present
    else:
        out_of_range = present & (high != (low >> 63))
        ok = present & ~out_of_range
    return _Parsed(
        values=low, ok=ok, unparseable=np.zeros(n, dtype=np.bool_), out_of_range=out_of_range
    )


def _arrow_agrees(strings: _Strings) -> bool:
    """Whether Arrow's decimal128 cast gives exactly our result on this text, or raises.

    Measured on pyarrow 26, Arrow's string-to-decimal128 cast

    * accepts more than the grammar, only through its exponent, which it reads as an int32
      that may be hexadecimal (``1e0x1A``) or carry ``+-`` (``1e+-5``); no number contains
      ``x``, ``X`` or ``+-``;
    * silently wraps a digit string of 2**128 or more (``str(2**128 + 1)`` casts to 1); a
      row of at most 38 bytes has fewer than 39 digits;
    * crashes the process (segfault) on exponents near -2**31 or, at scale 9, below about
      -4,000,000 (``1e-4049196``); only exponents of at most three digits are let through;
    * raises on any bad row only after converting every row: text with a byte that no
      number has goes straight to numpy, which saves that time.

    Text that fails these checks is parsed by numpy instead. Null slots never reach Arrow's
    parser, but their bytes are scanned too (a false alarm only costs the fallback).
    """
    if strings.lengths.size and int(strings.lengths.max()) > _ARROW_MAX_ROW_BYTES:
        return False
    text = strings.text
    if not text.size:
        return True
    lowest, highest = int(text.min()), int(text.max())
    if lowest < _PLUS or highest > _LOWER_E:
        return False  # spaces, control bytes, most letters, non-ASCII
    if highest > _NINE and not _only_number_bytes(text):
        return False  # letters from ':' to 'e' other than 'E' and 'e', such as 'X'
    if lowest == _PLUS:
        plus = np.flatnonzero(text[:-1] == _PLUS)
        if bool((text[plus + 1] == _MINUS).any()):
            return False
    if highest < _UPPER_E:
        return True
    # Each exponent marker: skip an optional sign, then refuse four digits in its row.
    marks = np.flatnonzero((text | np.uint8(_CASE_BIT)) == _LOWER_E)
    row_ends = (strings.offsets[1:] - strings.offsets[0]).astype(np.int64)
    end = row_ends[np.searchsorted(row_ends, marks, side="right")]
    last = text.size - 1
    after = marks + 1
    ahead = text[np.minimum(after, last)]
    after += (after < end) & ((ahead == _PLUS) | (ahead == _MINUS))
    long_exponent = np.ones(after.size, dtype=np.bool_)
    for k in range(_ARROW_MAX_EXPONENT_DIGITS + 1):
        at = after + k
        long_exponent &= (at < end) & (text[np.minimum(at, last)] - np.uint8(_ZERO) < 10)
    return not bool(long_exponent.any())


def _only_number_bytes(text: _U8Array) -> bool:
    """Whether every byte is one of ``0-9+-.eE``, scanned in cache-sized pieces."""
    for start in range(0, text.size, _SCAN_BYTES):
        if text[start : start + _SCAN_BYTES].tobytes().translate(None, _NUMBER_BYTES):
            return False
    return True


# ---------------------------------------------------------------------------- fallback


def _parse_fallback(strings: _Strings, present: _BoolArray, scale: int) -> _Parsed:
    """Parse every present row with numpy, in blocks of rows of similar length."""
    n = present.size
    values = np.zeros(n, dtype=np.int64)
    grammatical = np.zeros(n, dtype=np.bool_)
    out_of_range = np.zeros(n, dtype=np.bool_)
    rows = np.flatnonzero(present)
    if rows.size:
        lengths = strings.lengths
        starts = strings.offsets[:-1] - strings.offsets[0]
        row_lengths = lengths if rows.size == n else lengths[rows]
        longest = int(row_lengths.max())
        # A private copy of the text with `longest` zero bytes after it, so every row's
        # window of `width` bytes is inside it.
        text = strings.text
        padded = np.zeros(text.size + longest, dtype=np.uint8)
        padded[: text.size] = text
        if longest <= _WIDTH_CLASSES[0]:
            groups = [rows]
        else:
            classes = np.searchsorted(_WIDTH_CLASSES, row_lengths)
            groups = [rows[classes == c] for c in np.flatnonzero(np.bincount(classes))]
        for members in groups:
            width = longest if len(groups) == 1 else int(lengths[members].max())
            step = max(1, _BLOCK_CELLS // width)
            # Consecutive rows (the usual case) are addressed by slices, not index arrays.
            first_row = int(members[0])
            consecutive = int(members[-1]) - first_row + 1 == members.size
            for begin in range(0, members.size, step):
                block: slice | npt.NDArray[np.intp] = (
                    slice(first_row + begin, first_row + min(begin + step, members.size))
                    if consecutive
                    else members[begin : begin + step]
                )
                block_values, block_ok, block_oor = _parse_block(
                    padded, starts[block], lengths[block], width, scale
                )
                values[block] = block_values
                grammatical[block] = block_ok
                out_of_range[block] = block_oor
    unparseable = present & ~grammatical
    return _Parsed(
        values=values,
        ok=grammatical & ~out_of_range,
        unparseable=unparseable,
        out_of_range=out_of_range,
    )


def _parse_block(
    padded: _U8Array, starts: _IntArray, lengths: _IntArray, width: int, scale: int
) -> tuple[_I64Array, _BoolArray, _BoolArray]:
    """Parse rows of at most ``width`` bytes (all non-empty): values, grammatical, too big.

    The rows become the columns of a ``width x rows`` matrix so that every per-row
    reduction is an element-wise operation over contiguous rows of the matrix.
    """
    count = starts.size
    # Positions fit int16 for ordinary widths; the clipped powers below stay within
    # [-width - 3, width + 20].
    pos_type = np.dtype(np.int16 if width < 16_000 else np.int64)
    column: _IntArray = np.arange(width, dtype=pos_type)[:, None]
    length: _IntArray = lengths.astype(pos_type)
    chars = np.take(padded, starts[None, :] + np.arange(width, dtype=np.int64)[:, None])
    chars *= column < length  # bytes past the end of a row become 0, which is in no class

    # Grammar, by character-class counts and positions.
    digit = chars - np.uint8(_ZERO)  # wraps: only '0'..'9' give 0..9
    is_digit = digit < 10
    is_e = (chars | np.uint8(_CASE_BIT)) == _LOWER_E
    is_dot = chars == _DOT
    is_sign = (chars == _PLUS) | (chars == _MINUS)
    known = (is_digit | is_e | is_dot | is_sign).sum(axis=0, dtype=pos_type)
    e_count = is_e.sum(axis=0, dtype=pos_type)
    dot_count = is_dot.sum(axis=0, dtype=pos_type)
    sign_count = is_sign.sum(axis=0, dtype=pos_type)
    # Where the exponent marker and the dot are, when there is exactly one (rows with more
    # are rejected); without an exponent e_pos is the length, without a dot dot_pos is e_pos.
    e_pos = np.where(e_count == 1, (is_e * column).sum(axis=0, dtype=pos_type), length)
    first_dot = np.where(dot_count == 1, (is_dot * column).sum(axis=0, dtype=pos_type), length)
    dot_pos = np.minimum(first_dot, e_pos)
    leading_sign = is_sign[0]
    exponent_sign = np.zeros(count, dtype=np.bool_)
    with_e = np.flatnonzero(e_count == 1)
    if with_e.size:
        after_e = e_pos[with_e] + 1
        exponent_sign[with_e] = (after_e < length[with_e]) & is_sign[
            np.minimum(after_e, width - 1), with_e
        ]
    grammatical = (
        (known == length)  # only digits, e/E, '.', '+' and '-'
        & (e_count <= 1)
        & (dot_count <= 1)
        & ((dot_count == 0) | (first_dot < e_pos))  # the dot is in the mantissa
        & (sign_count == leading_sign.astype(pos_type) + exponent_sign)  # signs only there
        & (e_pos - leading_sign - dot_count >= 1)  # at least one mantissa digit
        & ((e_count == 0) | (length - e_pos - exponent_sign >= 2))  # and exponent digit
    )

    # Power of ten, in the scaled result, of column 0 (the highest of the row).
    lead_power = dot_pos.astype(np.int64) + (scale - 1)
    with_exponent = np.flatnonzero(grammatical & (e_count == 1))
    if with_exponent.size:
        lead_power[with_exponent] += _exponents(
            chars=chars,
            digit=digit,
            column=column,
            length=length,
            e_pos=e_pos,
            exponent_sign=exponent_sign,
            rows=with_exponent,
            saturation=width + scale,
        )
    # Beyond these bounds every digit is out of range / below rounding alike.
    lead_power = np.clip(lead_power, -3, width + 19).astype(pos_type)
    # Power of the last mantissa digit, the lowest of the row.
    last_power = lead_power - (e_pos - 1) + (e_pos - 1 > dot_pos)
    power = lead_power - column + (column > dot_pos)
    mantissa = digit * (is_digit & (column < e_pos))  # digit values, 0 elsewhere
    term = mantissa.astype(pos_type) * len(_DIGIT_POWERS) + np.clip(power + 1, 0, 20)
    magnitude = np.take(_DIGIT_TERMS, term).sum(axis=0, dtype=np.uint64)
    if bool((grammatical & (lead_power >= 19)).any()):
        too_big = ((mantissa != 0) & (power >= 19)).any(axis=0)
    else:
        too_big = np.zeros(count, dtype=np.bool_)
    if bool((grammatical & (last_power < 0)).any()):
        rounding_digit = (mantissa * (power == -1)).sum(axis=0, dtype=np.uint8)
        sticky = ((mantissa != 0) & (power <= -2)).any(axis=0)
        odd = (magnitude & np.uint64(1)) == 1
        magnitude += (rounding_digit > 5) | ((rounding_digit == 5) & (sticky | odd))

    negative = chars[0] == _MINUS
    limit = np.where(negative, _INT64_MIN_MAGNITUDE, _INT64_MAX_MAGNITUDE)
    out_of_range = grammatical & (too_big | (magnitude > limit))
    signed = np.where(negative, ~magnitude + np.uint64(1), magnitude).view(np.int64)
    return signed, grammatical, out_of_range


def _exponents(
    *,
    chars: _U8Array,
    digit: _U8Array,
    column: _IntArray,
    length: _IntArray,
    e_pos: _IntArray,
    exponent_sign: _BoolArray,
    rows: npt.NDArray[np.intp],
    saturation: int,
) -> _I64Array:
    """Signed exponents of grammatical ``rows`` that have one, saturated at ``±saturation``.

    ``saturation`` must exceed the row width plus the scale, so that a saturated exponent
    moves every digit out of range or below the rounding digit, like the true one.
    """
    first_digit = (e_pos[rows] + 1 + exponent_sign[rows]).astype(column.dtype)
    power = length[rows] - 1 - column  # power of ten of each exponent digit
    digits = digit[:, rows] * ((column >= first_digit) & (power >= 0))
    value = (digits * _EXPONENT_POWERS[np.clip(power, 0, _EXPONENT_DIGITS)]).sum(axis=0)
    huge = ((digits != 0) & (power >= _EXPONENT_DIGITS)).any(axis=0)
    value = np.where(huge, saturation + 64, np.minimum(value, saturation + 64))
    negative = chars[e_pos[rows] + 1, rows] == _MINUS
    return np.where(negative, -value, value)
