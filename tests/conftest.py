"""Shared fixtures: a tiny lab (declaration + data), a way to run the real CLI, and the
suite's limits: no test reaches the network (tests/offline), none outlives its time limit
(pytest-timeout, in pyproject.toml) or leaves a process it started behind."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from lab.core.faults import HELD_LINE, HOLD_ENV

TINY_LAB = (Path(__file__).parent / "fixtures" / "tiny.toml").read_text(encoding="utf-8")

# --- OpenMP threads sleep while they wait, in this process and every one it starts ----------
# pytest-xdist runs two test processes on two cores, each starting labreport runs whose
# OpenMP threads spin while they wait for a core another process holds: the tiny lab's
# CIFAR run took 47 s of wall time (21 s of CPU) so, against 10.7 s with waiting threads
# sleeping, with the same numbers (Intel Xeon, 2 cores, other work running). A user's lone
# build keeps OpenMP's default, which trains about 40 % faster on an idle machine.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# --- no network: this process, and every process it starts (as their sitecustomize) ---------

OFFLINE = Path(__file__).with_name("offline")
_guard_spec = importlib.util.spec_from_file_location("labreport_network_guard", OFFLINE / "sitecustomize.py")
network_guard = importlib.util.module_from_spec(_guard_spec)
_guard_spec.loader.exec_module(network_guard)
NETWORK_LOG = Path(tempfile.gettempdir()) / f"labreport-tests-network-{os.getpid()}.log"


def with_guard(pythonpath: str | None) -> str:
    """A PYTHONPATH that also loads the socket guard."""
    parts = [part for part in (pythonpath or "").split(os.pathsep) if part]
    return os.pathsep.join(parts if str(OFFLINE) in parts else [*parts, str(OFFLINE)])


os.environ[network_guard.LOG_ENV] = str(NETWORK_LOG)
os.environ["PYTHONPATH"] = with_guard(os.environ.get("PYTHONPATH"))
network_guard.install()


class NetworkAttempts:
    """The connections refused since the test began (in any of its processes)."""

    def __init__(self):
        self.read = NETWORK_LOG.stat().st_size if NETWORK_LOG.exists() else 0

    def new(self) -> list[str]:
        if not NETWORK_LOG.exists():
            return []
        with NETWORK_LOG.open(encoding="utf-8") as log:
            log.seek(self.read)
            lines = log.read().splitlines()
            self.read = log.tell()
        return lines


STARTED: list[subprocess.Popen] = []  # by start_labreport: none may outlive its test


@pytest.fixture(autouse=True)
def offline():
    """Every test: no connection beyond this machine, and no process of it left running."""
    attempts = NetworkAttempts()
    yield attempts
    while STARTED:
        process = STARTED.pop()
        if process.poll() is None:
            process.kill()
            process.wait()
    tried = attempts.new()
    if tried:
        pytest.fail("this test reached for the network:\n" + "\n".join(tried), pytrace=False)


def pytest_unconfigure(config):
    NETWORK_LOG.unlink(missing_ok=True)


def pytest_collection_modifyitems(config, items):
    """Tests marked cuda skip where no CUDA GPU is at hand."""
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def tiny_lab(tmp_path: Path) -> Path:
    """A working folder with a tiny lab13.toml and a tiny CIFAR-10 in ./data."""
    from lab.exercises.cifar.data.synthetic import make_tiny_cifar

    (tmp_path / "lab13.toml").write_text(TINY_LAB, encoding="utf-8")
    make_tiny_cifar(tmp_path / "data", "pickle", n_per_class=6)
    return tmp_path


def labreport(
    cwd: Path,
    *args: str,
    timeout: float = 300,
    env: dict | None = None,
    check: int | None = None,
    python_options: tuple[str, ...] = (),
    main: tuple[str, ...] = ("-m", "lab"),
) -> subprocess.CompletedProcess:
    """Run the real command line in `cwd`, as a user would (not on a terminal); `main`: how
    Python is told what to run (a script's path, say)."""
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    full_env["PYTHONPATH"] = with_guard(full_env.get("PYTHONPATH"))
    full_env.pop("LABREPORT_DATA", None) if "LABREPORT_DATA" not in (env or {}) else None
    result = subprocess.run(
        [sys.executable, *python_options, *main, *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check is not None:
        assert result.returncode == check, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def imports_seen(stderr: str) -> list[str]:
    """Every module imported, once per process that imported it, from `python -X importtime`'s
    lines (spawned processes inherit the option and the stream)."""
    return [line.rsplit("|", 1)[1].strip() for line in stderr.splitlines() if line.startswith("import time:")]


def start_labreport(cwd: Path, *args: str, hold: str | None = None, env: dict | None = None) -> subprocess.Popen:
    """Start the CLI; with `hold`, it stops at that fault point (see lab/faults.py)."""
    env = {**os.environ, "COLUMNS": "200", **(env or {})}
    env["PYTHONPATH"] = with_guard(env.get("PYTHONPATH"))
    env.pop("LABREPORT_DATA", None)
    if hold:
        env[HOLD_ENV] = hold
    process = subprocess.Popen(
        [sys.executable, "-m", "lab", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=ctrl_c_as_in_a_terminal,
    )
    STARTED.append(process)
    return process


def ctrl_c_as_in_a_terminal() -> None:
    """SIGINT back to its default in the child: a suite started in the background (nohup,
    `cmd &` in a script) ignores SIGINT, and an ignored SIGINT is inherited, so the
    Ctrl-C test would wait forever."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_until_held(process: subprocess.Popen) -> tuple[int, list[str]]:
    """Read stderr until the process says it is held: (the held pid, the lines read).

    A blocking read of the process's own words, so it holds on any machine speed.
    """
    lines = []
    for line in process.stderr:
        lines.append(line)
        if line.startswith(HELD_LINE):
            return int(line.rsplit("pid ", 1)[1].rstrip(")\n")), lines
    process.wait()
    raise AssertionError(
        f"ended ({process.returncode}) before the hold point:\n{process.stdout.read()}\n{''.join(lines)}"
    )
