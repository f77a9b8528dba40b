"""Many Bronze files at once: a local process pool or a Ray cluster (issue 15).

Each file is ingested by :func:`pointline.ingest.ingest_file` in its own worker process;
the lake is the only coordination (per-file leased locks, put-if-absent manifest
commits), so workers share nothing, the driver holds no state a crash could lose, and the
result is the same bytes whatever the number of workers, the engine or the order files
finish in. Workers open the lake by its root with the default registries (built-in and
plug-in vendors, the exchange registry plus the lake's stored registrations).

Two engines, one contract (:class:`Runner`): results come back in input order, and a
file whose worker process died (killed, out of memory, its node lost) past the engine's
retries is handed to ``lost(index, error)`` instead of ending the run:

- a local pool of spawned processes (no fork of a parent that may hold threads and open
  files); a worker that dies breaks the pool, so the files not yet finished are lost;
- Ray (``pip install 'pointline[ray]'``): one task per file, retried by Ray when its
  worker dies (ingest is idempotent: the retry breaks the dead writer's lock and starts
  the file again). Every node must see the lake at the same path on a shared POSIX
  filesystem (README, "On a Ray cluster").
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing as mp
import os
import queue
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pointline.bronze import BronzeFileMetadata
from pointline.errors import PointlineError
from pointline.exchanges import DEFAULT_EXCHANGES
from pointline.ingest import IngestionResult, ingest_file
from pointline.lake import Lake
from pointline.manifest import file_id_for
from pointline.vendors.registry import DEFAULT_VENDORS

__all__ = [
    "RETRIES",
    "RayUnavailableError",
    "Runner",
    "default_workers",
    "ingest_many",
    "lost_result",
    "shareable",
]

T = TypeVar("T")
R = TypeVar("R")

RETRIES = 3
"""Times a file runs again after its worker process died: Ray's ``max_retries`` (its
default), and new local pools after a broken one."""

ORPHAN_CHECK_S = 0.5
"""How often a local pool worker checks that the driver is still alive."""

PROGRESS_INTERVAL_S = 0.25
"""Least time between two progress reports of one file from a worker process."""

LOCAL_OBJECT_STORE_BYTES = 128 << 20
"""Object store of a local Ray cluster started here: tasks return small result rows."""


class RayUnavailableError(PointlineError):
    """``--ray`` without Ray installed, or a cluster address that cannot be reached."""

    reason = "ingest_error"


def default_workers() -> int:
    """Worker processes when not given: one per core this process may use, at most one
    per GiB of memory (an ingest peaks near 250 MiB; one file's own threads, the CSV
    reader and the Parquet encoder, already overlap within about one core)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1 << 30)
    except (ValueError, OSError, AttributeError):
        memory_gib = cores or 1
    return max(1, min(cores or 1, memory_gib))


def shareable(lake: Lake) -> bool:
    """Whether worker processes can open ``lake`` by its root: its registries are the
    defaults (a registry built in Python does not cross processes)."""
    return lake.vendors is DEFAULT_VENDORS and lake.exchanges is DEFAULT_EXCHANGES


@dataclass(frozen=True, slots=True)
class Runner:
    """Where files run: ``workers`` processes on this machine, or Ray.

    ``ray``: submit one task per file to a Ray cluster: the one at ``ray_address``
    (``"auto"``: ``RAY_ADDRESS``, else the cluster ``ray start`` left on this node;
    ``"host:port"`` or ``"ray://..."``), else a new local cluster of ``workers`` CPUs
    (default :func:`default_workers`) started for the run and stopped after it, even
    when another runs on this machine. When this process has already called
    ``ray.init()``, that cluster is used as it is. With Ray, ``workers`` also caps the
    tasks in flight (default: twice the cluster's CPUs).
    """

    workers: int | None = None
    ray: bool = False
    ray_address: str | None = None

    @property
    def uses_ray(self) -> bool:
        return self.ray or self.ray_address is not None

    def map(
        self,
        fn: Callable[..., R],
        *columns: Sequence[Any],
        lost: Callable[[int, BaseException], R],
        progress: Callable[[int, int, int], None] | None = None,
    ) -> Iterator[R]:
        """``fn(*row)`` for each row of ``columns``, in input order; ``lost(i, error)``
        for a row whose worker process died (past Ray's retries). One local worker runs
        ``fn`` in this process.

        ``progress``, if given, makes the workers call ``fn(*row, progress=report)``;
        each ``report(rows, done)`` reaches ``progress(i, rows, done)`` in this process,
        in the thread iterating the results, at most every
        :data:`PROGRESS_INTERVAL_S` per file (one worker: every call).
        """
        if self.uses_ray:
            return _ray_map(fn, columns, self, lost, progress)
        files = columns[0] if columns else ()
        if self.in_process(files):
            return _serial_map(fn, columns, progress)
        return _pool_map(fn, columns, self.local_workers(files), lost, progress)

    def in_process(self, files: Sequence[Any]) -> bool:
        """Whether :meth:`map` runs ``files`` in this process (one local worker): then
        ``fn`` may take objects that do not cross processes (a :class:`Lake` built with
        its own registries)."""
        return not self.uses_ray and self.local_workers(files) <= 1

    def local_workers(self, files: Sequence[Any]) -> int:
        """Local processes for ``files``: ``workers`` (default :func:`default_workers`),
        at most one per file."""
        wanted = default_workers() if self.workers is None else self.workers
        return max(1, min(wanted, len(files)))


class _Report:
    """A worker's progress callback for file ``index``: puts ``(index, rows, done)`` on
    the run's queue (a manager queue or a Ray queue), at most every
    :data:`PROGRESS_INTERVAL_S`."""

    def __init__(self, sink: Any, index: int) -> None:
        self._sink, self._index, self._last = sink, index, 0.0

    def __call__(self, rows: int, done: int) -> None:
        now = time.monotonic()
        if now - self._last >= PROGRESS_INTERVAL_S:
            self._last = now
            self._sink.put((self._index, rows, done))


def _reporting(fn: Callable[..., R], sink: Any, index: int, *row: Any) -> R:
    """In a worker: ``fn(*row)`` with its progress sent to ``sink``."""
    if sink is None:
        return fn(*row)
    return fn(*row, progress=_Report(sink, index))


def _drain(sink: Any, progress: Callable[[int, int, int], None] | None) -> None:
    """Hand every queued report to ``progress``."""
    if sink is None or progress is None:
        return
    while True:
        try:
            index, rows, done = sink.get_nowait()
        except queue.Empty:
            return
        progress(index, rows, done)


def _serial_map(
    fn: Callable[..., R],
    columns: Sequence[Sequence[Any]],
    progress: Callable[[int, int, int], None] | None,
) -> Iterator[R]:
    for i, row in enumerate(zip(*columns, strict=True)):
        if progress is None:
            yield fn(*row)
        else:
            yield fn(*row, progress=functools.partial(progress, i))


def _pool_map(
    fn: Callable[..., R],
    columns: Sequence[Sequence[Any]],
    workers: int,
    lost: Callable[[int, BaseException], R],
    progress: Callable[[int, int, int], None] | None,
) -> Iterator[R]:
    """The local engine. A worker that dies breaks the whole pool (every unfinished
    future fails with ``BrokenProcessPool``, and which file killed it is unknown), so the
    files not finished run again in a new pool, up to :data:`RETRIES` times, then go to
    ``lost``. Results in input order; an interrupted run cancels the files not started
    and waits for the running ones."""
    rows = list(zip(*columns, strict=True))
    todo = list(range(len(rows)))
    done: dict[int, R] = {}
    emitted = 0
    context = mp.get_context("spawn")
    for _ in range(1 + RETRIES):
        broken: list[int] = []
        error: BaseException | None = None
        with contextlib.ExitStack() as stack:
            sink = None
            if progress is not None:
                sink = stack.enter_context(context.Manager()).Queue()
            pool = stack.enter_context(
                ProcessPoolExecutor(
                    workers,
                    mp_context=context,
                    initializer=_exit_with_parent,
                    initargs=(os.getpid(),),
                )
            )
            try:
                futures = {i: pool.submit(_reporting, fn, sink, i, *rows[i]) for i in todo}
                for i in todo:
                    future = futures[i]
                    while not future.done():
                        wait([future], timeout=PROGRESS_INTERVAL_S)
                        _drain(sink, progress)
                    try:
                        done[i] = future.result()
                    except BrokenProcessPool as exc:  # a worker died
                        broken.append(i)
                        error = exc
                    while emitted in done:
                        yield done.pop(emitted)
                        emitted += 1
            except BaseException:  # interrupted, or the caller stopped reading
                pool.shutdown(wait=False, cancel_futures=True)
                raise
        todo = broken
        if not todo:
            return
    assert error is not None
    for i in todo:
        done[i] = lost(i, error)
    while emitted in done:
        yield done.pop(emitted)
        emitted += 1


def _exit_with_parent(parent: int) -> None:
    """In a pool worker: end this process soon after ``parent`` (the driver) is gone, so
    a killed driver leaves no workers ingesting on their own (what they were writing is
    left as a crash leaves it, for the next run or ``repair``)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(ORPHAN_CHECK_S)
        os._exit(1)

    threading.Thread(target=watch, name="pointline-parent-watch", daemon=True).start()


def _import_ray() -> Any:
    try:
        import ray  # noqa: PLC0415  (optional: pip install 'pointline[ray]')
    except ImportError as exc:
        msg = "Ray is not installed: pip install 'pointline[ray]' (or run without --ray)"
        raise RayUnavailableError(msg) from exc
    return ray


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Fail at once on a ``host:port`` or ``ray://host:port`` nobody listens on (Ray
    itself retries such an address for minutes); ``auto`` is Ray's to resolve."""
    if address == "auto":
        return
    forms = "give 'auto', host:port of the head node (port 6379 by default) or ray://host:10001"
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        msg = f"{address!r} is not a Ray cluster address: {forms}"
        raise RayUnavailableError(msg)
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as exc:
        msg = f"cannot reach the Ray cluster at {address}: {exc} ({forms})"
        raise RayUnavailableError(msg) from exc


def _ray_map(
    fn: Callable[..., R],
    columns: Sequence[Sequence[Any]],
    runner: Runner,
    lost: Callable[[int, BaseException], R],
    progress: Callable[[int, int, int], None] | None,
) -> Iterator[R]:
    ray = _import_ray()
    # Ray prints its driver-side notices (a worker died, a task is retried; more flushed
    # by ``ray.shutdown``) on sys.stdout; they are diagnostics, so stdout stays the
    # command's output (JSON lines).
    with contextlib.redirect_stdout(sys.stderr):
        started = not ray.is_initialized()
        if started:
            _init_ray(ray, runner)
        try:
            cpus = int(ray.cluster_resources().get("CPU", 1))
            window = max(1, runner.workers or 2 * cpus)
            task = ray.remote(_reporting).options(num_cpus=1, max_retries=RETRIES)
            sink = None
            if progress is not None:
                from ray.util.queue import Queue  # noqa: PLC0415

                sink = Queue(actor_options={"num_cpus": 0})
            rows = [(fn, sink, i, *row) for i, row in enumerate(zip(*columns, strict=True))]
            try:
                yield from _in_order(
                    ray, task, rows, window, lost, idle=lambda: _drain(sink, progress)
                )
            finally:
                if sink is not None:
                    sink.shutdown()
        finally:
            if started:
                ray.shutdown()


def _init_ray(ray: Any, runner: Runner) -> None:
    """Start a new local cluster, or join the one at ``runner.ray_address``."""
    local = runner.ray_address is None
    if not local:
        _check_reachable(str(runner.ray_address))
    try:
        ray.init(
            # "local": a new cluster even when `ray start` left one on this machine
            # (address=None would join that one, or RAY_ADDRESS's)
            address="local" if local else runner.ray_address,
            num_cpus=(runner.workers or default_workers()) if local else None,
            object_store_memory=LOCAL_OBJECT_STORE_BYTES if local else None,
            include_dashboard=False,
            logging_level="warning",
            log_to_driver=False,
        )
    except (ConnectionError, RuntimeError, ValueError) as exc:
        if local:
            msg = f"cannot start a local Ray cluster: {exc}"
        else:
            msg = (
                f"cannot join the Ray cluster at {runner.ray_address}: {exc} (a cluster "
                f"with token authentication (on by default in recent Ray) needs "
                f"RAY_AUTH_MODE=token and its token here, in RAY_AUTH_TOKEN or "
                f"~/.ray/auth_token; `ray start` prints how to connect)"
            )
        raise RayUnavailableError(msg) from exc


def _in_order(
    ray: Any,
    task: Any,
    rows: list[tuple[Any, ...]],
    window: int,
    lost: Callable[[int, BaseException], R],
    *,
    idle: Callable[[], None],
) -> Iterator[R]:
    """Submit ``rows`` keeping at most ``window`` tasks in flight; yield in input order
    (finished results wait for the ones before them; they are small rows)."""
    pending: dict[Any, int] = {}
    done: dict[int, R] = {}
    submitted = emitted = 0
    while emitted < len(rows):
        while submitted < len(rows) and len(pending) < window:
            pending[task.remote(*rows[submitted])] = submitted
            submitted += 1
        if emitted not in done:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=PROGRESS_INTERVAL_S)
            idle()
            for ref in ready:
                i = pending.pop(ref)
                done[i] = _get(ray, ref, i, lost)
            continue
        yield done.pop(emitted)
        emitted += 1


def _get(ray: Any, ref: Any, i: int, lost: Callable[[int, BaseException], R]) -> R:
    try:
        result: R = ray.get(ref)
    except ray.exceptions.RayTaskError as exc:  # the function raised: a bug, not a crash
        raise exc.as_instanceof_cause() from None
    except ray.exceptions.RayError as exc:  # worker or node died past the retries
        return lost(i, exc)
    return result


def lost_result(lake: Lake, meta: BronzeFileMetadata, error: BaseException) -> IngestionResult:
    """The result of a file whose worker died past the retries: what the manifest now
    records for it (usually ``pending``: a new run or ``pointline repair`` ingests it
    again), reported as ``failed`` for this run with the engine's error."""
    file_id = file_id_for(*meta.identity)
    entry = lake.manifest().get(file_id)
    if entry is None or entry.status != "pending":
        state = "nothing of it was recorded: run the ingest again"
    else:
        state = "recorded pending: run the ingest again or `pointline repair`"
    why = str(error).splitlines()[0] if str(error) else ""
    message = (
        f"{meta.bronze_path}: the worker process ingesting it died, in each of "
        f"{1 + RETRIES} tries ({type(error).__name__}: {why}); nothing of it is visible, "
        f"{state}"
    )
    return IngestionResult(
        status="failed",
        file_id=file_id,
        bronze_path=meta.bronze_path,
        table_name=entry.table_name if entry is not None else "unknown",
        status_reason="ingest_error",
        error_message=message,
    )


def _ingest(
    where: Lake | str,
    meta: BronzeFileMetadata,
    options: dict[str, Any],
    progress: Callable[[int, int], None] | None = None,
) -> IngestionResult:
    """One file, into the lake or (in a worker process) the lake at that root."""
    return ingest_file(meta, lake=Lake.at(where), progress=progress, **options)


def ingest_many(
    metas: Iterable[BronzeFileMetadata],
    *,
    lake: Lake | str | Path,
    workers: int | None = None,
    ray: bool = False,
    ray_address: str | None = None,
    force: bool = False,
    dry_run: bool = False,
    allow_duplicates: bool = False,
    progress: Callable[[int, int, int], None] | None = None,
) -> list[IngestionResult]:
    """Ingest ``metas`` with ``workers`` local processes (default
    :func:`default_workers`), or as one Ray task each when ``ray`` or ``ray_address``
    is given (see :class:`Runner`); results in the order of ``metas``. A lake with
    registries built in Python runs in this process. A file whose worker died past the
    retries comes back ``failed`` (:func:`lost_result`). ``progress(i, rows, done)``,
    if given, hears from the file ``metas[i]`` while it runs: rows read so far and the
    Bronze bytes consumed (compressed, for gzip), at most every
    :data:`PROGRESS_INTERVAL_S` from a worker.

    Raises :class:`RayUnavailableError` when Ray is asked for but not installed or not
    reachable.
    """
    the_lake = Lake.at(lake)
    files = list(metas)
    options: dict[str, Any] = {
        "force": force,
        "dry_run": dry_run,
        "allow_duplicates": allow_duplicates,
    }
    runner = Runner(workers=workers, ray=ray, ray_address=ray_address)
    if not shareable(the_lake):
        runner = Runner(workers=1)  # registries built in Python do not cross processes
    where = the_lake if runner.in_process(files) else str(the_lake.root)
    return list(
        runner.map(
            functools.partial(_ingest, where),
            files,
            [options] * len(files),
            lost=lambda i, exc: lost_result(the_lake, files[i], exc),
            progress=progress,
        )
    )
