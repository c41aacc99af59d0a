"""Exercise 1C on several functions: what the tuning chose and how it compares with the defaults.

    python bench/custom_table.py [FUNCTION ...] [--set KEY=VALUE ...]

For each function, ``labreport run --only fit.custom --set fit.custom.function=F``
into a throwaway store (the declaration's search space and seeds, or --set
overrides), then one table row from the run's files, as the report reads them:
the chosen setting (one network or the mean of k), the mean of k networks' CV error ± SE
and its paired gap to the best single network, the noise floor of the CV error's SE
(σ²·√(2/(n·seeds))), the chosen setting's CV error ± SE (folds × seeds), the true error of the
chosen setting and of the course defaults, each retrained on all training
points (mean ± SE over seeds), the paired difference, wins/n and the verdict.
Wrap it in ``flock /tmp/cpu.lock`` on a shared machine.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FUNCTIONS = [
    "(x+1)**2 + sin(x**2+1) - log(x**2+1)",  # the handout's example
    "3*sin(x) + 0.5*x",  # smooth
    "2*abs(x) + 3*sin(3*x)",  # a kink at 0 and an oscillation
]


def run_custom(function: str, sets: list[str], store: Path) -> float:
    command = [sys.executable, "-m", "lab", "run", "--only", "fit.custom", "--store", str(store)]
    for override in [f"fit.custom.function={function}", *sets]:
        command += ["--set", override]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"labreport failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return time.perf_counter() - started


def row(store: Path) -> str:
    from lab.core.store import Store
    from lab.exercises.fit.custom_facts import read_custom

    [run] = list(Store(store).finished(["fit.custom"]))
    f = read_custom(run).facts
    hidden = [f.chosen_width] * f.chosen_depth
    averaged = f"mean of {f.chosen_networks}" if f.chosen_networks > 1 else "one network"
    tried = (
        f"{f.average_cv_error:.3f} ± {f.average_cv_se:.3f} (paired {f.average_gap:+.3f} ± {f.average_gap_se:.3f})"
        if f.networks_tried > 1
        else "not tried"
    )
    return (
        f"| `{f.function}` | lr {f.chosen_lr:g}, wd {f.chosen_weight_decay:g}, {hidden}, {f.chosen_epochs} ep, {averaged} "
        f"| {tried} | {f.noise_floor_se:.3f} "
        f"| {f.chosen_cv_error:.3f} ± {f.chosen_cv_se:.3f} "
        f"| {f.chosen_true_error:.3f} ± {f.chosen_true_error_se:.3f} "
        f"| {f.baseline_true_error:.3f} ± {f.baseline_true_error_se:.3f} "
        f"| {f.difference:+.3f} ± {f.difference_se:.3f} | {f.wins}/{f.seeds} | {f.verdict} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("functions", nargs="*", default=FUNCTIONS)
    parser.add_argument("--set", dest="sets", action="append", default=[], help="declaration override")
    args = parser.parse_args()
    from lab.core.environment import cpu_model

    print(f"CPU: {cpu_model()}")
    print(
        "| function | chosen (lr, weight decay, hidden, early-stop epochs, averaging) "
        "| mean of k: CV error ± SE (minus the best single, paired) | noise floor σ²√(2/(n·seeds)) "
        "| CV error ± SE (folds × seeds) "
        "| true error, chosen (all points) | true error, defaults (all points) | chosen − defaults ± SE "
        "| wins/n | verdict |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for function in args.functions:
        with tempfile.TemporaryDirectory(prefix="bench-custom-") as folder:
            seconds = run_custom(function, args.sets, Path(folder))
            print(row(Path(folder)) + f" <!-- {seconds:.0f} s -->", flush=True)


if __name__ == "__main__":
    main()
