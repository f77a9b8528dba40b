"""The progress display of long commands: a tqdm bar on stderr, only when stderr is a
terminal and the output is not JSON; otherwise nothing is drawn. The command prints its
one summary line itself when done."""

from __future__ import annotations

import io
import os
import sys
from types import TracebackType
from typing import TextIO

from tqdm import tqdm

__all__ = ["Progress"]


class Progress:
    """A bar over ``total`` units (``None``: unknown, a counter with a rate): ``unit="B"``
    shows MB, MB/s and the ETA; ``extra`` text (rows, the current file) follows the bar.

    >>> with Progress(total=10, unit="file", label="verify", enabled=False) as bar:
    ...     bar.advance(3)
    >>> bar.done
    3
    """

    def __init__(
        self, *, total: int | None, unit: str, label: str, enabled: bool | None = None
    ) -> None:
        shown = sys.stderr.isatty() if enabled is None else enabled
        self.enabled = shown
        """Whether the bar is drawn (updates to a hidden bar cost nothing but are wasted)."""
        self.done = 0
        try:  # a terminal that reports no size (a bare pty) gets a fixed width
            sized = os.get_terminal_size(sys.stderr.fileno()).columns > 0
        except (OSError, ValueError, io.UnsupportedOperation):
            sized = False
        self._bar = tqdm(
            total=total,
            unit=unit,
            desc=label,
            unit_scale=unit == "B",
            unit_divisor=1024 if unit == "B" else 1000,
            file=sys.stderr,
            disable=not shown,
            dynamic_ncols=sized,
            ncols=None if sized else 100,
            mininterval=0.1,
            leave=False,
        )

    def set(self, done: int, extra: str | None = None) -> None:
        """Move to ``done`` units; ``extra`` replaces the text after the bar."""
        if done != self.done:
            self._bar.update(done - self.done)
            self.done = done
        if extra is not None:
            self._bar.set_postfix_str(extra, refresh=False)

    def advance(self, units: int = 1, extra: str | None = None) -> None:
        """``units`` more done."""
        self.set(self.done + units, extra)

    def write(self, out: TextIO, text: str) -> None:
        """Write ``text`` to ``out`` with the bar lifted off the terminal meanwhile (so
        lines on stdout and the bar on stderr do not overwrite each other)."""
        with tqdm.external_write_mode(file=sys.stderr):
            out.write(text)
            out.flush()

    def close(self) -> None:
        """Remove the bar (the command prints its summary line)."""
        self._bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
