"""One exception family for Pointline.

Every error Pointline raises derives from :class:`PointlineError`; each subclass also
inherits the builtin that a caller would naturally catch (``ValueError``, ``LookupError``).
Errors carry their context as attributes (``step``, ``file``, ``row``, ``field``) and build
one message that says what went wrong, where, what was got, and a hint.
"""

from __future__ import annotations

from typing import ClassVar

from pointline.codes import FileReason

__all__ = [
    "ChainError",
    "PointlineError",
    "SchemaError",
    "UnknownExchangeError",
    "UnknownTableError",
]


class PointlineError(Exception):
    """Base class of every error Pointline raises.

    The context attributes are ``None`` when unknown. ``str(err)`` is the full message,
    prefixed with the known context, for example
    ``step 'normalize': bronze/x.csv.gz row 1043 field 'price': '12.3.4' is not a decimal``.
    ``reason`` is the machine-readable code a failed file records as ``status_reason``.
    """

    reason: ClassVar[FileReason] = "ingest_error"

    def __init__(
        self,
        message: str,
        *,
        step: str | None = None,
        file: str | None = None,
        row: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.step = step
        self.file = file
        self.row = row
        self.field = field
        super().__init__(self._render())

    def _render(self) -> str:
        where: list[str] = []
        if self.step is not None:
            where.append(f"step {self.step!r}")
        location = " ".join(
            part
            for part in (
                self.file,
                None if self.row is None else f"row {self.row}",
                None if self.field is None else f"field {self.field!r}",
            )
            if part is not None
        )
        if location:
            where.append(location)
        return f"{', '.join(where)}: {self.message}" if where else self.message

    def with_context(self, *, step: str | None = None, file: str | None = None) -> PointlineError:
        """Fill in context that is still unknown, keeping what is already set."""
        if step is not None and self.step is None:
            self.step = step
        if file is not None and self.file is None:
            self.file = file
        self.args = (self._render(),)
        return self


class SchemaError(PointlineError, ValueError):
    """A table spec, a schema or a batch does not fit what was declared."""


class UnknownTableError(PointlineError, LookupError):
    """A table name that the schema registry does not know."""


class UnknownExchangeError(PointlineError, LookupError):
    """An exchange id that the exchange registry does not know."""

    reason: ClassVar[FileReason] = "unknown_exchange"


class ChainError(PointlineError, ValueError):
    """An operator chain is invalid (found when it is built) or a step broke its contract."""
