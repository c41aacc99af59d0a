"""Exercise 1 benchmark: labreport's fit runs against the course-style loop.

    python bench/fit.py [--impl handwritten|autograd] [--direct] [--baseline-scale 0.1] [--set fit.seeds=[2019]]

Ours, each part timed alone, every time in a subprocess into a fresh
throwaway store: 1A+1B (``labreport run --only fit.epochs --only fit.lr``),
1C (``--only fit.custom``) and the whole of Exercise 1 (``--only fit``); with
--direct, the experiment functions called one after another in this process.
--impl picks the training engine: the hand-written backward pass
(batched_mlp.py, the default) or autograd with torch.optim.Adam
(autograd_mlp.py); run it once with each to compare them.
Baseline: bench/course_fit.py, one process per setting as a student runs
exp1.py: each epochs value of 1A and each learning rate of 1B, one seed, with
PyTorch's default thread count (what the course script gets).

Work is counted as what runs: seed-epochs trained (one model trained one epoch),
ours as the runs report it (1A's epochs values are snapshots of one trajectory
to the largest, so 1A trains max(values) epochs per seed, not their sum), the
baseline's as it runs them (every setting its own run, one seed). The first
ratio compares training speed on that work; the second, seed-runs delivered
(settings × seeds: the results questions 1A and 1B ask for) per second, adds
what the snapshots save. --baseline-scale s < 1 runs the baseline's runs longer
than 1000 epochs for s × their epochs and extrapolates their training time per
epoch (start-up time is kept as measured). On a shared machine wall time
depends on the neighbours, so CPU seconds are printed too. Wrap it in ``flock
/tmp/cpu.lock`` there.
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
IMPL_ENV = "LABREPORT_FIT_IMPL"  # lab.exercises.fit.training.IMPL_ENV
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

PARTS = {"1A+1B": ["fit.epochs", "fit.lr"], "1C": ["fit.custom"], "Exercise 1": ["fit"]}


def run_cli_part(only: list[str], sets: list[str]) -> dict:
    """One `labreport run` of `only`, alone on a fresh store: its wall and CPU time and the
    seed-epochs its runs trained."""
    command = [sys.executable, "-m", "lab", "run"]
    for name in only:
        command += ["--only", name]
    for override in sets:
        command += ["--set", override]
    with tempfile.TemporaryDirectory(prefix="bench-fit-") as store:
        cpu, started = children_cpu(), time.perf_counter()
        result = subprocess.run(command + ["--store", store], cwd=ROOT, capture_output=True, text=True)
        wall, cpu = time.perf_counter() - started, children_cpu() - cpu
        summaries = [json.loads(path.read_text())["summary"] for path in Path(store).glob("*/*/record.json")]
    if result.returncode != 0:
        sys.exit(f"labreport failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return {"wall": wall, "cpu": cpu, "seed_epochs": trained(summaries)}


def trained(summaries: list[dict]) -> int:
    """Seed-epochs the runs trained, as they report them (every batched model's epochs)."""
    return sum(int(summary["timings"]["seed_epochs"]) for summary in summaries)


def run_cli(sets: list[str]) -> dict[str, dict]:
    return {part: run_cli_part(only, sets) for part, only in PARTS.items()}


def run_direct(specs) -> dict[str, dict]:
    """Each experiment function alone, one after another in this process."""
    from lab.core.api import computation
    from lab.core.store import RunContext

    times = {}
    with tempfile.TemporaryDirectory(prefix="bench-fit-") as folder:
        for spec in specs:
            function = computation(spec.entry)
            ctx = RunContext(spec.name, spec.key, spec.params, Path(folder) / spec.name / spec.key)
            cpu, began = own_cpu(), time.perf_counter()
            summary = function(ctx)
            times[spec.name] = {
                "wall": time.perf_counter() - began,
                "cpu": own_cpu() - cpu,
                "seed_epochs": trained([summary]),
            }
    return {
        "1A+1B": _sum(times["fit.epochs"], times["fit.lr"]),
        "1C": times["fit.custom"],
        "Exercise 1": _sum(*times.values()),
    }


def _sum(*parts: dict) -> dict:
    return {key: sum(part[key] for part in parts) for key in ("wall", "cpu", "seed_epochs")}


# --- the course-style baseline ----------------------------------------------------


def baseline_settings(decl) -> list[tuple[int, float]]:
    fit = decl.values["fit"]
    return [(int(e), float(fit["epochs"]["lr"])) for e in sorted(fit["epochs"]["values"])] + [
        (int(fit["lr"]["epochs"]), float(lr)) for lr in fit["lr"]["values"]
    ]


def run_baseline(settings, scale: float, threads: int) -> dict:
    total_wall = total_cpu = 0.0
    rows = []
    for epochs, lr in settings:
        ran = epochs if epochs <= 1000 or scale >= 1 else max(1000, math.ceil(epochs * scale))
        command = [
            sys.executable,
            str(ROOT / "bench" / "course_fit.py"),
            "--epochs",
            str(ran),
            "--lr",
            str(lr),
            "--threads",
            str(threads),
        ]
        cpu, started = children_cpu(), time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, check=True)
        wall, cpu = time.perf_counter() - started, children_cpu() - cpu
        train = json.loads(result.stdout.strip().splitlines()[-1])["train_seconds"]
        stretch = epochs / ran
        wall_full = (wall - train) + train * stretch
        cpu_full = cpu + (stretch - 1) * train * (cpu / wall if wall else 1)
        rows.append(
            {
                "epochs": epochs,
                "ran": ran,
                "lr": lr,
                "wall": wall_full,
                "per_epoch_ms": 1000 * train / ran,
                "extrapolated": ran != epochs,
            }
        )
        total_wall += wall_full
        total_cpu += cpu_full
    return {"wall": total_wall, "cpu": total_cpu, "rows": rows}


# --- report ---------------------------------------------------------------------------


def torch_version() -> str:
    import torch

    return torch.__version__


def seed_runs(settings, seeds: int) -> int:
    """Results delivered for 1A and 1B: one per setting and seed."""
    return len(settings) * seeds


def baseline_seed_epochs(settings) -> int:
    """What the course loop trains: every setting its own run, one seed."""
    return sum(epochs for epochs, _ in settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--direct", action="store_true", help="call the experiment functions in-process instead of the CLI"
    )
    parser.add_argument(
        "--baseline-scale",
        type=float,
        default=1.0,
        help="run baseline runs over 1000 epochs this much shorter, extrapolate",
    )
    parser.add_argument(
        "--baseline-threads", type=int, default=0, help="torch threads in the baseline processes (0: PyTorch's default)"
    )
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        help="declaration override passed to labreport, e.g. fit.seeds=[2019]",
    )
    parser.add_argument(
        "--impl",
        choices=["handwritten", "autograd"],
        default="handwritten",
        help="the training engine: hand-written backward (default) or autograd",
    )
    args = parser.parse_args()
    os.environ[IMPL_ENV] = args.impl  # read by the runs, in this process and in the CLI's

    from lab.core.environment import cpu_model

    decl, specs = load_specs(args.sets)
    seeds = len(decl.values["fit"]["seeds"])
    print(f"CPU: {cpu_model()}, {os.cpu_count()} logical cores, torch {torch_version()}")
    print(f"load average before: {os.getloadavg()[0]:.2f} (2 cores shared: wall times vary)")
    print(f"engine: {args.impl} (--impl)")
    ours = run_direct(specs) if args.direct else run_cli(args.sets)
    how = (
        "experiment functions, in-process, one after another"
        if args.direct
        else "labreport run --only ..., each part alone on a fresh store"
    )
    print(f"\nours ({how}; target: all of Exercise 1 in <= {TARGET_SECONDS:.0f} s):")
    for part, measured in ours.items():
        print(
            f"  {part:11s} {measured['wall']:6.1f} s wall, {measured['cpu']:6.1f} s CPU, "
            f"{measured['seed_epochs']:,} seed-epochs trained"
        )

    settings = baseline_settings(decl)
    our_runs, our_epochs, our_wall = seed_runs(settings, seeds), ours["1A+1B"]["seed_epochs"], ours["1A+1B"]["wall"]
    print(
        f"  1A+1B: {our_wall:.1f} s, {our_epochs:,} seed-epochs trained ({our_epochs / our_wall:,.0f} per s), "
        f"{our_runs} seed-runs delivered (seeds={seeds}; {our_runs / our_wall:.2f} per s)"
    )
    if args.skip_baseline:
        return
    baseline = run_baseline(settings, args.baseline_scale, args.baseline_threads)
    base_runs, base_epochs = seed_runs(settings, 1), baseline_seed_epochs(settings)
    print(f"\nbaseline (course loop, one process per setting, 1 seed, threads={args.baseline_threads or 'default'}):")
    for row in baseline["rows"]:
        note = f" (ran {row['ran']}, extrapolated)" if row["extrapolated"] else ""
        print(
            f"  epochs={row['epochs']:6d} lr={row['lr']:<6g} {row['wall']:7.1f} s  "
            f"{row['per_epoch_ms']:.3f} ms/epoch{note}"
        )
    if any(row["extrapolated"] for row in baseline["rows"]):
        print(
            f"  --baseline-scale {args.baseline_scale}: long runs shortened, their training time extrapolated per epoch"
        )
    print(
        f"  total: {baseline['wall']:.1f} s wall, ~{baseline['cpu']:.1f} s CPU: {base_epochs:,} seed-epochs trained "
        f"({base_epochs / baseline['wall']:,.0f} per s), {base_runs} seed-runs delivered "
        f"({base_runs / baseline['wall']:.3f} per s)"
    )
    speed = (our_epochs / our_wall) / (base_epochs / baseline["wall"])
    delivery = (our_runs / our_wall) / (base_runs / baseline["wall"])
    print(f"\ntraining speed (seed-epochs trained per second, ours / baseline): {speed:.1f}x")
    print(f"delivery (seed-runs delivered per second, ours / baseline; target >= 5x): {delivery:.1f}x")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
