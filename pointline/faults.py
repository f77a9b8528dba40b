"""Crash points for fault-injection tests.

``fault(point)`` ends the process at once (``os._exit``: no cleanup, no flushing, like
SIGKILL) when the environment variable ``POINTLINE_FAULT`` names that point. Unset, it
costs one dictionary lookup; it is called a few times per file, never per batch.
"""

from __future__ import annotations

import os

__all__ = ["fault"]

ENV = "POINTLINE_FAULT"


def fault(point: str) -> None:
    if os.environ.get(ENV) == point:
        os._exit(137)
