"""Which runs are missing, stale, partial or damaged → run them with progress, resume.

A run is handed to an executor as (spec, store root, device): everything it
needs travels with it and it writes only into its own folder, so the
in-process executor here can later be swapped for a pool or a cluster.
"""
from __future__ import annotations

import functools
import platform
import subprocess
import time
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path

from lab.errors import UserError
from lab.experiments import experiment
from lab.matrix import RunSpec
from lab.progress import Reporter
from lab.store import FINISHED, RunContext, Store, now_iso


@dataclass
class Outcome:
    spec: RunSpec
    status: str          # done / diverged / failed / cached
    seconds: float
    message: str = ""


def resolve_device(requested: str) -> str:
    import torch

    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda: no CUDA device is available here; use --device cpu or auto")
    if requested not in ("cpu", "cuda"):
        raise UserError(f"--device {requested!r}: choose auto, cpu or cuda")
    return requested


def device_name(device: str) -> str:
    import torch

    if device == "cuda":
        return torch.cuda.get_device_name(0)
    return cpu_model()


@functools.cache
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@functools.cache
def git_commit() -> str | None:
    """The commit of the labreport code that computed a run, if it lives in git."""
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent,
                                capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def needs_work(store: Store, spec: RunSpec, force: bool) -> bool:
    status = store.status(spec.name, spec.key)
    return force or status not in FINISHED


def run_all(store: Store, specs: list[RunSpec], *, device: str, force: bool = False,
            reporter: Reporter | None = None) -> list[Outcome]:
    reporter = reporter or Reporter()
    outcomes = []
    for spec in specs:
        status = store.status(spec.name, spec.key)
        if status in FINISHED and not force:
            outcomes.append(Outcome(spec, "cached", 0.0))
            continue
        if status == "damaged" or (force and status in FINISHED):
            kept = store.set_aside(spec.name, spec.key)
            reporter.console.print(f"{spec.name}: {'damaged run ' if status == 'damaged' else ''}"
                                   f"previous result moved to {kept}; recomputing")
        outcomes.append(execute(store, spec, device, reporter))
    return outcomes


def execute(store: Store, spec: RunSpec, device: str, reporter: Reporter) -> Outcome:
    """Run one spec in this process; the record says partial until it has finished."""
    function, version = experiment(spec.name)
    previous = store.read_record(spec.name, spec.key) or {}
    record = base_record(spec, version, device, previous)
    store.write_record(spec.name, spec.key, record)
    began = time.monotonic()
    with reporter.task(spec.name) as progress:
        ctx = RunContext(spec.name, spec.key, spec.params, store.run_dir(spec.name, spec.key),
                         device=device, options=spec.options, progress=progress)
        try:
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
    record.update(status=status, finished=now_iso(),
                  duration_s=round(record.pop("seconds_before") + seconds, 3),
                  summary=summary or {}, files=store.checksums(spec.name, spec.key))
    store.write_record(spec.name, spec.key, record)
    return Outcome(spec, status, seconds)


def base_record(spec: RunSpec, version: str, device: str, previous: dict) -> dict:
    import torch

    return {
        "name": spec.name, "key": spec.key, "status": "partial", "code_version": version,
        "params": spec.params, "quick": bool(spec.params.get("quick")),
        "seed": spec.params.get("seed", spec.params.get("seeds")),
        "started": previous.get("started") or now_iso(), "finished": None,
        "seconds_before": float(previous.get("seconds_before") or 0.0),
        "device": device, "device_name": device_name(device),
        "torch": torch.__version__, "python": platform.python_version(),
        "platform": platform.platform(), "git_commit": git_commit(),
    }


def collect_warnings(console) -> warnings.catch_warnings:
    """Show store warnings (damaged runs) as one plain line each."""
    def show(message, category, filename, lineno, file=None, line=None):
        console.print(f"[yellow]warning:[/] {message}", highlight=False)

    warnings.showwarning = show
    return warnings.catch_warnings()
