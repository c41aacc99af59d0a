"""Atomic file I/O: every write goes to a temporary file first and is renamed into place,
so a killed process leaves either the old file or the new one, never half of one."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import tempfile
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from lab.core.errors import UserError
from lab.core.faults import crash_if_writing


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold back Ctrl-C until the block ends, so a write always completes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[tuple] = []
    previous = signal.signal(signal.SIGINT, lambda *args: caught.append(args))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if caught and callable(previous):
            previous(*caught[0])


def write_atomic(path: Path, data: bytes) -> None:
    try:
        write_or_raise(path, data)
    except OSError as error:
        raise UserError(
            f"{path}: cannot write ({error.strerror or error}); free some space or "
            "fix the folder's permissions, then run again: finished runs are kept"
        ) from error


def write_or_raise(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with interrupts_deferred():
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o644)  # mkstemp makes it private; results are meant to be shared
            crash_if_writing(path)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise


def write_text_atomic(path: Path, text: str) -> None:
    write_atomic(path, text.encode("utf-8"))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def now_iso() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")
