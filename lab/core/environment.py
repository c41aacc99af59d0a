"""What machine and software this is: for run records and the report's Environment section."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib


@dataclass
class Environment:
    os: str
    cpu: str
    cores: int
    memory_gb: float | None
    gpu: str | None
    python: str
    torch: str
    torchvision: str


def cpu_model() -> str:
    """The processor's marketing name, as each system keeps it (platform.processor() is
    empty on Linux and a family number on Windows)."""
    try:
        name = system_cpu_name()
    except (OSError, ValueError, subprocess.SubprocessError):
        name = None
    return name or platform.processor() or platform.machine()


def system_cpu_name() -> str | None:
    if sys.platform == "win32":
        import winreg

        key = winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, r"HARDWARE\DESCRIPTION\System\CentralProcessor\0")
        with key:
            return str(winreg.QueryValueEx(key, "ProcessorNameString")[0]).strip()
    if sys.platform == "darwin":
        return subprocess.run(
            ["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.lower().startswith(("model name", "hardware", "processor\t: arm")):
            return line.split(":", 1)[1].strip()
    return None


def memory_gb() -> float | None:
    import psutil

    try:
        return psutil.virtual_memory().total / 1024**3
    except (OSError, RuntimeError):
        return None


def version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def gpu_name() -> str | None:
    """The GPU torch sees, if torch is already loaded (importing it only for this costs seconds)."""
    torch = sys.modules.get("torch")
    try:
        if torch is not None and torch.cuda.is_available():
            count = torch.cuda.device_count()
            return f"{torch.cuda.get_device_name(0)}" + (f" × {count}" if count > 1 else "")
    except Exception:  # a broken driver must not stop the report
        return None
    if torch is None and shutil.which("nvidia-smi"):
        try:
            names = subprocess.run(
                ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            ).stdout.split("\n")
        except (OSError, subprocess.SubprocessError):
            return None
        names = [n.strip() for n in names if n.strip()]
        if names:
            return names[0] + (f" × {len(names)}" if len(names) > 1 else "")
    return None


def describe_os() -> str:
    try:
        release = platform.freedesktop_os_release()
        name = release.get("PRETTY_NAME") or release.get("NAME")
    except OSError:
        name = None
    return f"{name or platform.system()} ({platform.system()} {platform.release()}, {platform.machine()})"


def current_environment() -> Environment:
    return Environment(
        os=describe_os(),
        cpu=cpu_model(),
        cores=os.cpu_count() or 1,
        memory_gb=memory_gb(),
        gpu=gpu_name(),
        python=platform.python_version(),
        torch=version("torch"),
        torchvision=version("torchvision"),
    )


def labreport_version() -> str:
    """The installed version, else the one in pyproject.toml of this source tree (`--version`, and
    the evidence a report carries: a verifier with another version may render other words)."""
    try:
        return metadata.version("labreport")
    except metadata.PackageNotFoundError:
        pass
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    try:
        return f"{tomllib.loads(pyproject.read_text())['project']['version']} (not installed)"
    except (OSError, ValueError, KeyError):
        return "unknown (not installed)"
