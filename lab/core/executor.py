"""Carrying out one run in this process (`execute`), and the local executor.

A run needs only (store folder, spec, device) and writes only into its own
folder, so it can execute anywhere (executors.py lists where). Its record
says "partial" until the very end. The local executor runs here, one run
after another, except short side-by-side runs on a CPU, which go to worker
processes together (workers.py).
"""

from __future__ import annotations

import functools
import os
import platform
import subprocess
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from lab.core import devices
from lab.core.api import Tasks, computation
from lab.core.atomic import now_iso
from lab.core.errors import UserError
from lab.core.faults import fail_if_asked, hold_if_asked
from lab.core.matrix import RunSpec
from lab.core.progress import Reporter
from lab.core.store import RunContext, Store


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
        "threads": torch.get_num_threads(),  # a CPU's sums, and so its numbers, depend on it (verify --rerun)
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git_commit": git_commit(),
    }


class Local:
    """Here, one run after another; on a CPU, the side-by-side runs together in worker processes."""

    takes_address = False

    def check(self, device: str, address: str | None) -> None:
        """Nothing to import; the device is resolved when runs start (a build that trains nothing needs no torch)."""

    def run(self, store: Store, specs: list[RunSpec], device: str, reporter: Reporter, address=None) -> list[Outcome]:
        from lab.core.runner import resolve_device
        from lab.core.workers import in_early_worker, run_in_workers

        device = in_early_worker(resolve_device, device)
        together = [spec for spec in specs if spec.side_by_side] if device == "cpu" else []
        workers = min(len(together), os.cpu_count() or 1)
        outcomes: dict[tuple[str, str], Outcome] = {}
        with reporter.session():
            if workers >= 2:
                outcomes.update(
                    ((o.spec.name, o.spec.key), o) for o in run_in_workers(store, together, device, reporter, workers)
                )
            for spec in specs:
                if (spec.name, spec.key) not in outcomes:
                    outcomes[spec.name, spec.key] = execute(store, spec, device, reporter)
        return [outcomes[spec.name, spec.key] for spec in specs]


LOCAL = Local()
