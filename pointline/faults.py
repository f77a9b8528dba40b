"""Crash points for fault-injection tests.

``fault(point)`` ends the process at once (``os._exit``: no cleanup, no flushing, like
SIGKILL) when the environment variable ``POINTLINE_FAULT`` names that point. When
``POINTLINE_FAULT_ONCE`` names a file as well, only the first process to reach the point
dies (it creates that file, ``O_EXCL``); the others, and a retry, run on: the stand-in
for a worker killed mid-file whose task an engine (Ray) runs again. Unset, it costs one
dictionary lookup; it is called a few times per file, never per batch.
"""

from __future__ import annotations

import os

__all__ = ["fault"]

ENV = "POINTLINE_FAULT"
ONCE_ENV = "POINTLINE_FAULT_ONCE"


def fault(point: str) -> None:
    if os.environ.get(ENV) != point:
        return
    once = os.environ.get(ONCE_ENV)
    if once:
        try:
            os.close(os.open(once, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return
    os._exit(137)
