"""The vendor protocol: what a vendor declares once, and the registry that holds vendors.

A vendor is one module under ``pointline/vendors/`` (or a plug-in package registered under
the ``pointline.vendors`` entry-point group) that builds one :class:`Vendor`:

- ``name``: the folder under ``bronze/`` that holds its files (``tardis``);
- ``timezone``: the IANA zone its trading days are cut in (Tardis: ``UTC``);
- ``formats``: every data type it ships, each a :class:`FileFormat`: the Silver table it
  feeds, its header (the columns a file must have, matched by name) and how each vendor
  field becomes a canonical column (:class:`Field`, :class:`Derived`, :class:`Rule`);
- ``describe``: its path rules: what a Bronze path (relative to ``bronze/<vendor>/``)
  says about the file (:class:`PathFacts`: data type, date, exchange, symbol);
- ``parse`` and ``normalize``: the two operators that turn one of its files into
  canonical columns (``parse`` a :class:`~pointline.chain.Source` of ``raw:<header>``
  strings, ``normalize`` a :class:`~pointline.chain.Operator` that reads them).

The ingest assembly asks the registry for the vendor of a file and chains the rest
(time-zone partition, PIT join, quarantine split, lineage, sinks) itself, so a new vendor
needs no edit outside its own module. This module is core: it imports no operator.
"""

from __future__ import annotations

import datetime
import difflib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import Any, ClassVar, Final, Literal, TypeAlias

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from pointline.chain import Operator, RowFlags, Source
from pointline.codes import FileReason
from pointline.errors import PointlineError

__all__ = [
    "SAME",
    "TIME_KINDS",
    "BadPathError",
    "Derived",
    "Field",
    "FileFormat",
    "Kind",
    "PathFacts",
    "ReadFields",
    "Rule",
    "UnknownVendorError",
    "UnsupportedDataTypeError",
    "Vendor",
    "VendorRegistry",
    "absent",
]

Array: TypeAlias = "pa.Array[Any]"
BoolMask: TypeAlias = npt.NDArray[np.bool_]

Kind = Literal[
    "lower", "text", "decimal", "decimal_list", "int", "ts_us", "wall_ms", "float", "bool"
]
"""How a vendor field's text is read: ``lower`` trimmed and lower-cased text; ``text``
trimmed text; ``decimal`` an exact ``decimal128(38, 18)`` (prices and quantities,
docs/contracts.md section 3); ``decimal_list`` a bracketed, comma-separated list of such
decimals (``"[9.390,9.380]"``) as ``list<decimal128(38, 18)>``; ``int`` an int64 (an
int32 column is range-checked); ``ts_us`` an int64 of microseconds since the epoch,
range-checked (``timestamp_out_of_range``); ``wall_ms`` 17 digits ``YYYYMMDDHHMMSSmmm``
of wall-clock time in the field's ``zone``, to int64 µs UTC, range-checked like
``ts_us``; ``float`` a float64 (rates, vols, greeks); ``bool`` ``true``/``false``."""

TIME_KINDS: Final = frozenset({"ts_us", "wall_ms"})
"""Kinds whose values are event or receive times (range-checked at ingest)."""

SAME: Final = "\x00same"
"""``Field.to`` default: the canonical column has the vendor header's name."""


class UnknownVendorError(PointlineError, LookupError):
    """No registered vendor has this name (the first folder under ``bronze/``)."""

    reason: ClassVar[FileReason] = "bad_path"


class BadPathError(PointlineError, ValueError):
    """A Bronze path that does not follow its vendor's path rules."""

    reason: ClassVar[FileReason] = "bad_path"


class UnsupportedDataTypeError(PointlineError, LookupError):
    """A data type its vendor does not ship (or Pointline cannot read yet)."""

    reason: ClassVar[FileReason] = "unsupported_data_type"


@dataclass(frozen=True, slots=True)
class Field:
    """One vendor column: its ``header`` name, how its text is read (``kind``), the
    canonical column it becomes (``to``; :data:`SAME` = the header's name, ``None`` = read
    only, for a :class:`Derived`), whether an empty cell is ``missing_field``
    (``required``), whether a file may lack the column altogether (``optional``: then
    every cell is empty), and for ``wall_ms`` the IANA ``zone`` of the wall times."""

    header: str
    kind: Kind
    to: str | None = SAME
    required: bool = False
    optional: bool = False
    zone: str | None = None

    def __post_init__(self) -> None:
        if (self.kind == "wall_ms") != (self.zone is not None):
            msg = f"field {self.header!r}: a zone is given exactly for kind 'wall_ms'"
            raise ValueError(msg)
        if self.required and self.optional:
            msg = f"field {self.header!r}: a required field cannot be an optional column"
            raise ValueError(msg)

    @property
    def column(self) -> str | None:
        """The canonical column this field becomes, if any."""
        return self.header if self.to == SAME else self.to


@dataclass(frozen=True, slots=True)
class PathFacts:
    """What a Bronze path says about its file (never used to read row values): the data
    type, the date, and other facts such as ``exchange`` and ``symbol``.

    Two facts bind the rows: a row whose ``exchange`` differs from ``extras["exchange"]``
    is quarantined (``exchange_mismatch``), and times more than 2 days after ``date``
    are (``timestamp_out_of_range``; 2100-01-01 when there is no date)."""

    data_type: str
    date: datetime.date | None = None
    extras: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ReadFields:
    """A batch's vendor fields after reading: typed ``values`` and where cells held text
    (``present``), both by header; ``n`` rows; ``facts``, what the file's path says."""

    values: Mapping[str, Array]
    present: Mapping[str, BoolMask]
    n: int
    facts: PathFacts


@dataclass(frozen=True, slots=True)
class Derived:
    """Canonical ``columns`` computed from several read fields by ``fn``, which may flag
    rows (for example an event time that falls back to the receive time). ``blame``
    names the vendor field behind a derived column, for a table rule that marks it
    (``{"event_kind": "OrdType"}``)."""

    columns: tuple[str, ...]
    fn: Callable[[ReadFields, RowFlags], Mapping[str, Array]]
    blame: Mapping[str, str] = field(default_factory=dict)


def absent(column: str, dtype: pa.DataType) -> Derived:
    """A column the vendor does not publish: all null.

    >>> absent("seq_num", pa.int64()).columns
    ('seq_num',)
    """

    def nulls(read: ReadFields, flags: RowFlags) -> dict[str, Array]:
        return {column: pa.nulls(read.n, dtype)}  # type: ignore[call-overload]  # any DataType

    return Derived((column,), nulls)


@dataclass(frozen=True, slots=True)
class Rule:
    """A table's own row rule (docs/contracts.md section 8): ``invalid`` reads the canonical
    columns and returns, for each canonical column to blame, a mask of the rows where that
    column breaks the rule (``{"qty": qty <= 0, "side": side not buy/sell}``), in the
    order they are checked. The rows are quarantined under the reason ``name``, with the
    vendor field that produced the column as the field to blame (its text as the value)."""

    name: str
    invalid: Callable[[Mapping[str, Array]], Mapping[str, Array]]


@dataclass(frozen=True, kw_only=True)
class FileFormat:
    """One kind of vendor file: its ``data_type``, the Silver ``table`` it feeds, and its
    fields in header order. The header a file must have is derived from ``fields``."""

    data_type: str
    table: str
    fields: tuple[Field, ...]
    derived: tuple[Derived, ...] = ()
    rule: Rule | None = None

    def __post_init__(self) -> None:
        headers = [f.header for f in self.fields]
        repeated = sorted({h for h in headers if headers.count(h) > 1})
        if repeated:
            msg = f"data type {self.data_type!r} declares header(s) {repeated} twice"
            raise ValueError(msg)

    @property
    def header(self) -> tuple[str, ...]:
        """The vendor columns this format reads (matched by name, any order)."""
        return tuple(f.header for f in self.fields)

    @property
    def optional(self) -> tuple[str, ...]:
        """The columns of :attr:`header` a file may lack (read as all empty)."""
        return tuple(f.header for f in self.fields if f.optional)

    @property
    def columns(self) -> tuple[str, ...]:
        """The canonical columns this format produces, fields first, then derived ones."""
        mapped = tuple(c for f in self.fields if (c := f.column) is not None)
        return mapped + tuple(c for d in self.derived for c in d.columns)


@dataclass(frozen=True, kw_only=True)
class Vendor:
    """A vendor's format facts and its two operators (see the module docstring).

    ``describe(relative)`` gets the path below ``bronze/<name>/`` and raises
    :class:`BadPathError` when the path does not follow the vendor's rules.
    ``parse(fmt, path, display_path=..., block_size=...)`` returns the source of one file;
    ``normalize(fmt, facts)`` the step that turns its ``raw:<header>`` strings into
    canonical columns and flags bad rows (``facts``: what the file's path says).
    """

    name: str
    timezone: str
    formats: Mapping[str, FileFormat]
    describe: Callable[[PurePosixPath], PathFacts]
    parse: Callable[..., Source]
    normalize: Callable[[FileFormat, PathFacts], Operator]
    symbol_key: Callable[[str], str] = str
    """The dim_symbol ``exchange_symbol`` a row's ``symbol`` is looked up under (the
    vendor's symbol key; identity by default). Bootstrap, instrument imports and the
    point-in-time join all use it, so one spelling rule holds everywhere."""
    format_key: Callable[[PathFacts], str] | None = None
    """The :attr:`formats` key of a file, from what its path says, for a vendor whose
    data type is read differently per exchange (Quant360: ``szse_order_new``); by
    default the path's data type."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "formats", MappingProxyType(dict(self.formats)))
        wrong = [k for k, v in self.formats.items() if k != v.data_type]
        if wrong:
            msg = (
                f"vendor {self.name!r}: formats keyed by another name than their data type: {wrong}"
            )
            raise ValueError(msg)

    @property
    def data_types(self) -> tuple[str, ...]:
        """Every data type this vendor reads, sorted."""
        return tuple(sorted(self.formats))

    def format_for(self, facts: PathFacts) -> FileFormat:
        """The format of a file whose path says ``facts`` (see :attr:`format_key`)."""
        key = facts.data_type if self.format_key is None else self.format_key(facts)
        return self.format(key)

    def format(self, data_type: str) -> FileFormat:
        """The format of ``data_type``; :class:`UnsupportedDataTypeError` with a
        did-you-mean and the supported list otherwise."""
        try:
            return self.formats[data_type]
        except KeyError:
            pass
        close = difflib.get_close_matches(data_type, self.data_types, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        msg = (
            f"{self.name} data type {data_type!r} is not supported{hint} "
            f"(supported: {', '.join(self.data_types)})"
        )
        raise UnsupportedDataTypeError(msg)


class VendorRegistry:
    """An immutable map of vendor name -> :class:`Vendor`; :meth:`register` returns a new one.

    >>> VendorRegistry([]).names
    ()
    """

    __slots__ = ("_vendors",)

    def __init__(self, vendors: Iterable[Vendor]) -> None:
        found: dict[str, Vendor] = {}
        for vendor in vendors:
            if vendor.name in found:
                msg = f"vendor {vendor.name!r} is registered twice"
                raise ValueError(msg)
            found[vendor.name] = vendor
        self._vendors: Mapping[str, Vendor] = MappingProxyType(found)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._vendors))

    def __iter__(self) -> Iterator[Vendor]:
        return iter(self._vendors[name] for name in self.names)

    def __contains__(self, name: object) -> bool:
        return name in self._vendors

    def register(self, vendor: Vendor) -> VendorRegistry:
        """A registry with ``vendor`` added (replacing one of the same name)."""
        others = [v for v in self._vendors.values() if v.name != vendor.name]
        return VendorRegistry([*others, vendor])

    def get(self, name: str) -> Vendor:
        """The vendor called ``name``; :class:`UnknownVendorError` naming the known ones."""
        try:
            return self._vendors[name]
        except KeyError:
            known = ", ".join(self.names) or "none"
            msg = (
                f"no vendor is called {name!r} (known: {known}); Bronze files live under "
                "bronze/<vendor>/, and a new vendor is a module registered in "
                "pointline.vendors"
            )
            raise UnknownVendorError(msg) from None

    def describe(self, relative: PurePosixPath | Path) -> tuple[Vendor, PathFacts]:
        """The vendor of a path relative to the bronze root, and what its rules read from it."""
        parts = PurePosixPath(relative).parts
        if len(parts) < 2:
            msg = "is not inside a vendor folder; Bronze files live under bronze/<vendor>/"
            raise BadPathError(msg, file=PurePosixPath(relative).as_posix())
        vendor = self.get(parts[0])
        try:
            return vendor, vendor.describe(PurePosixPath(*parts[1:]))
        except PointlineError as exc:
            raise exc.with_context(file=PurePosixPath(relative).as_posix()) from None
