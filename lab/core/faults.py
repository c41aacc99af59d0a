"""Fault injection for the reliability tests: hold a run at a named point, or die mid-write.

Tests never sleep and hope that a run is still going: they ask the run to stop at
a known point and wait for it to say so, whatever the machine's speed.

    LABREPORT_FAULT_HOLD=NAME:checkpoint:1   hold after run NAME's first checkpoint is written
    LABREPORT_FAULT_HOLD=NAME:start          hold once run NAME's partial record exists
    LABREPORT_FAULT_FAIL=NAME                 run NAME fails as a bug would (an exception)
    LABREPORT_FAULT_DIE=POINT                 the process SIGKILLs itself at a hold point (as a dying
    LABREPORT_FAULT_DIE_ONCE=FILE             worker would), once: FILE marks that it has died

A held process prints ``HELD_LINE <point> (pid N)`` on stderr and waits until it
gets SIGUSR1 (go on), SIGINT (as Ctrl-C would) or SIGKILL. A held worker whose
parent died stops as if interrupted, so no test leaves a process behind.

SIGUSR1 and SIGKILL exist on Linux and macOS, not on Windows: there a held process
goes on only by Ctrl-C or its parent's end, and "SIGKILL itself" is an immediate
exit with no cleanup (`os._exit`), which is what TerminateProcess does.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

HOLD_ENV = "LABREPORT_FAULT_HOLD"
KILL_WRITING_ENV = "LABREPORT_FAULT_KILL_WRITING"
FAIL_ENV = "LABREPORT_FAULT_FAIL"
DIE_ENV, DIE_ONCE_ENV = "LABREPORT_FAULT_DIE", "LABREPORT_FAULT_DIE_ONCE"
HELD_LINE = "LABREPORT_FAULT held at"


def hold_if_asked(point: str) -> None:
    """Block here when the test asked to hold at `point`; see the module docstring."""
    die_once_if_asked(point)
    if os.environ.get(HOLD_ENV) != point or threading.current_thread() is not threading.main_thread():
        return
    released = threading.Event()
    go_on = getattr(signal, "SIGUSR1", None)  # None on Windows
    previous = signal.signal(go_on, lambda *args: released.set()) if go_on is not None else None
    parent = os.getppid()
    print(f"{HELD_LINE} {point} (pid {os.getpid()})", file=sys.stderr, flush=True)
    try:
        while not released.wait(0.2):  # a wait on an event, not a guess at a duration
            if os.getppid() != parent:
                raise KeyboardInterrupt
    finally:
        if go_on is not None:
            signal.signal(go_on, previous)


def die_now() -> None:
    """End this process at once, as `kill -9` (or a power cut) would: no cleanup, no finally blocks."""
    kill = getattr(signal, "SIGKILL", None)  # None on Windows
    if kill is not None:
        os.kill(os.getpid(), kill)
    os._exit(137)  # 128 + 9, the status a shell gives a SIGKILLed process


def crash_if_writing(path: Path) -> None:
    """Die mid-write (after the temporary file, before the rename) of a named file."""
    if path.name == os.environ.get(KILL_WRITING_ENV):
        die_now()


def fail_if_asked(name: str) -> None:
    """Fail the named run with an ordinary exception, as a bug in it would."""
    if os.environ.get(FAIL_ENV) == name:
        raise RuntimeError(f"fault injected into {name} ({FAIL_ENV})")


def die_once_if_asked(point: str) -> None:
    """SIGKILL this process at `point` the first time any process gets there (a marker file says so)."""
    marker = os.environ.get(DIE_ONCE_ENV)
    if os.environ.get(DIE_ENV) != point or not marker:
        return
    try:
        Path(marker).open("x").close()
    except FileExistsError:
        return
    die_now()
