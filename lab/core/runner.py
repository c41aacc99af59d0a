"""Which runs are missing, stale, partial or damaged → run them with progress, resume.

The runner decides what to compute and in what order; `lab.core.executor` carries
each run out, here or in worker processes.
"""

from __future__ import annotations

import os

from lab.core import devices
from lab.core.executor import Outcome, execute, run_in_workers
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
    """Run what is not finished (all of it with `force`): here, or as Ray tasks with executor "ray"."""
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
    if executor == "ray":
        from lab.core.ray_executor import run_on_ray

        done = run_on_ray(store, pending, device, reporter, address) if pending else []
        outcomes.update(((o.spec.name, o.spec.key), o) for o in done)
        return [outcomes[spec.name, spec.key] for spec in specs]
    device = resolve_device(device)
    together = [spec for spec in pending if spec.side_by_side] if device == "cpu" else []
    workers = min(len(together), os.cpu_count() or 1)
    with reporter.session():
        if workers >= 2:
            done = run_in_workers(store, together, device, reporter, workers)
            outcomes.update(((o.spec.name, o.spec.key), o) for o in done)
        for spec in pending:
            if (spec.name, spec.key) not in outcomes:
                outcomes[spec.name, spec.key] = execute(store, spec, device, reporter)
    return [outcomes[spec.name, spec.key] for spec in specs]
