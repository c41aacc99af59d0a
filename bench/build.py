"""The README's build times: a student's first `labreport build`, whole and --quick.

    python bench/build.py --data PATH [--quick-only]

Each build runs the real command in a fresh temporary folder with the
packaged default declaration, reading CIFAR-10 from PATH (--no-download), so
it pays for everything a first build pays for: decoding the data into the
cache, every run, the figures and the PDF. --quick first, then (unless
--quick-only) the whole build. Prints the CPU model, each build's wall time,
the decoding time and each run's time from its record. Both use every core:
run it alone on the machine (e.g. under flock).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def build(data: str, quick: bool) -> dict:
    """One `labreport build` in a fresh folder: wall seconds, decode seconds, run times."""
    command = [
        sys.executable,
        "-m",
        "lab",
        "build",
        "--data",
        data,
        "--no-download",
        "--out",
        "reports/lab13.pdf",
        *(["--quick"] if quick else []),
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    with tempfile.TemporaryDirectory(prefix="bench-build-") as folder:
        started = time.perf_counter()
        result = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - started
        if result.returncode != 0:
            sys.exit(f"labreport build failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        runs = {}
        for path in sorted(Path(folder, "reports", "runs").glob("*/*/record.json")):
            record = json.loads(path.read_text())
            runs[record["name"]] = (record["status"], record["duration_s"])
        epochs = [
            line.split(",")
            for line in next(Path(folder, "reports", "runs").glob("cifar/*/epochs.csv")).read_text().splitlines()
        ]
    decoded = re.search(r"decoded CIFAR-10 from .* in ([\d.]+) s", result.stdout)
    return {
        "wall": wall,
        "decode": float(decoded.group(1)) if decoded else None,
        "runs": runs,
        "cifar_epochs": epoch_seconds(epochs),
    }


def epoch_seconds(rows: list[list[str]]) -> list[float]:
    """Train + test seconds of each CIFAR epoch, from epochs.csv's rows."""
    header = rows[0]
    train, test = header.index("train_seconds"), header.index("test_seconds")
    return [float(row[train]) + float(row[test]) for row in rows[1:]]


def show(label: str, measured: dict) -> None:
    decode = f"{measured['decode']:.1f} s" if measured["decode"] is not None else "cached"
    print(f"\n{label}: {measured['wall']:.1f} s wall ({measured['wall'] / 60:.1f} min); decoding CIFAR-10: {decode}")
    for name, (status, seconds) in measured["runs"].items():
        print(f"  {name:11s} {status:9s} {seconds:7.1f} s")
    epochs = measured["cifar_epochs"]
    print(
        f"  cifar epochs (train + test): mean {sum(epochs) / len(epochs):.1f} s, "
        + ", ".join(f"{s:.0f}" for s in epochs)
    )


def main() -> None:
    from lab.core.environment import cpu_model

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="CIFAR-10: a folder or archive")
    parser.add_argument("--quick-only", action="store_true", help="measure only build --quick")
    args = parser.parse_args()
    data = str(Path(args.data).resolve())
    print(f"CPU: {cpu_model()}, {os.cpu_count()} logical cores; load average before: {os.getloadavg()[0]:.2f}")
    show("labreport build --quick (first build, fresh folder)", build(data, quick=True))
    if not args.quick_only:
        show("labreport build (first build, fresh folder)", build(data, quick=False))
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
