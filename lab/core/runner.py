"""Which runs are missing, stale, partial or damaged → run them with progress, resume.

The runner decides what to compute and in what order; an executor (executors.py)
carries the runs out: here, in worker processes or on a Ray cluster.
"""

from __future__ import annotations

import os

from lab.core import devices, workers
from lab.core.executor import Outcome
from lab.core.executors import executor as executor_named
from lab.core.matrix import RunSpec
from lab.core.progress import Reporter
from lab.core.store import FINISHED, Store


def resolve_device(requested: str) -> str:
    """auto, cpu, cuda or mps: the device runs here use (lab.core.devices)."""
    return devices.resolve(requested)


def start_workers_early(store: Store, specs: list[RunSpec], *, device: str, force: bool, executor: str) -> None:
    """Start the worker processes the side-by-side runs of `specs` will take, before they are planned in full.

    For the default executor on the CPU: when two or more such runs are to be computed, their
    workers start importing what the runs execute while this process goes on checking the
    declaration (which can take seconds of imports too); `run_all` then hands the runs to them.
    """
    if executor != "local" or device not in ("auto", "cpu"):
        return
    pending = [spec for spec in specs if spec.side_by_side and to_compute(store.status(spec.name, spec.key), force)]
    count = min(len(pending), os.cpu_count() or 1)
    if count >= 2:
        workers.start_early(count, tuple(sorted({spec.entry.partition(":")[0] for spec in pending})))


def to_compute(status: str, force: bool) -> bool:
    """A run in this store status is computed (again): it is not finished, or `force`."""
    return force or status not in FINISHED


def run_all(
    store: Store,
    specs: list[RunSpec],
    *,
    device: str,
    force: bool = False,
    reporter: Reporter | None = None,
    executor: str = "local",
    address: str | None = None,
) -> list[Outcome]:
    """Run what is not finished (all of it with `force`) with the executor named (executors.py)."""
    reporter = reporter or Reporter()
    outcomes: dict[tuple[str, str], Outcome] = {}  # by (name, key)
    pending = []
    for spec in specs:
        status = store.status(spec.name, spec.key)
        if not to_compute(status, force):
            outcomes[spec.name, spec.key] = Outcome(spec, "cached", 0.0)
            continue
        if status == "damaged" or (force and status in FINISHED):
            kept = store.set_aside(spec.name, spec.key)
            reporter.console.print(
                f"{spec.name}: {'damaged run ' if status == 'damaged' else ''}"
                f"previous result moved to {kept}; recomputing"
            )
        pending.append(spec)
    try:
        done = executor_named(executor).run(store, pending, device, reporter, address)
    finally:
        workers.discard_early()  # started for runs that went elsewhere (a GPU), or interrupted
    outcomes.update(((o.spec.name, o.spec.key), o) for o in done)
    return [outcomes[spec.name, spec.key] for spec in specs]
