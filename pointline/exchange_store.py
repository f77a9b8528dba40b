"""Exchange registrations stored in the lake, so every process agrees on each zone.

An exchange's time zone and session roll decide which ``trading_date`` partition each of
its rows lands in (docs/contracts.md section 6). A registry built in one Python process is
gone when it ends; the lake keeps its registrations here, under
``<root>/_pointline/exchanges/``, so ingest, read, verify and repair in any later process
(and the ``pointline`` command) cut days the same way.

Layout: a :class:`~pointline.storage.VersionedDir` of Arrow IPC files
``<20-digit version>.arrow``, each the whole set of registrations (not a delta), one row
per exchange sorted by name:

    name                 string, not null   the exchange id (``mexc-futures``)
    timezone             string, not null   IANA zone
    session_roll         string             ``HH:MM`` local wall time, null for midnight
    source               string, not null   ``user`` or ``vendor_default``
    registered_at_ts_us  int64, not null    when the registration was stored (UTC, us)

The newest version is the state. A change publishes version ``latest + 1`` put-if-absent;
a writer that loses the race re-reads and decides again, so concurrent registrations never
overwrite each other and an identical one writes nothing.

``user`` registrations come from :meth:`ExchangeStore.register` (the CLI, Python);
``vendor_default`` ones are bookkeeping written by ingest when it cut an exchange the
registry did not know in its vendor's zone (:meth:`ExchangeStore.record_default`).

Changing the zone or the session roll of an exchange that already has Silver rows is
refused (:class:`ExchangeChangeRefusedError`): its rows sit in ``trading_date``
partitions cut with the current definition, and the new one would move them.

>>> import tempfile, pathlib
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> store = ExchangeStore(root / "_pointline" / "exchanges", root / "silver")
>>> store.load()
{}
>>> store.register(Exchange(name="cme", timezone="America/Chicago",
...                         session_roll=datetime.time(17)))
True
>>> store.registry(DEFAULT_EXCHANGES).get("cme").session_roll
datetime.time(17, 0)
"""

from __future__ import annotations

import datetime
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, get_args

import pyarrow as pa

from pointline.errors import PointlineError, SchemaError
from pointline.exchanges import DEFAULT_EXCHANGES, Exchange, ExchangeRegistry
from pointline.storage import VersionedDir, ipc_bytes, read_ipc

__all__ = [
    "REGISTRATION_SOURCES",
    "STORE_SCHEMA",
    "ExchangeChangeRefusedError",
    "ExchangeConflictError",
    "ExchangeRegistration",
    "ExchangeStore",
    "ExchangeStoreError",
    "RegistrationSource",
    "format_session_roll",
    "parse_session_roll",
]

RegistrationSource = Literal["user", "vendor_default"]
"""user: registered by a person (CLI or Python); vendor_default: recorded by ingest, which
cut an exchange the registry did not know in its vendor's zone."""

REGISTRATION_SOURCES: Final[tuple[RegistrationSource, ...]] = get_args(RegistrationSource)

_FIELDS: list[pa.Field[Any]] = [
    pa.field("name", pa.string(), nullable=False),
    pa.field("timezone", pa.string(), nullable=False),
    pa.field("session_roll", pa.string()),
    pa.field("source", pa.string(), nullable=False),
    pa.field("registered_at_ts_us", pa.int64(), nullable=False),
]
STORE_SCHEMA: Final = pa.schema(
    _FIELDS, metadata={"pointline.store": "exchanges", "pointline.schema_version": "1"}
)
"""The schema of every version file."""

_SUFFIX = ".arrow"
_ROLL_RE = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
_NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]*")  # as pointline.exchanges validates names


class ExchangeStoreError(PointlineError, ValueError):
    """A stored exchange version cannot be read or does not hold valid registrations."""


class ExchangeChangeRefusedError(PointlineError, ValueError):
    """A registration would change the zone or session roll of an exchange with Silver rows."""


class ExchangeConflictError(PointlineError, ValueError):
    """The registry a caller passed defines an exchange otherwise than the lake stores it."""


def parse_session_roll(text: str | None) -> datetime.time | None:
    """``"HH:MM"`` (24-hour local wall time) as a ``datetime.time``; ``None`` stays ``None``.

    ``"00:00"`` is midnight, the same as no roll, and gives ``None``.

    >>> parse_session_roll("17:00"), parse_session_roll("00:00")
    (datetime.time(17, 0), None)
    """
    if text is None:
        return None
    match = _ROLL_RE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        msg = f"session roll must be HH:MM local wall time (00:00 to 23:59), got {text!r}"
        raise SchemaError(msg)
    roll = datetime.time(int(match.group(1)), int(match.group(2)))
    return None if roll == datetime.time(0) else roll


def format_session_roll(roll: datetime.time | None) -> str | None:
    """A session roll as ``"HH:MM"`` (``None`` and midnight give ``None``).

    Raises :class:`~pointline.errors.SchemaError` for a roll that is not a whole minute
    (the store keeps ``HH:MM``).
    """
    if roll is None or roll == datetime.time(0):
        return None
    if roll.second or roll.microsecond or roll.tzinfo is not None:
        msg = (
            f"session roll {roll.isoformat()} cannot be stored: use a naive local wall time "
            "on a whole minute (HH:MM)"
        )
        raise SchemaError(msg)
    return f"{roll.hour:02d}:{roll.minute:02d}"


def _canonical(exchange: Exchange) -> Exchange:
    """``exchange`` with a midnight roll written as ``None`` (both mean the calendar date)."""
    if exchange.session_roll is not None and exchange.session_roll == datetime.time(0):
        return Exchange(name=exchange.name, timezone=exchange.timezone)
    return exchange


def _same_days(a: Exchange, b: Exchange) -> bool:
    """Whether two definitions cut trading dates the same way (same zone name and roll)."""
    return _canonical(a) == _canonical(b)


def _describe(exchange: Exchange | None) -> str:
    if exchange is None:
        return "no zone"
    roll = exchange.session_roll
    return f"{exchange.timezone}, session roll {roll.strftime('%H:%M') if roll else 'none'}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ExchangeRegistration:
    """One stored row: the exchange, who registered it and when (UTC microseconds)."""

    exchange: Exchange
    source: RegistrationSource
    registered_at_ts_us: int


def _now_us() -> int:
    return time.time_ns() // 1_000


def _ipc_bytes(registrations: Mapping[str, ExchangeRegistration]) -> pa.Buffer:
    rows = [registrations[name] for name in sorted(registrations)]
    table = pa.Table.from_pydict(
        {
            "name": [r.exchange.name for r in rows],
            "timezone": [r.exchange.timezone for r in rows],
            "session_roll": [format_session_roll(r.exchange.session_roll) for r in rows],
            "source": [r.source for r in rows],
            "registered_at_ts_us": [r.registered_at_ts_us for r in rows],
        },
        schema=STORE_SCHEMA,
    )
    return ipc_bytes(table)


def _read_version(path: Path, version: int) -> dict[str, ExchangeRegistration]:
    try:
        table = read_ipc(path)
    except (OSError, pa.ArrowInvalid) as exc:
        msg = f"cannot read exchange registrations version {version}: {exc}"
        raise ExchangeStoreError(msg, file=str(path)) from exc
    if not table.schema.equals(STORE_SCHEMA, check_metadata=False):
        msg = (
            f"exchange registrations version {version} has columns {table.schema.names} "
            f"({table.schema.types}); expected {STORE_SCHEMA.names}"
        )
        raise ExchangeStoreError(msg, file=str(path))
    found: dict[str, ExchangeRegistration] = {}
    for row in table.to_pylist():
        try:
            if row["source"] not in REGISTRATION_SOURCES:
                msg = f"source must be one of {list(REGISTRATION_SOURCES)}, got {row['source']!r}"
                raise SchemaError(msg)
            if row["name"] in found:
                msg = f"exchange {row['name']!r} appears twice"
                raise SchemaError(msg)
            if row["registered_at_ts_us"] is None:
                msg = f"exchange {row['name']!r} has no registered_at_ts_us"
                raise SchemaError(msg)
            exchange = Exchange(
                name=row["name"],
                timezone=row["timezone"],
                session_roll=parse_session_roll(row["session_roll"]),
            )
        except SchemaError as exc:
            msg = f"exchange registrations version {version} holds an invalid row: {exc.message}"
            raise ExchangeStoreError(msg, file=str(path)) from exc
        found[exchange.name] = ExchangeRegistration(
            exchange=exchange, source=row["source"], registered_at_ts_us=row["registered_at_ts_us"]
        )
    return found


class ExchangeStore:
    """The exchange registrations of one lake, in ``directory`` (a versioned folder).

    ``silver_root`` is the lake's ``silver/`` folder: a registration that would change
    the zone or session roll of an exchange with any ``*.parquet`` under
    ``silver_root/<table>/exchange=<name>/`` is refused. Nothing is created until the
    first registration. Every method reads the folder afresh (no caching): another
    process may have registered since.
    """

    __slots__ = ("_files", "_silver_root")

    def __init__(self, directory: str | Path, silver_root: str | Path) -> None:
        self._files = VersionedDir(directory, _SUFFIX)
        self._silver_root = Path(silver_root)

    @property
    def directory(self) -> Path:
        """The folder holding the version files (created by the first registration)."""
        return self._files.directory

    def latest_version(self) -> int:
        """The newest version, 0 when nothing was ever registered."""
        return self._files.latest()

    def _read(self) -> tuple[int, dict[str, ExchangeRegistration]]:
        version = self._files.latest()
        if version == 0:
            return 0, {}
        return version, _read_version(self._files.path_of(version), version)

    def registrations(self) -> dict[str, ExchangeRegistration]:
        """Every stored registration by name, sorted (source and time included)."""
        return self._read()[1]

    def load(self) -> dict[str, Exchange]:
        """The stored exchanges by name, sorted, from the newest version; ``{}`` if none.

        Raises :class:`ExchangeStoreError` (naming the file) for an unreadable version.
        """
        return {name: r.exchange for name, r in self._read()[1].items()}

    def registry(self, base: ExchangeRegistry = DEFAULT_EXCHANGES) -> ExchangeRegistry:
        """``base`` plus the stored registrations (a new registry; ``base`` is unchanged).

        A stored registration replaces ``base``'s entry of the same name when that entry
        is the built-in default (``DEFAULT_EXCHANGES``): the lake's rows were cut with the
        stored one. A ``base`` entry the caller defined otherwise than the lake stores it
        raises :class:`ExchangeConflictError`, naming both: which one is right is the
        caller's call, never a silent pick.
        """
        stored = self.load()
        if not stored:
            return base
        for name, exchange in stored.items():
            if name not in base:
                continue
            given = base.get(name)
            if _same_days(given, exchange):
                continue
            builtin = DEFAULT_EXCHANGES.get(name) if name in DEFAULT_EXCHANGES else None
            if builtin is not None and _same_days(given, builtin):
                continue
            msg = (
                f"exchange {name!r} is stored in the lake as {_describe(exchange)} but the "
                f"registry passed in defines it as {_describe(given)}; pass a registry that "
                f"agrees with the lake, or change the stored one with `pointline exchange add "
                f"{name} --timezone TZ` (refused once the exchange has Silver rows)"
            )
            raise ExchangeConflictError(msg)
        kept = [base.get(name) for name in base if name not in stored]
        return ExchangeRegistry([*kept, *stored.values()])

    def silver_file_of(self, name: str) -> Path | None:
        """One Silver file of exchange ``name`` (any table), or ``None`` if it has none."""
        if not isinstance(name, str) or _NAME_RE.fullmatch(name) is None:
            return None
        try:
            tables = sorted(self._silver_root.iterdir())
        except (FileNotFoundError, NotADirectoryError):
            return None
        for table in tables:
            partition = table / f"exchange={name}"
            if partition.is_dir():
                found = next(partition.rglob("*.parquet"), None)
                if found is not None:
                    return found
        return None

    def has_silver_rows(self, name: str) -> bool:
        """Whether any ``silver/<table>/exchange=<name>/**/*.parquet`` exists."""
        return self.silver_file_of(name) is not None

    def register(
        self,
        exchange: Exchange,
        *,
        source: RegistrationSource = "user",
        base: ExchangeRegistry = DEFAULT_EXCHANGES,
    ) -> bool:
        """Store ``exchange``; True if a new version was written, False if nothing changed.

        Nothing is written when the store already holds the same zone and roll (from the
        same source, or from ``user`` when ``source`` is ``vendor_default``), or when
        nothing is stored and ``base`` already defines it the same way. A ``user``
        registration of what was a ``vendor_default`` writes a version (the source moves).

        The current definition is the stored registration, else ``base``'s entry, else
        none. Changing it (zone or roll) when the exchange has Silver rows raises
        :class:`ExchangeChangeRefusedError`; with no current definition any zone is
        accepted. A session roll must be a whole minute (``SchemaError``).
        """
        if not isinstance(exchange, Exchange):
            msg = f"register takes an Exchange, got {exchange!r}"
            raise SchemaError(msg)
        if source not in REGISTRATION_SOURCES:
            msg = f"source must be one of {list(REGISTRATION_SOURCES)}, got {source!r}"
            raise SchemaError(msg)
        format_session_roll(exchange.session_roll)  # stored as HH:MM: check before anything
        wanted = _canonical(exchange)
        name = wanted.name

        def decide(stored: Mapping[str, ExchangeRegistration]) -> ExchangeRegistration | None:
            known = stored.get(name)
            if known is not None:
                current: Exchange | None = known.exchange
                if _same_days(known.exchange, wanted) and source in (
                    known.source,
                    "vendor_default",
                ):
                    return None
            else:
                current = base.get(name) if name in base else None
                if current is not None and _same_days(current, wanted):
                    return None
            if current is not None and not _same_days(current, wanted):
                rows = self.silver_file_of(name)
                if rows is not None:
                    raise self._refused(wanted, current, known, rows)
            return ExchangeRegistration(
                exchange=wanted, source=source, registered_at_ts_us=_now_us()
            )

        return self._update(decide)

    def record_default(
        self, name: str, timezone: str, *, base: ExchangeRegistry = DEFAULT_EXCHANGES
    ) -> bool:
        """Record that ingest cut the unknown exchange ``name`` in its vendor's ``timezone``.

        Writes a ``vendor_default`` registration (no session roll) only when ``name`` is
        neither in ``base`` nor stored; True if it wrote a version. Later processes (read,
        verify, repair) then find the zone the rows were cut in, and a later
        :meth:`register` of another zone is refused once the exchange has Silver rows.
        """
        exchange = Exchange(name=name, timezone=timezone)
        if name in base:
            return False

        def decide(stored: Mapping[str, ExchangeRegistration]) -> ExchangeRegistration | None:
            if name in stored:
                return None
            return ExchangeRegistration(
                exchange=exchange, source="vendor_default", registered_at_ts_us=_now_us()
            )

        return self._update(decide)

    def ingest_registry(
        self,
        name: str,
        *,
        base: ExchangeRegistry = DEFAULT_EXCHANGES,
        default_timezone: str | None = None,
    ) -> ExchangeRegistry:
        """The registry to ingest exchange ``name`` with, after storing what it relies on.

        For ingest, before its chain runs, with the exchange its file's path names:

        1. ``registry(base)`` first: a ``base`` that contradicts the lake raises
           :class:`ExchangeConflictError`;
        2. a definition the caller made in Python (``name`` in ``base`` but not as
           :data:`~pointline.exchanges.DEFAULT_EXCHANGES` has it) is stored as a ``user``
           registration, so later processes cut days the same way (refused with
           :class:`ExchangeChangeRefusedError` if it changes an exchange with Silver rows);
           a name ``base`` does not know is recorded in ``default_timezone``
           (:meth:`record_default`), when given;
        3. the result, read afresh (a concurrent registration is seen), knows ``name``, or
           :class:`~pointline.errors.UnknownExchangeError` says how to register it.
        """
        self.registry(base)
        if name in base:
            given = base.get(name)
            builtin = DEFAULT_EXCHANGES.get(name) if name in DEFAULT_EXCHANGES else None
            if builtin is None or not _same_days(given, builtin):
                self.register(given, source="user")
        elif default_timezone is not None:
            self.record_default(name, default_timezone, base=base)
        registry = self.registry(base)
        registry.get(name)
        return registry

    def _update(
        self, decide: Callable[[Mapping[str, ExchangeRegistration]], ExchangeRegistration | None]
    ) -> bool:
        """Publish the newest state plus ``decide``'s registration as the next version.

        ``decide`` sees the newest state and returns the registration to store, or
        ``None`` for no change. On a lost race (another writer published that version
        first) the state is read again and ``decide`` runs again: each lost race means
        another writer made progress, so this ends.
        """
        while True:
            version, stored = self._read()
            registration = decide(stored)
            if registration is None:
                return False
            state = dict(stored)
            state[registration.exchange.name] = registration
            if self._files.publish(version + 1, _ipc_bytes(state)):
                return True

    def _refused(
        self,
        wanted: Exchange,
        current: Exchange,
        known: ExchangeRegistration | None,
        rows: Path,
    ) -> ExchangeChangeRefusedError:
        where = (
            f"stored in the lake ({known.source})"
            if known is not None
            else "the registry's built-in definition"
        )
        try:
            shown = rows.relative_to(self._silver_root.parent).as_posix()
        except ValueError:
            shown = str(rows)
        msg = (
            f"refusing to change exchange {wanted.name!r} from {_describe(current)} ({where}) "
            f"to {_describe(wanted)}: the lake already has Silver rows for it (e.g. {shown}), "
            "cut into trading_date partitions with the current definition, and the change "
            "would move rows between trading_date partitions; keep the current definition"
        )
        return ExchangeChangeRefusedError(msg)

    def __repr__(self) -> str:
        return f"ExchangeStore({str(self.directory)!r}, {str(self._silver_root)!r})"
