"""Issue 28's four speed figures, measured in one run on this machine, each beside its target.

    python bench/targets.py --data PATH [--batches 100] [--repeat 5]

1. README command 1's build: `labreport build` in a fresh folder with the data given
   (decoding the data, every run, the figures and the PDF), wall time; target 5 min.
2. The re-render: `build --no-run` of that full report after an edit of the lab's copy of
   the report template (bench/everyday.py's edit), median of --repeat; target 2.5 s.
3. All of Exercise 1: `labreport run --only fit --force` in that folder, wall; target 20 s.
4. CIFAR per epoch (train + test) against the course loop at each loop's default numerics,
   from bench/cifar_epoch.py --batches N in the same run, printed with its same-precision
   (fp32) ratio; target 4.5x.

Every figure comes from this machine in this run, so none is compared across machines.
Everything uses every core: run it alone (e.g. under flock).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.everyday import build_after_edit, editable_template, labreport  # noqa: E402
from lab.core.environment import cpu_model  # noqa: E402

TARGETS = {  # figure -> (target, unit, lower is better)
    "first build": (300.0, "s", True),
    "re-render after a template edit": (2.5, "s", True),
    "all of Exercise 1": (20.0, "s", True),
    "CIFAR epoch vs course, default numerics": (4.5, "x", False),
}


def timed(lab: Path, *args: str) -> float:
    started = time.perf_counter()
    labreport(lab, *args)
    return time.perf_counter() - started


def cifar_ratios(data: str, batches: int) -> tuple[float, float, str]:
    """(default-numerics epoch ratio, fp32 epoch ratio, the bench's own lines) from bench/cifar_epoch.py."""
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "cifar_epoch.py"), data, "--batches", str(batches)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    if result.returncode != 0:
        sys.exit(f"bench/cifar_epoch.py failed ({result.returncode}):\n{result.stderr}")

    def epoch_ratio(label: str) -> float:
        found = re.search(rf"^{label}:.*epoch \(train \+ test\) ([\d.]+)x", result.stdout, re.MULTILINE)
        if not found:
            sys.exit(f"bench/cifar_epoch.py printed no '{label}' ratio:\n{result.stdout}")
        return float(found.group(1))

    return epoch_ratio("each loop's default numerics"), epoch_ratio("same precision \\(fp32 both\\)"), result.stdout


def verdict(figure: str, value: float) -> str:
    target, unit, lower = TARGETS[figure]
    met = value <= target if lower else value >= target
    bound = "<=" if lower else ">="
    return f"{figure:<42} {value:8.2f} {unit}   target {bound} {target:g} {unit}   {'met' if met else 'NOT met'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="CIFAR-10: a folder or archive")
    parser.add_argument("--batches", type=int, default=100, help="bench/cifar_epoch.py --batches")
    parser.add_argument("--repeat", type=int, default=5, help="re-renders timed")
    parser.add_argument("--keep", type=Path, help="build in this new folder and keep it (default: a temporary one)")
    args = parser.parse_args()
    data = str(Path(args.data).resolve())
    print(f"CPU: {cpu_model()}, {os.cpu_count()} logical cores; load average {os.getloadavg()[0]:.2f}", flush=True)
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-targets-") as scratch:
        lab = Path(scratch)
        if args.keep:
            args.keep.mkdir(parents=True)  # new: a first build starts from nothing
            lab = args.keep.resolve()
        print("1. labreport build in a fresh folder ...", flush=True)
        results["first build"] = timed(lab, "build", "--data", data, "--no-download", "--out", "reports/lab13.pdf")
        print("2. build --no-run after template edits ...", flush=True)
        template, _ = editable_template(lab)
        out = lab / "reports" / "lab13.pdf"
        build_after_edit(lab, template, "zh", out, 0)  # untimed: compiles the edited template's neighbours once
        renders = [build_after_edit(lab, template, "zh", out, i) for i in range(1, args.repeat + 1)]
        results["re-render after a template edit"] = statistics.median(renders)
        print("3. labreport run --only fit --force ...", flush=True)
        results["all of Exercise 1"] = timed(lab, "run", "--only", "fit", "--force")
    print(f"4. bench/cifar_epoch.py --batches {args.batches} ...", flush=True)
    defaults, fp32, lines = cifar_ratios(data, args.batches)
    results["CIFAR epoch vs course, default numerics"] = defaults
    print(lines)
    print(f"CPU: {cpu_model()}; load average after {os.getloadavg()[0]:.2f}")
    for figure, value in results.items():
        print(verdict(figure, value))
    print(f"{'(same precision, fp32 both: CIFAR epoch vs course)':<42} {fp32:8.2f} x")
    print(f"(re-renders: {', '.join(f'{s:.2f}' for s in renders)} s)")


if __name__ == "__main__":
    main()
