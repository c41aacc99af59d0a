"""Windows by construction: labreport's own code imports no POSIX-only module outside a guarded
branch and uses no signal Windows lacks. A whole quick build runs in a subprocess where `fcntl`,
`resource`, `pwd`, `termios` and `grp` refuse to be imported by labreport's modules and SIGUSR1
and SIGKILL do not exist (libraries keep their own per-platform imports: psutil's Linux part
imports `resource`, its Windows part does not). `mypy --platform win32` in .ci/run checks the
same from the other side."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

POSIX_ONLY = ("fcntl", "resource", "pwd", "termios", "grp")
MISSING_SIGNALS = ("SIGUSR1", "SIGKILL")

SITECUSTOMIZE = f'''
import builtins, signal

POSIX_ONLY = {POSIX_ONLY!r}
plain_import = builtins.__import__


def windows_like_import(name, globals=None, locals=None, fromlist=(), level=0):
    """`import fcntl` in a labreport module fails as on Windows, even when a library loaded it already."""
    importer = (globals or {{}}).get("__name__") or ""
    if level == 0 and name.split(".")[0] in POSIX_ONLY and (importer == "lab" or importer.startswith("lab.")):
        raise ModuleNotFoundError(f"No module named {{name!r}} (as on Windows; imported by {{importer}})", name=name)
    return plain_import(name, globals, locals, fromlist, level)


builtins.__import__ = windows_like_import
for name in {MISSING_SIGNALS!r}:
    delattr(signal, name)
'''


PROBE = """
import signal
for importer in ("lab.core.store", "some_library"):
    try:
        exec("import fcntl", {"__name__": importer})
        print("allowed")
    except ModuleNotFoundError:
        print("refused")
for name in ("SIGUSR1", "SIGKILL"):
    print("no-" + name if not hasattr(signal, name) else name)
"""


def test_a_quick_build_needs_no_posix_only_module_or_signal(tiny_lab, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)  # every process: the command and its workers
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(Path.cwd())]), "COLUMNS": "200"}
    env.pop("LABREPORT_DATA", None)
    probe = subprocess.run(  # the stand-in Windows refuses labreport, not a library or a script
        [sys.executable, "-c", PROBE],
        cwd=tiny_lab,
        env=env,
        capture_output=True,
        text=True,
    )
    assert probe.stdout.split() == ["refused", "allowed", "no-SIGUSR1", "no-SIGKILL"], probe.stderr
    result = subprocess.run(
        [sys.executable, "-m", "lab", "build", "--quick", "--lang", "en"],
        cwd=tiny_lab,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tiny_lab / "reports" / "lab13-quick.pdf").stat().st_size > 10_000
