"""Exercise 1 benchmark: labreport's fit runs against the course-style loop.

    python bench/fit.py [--direct] [--baseline-scale 0.1] [--set fit.seeds=[2019]]

Ours: ``labreport run --only fit --force`` in a subprocess, into a throwaway
store (or, with --direct, the experiment functions called in this process).
Baseline: bench/course_fit.py, one process per setting as a student runs
exp1.py: each epochs value of 1A and each learning rate of 1B, one seed.

Work is counted as what each side delivers for questions 1A and 1B:
seed-runs (settings × seeds) and seed-epochs (their epochs summed). Ours
delivers every seed; the baseline one. --baseline-scale s < 1 runs the
baseline's runs longer than 1000 epochs for s × their epochs and
extrapolates their training time per epoch (start-up time is kept as
measured). On a shared machine wall time depends on the neighbours, so CPU
seconds are printed too. Wrap it in ``flock /tmp/bench.lock`` there.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SWEEPS = ("fit.epochs", "fit.lr")
TARGET_SECONDS = 30.0


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def load_specs(sets: list[str]):
    from lab.core import declaration, matrix

    decl = declaration.load(None, sets, False, cwd=ROOT)
    return decl, matrix.expand(decl, ["fit.epochs", "fit.lr", "fit.custom"])


# --- ours ---------------------------------------------------------------------------

def run_cli(sets: list[str], store: Path) -> dict:
    command = [sys.executable, "-m", "lab.cli", "run", "--only", "fit", "--force",
               "--store", str(store)]
    for override in sets:
        command += ["--set", override]
    cpu, started = children_cpu(), time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - started, children_cpu() - cpu
    if result.returncode != 0:
        sys.exit(f"labreport failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    durations = {}
    for record_path in store.glob("fit.*/*/record.json"):
        record = json.loads(record_path.read_text())
        durations[record_path.parent.parent.name] = float(record["duration_s"])
    return {"wall": wall, "cpu": cpu, "durations": durations}


def run_direct(specs, store: Path) -> dict:
    from lab.core.api import computation
    from lab.core.store import RunContext

    durations, cpu = {}, own_cpu()
    started = time.perf_counter()
    for spec in specs:
        function = computation(spec.entry)
        ctx = RunContext(spec.name, spec.key, spec.params, store / spec.name / spec.key)
        began = time.perf_counter()
        function(ctx)
        durations[spec.name] = time.perf_counter() - began
    return {"wall": time.perf_counter() - started, "cpu": own_cpu() - cpu, "durations": durations}


# --- the course-style baseline ----------------------------------------------------

def baseline_settings(decl) -> list[tuple[int, float]]:
    fit = decl.values["fit"]
    return ([(int(e), float(fit["epochs"]["lr"])) for e in sorted(fit["epochs"]["values"])]
            + [(int(fit["lr"]["epochs"]), float(lr)) for lr in fit["lr"]["values"]])


def run_baseline(settings, scale: float, threads: int) -> dict:
    total_wall = total_cpu = 0.0
    rows = []
    for epochs, lr in settings:
        ran = epochs if epochs <= 1000 or scale >= 1 else max(1000, math.ceil(epochs * scale))
        command = [sys.executable, str(ROOT / "bench" / "course_fit.py"), "--epochs", str(ran),
                   "--lr", str(lr), "--threads", str(threads)]
        cpu, started = children_cpu(), time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, check=True)
        wall, cpu = time.perf_counter() - started, children_cpu() - cpu
        train = json.loads(result.stdout.strip().splitlines()[-1])["train_seconds"]
        stretch = epochs / ran
        wall_full = (wall - train) + train * stretch
        cpu_full = cpu + (stretch - 1) * train * (cpu / wall if wall else 1)
        rows.append({"epochs": epochs, "ran": ran, "lr": lr, "wall": wall_full,
                     "per_epoch_ms": 1000 * train / ran, "extrapolated": ran != epochs})
        total_wall += wall_full
        total_cpu += cpu_full
    return {"wall": total_wall, "cpu": total_cpu, "rows": rows}


# --- report ---------------------------------------------------------------------------

def work(settings, seeds: int) -> tuple[int, int]:
    """(seed-runs, seed-epochs) delivered for these settings."""
    return len(settings) * seeds, sum(e for e, _ in settings) * seeds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--direct", action="store_true",
                        help="call the experiment functions in-process instead of the CLI")
    parser.add_argument("--baseline-scale", type=float, default=1.0,
                        help="run baseline runs over 1000 epochs this much shorter, extrapolate")
    parser.add_argument("--baseline-threads", type=int, default=1,
                        help="torch threads in the baseline processes (0: PyTorch's default)")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--set", dest="sets", action="append", default=[],
                        help="declaration override passed to labreport, e.g. fit.seeds=[2019]")
    args = parser.parse_args()

    decl, specs = load_specs(args.sets)
    seeds = len(decl.values["fit"]["seeds"])
    print(f"load average before: {os.getloadavg()[0]:.2f} (2 cores shared: wall times vary)")
    with tempfile.TemporaryDirectory(prefix="bench-fit-") as folder:
        ours = run_direct(specs, Path(folder)) if args.direct else run_cli(args.sets, Path(folder))
    how = "experiment functions, in-process" if args.direct else "labreport run --only fit --force"
    print(f"\nours ({how}): {ours['wall']:.1f} s wall, {ours['cpu']:.1f} s CPU "
          f"(target: all of Exercise 1 in <= {TARGET_SECONDS:.0f} s)")
    for name, seconds in sorted(ours["durations"].items()):
        print(f"  {name:11s} {seconds:6.1f} s")

    settings = baseline_settings(decl)
    our_runs, our_epochs = work(settings, seeds)
    # 1A + 1B only, comparable to the baseline: everything but fit.custom
    our_wall = ours["wall"] - ours["durations"].get("fit.custom", 0.0)
    print(f"  1A+1B: {our_wall:.1f} s for {our_runs} seed-runs (seeds={seeds}), {our_epochs} "
          f"seed-epochs: {our_runs / our_wall:.2f} seed-runs/s, {our_epochs / our_wall:,.0f} seed-epochs/s")
    if args.skip_baseline:
        return
    baseline = run_baseline(settings, args.baseline_scale, args.baseline_threads)
    base_runs, base_epochs = work(settings, 1)
    print(f"\nbaseline (course loop, one process per setting, 1 seed, "
          f"threads={args.baseline_threads or 'default'}):")
    for row in baseline["rows"]:
        note = f" (ran {row['ran']}, extrapolated)" if row["extrapolated"] else ""
        print(f"  epochs={row['epochs']:6d} lr={row['lr']:<6g} {row['wall']:7.1f} s  "
              f"{row['per_epoch_ms']:.3f} ms/epoch{note}")
    if any(row["extrapolated"] for row in baseline["rows"]):
        print(f"  --baseline-scale {args.baseline_scale}: long runs shortened, "
              "their training time extrapolated per epoch")
    print(f"  total: {baseline['wall']:.1f} s wall, ~{baseline['cpu']:.1f} s CPU for {base_runs} "
          f"seed-runs, {base_epochs} seed-epochs: {base_runs / baseline['wall']:.3f} seed-runs/s, "
          f"{base_epochs / baseline['wall']:,.0f} seed-epochs/s")
    ratio = (our_runs / our_wall) / (base_runs / baseline["wall"])
    print(f"\nthroughput ratio (seed-runs per second, ours / baseline): {ratio:.1f}x "
          f"(target >= 5x)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
