"""Names of the working columns the ingest operators pass between them.

Vendor fields travel as strings under ``raw:<header name>`` from parse to the quarantine
split, so a quarantined row can be logged as the vendor wrote it; the split's good output
keeps only canonical columns. ``_raw_line`` holds the text of a row the CSV reader could
not split into fields (null for every other row).
"""

from __future__ import annotations

__all__ = ["FILE_SEQ", "RAW_LINE", "RAW_PREFIX", "is_raw", "raw"]

RAW_PREFIX = "raw:"
RAW_LINE = "_raw_line"
FILE_SEQ = "file_seq"


def raw(header: str) -> str:
    """The working column that carries vendor field ``header`` as text.

    >>> raw("price")
    'raw:price'
    """
    return RAW_PREFIX + header


def is_raw(column: str) -> bool:
    return column.startswith(RAW_PREFIX) or column == RAW_LINE
