"""Which runs are missing, stale, partial or damaged → run them with progress, resume.

The runner decides what to compute and in what order; an executor (executors.py)
carries the runs out: here, in worker processes or on a Ray cluster.
"""

from __future__ import annotations

from lab.core import devices
from lab.core.executor import Outcome
from lab.core.executors import executor as executor_named
from lab.core.matrix import RunSpec
from lab.core.progress import Reporter
from lab.core.store import FINISHED, Store


def resolve_device(requested: str) -> str:
    """auto, cpu, cuda or mps: the device runs here use (lab.core.devices)."""
    return devices.resolve(requested)


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
        if status in FINISHED and not force:
            outcomes[spec.name, spec.key] = Outcome(spec, "cached", 0.0)
            continue
        if status == "damaged" or (force and status in FINISHED):
            kept = store.set_aside(spec.name, spec.key)
            reporter.console.print(
                f"{spec.name}: {'damaged run ' if status == 'damaged' else ''}"
                f"previous result moved to {kept}; recomputing"
            )
        pending.append(spec)
    done = executor_named(executor).run(store, pending, device, reporter, address)
    outcomes.update(((o.spec.name, o.spec.key), o) for o in done)
    return [outcomes[spec.name, spec.key] for spec in specs]
