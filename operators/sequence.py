"""sequence: stamp each good row with its lineage and drop the vendor working columns.

After the quarantine split only good rows remain; this step adds ``file_id`` (``file_seq``
was fixed by parse) and removes the working columns it is told to (the ``raw:*`` vendor
fields and ``_raw_line``), leaving the table's canonical columns for the sink.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from operators.columns import FILE_SEQ
from pointline.chain import Map, RowFlags
from pointline.lineage import assign_lineage

__all__ = ["sequence"]


def sequence(file_id: int, *, drops: Sequence[str] = (), name: str = "sequence") -> Map:
    """A step that adds ``file_id`` to every row and drops the columns in ``drops``."""

    def stamp(batch: pa.RecordBatch, flags: RowFlags) -> dict[str, pa.Array[Any]]:
        return {"file_id": assign_lineage(batch, file_id)["file_id"]}

    return Map(
        name=name,
        requires={FILE_SEQ: pa.int64()},
        produces=[pa.field("file_id", pa.int64(), nullable=False)],
        drops=tuple(drops),
        fn=stamp,
    )
