"""Shared fixtures: a tiny lab (declaration + data) and a way to run the real CLI."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TINY_LAB = """
[student]
name = "Test Student"
id = "20240001"
class = "CS 2401"

[report]
lang = "en"

[fit]
samples = 40
seeds = [2019, 2020]
hidden = [16, 16]
grid_points = 100
heldout_samples = 40

[fit.epochs]
values = [5, 20, 60]
lr = 0.01

[fit.lr]
values = [1000000, 0.1, 0.01]
epochs = 20

[fit.custom.search]
lrs = [0.01, 0.03]
epochs = [10, 30]
widths = [16]

[cifar]
phases = [{ lr = 0.1, epochs = 1 }, { lr = 0.01, epochs = 1 }]
batch_size = 16
data = "data"
download = false
precision = "fp32"
"""


@pytest.fixture
def tiny_lab(tmp_path: Path) -> Path:
    """A working folder with a tiny lab13.toml and a tiny CIFAR-10 in ./data."""
    from tests.cifar_fixtures import make_tiny_cifar

    (tmp_path / "lab13.toml").write_text(TINY_LAB, encoding="utf-8")
    make_tiny_cifar(tmp_path / "data", "pickle", n_per_class=6)
    return tmp_path


def labreport(cwd: Path, *args: str, timeout: float = 300, env: dict | None = None,
              check: int | None = None) -> subprocess.CompletedProcess:
    """Run the real command line in `cwd`, as a user would (not on a terminal)."""
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    full_env.pop("LABREPORT_DATA", None) if "LABREPORT_DATA" not in (env or {}) else None
    result = subprocess.run([sys.executable, "-m", "lab.cli", *args], cwd=cwd, env=full_env,
                            capture_output=True, text=True, timeout=timeout)
    if check is not None:
        assert result.returncode == check, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def start_labreport(cwd: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("LABREPORT_DATA", None)
    return subprocess.Popen([sys.executable, "-m", "lab.cli", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
