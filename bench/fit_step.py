"""Exercise 1's training step (batched_mlp.py) timed on its own, and against another commit.

    flock /tmp/cpu.lock python bench/fit_step.py [--against REV] [--shape 5,200,64x64] [--blocks 40]

Times one step (loss_and_gradient + BatchedAdam.step, one thread, denormals
flushed, as training.train_models runs it) for each shape M,N,WIDTHS (models,
points, hidden widths; default: 1A's 5,200,64x64 and 1C's batches 75,160,32x32
and 75,160,64x64). With --against, batched_mlp.py as it was at REV is timed too,
in blocks of 250 steps taking turns with this tree's, so that a neighbour's load
falls on both alike; min, first quartile and median of the blocks are printed.
It also trains both for 2,000 steps on the same data and says whether the
losses, weights and Adam state came out bit for bit the same.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
MODULE = "lab/exercises/fit/batched_mlp.py"
DEFAULT_SHAPES = ["5,200,64x64", "75,160,32x32", "75,160,64x64"]
BLOCK_STEPS = 250


def load_module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def module_at(rev: str, folder: Path):
    source = subprocess.run(["git", "show", f"{rev}:{MODULE}"], cwd=ROOT, check=True, capture_output=True, text=True)
    path = folder / "batched_mlp_at_rev.py"
    path.write_text(source.stdout)
    return load_module(path, "batched_mlp_at_rev")


def parse_shape(text: str) -> tuple[int, int, list[int]]:
    models, points, widths = text.split(",")
    return int(models), int(points), [int(width) for width in widths.split("x")]


def trainer(module, models: int, points: int, hidden: list[int]):
    """A step function on fixed data, and the state it trains (losses, weights, Adam's moments)."""
    initial = [module.initial_parameters(hidden, torch.Generator().manual_seed(seed)) for seed in range(models)]
    model = module.BatchedMLP(initial, hidden)
    optimizer = module.BatchedAdam(model, [0.01] * models)
    x = torch.rand(models, points, 1, generator=torch.Generator().manual_seed(1)) * 10 - 5
    y = x**2 + torch.randn(models, points, 1, generator=torch.Generator().manual_seed(2)) * 3
    losses = torch.empty(models)

    def step() -> None:
        model.loss_and_gradient(x, y, losses)
        optimizer.step()

    return step, lambda: torch.cat([losses, model.flat, optimizer.exp_avg, optimizer.exp_avg_sq])


def time_blocks(steps: dict, blocks: int) -> dict[str, list[float]]:
    """Microseconds per step of each block of BLOCK_STEPS steps, the engines taking turns."""
    times: dict[str, list[float]] = {name: [] for name in steps}
    for step in steps.values():
        for _ in range(100):
            step()
    for _ in range(blocks):
        for name, step in steps.items():
            started = time.perf_counter()
            for _ in range(BLOCK_STEPS):
                step()
            times[name].append((time.perf_counter() - started) / BLOCK_STEPS * 1e6)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", help="a git revision whose batched_mlp.py to time alongside")
    parser.add_argument("--shape", action="append", help="M,N,WIDTHS, e.g. 5,200,64x64 (repeatable)")
    parser.add_argument("--blocks", type=int, default=40)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    engines = {"this tree": load_module(ROOT / MODULE, "batched_mlp_here")}
    with tempfile.TemporaryDirectory() as folder, torch.no_grad():
        if args.against:
            engines[args.against] = module_at(args.against, Path(folder))
        for shape in args.shape or DEFAULT_SHAPES:
            trainers = {name: trainer(module, *parse_shape(shape)) for name, module in engines.items()}
            times = time_blocks({name: step for name, (step, _) in trainers.items()}, args.blocks)
            for name, values in times.items():
                quartiles = statistics.quantiles(values, n=4)
                print(
                    f"{shape:>14}  {name:>12}: min {min(values):7.1f} us  q1 {quartiles[0]:7.1f}  "
                    f"median {quartiles[1]:7.1f}  ({args.blocks} blocks of {BLOCK_STEPS} steps)"
                )
            if args.against:
                print(f"{shape:>14}  bit for bit the same after 2,000 steps: {identical(shape, engines)}")


def identical(shape: str, engines: dict) -> bool:
    states = []
    for module in engines.values():
        step, state = trainer(module, *parse_shape(shape))
        for _ in range(2000):
            step()
        states.append(state())
    return all(torch.equal(states[0], other) for other in states[1:])


if __name__ == "__main__":
    main()
