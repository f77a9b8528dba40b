"""The exchange registry: the one place that maps exchange ids to time zones.

An :class:`Exchange` names a venue as Tardis writes it (``binance-futures``), its IANA time
zone and an optional session roll time. An :class:`ExchangeRegistry` is an immutable
mapping from names to exchanges; :meth:`ExchangeRegistry.register` returns a new registry,
so there is no module-level mutable state. :data:`DEFAULT_EXCHANGES` knows every Tardis
exchange id (all ``UTC``) plus the Chinese stock exchanges ``sse`` and ``szse``
(``Asia/Shanghai``). An id the registry does not know takes its vendor's zone when the
caller passes one (``get(name, default_timezone=...)``): a venue Tardis lists tomorrow
ingests today; the registry holds the exceptions. Registrations that must outlive one
process are stored in the lake by :mod:`pointline.exchange_store`.

Time zones are read from the ``tzdata`` package, never from the host's
``/usr/share/zoneinfo``, so the trading date of a row does not depend on the machine.

>>> DEFAULT_EXCHANGES.get("szse").timezone
'Asia/Shanghai'
>>> cme = DEFAULT_EXCHANGES.register(
...     "cme", timezone="America/Chicago", session_roll=datetime.time(17)
... )
>>> "cme" in cme, "cme" in DEFAULT_EXCHANGES
(True, False)
"""

from __future__ import annotations

import datetime
import difflib
import functools
import importlib.resources
import io
import re
import zoneinfo
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pointline.errors import SchemaError, UnknownExchangeError

__all__ = [
    "DEFAULT_EXCHANGES",
    "TARDIS_EXCHANGES",
    "Exchange",
    "ExchangeRegistry",
    "tzif_bytes",
]

_NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]*")
_ZONE_PART_RE = re.compile(r"[A-Za-z0-9_+-][A-Za-z0-9_+.-]*")

# Every exchange id Tardis.dev writes in its file names and `exchange` columns, as listed
# by tardis-node's EXCHANGES constant (including venues that have since closed, because
# their historical files remain). Tardis says `okex`, not `okx`, and `gate-io`, not `gate`.
TARDIS_EXCHANGES: tuple[str, ...] = (
    "ascendex",
    "binance",
    "binance-delivery",
    "binance-dex",
    "binance-european-options",
    "binance-futures",
    "binance-jersey",
    "binance-options",
    "binance-us",
    "bitfinex",
    "bitfinex-derivatives",
    "bitflyer",
    "bitget",
    "bitget-futures",
    "bitmex",
    "bitnomial",
    "bitstamp",
    "blockchain-com",
    "bullish",
    "bybit",
    "bybit-options",
    "bybit-spot",
    "coinbase",
    "coinbase-international",
    "coinflex",
    "crypto-com",
    "crypto-com-derivatives",
    "cryptofacilities",
    "delta",
    "deribit",
    "dydx",
    "dydx-v4",
    "ftx",
    "ftx-us",
    "gate-io",
    "gate-io-futures",
    "gemini",
    "hitbtc",
    "huobi",
    "huobi-dm",
    "huobi-dm-linear-swap",
    "huobi-dm-options",
    "huobi-dm-swap",
    "hyperliquid",
    "kraken",
    "kucoin",
    "kucoin-futures",
    "lighter",
    "mango",
    "okcoin",
    "okex",
    "okex-futures",
    "okex-options",
    "okex-spreads",
    "okex-swap",
    "phemex",
    "poloniex",
    "polymarket",
    "serum",
    "star-atlas",
    "upbit",
    "woo-x",
)

# Exchanges outside Tardis that Pointline knows by default, with their time zones.
_OTHER_EXCHANGES: tuple[tuple[str, str], ...] = (
    ("sse", "Asia/Shanghai"),
    ("szse", "Asia/Shanghai"),
)


def _check_name(name: object) -> str:
    if not isinstance(name, str) or _NAME_RE.fullmatch(name) is None:
        msg = (
            f"exchange name {name!r} is not valid: use a non-empty lower-case id of letters, "
            "digits, '-', '_' or '.', starting with a letter or digit, as Tardis writes it "
            "(e.g. 'binance-futures')"
        )
        raise SchemaError(msg)
    return name


@functools.cache
def _zone_names() -> tuple[str, ...]:
    text = importlib.resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8")
    return tuple(sorted(text.split()))


def _unknown_zone(timezone: str, reason: str) -> SchemaError:
    close = difflib.get_close_matches(timezone, _zone_names(), n=3, cutoff=0.6)
    lower = [z for z in _zone_names() if z.lower() == timezone.lower()]
    suggestions = list(dict.fromkeys(lower + close))
    hint = (
        f"did you mean {', '.join(repr(z) for z in suggestions)}?"
        if suggestions
        else "use an IANA name such as 'UTC' or 'America/Chicago'"
    )
    return SchemaError(f"unknown time zone {timezone!r} ({reason}); {hint}")


@functools.cache
def tzif_bytes(timezone: str) -> bytes:
    """The TZif file of an IANA time zone, read from the ``tzdata`` package.

    Raises :class:`~pointline.errors.SchemaError` when the name is not a zone ``tzdata``
    knows, or when its file is not a valid TZif file for ``zoneinfo``. Cached per name.
    """
    if not isinstance(timezone, str) or not timezone:
        msg = f"time zone must be a non-empty IANA name such as 'UTC', got {timezone!r}"
        raise SchemaError(msg)
    parts = timezone.split("/")
    if not all(_ZONE_PART_RE.fullmatch(part) for part in parts):
        raise _unknown_zone(timezone, "not an IANA zone name")
    try:
        data = importlib.resources.files("tzdata.zoneinfo").joinpath(*parts).read_bytes()
    except (OSError, ValueError) as exc:
        raise _unknown_zone(timezone, "not in the tzdata package") from exc
    if not data.startswith(b"TZif"):
        raise _unknown_zone(timezone, "not a TZif file in the tzdata package")
    try:
        # zoneinfo's own parser validates the file (the kernel reads the same bytes)
        zoneinfo.ZoneInfo.from_file(io.BytesIO(data), key=timezone)
    except ValueError as exc:
        raise _unknown_zone(timezone, f"tzdata file does not parse: {exc}") from exc
    return data


@dataclass(frozen=True, slots=True, kw_only=True)
class Exchange:
    """One venue: its id, its time zone and when its trading date rolls over.

    ``name`` is the lower-case venue id as Tardis writes it. ``timezone`` is an IANA name,
    validated against the ``tzdata`` package with ``zoneinfo`` at construction.
    ``session_roll`` is the local wall time at which the *next* trading date starts, for
    sessions that open the evening before (CME-style ``time(17)`` in ``America/Chicago``:
    an event at 17:00 local on Monday belongs to Tuesday's trading date). ``None`` means
    midnight: the trading date is the local calendar date.
    """

    name: str
    timezone: str
    session_roll: datetime.time | None = None

    def __post_init__(self) -> None:
        _check_name(self.name)
        tzif_bytes(self.timezone)
        roll = self.session_roll
        if roll is not None:
            if not isinstance(roll, datetime.time):
                msg = (
                    f"exchange {self.name!r}: session_roll must be a datetime.time "
                    f"(local wall time) or None, got {roll!r}"
                )
                raise SchemaError(msg)
            if roll.tzinfo is not None:
                msg = (
                    f"exchange {self.name!r}: session_roll {roll.isoformat()} must be a naive "
                    f"local wall time in {self.timezone}; drop its tzinfo"
                )
                raise SchemaError(msg)

    @property
    def roll_shift_us(self) -> int:
        """Microseconds added to local wall time before taking the calendar date.

        ``0`` without a session roll (or a roll at midnight); otherwise ``24h - roll``.
        """
        roll = self.session_roll
        if roll is None:
            return 0
        roll_us = ((roll.hour * 60 + roll.minute) * 60 + roll.second) * 1_000_000 + roll.microsecond
        return (86_400_000_000 - roll_us) % 86_400_000_000


@functools.lru_cache(maxsize=1024)
def _vendor_default(name: str, timezone: str) -> Exchange:
    """An unregistered exchange in its vendor's zone (cached: tz_partition asks per batch)."""
    return Exchange(name=name, timezone=timezone)


class ExchangeRegistry:
    """An immutable mapping from exchange name to :class:`Exchange`.

    Iterating yields the names in sorted order. :meth:`register` returns a new registry
    and leaves this one unchanged.
    """

    __slots__ = ("_exchanges",)

    def __init__(self, exchanges: Iterable[Exchange] = ()) -> None:
        table: dict[str, Exchange] = {}
        for exchange in exchanges:
            if not isinstance(exchange, Exchange):
                msg = f"ExchangeRegistry takes Exchange objects, got {exchange!r}"
                raise SchemaError(msg)
            known = table.get(exchange.name)
            if known is not None and known != exchange:
                msg = (
                    f"exchange {exchange.name!r} is given twice with different definitions: "
                    f"{known!r} and {exchange!r}"
                )
                raise SchemaError(msg)
            table[exchange.name] = exchange
        self._exchanges: dict[str, Exchange] = dict(sorted(table.items()))

    def get(self, name: str, *, default_timezone: str | None = None) -> Exchange:
        """The exchange called ``name``.

        A name the registry does not know takes ``default_timezone`` (its vendor's zone,
        e.g. ``"UTC"`` for Tardis) when one is given, as an exchange without a session
        roll; the registry itself is not changed. Without a default it is an
        :class:`UnknownExchangeError` naming the CLI and the Python remedies. An invalid
        name or zone is a :class:`~pointline.errors.SchemaError`.

        >>> DEFAULT_EXCHANGES.get("mexc-futures", default_timezone="UTC").timezone
        'UTC'
        """
        exchange = self._exchanges.get(name) if isinstance(name, str) else None
        if exchange is not None:
            return exchange
        if default_timezone is not None:
            return _vendor_default(name, default_timezone)
        names = list(self._exchanges)
        close = difflib.get_close_matches(str(name), names, n=5, cutoff=0.6)
        shown = close or names[:5]
        if not shown:
            known = "none"
        else:
            more = len(names) > len(shown)
            known = ", ".join(shown) + (", ..." if more else "")
        msg = (
            f"unknown exchange {name!r}; known: {known}; register it in the lake with "
            f"`pointline exchange add {name} --timezone TZ` (an IANA zone such as UTC), "
            f"or from Python with DEFAULT_EXCHANGES.register({name!r}, timezone='UTC') "
            "and pass the registry on"
        )
        raise UnknownExchangeError(msg)

    def register(
        self,
        name: str,
        *,
        timezone: str,
        session_roll: datetime.time | None = None,
        replace: bool = False,
    ) -> ExchangeRegistry:
        """A new registry that also knows ``name``.

        Registering a name again with the same definition returns an equal registry;
        with a different definition it is an error unless ``replace=True``.
        """
        exchange = Exchange(name=name, timezone=timezone, session_roll=session_roll)
        known = self._exchanges.get(exchange.name)
        if known is not None and known != exchange and not replace:
            msg = (
                f"exchange {name!r} is already registered as {known!r}; "
                f"pass replace=True to redefine it as {exchange!r}"
            )
            raise SchemaError(msg)
        table = dict(self._exchanges)
        table[exchange.name] = exchange
        return ExchangeRegistry(table.values())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._exchanges

    def __iter__(self) -> Iterator[str]:
        return iter(self._exchanges)

    def __len__(self) -> int:
        return len(self._exchanges)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ExchangeRegistry):
            return NotImplemented
        return self._exchanges == other._exchanges

    def __hash__(self) -> int:
        return hash(tuple(self._exchanges.values()))

    def __repr__(self) -> str:
        return f"ExchangeRegistry(<{len(self)} exchanges>)"


DEFAULT_EXCHANGES: ExchangeRegistry = ExchangeRegistry(
    [Exchange(name=name, timezone="UTC") for name in TARDIS_EXCHANGES]
    + [Exchange(name=name, timezone=zone) for name, zone in _OTHER_EXCHANGES]
)
"""Every Tardis exchange id in ``UTC``; ``sse`` and ``szse`` in ``Asia/Shanghai``."""
