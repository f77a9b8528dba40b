"""Row lineage: every Silver and quarantined row names its Bronze file and row.

``file_id`` is the manifest's id of the Bronze file; ``file_seq`` is the 1-based data-row
number inside it, fixed at parse time, so it does not depend on batch size and a row can
be traced back to its Bronze line (docs/contracts.md section 7).
"""

from __future__ import annotations

import pyarrow as pa

__all__ = ["assign_lineage"]


def assign_lineage(
    batch: pa.RecordBatch, file_id: int, *, first_seq: int | None = None
) -> pa.RecordBatch:
    """``batch`` with a constant ``file_id`` column and a ``file_seq`` column.

    If the batch already has ``file_seq`` (set by parse) it is kept; otherwise rows are
    numbered from ``first_seq`` (required then).

    >>> b = assign_lineage(pa.record_batch({"x": [7, 8]}), 42, first_seq=1)
    >>> b.to_pydict()
    {'x': [7, 8], 'file_seq': [1, 2], 'file_id': [42, 42]}
    """
    out = batch
    if out.schema.get_field_index("file_seq") < 0:
        if first_seq is None:
            msg = "the batch has no file_seq column; give first_seq to number its rows"
            raise ValueError(msg)
        seq = pa.array(range(first_seq, first_seq + batch.num_rows), type=pa.int64())
        out = out.append_column(pa.field("file_seq", pa.int64(), nullable=False), seq)
    ids = pa.repeat(pa.scalar(file_id, pa.int64()), batch.num_rows)
    index = out.schema.get_field_index("file_id")
    field = pa.field("file_id", pa.int64(), nullable=False)
    return out.set_column(index, field, ids) if index >= 0 else out.append_column(field, ids)
