"""Row flags: how any step marks a row bad without dropping it.

A flagged row stays in the stream, with its reason in one column, ``_pl_flag``, until one
later step (the quarantine split) routes it to the validation log. The column is
``dictionary<int32, string>``: null for a good row, else an entry ``step.rule`` or
``step.rule.field`` naming the step that flagged it, the reason code and, when one field is
to blame, that field. Step names and rule names contain no dots, so the entry splits back
into its parts. The first flag a row gets is the one that counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from pointline.arrays import masked_array
from pointline.errors import ChainError

__all__ = [
    "FLAG_COLUMN",
    "FLAG_FIELD",
    "FLAG_TYPE",
    "RowFlag",
    "RowFlags",
    "decode_flags",
    "flag_counts",
    "flagged_mask",
]

FLAG_COLUMN = "_pl_flag"
FLAG_TYPE = pa.dictionary(pa.int32(), pa.string())
FLAG_FIELD = pa.field(FLAG_COLUMN, FLAG_TYPE, nullable=True)

_RULE = re.compile(r"^[a-z][a-z0-9_]*$")

BoolMask = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class RowFlag:
    """Why a row was flagged: the step, the reason code and the field to blame (if any)."""

    step: str
    rule: str
    field: str | None = None

    def encode(self) -> str:
        head = f"{self.step}.{self.rule}"
        return head if self.field is None else f"{head}.{self.field}"

    @classmethod
    def decode(cls, text: str) -> RowFlag:
        parts = text.split(".", 2)
        if len(parts) < 2:
            msg = f"{text!r} is not a row flag (expected 'step.rule' or 'step.rule.field')"
            raise ValueError(msg)
        return cls(parts[0], parts[1], parts[2] if len(parts) == 3 else None)


def _as_mask(mask: BoolMask | pa.Array[Any] | pa.ChunkedArray[Any], num_rows: int) -> BoolMask:
    if isinstance(mask, pa.ChunkedArray):
        mask = mask.combine_chunks()
    if isinstance(mask, pa.Array):
        if mask.type != pa.bool_():
            msg = f"a flag mask must be boolean, got {mask.type}"
            raise TypeError(msg)
        mask = mask.fill_null(False).to_numpy(zero_copy_only=False)
    out = np.asarray(mask, dtype=np.bool_)
    if out.shape != (num_rows,):
        msg = f"a flag mask must have one entry per row ({num_rows}), got shape {out.shape}"
        raise ValueError(msg)
    return out


class RowFlags:
    """The flags of one batch, as one step sees them.

    A step's function gets one of these with each batch and calls :meth:`flag` with a
    boolean mask and a reason code. Rows flagged by an earlier step keep their first flag.
    Nothing is copied until a row is actually flagged.
    """

    __slots__ = ("_codes", "_enabled", "_existing", "_labels", "_num_rows", "_step")

    def __init__(
        self,
        step: str,
        num_rows: int,
        existing: pa.Array[Any] | None = None,
        *,
        enabled: bool = True,
    ) -> None:
        self._step = step
        self._num_rows = num_rows
        self._existing = existing
        self._enabled = enabled
        self._codes: npt.NDArray[np.int32] | None = None
        self._labels: list[str] = []

    @property
    def step(self) -> str:
        return self._step

    def _materialise(self) -> npt.NDArray[np.int32]:
        if self._codes is None:
            existing = self._existing
            if existing is None or existing.null_count == len(existing):
                self._codes = np.full(self._num_rows, -1, dtype=np.int32)
            else:
                assert isinstance(existing, pa.DictionaryArray)
                self._codes = (
                    existing.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32)
                )
                self._labels = [str(label) for label in existing.dictionary.to_pylist()]
        return self._codes

    def flag(
        self,
        mask: BoolMask | pa.Array[Any] | pa.ChunkedArray[Any],
        rule: str,
        field: str | None = None,
    ) -> int:
        """Flag the rows where ``mask`` is true (null counts as false) with ``rule``.

        Returns how many rows got this flag (rows already flagged keep theirs).
        """
        if not self._enabled:
            msg = "flags rows but is not declared to (build the step with flags=True)"
            raise ChainError(msg, step=self._step)
        if not _RULE.match(rule):
            msg = f"rule name {rule!r} must be lower snake case"
            raise ChainError(msg, step=self._step)
        rows = _as_mask(mask, self._num_rows)
        if not rows.any():
            return 0
        codes = self._materialise()
        label = RowFlag(self._step, rule, field).encode()
        try:
            code = self._labels.index(label)
        except ValueError:
            code = len(self._labels)
            self._labels.append(label)
        fresh = rows & (codes < 0)
        codes[fresh] = code
        return int(fresh.sum())

    def mask(self) -> BoolMask:
        """Rows flagged so far, by any step."""
        if self._codes is not None:
            return self._codes >= 0
        if self._existing is None:
            return np.zeros(self._num_rows, dtype=np.bool_)
        return flagged_mask(self._existing)

    def array(self) -> pa.Array[Any]:
        """The flag column after this step."""
        if self._codes is None:
            if self._existing is not None:
                return self._existing
            return pa.nulls(self._num_rows, FLAG_TYPE)
        # Shares the codes: a later flag() writes only rows that are null here.
        indices = masked_array(self._codes, self._codes >= 0, pa.int32())
        return pa.DictionaryArray.from_arrays(indices, pa.array(self._labels, pa.string()))


def flagged_mask(column: pa.Array[Any] | pa.ChunkedArray[Any]) -> BoolMask:
    """True for the rows of a flag column that carry a flag."""
    if column.null_count == 0:
        return np.ones(len(column), dtype=np.bool_)
    if column.null_count == len(column):
        return np.zeros(len(column), dtype=np.bool_)
    valid = pc.is_valid(column)
    return np.asarray(valid.to_numpy(zero_copy_only=False), dtype=np.bool_)


def flag_counts(column: pa.Array[Any]) -> dict[str, int]:
    """Flagged rows per rule (the validation log's ``rule_name``), from a flag column.

    >>> flags = pa.array(["normalize.unparseable_value.price", None,
    ...                   "pit_join.missing_pit_symbol_coverage.symbol",
    ...                   "normalize.unparseable_value.amount"]).dictionary_encode()
    >>> flag_counts(flags.cast(FLAG_TYPE))
    {'unparseable_value': 2, 'missing_pit_symbol_coverage': 1}
    """
    if not isinstance(column, pa.DictionaryArray):
        msg = f"a flag column is {FLAG_TYPE}, got {column.type}"
        raise TypeError(msg)
    counts: dict[str, int] = {}
    if column.null_count == len(column):
        return counts
    rules = [RowFlag.decode(str(text)).rule for text in column.dictionary.to_pylist()]
    tally = pc.value_counts(column.indices.drop_null())
    values = tally.field("values").to_numpy(zero_copy_only=False)
    tallies = tally.field("counts").to_numpy(zero_copy_only=False)
    for index, count in zip(values.tolist(), tallies.tolist(), strict=True):
        rule = rules[index]
        counts[rule] = counts.get(rule, 0) + count
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def decode_flags(column: pa.Array[Any]) -> tuple[pa.Array[Any], pa.Array[Any], pa.Array[Any]]:
    """Split a flag column into ``(step, rule, field)`` string arrays (null where unflagged)."""
    if not isinstance(column, pa.DictionaryArray):
        msg = f"a flag column is {FLAG_TYPE}, got {column.type}"
        raise TypeError(msg)
    parsed = [RowFlag.decode(str(text)) for text in column.dictionary.to_pylist()]
    parts = (
        pa.array([flag.step for flag in parsed], pa.string()),
        pa.array([flag.rule for flag in parsed], pa.string()),
        pa.array([flag.field for flag in parsed], pa.string()),
    )
    step, rule, field = (pc.take(values, column.indices) for values in parts)
    return step, rule, field
