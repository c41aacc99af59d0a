"""Carrying out runs: one in this process, or several side by side in workers.

A run needs only (store folder, spec, device) and writes only into its own
folder, so it can execute anywhere. Its record says "partial" until the very
end. Side by side means worker processes, not threads: a run sets
process-wide torch state (thread count, denormal flushing) that must not leak
into a neighbour. Workers are spawned, not forked, so no OpenMP state is
inherited; their progress is relayed to this process's display.
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
import os
import platform
import queue
import subprocess
import time
import traceback
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.core import devices
from lab.core.api import Tasks, computation
from lab.core.atomic import now_iso
from lab.core.errors import UserError
from lab.core.faults import fail_if_asked, hold_if_asked
from lab.core.matrix import RunSpec
from lab.core.progress import Reporter
from lab.core.store import RunContext, Store

POLL_S = 0.1


@dataclass
class Outcome:
    spec: RunSpec
    status: str  # done / diverged / failed / cached
    seconds: float
    message: str = ""


def device_name(device: str) -> str:
    return devices.name(device)


@functools.cache
def git_commit() -> str | None:
    """The commit of the labreport code that computed a run, if it lives in git."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def execute(store: Store, spec: RunSpec, device: str, reporter: Tasks, on_saved=None) -> Outcome:
    """Run one spec in this process; the record says partial until it has finished.
    `on_saved(path)` hears of each checkpoint written (a remote run sends it to the driver)."""
    function = computation(spec.entry)
    previous = store.read_record(spec.name, spec.key) or {}
    record = base_record(spec, device, previous)
    store.write_record(spec.name, spec.key, record)
    hold_if_asked(f"{spec.name}:start")
    began = time.monotonic()
    with reporter.task(spec.name) as progress:
        ctx = RunContext(
            spec.name,
            spec.key,
            spec.params,
            store.run_dir(spec.name, spec.key),
            device=device,
            options=spec.options,
            progress=progress,
            on_saved=on_saved,
        )
        try:
            fail_if_asked(spec.name)
            summary = function(ctx)
        except KeyboardInterrupt:
            record["seconds_before"] = record["seconds_before"] + time.monotonic() - began
            store.write_record(spec.name, spec.key, record)
            raise
        except UserError:
            store.write_record(spec.name, spec.key, {**record, "status": "failed"})
            raise
        except Exception as error:  # a failed run must not stop the others
            seconds = time.monotonic() - began
            message = f"{type(error).__name__}: {error}"
            ctx.write_bytes("error.txt", traceback.format_exc().encode())
            store.write_record(spec.name, spec.key, {**record, "status": "failed", "error": message})
            progress.log(f"failed after {seconds:.0f}s: {message} (details: {ctx.dir / 'error.txt'})")
            return Outcome(spec, "failed", seconds, message)
    seconds = time.monotonic() - began
    status = "diverged" if (summary or {}).get("status") == "diverged" else "done"
    record.update(
        status=status,
        finished=now_iso(),
        duration_s=round(record.pop("seconds_before") + seconds, 3),
        summary=summary or {},
        files=store.checksums(spec.name, spec.key),
    )
    store.write_record(spec.name, spec.key, record)
    return Outcome(spec, status, seconds)


def base_record(spec: RunSpec, device: str, previous: dict) -> dict:
    import torch

    return {
        "name": spec.name,
        "key": spec.key,
        "status": "partial",
        "code_version": spec.code_version,
        "code": spec.code,  # the driver's: the code its key hashed, wherever the run executes
        "params": spec.params,
        "quick": bool(spec.params.get("quick")),
        "seed": spec.params.get("seed", spec.params.get("seeds")),
        "started": previous.get("started") or now_iso(),
        "finished": None,
        "seconds_before": float(previous.get("seconds_before") or 0.0),
        "device": device,
        "device_name": device_name(device),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git_commit": git_commit(),
    }


# --- worker processes --------------------------------------------------------------

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


def _start_worker(events, parent_pid: int) -> None:
    global _events, _parent_pid
    _events, _parent_pid = events, parent_pid


def _execute_in_worker(store_root: str, spec: RunSpec, device: str) -> Outcome:
    return execute(Store(store_root), spec, device, RelayingReporter())


def run_in_workers(store: Store, specs: list[RunSpec], device: str, reporter: Reporter, workers: int) -> list[Outcome]:
    """Execute `specs` in `workers` processes; show their progress here."""
    context = multiprocessing.get_context("spawn")
    events = context.Queue()
    with (
        reporter.session(),
        contextlib.ExitStack() as open_tasks,
        ProcessPoolExecutor(
            workers, mp_context=context, initializer=_start_worker, initargs=(events, os.getpid())
        ) as pool,
    ):
        tasks: dict[str, object] = {}
        futures = [pool.submit(_execute_in_worker, str(store.root), spec, device) for spec in specs]
        try:
            while not all(future.done() for future in futures):
                relay(events, tasks, open_tasks, reporter, timeout=POLL_S)
        except KeyboardInterrupt:
            # The workers got the same Ctrl-C; let them save their records first.
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        relay(events, tasks, open_tasks, reporter, timeout=0)
        return [future.result() for future in futures]


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
