"""Carrying out runs in worker processes: side by side, relaying their progress here.

Side by side means processes, not threads: a run sets process-wide torch state
(thread count, denormal flushing) that must not leak into a neighbour. Workers
are spawned, not forked, so no OpenMP state is inherited; their progress calls
travel to this process's display. The `workers` executor runs every run so:
the side-by-side ones together (a worker per core), the others one at a time.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import multiprocessing
import os
import queue
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from lab.core.executor import Outcome, execute
from lab.core.matrix import RunSpec
from lab.core.progress import Reporter
from lab.core.shutdown import skip_final_collection
from lab.core.store import Store

POLL_S = 0.1

_events: Any = None  # set in each worker: the queue progress events go to
_parent_pid = None  # the labreport process that started the worker


class RelayedTask:
    """A progress task whose calls travel to the parent as (label, method, args)."""

    def __init__(self, label: str):
        self.label = label

    def _send(self, method: str, *args) -> None:
        if os.getppid() != _parent_pid:  # the parent died: stop, leaving the run partial
            raise KeyboardInterrupt
        _events.put((self.label, method, args))

    def start(self, total: int, description: str = "") -> None:
        self._send("start", total, description)

    def advance(self, n: int = 1) -> None:
        self._send("advance", n)

    def update(self, completed: int) -> None:
        self._send("update", completed)

    def log(self, message: str) -> None:
        self._send("log", message)


class RelayingReporter:
    @contextlib.contextmanager
    def task(self, label: str) -> Iterator[RelayedTask]:
        yield RelayedTask(label)


def _start_worker(events, parent_pid: int, modules: tuple[str, ...]) -> None:
    global _events, _parent_pid
    _events, _parent_pid = events, parent_pid
    skip_final_collection()  # the parent waits for its workers to exit
    for module in modules:  # what the runs execute (torch with them): imported before any run is sent
        importlib.import_module(module)


def _started() -> None:
    """A task that does nothing: submitting one per worker makes the pool start them all now."""


class WorkerPool:
    """Spawned worker processes, each importing `modules` as it starts, and the queue their progress comes back on."""

    def __init__(self, workers: int, modules: tuple[str, ...] = ()):
        context = multiprocessing.get_context("spawn")
        self.workers = workers
        self.events = context.Queue()
        self.executor = ProcessPoolExecutor(
            workers, mp_context=context, initializer=_start_worker, initargs=(self.events, os.getpid(), modules)
        )

    def start(self) -> WorkerPool:
        for _ in range(self.workers):
            self.executor.submit(_started)
        return self

    def discard(self) -> None:
        """Stop the workers without waiting for what they are importing."""
        processes = list((getattr(self.executor, "_processes", None) or {}).values())
        self.executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()


_early: WorkerPool | None = None


def start_early(workers: int, modules: tuple[str, ...]) -> None:
    """Start `workers` workers now, importing `modules`, for the next `run_in_workers`.

    They import torch (about 2 s each) while this process checks the declaration, and the
    checks that need torch run in them (`in_early_worker`). On Lab 13's three side-by-side
    runs, forced (2 cores, Intel Xeon with AMX, two rounds each way, alternating) they began
    2.6-2.7 s after the command started; 3.5-3.7 s with the early workers but the checks
    here (three processes importing torch on two cores); 4.4-4.6 s with the workers
    started after the checks. A declaration the checks refuse takes 2.9-3.1 s to its error
    instead of 2.7 s. Workers nobody takes are stopped.
    """
    global _early
    discard_early()
    _early = WorkerPool(workers, modules).start()
    atexit.register(discard_early)


def discard_early() -> None:
    global _early
    if _early is not None:
        _early.discard()
    _early = None


def in_early_worker(function, *args):
    """`function(*args)` in a worker started early, where there is one, else here.

    For what needs the modules the workers import anyway (a check that evaluates the
    student's function with torch, asking torch for a GPU): this process then never
    imports torch for runs that all go to workers, and the workers start on two
    free cores instead of three processes importing on two. Its exceptions are raised here."""
    return call_in(_early, function, *args)


def call_in(pool: WorkerPool | None, function, *args):
    """`function(*args)` in one of `pool`'s workers (after the tasks sent before it), else here
    where there is no pool; its exceptions are raised here."""
    if pool is None:
        return function(*args)
    return pool.executor.submit(function, *args).result()


def take_pool(workers: int) -> WorkerPool:
    """The workers started early if they are as many as wanted, else new ones."""
    global _early
    pool, _early = _early, None
    if pool is not None and pool.workers == workers:
        return pool
    if pool is not None:
        pool.discard()
    return WorkerPool(workers)


def _execute_in_worker(store_root: str, spec: RunSpec, device: str) -> Outcome:
    return execute(Store(store_root), spec, device, RelayingReporter())


def run_in_workers(store: Store, specs: list[RunSpec], device: str, reporter: Reporter, workers: int) -> list[Outcome]:
    """Execute `specs` in `workers` processes; show their progress here."""
    workers_pool = take_pool(workers)
    events = workers_pool.events
    with reporter.session(), contextlib.ExitStack() as open_tasks, workers_pool.executor as pool:
        tasks: dict[str, object] = {}
        futures = [
            pool.submit(_execute_in_worker, str(store.root), spec, device) for spec in longest_first(store, specs)
        ]
        try:
            while not all(future.done() for future in futures):
                relay(events, tasks, open_tasks, reporter, timeout=POLL_S)
        except KeyboardInterrupt:
            # The workers got the same Ctrl-C; let them save their records first.
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        relay(events, tasks, open_tasks, reporter, timeout=0)
        return [future.result() for future in futures]


def longest_first(store: Store, specs: list[RunSpec]) -> list[RunSpec]:
    """The runs in the order they are handed to the workers: those never run before first, as
    declared, then the others by how long their last run took, longest first, so the short ones
    fill in at the end. Lab 13's three side-by-side runs (about 17, 18 and 2 s) on two workers
    went from the short one and one long one first, the other long one after it, to both long
    ones first: 21.6 and 22.3 s to 19.9 and 20.5 s, wall (`labreport run --only` them with
    --force, alternating; Intel Xeon with AMX, 2 cores)."""
    durations = {spec.name: store.last_duration(spec.name) for spec in specs}
    never = [spec for spec in specs if durations[spec.name] is None]
    known = [spec for spec in specs if durations[spec.name] is not None]
    return never + sorted(known, key=lambda spec: -(durations[spec.name] or 0.0))


def relay(events, tasks: dict, open_tasks: contextlib.ExitStack, reporter: Reporter, timeout: float) -> None:
    """Replay every waiting progress event on this process's tasks."""
    while True:
        try:
            label, method, args = events.get(timeout=timeout)
        except queue.Empty:
            return
        replay(label, method, args, tasks, open_tasks, reporter)
        timeout = 0


def replay(label: str, method: str, args, tasks: dict, open_tasks: contextlib.ExitStack, reporter: Reporter) -> None:
    """One relayed progress call on this process's task of that label (opened on first use)."""
    if label not in tasks:
        tasks[label] = open_tasks.enter_context(reporter.task(label))
    getattr(tasks[label], method)(*args)


class WorkerProcesses:
    """Every run in a worker process: the side-by-side ones together, a worker per core; the others one at a time."""

    takes_address = False

    def check(self, device: str, address: str | None) -> None:
        """Nothing to import; the device is resolved when runs start (a build that trains nothing needs no torch)."""

    def run(self, store: Store, specs: list[RunSpec], device: str, reporter: Reporter, address=None) -> list[Outcome]:
        from lab.core.runner import resolve_device

        device = resolve_device(device)
        together = [spec for spec in specs if spec.side_by_side]
        alone = [spec for spec in specs if not spec.side_by_side]
        done = (
            run_in_workers(store, together, device, reporter, min(len(together), os.cpu_count() or 1))
            if together
            else []
        )
        for spec in alone:
            done += run_in_workers(store, [spec], device, reporter, 1)
        outcomes = {(o.spec.name, o.spec.key): o for o in done}
        return [outcomes[spec.name, spec.key] for spec in specs]


WORKERS = WorkerProcesses()
