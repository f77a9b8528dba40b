"""Quant360 archive facts: what an archive's name says, which members it ships and where
each one lands under ``bronze/`` (docs/cn.md section 1).

Quant360 delivers one 7z archive per stream, market, exchange and trading day:

    <stream>_<market>_<SZ|SH>_<YYYYMMDD>.7z     order_new_STK_SZ_20240102.7z
      <archive stem>/                            a folder entry
      <archive stem>/<code>.csv                  one CSV per symbol, 6-digit code

``SZ`` is ``szse``, ``SH`` is ``sse``; the date is the CST trading day. ``STK`` (stocks)
and ``ConFI`` (convertible bonds) archives land in the same layout. Streams with a Silver
table: ``order_new`` and ``tick_new`` on both exchanges, ``L2_new`` on SZSE only; SSE
``L2_new`` (no known layout) and ``L1_new`` (no table) are refused.

Each member CSV becomes one Bronze file (gzipped by the importer,
:mod:`pointline.archives`):

    quant360/exchange=<sse|szse>/type=<stream>/date=<YYYY-MM-DD>/symbol=<code>/<code>.csv.gz

relative to the lake's ``bronze/`` folder.

>>> archive = describe_archive("order_new_STK_SZ_20240102.7z")
>>> archive.exchange, archive.stream, archive.market, str(archive.date)
('szse', 'order_new', 'STK', '2024-01-02')
>>> code, path = archive.member_target("order_new_STK_SZ_20240102/000001.csv")
>>> code, path.as_posix()
('000001', 'quant360/exchange=szse/type=order_new/date=2024-01-02/symbol=000001/000001.csv.gz')
>>> archive.member_target("order_new_STK_SZ_20240102/readme.txt") is None
True
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from types import MappingProxyType
from typing import Final

from pointline.vendors.protocol import BadPathError, UnsupportedDataTypeError
from pointline.vendors.quant360 import STREAMS

__all__ = [
    "ARCHIVE_RE",
    "EXCHANGES",
    "MEMBER_RE",
    "SUPPORTED_STREAMS",
    "VENDOR",
    "Quant360Archive",
    "bronze_relative_path",
    "describe_archive",
    "parse_archive_name",
]

VENDOR: Final = "quant360"
"""The vendor's folder under ``bronze/``."""

ARCHIVE_RE: Final = re.compile(
    r"^(order_new|tick_new|L2_new|L1_new)_(STK|ConFI)_(SZ|SH)_(\d{8})\.7z$"
)
"""An archive's file name: stream, market, exchange code, trading day."""

MEMBER_RE: Final = re.compile(r"^(\d{6})\.csv$")
"""A member's file name: the 6-digit symbol code (no exchange suffix)."""

EXCHANGES: Final[Mapping[str, str]] = MappingProxyType({"SZ": "szse", "SH": "sse"})
"""The archive name's exchange code -> Pointline exchange id."""

SUPPORTED_STREAMS: Final[Mapping[str, tuple[str, ...]]] = STREAMS
"""The streams with a Silver table, per exchange (others are refused at import)."""


@dataclass(frozen=True, slots=True)
class Quant360Archive:
    """What one archive's file name says."""

    name: str
    """The file name, ``order_new_STK_SZ_20240102.7z``."""
    stream: str
    """``order_new``, ``tick_new``, ``L2_new`` or ``L1_new``."""
    market: str
    """``STK`` (stocks) or ``ConFI`` (convertible bonds)."""
    exchange: str
    """``szse`` or ``sse``."""
    date: datetime.date
    """The trading day."""

    @property
    def vendor(self) -> str:
        return VENDOR

    @property
    def stem(self) -> str:
        """The name without ``.7z``: the folder inside the archive."""
        return self.name.removesuffix(".7z")

    @property
    def supported(self) -> bool:
        """Whether the stream has a Silver table on this exchange."""
        return self.stream in SUPPORTED_STREAMS[self.exchange]

    def member_code(self, member: str) -> str | None:
        """The symbol code of a member named ``<stem>/<code>.csv`` (or ``<code>.csv`` at
        the top), else None: such a member is not a symbol file and is skipped.

        >>> a = parse_archive_name("tick_new_STK_SH_20240102.7z")
        >>> a.member_code("tick_new_STK_SH_20240102/600000.csv"), a.member_code("600000.csv")
        ('600000', '600000')
        >>> a.member_code("elsewhere/600000.csv"), a.member_code("600000.txt")
        (None, None)
        """
        path = PurePosixPath(member)
        match = MEMBER_RE.fullmatch(path.name)
        if match is None or str(path.parent) not in {".", self.stem}:
            return None
        return match.group(1)

    def member_target(self, member: str) -> tuple[str, PurePosixPath] | None:
        """``(code, Bronze path relative to bronze/)`` of a symbol member, else None."""
        code = self.member_code(member)
        if code is None:
            return None
        return code, bronze_relative_path(self.exchange, self.stream, self.date, code)


def parse_archive_name(name: str) -> Quant360Archive:
    """The facts of an archive file name (a bare name, no folder).

    Raises :class:`~pointline.vendors.protocol.BadPathError` (``bad_path``) for a name
    that is not ``<stream>_<STK|ConFI>_<SZ|SH>_<YYYYMMDD>.7z`` or names no calendar day.

    >>> parse_archive_name("tick_new_ConFI_SH_20240102.7z").market
    'ConFI'
    """
    match = ARCHIVE_RE.fullmatch(name)
    if match is None:
        msg = (
            f"{name!r} is not a Quant360 archive name: expected "
            "<order_new|tick_new|L2_new|L1_new>_<STK|ConFI>_<SZ|SH>_<YYYYMMDD>.7z"
        )
        raise BadPathError(msg, file=name)
    stream, market, code, day = match.groups()
    try:
        date = datetime.date(int(day[:4]), int(day[4:6]), int(day[6:]))
    except ValueError:
        msg = f"{name!r}: {day} is not a calendar date (YYYYMMDD)"
        raise BadPathError(msg, file=name) from None
    return Quant360Archive(
        name=name, stream=stream, market=market, exchange=EXCHANGES[code], date=date
    )


def describe_archive(name: str) -> Quant360Archive:
    """:func:`parse_archive_name`, refusing a stream without a table on its exchange.

    Raises ``BadPathError`` (``bad_path``) or
    :class:`~pointline.vendors.protocol.UnsupportedDataTypeError`
    (``unsupported_data_type``: SSE ``L2_new``, any ``L1_new``).

    >>> try:
    ...     describe_archive("L2_new_STK_SH_20240102.7z")
    ... except UnsupportedDataTypeError as exc:
    ...     print(exc.reason, "-", exc.message)
    unsupported_data_type - stream L2_new has no table on sse (supported: order_new, tick_new)
    """
    archive = parse_archive_name(name)
    if not archive.supported:
        supported = ", ".join(SUPPORTED_STREAMS[archive.exchange])
        msg = f"stream {archive.stream} has no table on {archive.exchange} (supported: {supported})"
        raise UnsupportedDataTypeError(msg, file=name)
    return archive


def bronze_relative_path(
    exchange: str, stream: str, date: datetime.date, code: str
) -> PurePosixPath:
    """Where one symbol's CSV of one archive lands, relative to the lake's ``bronze/``.

    Raises ``UnsupportedDataTypeError`` for a stream without a table on ``exchange`` and
    ``BadPathError`` for an unknown exchange or a code that is not 6 digits.

    >>> str(bronze_relative_path("sse", "tick_new", datetime.date(2024, 1, 2), "600000"))
    'quant360/exchange=sse/type=tick_new/date=2024-01-02/symbol=600000/600000.csv.gz'
    """
    if exchange not in SUPPORTED_STREAMS:
        msg = (
            f"unknown Quant360 exchange {exchange!r} (expected one of {sorted(SUPPORTED_STREAMS)})"
        )
        raise BadPathError(msg)
    if stream not in SUPPORTED_STREAMS[exchange]:
        msg = f"stream {stream!r} has no table on {exchange}"
        raise UnsupportedDataTypeError(msg)
    if not re.fullmatch(r"\d{6}", code):
        msg = f"symbol code {code!r} is not 6 digits"
        raise BadPathError(msg)
    return PurePosixPath(
        VENDOR,
        f"exchange={exchange}",
        f"type={stream}",
        f"date={date.isoformat()}",
        f"symbol={code}",
        f"{code}.csv.gz",
    )
