"""The run store: one folder per run under ``reports/runs/<name>/<key>/``.

A run folder holds ``record.json`` (what was computed, how, and the checksums
of its files), the experiment's tables, and ``checkpoints/`` while it trains.
Every write goes to a temporary file first and is renamed into place, so a
killed process leaves either the old file or the new one, never half of one.
A run counts as finished only when its record says so and every file still
matches its checksum.

Two locks, both from ``filelock`` (the same code on Linux, macOS and Windows):

- ``.lock``: one labreport process computes runs in a store at a time (`Store.lock`,
  held for the whole command; ``.lock.holder`` says who holds it).
- ``.access.db``: readers (`labreport list`, the render of `build`) hold a shared
  lock while they read (`Store.reading`); a writer holds it exclusively only while it
  changes what a reader could be reading (a record, a finished run set aside). A
  reader never waits for a whole run, only for one such change, and a render never
  sees a run folder moved away under it. On Windows it also keeps a reader's open
  record.json from making the writer's rename fail.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import sqlite3
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, ReadWriteLock, Timeout

from lab.core.api import NullProgress, Progress
from lab.core.atomic import sha256_file, write_atomic, write_text_atomic
from lab.core.errors import UserError
from lab.core.faults import hold_if_asked

RECORD = "record.json"
CHECKPOINT = "checkpoints/last.pt"
FINISHED = ("done", "diverged")
WRITER_LOCK, WRITER_HOLDER, ACCESS_LOCK = ".lock", ".lock.holder", ".access.db"
READ_WAIT_S = 60.0  # a writer holds the access lock for milliseconds (one record, one folder moved)
WRITE_WAIT_S = 600.0  # a reader holds it for one render (seconds; a first check of a course script, a minute)
ACCESS_BUSY = {  # mode -> what holds the access lock when it stays taken for {wait} seconds
    "read": "another labreport process has been changing the run store for {wait:.0f} s; run again when it is done",
    "write": "a labreport process has been reading the run store for {wait:.0f} s (labreport list or build); "
    "stop it, then run again: finished runs are kept",
}


# --- the context an experiment runs in ---------------------------------------


@dataclass
class RunContext:
    """What an experiment sees: its parameters and a folder to write into."""

    name: str
    key: str
    params: dict
    dir: Path
    device: str = "cpu"
    options: dict | None = None
    progress: Progress = None  # type: ignore[assignment]  # NullProgress when not given
    checkpoints_saved: int = 0  # in this process, for the fault-injection hold points
    on_saved: Callable[[Path], None] | None = None  # told of each checkpoint written (a remote run sends it home)

    def __post_init__(self) -> None:
        self.dir = Path(self.dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.options = dict(self.options or {})
        self.progress = self.progress or NullProgress()

    def write_table(self, filename: str, frame) -> None:
        write_text_atomic(self.dir / filename, frame.to_csv(index=False))

    def write_json(self, filename: str, obj) -> None:
        write_text_atomic(self.dir / filename, json.dumps(obj, indent=2, ensure_ascii=False))

    def write_bytes(self, filename: str, data: bytes) -> None:
        write_atomic(self.dir / filename, data)

    def save_checkpoint(self, state: dict) -> None:
        import torch

        buffer = io.BytesIO()
        torch.save(state, buffer)
        write_atomic(self.dir / CHECKPOINT, buffer.getvalue())
        if self.on_saved is not None:
            self.on_saved(self.dir / CHECKPOINT)
        self.checkpoints_saved += 1
        hold_if_asked(f"{self.name}:checkpoint:{self.checkpoints_saved}")

    def load_checkpoint(self) -> dict | None:
        import torch

        path = self.dir / CHECKPOINT
        if not path.exists():
            return None
        try:
            return torch.load(path, map_location="cpu", weights_only=False)
        except Exception as error:  # a torn or foreign file: start over, loudly
            warnings.warn(f"{path}: unreadable checkpoint ({error}); starting this run from scratch", stacklevel=2)
            return None


# --- runs on disk ------------------------------------------------------------


@dataclass
class LoadedRun:
    """A finished run as the report sees it."""

    name: str
    key: str
    params: dict
    dir: Path
    record: dict

    @property
    def status(self) -> str:
        return self.record.get("status", "missing")


class Store:
    """The folder of all runs, usually ``reports/runs``."""

    def __init__(self, root: Path | str):
        self.root = Path(root)

    def run_dir(self, name: str, key: str) -> Path:
        return self.root / name / key

    def read_record(self, name: str, key: str) -> dict | None:
        path = self.run_dir(name, key) / RECORD
        if not path.exists():
            return None
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            warnings.warn(f"run {name} ({path}): invalid record ({error}); it will be recomputed", stacklevel=2)
            return None
        if not isinstance(record, dict):
            warnings.warn(f"run {name} ({path}): invalid record; it will be recomputed", stacklevel=2)
            return None
        return record

    def damaged_files(self, name: str, key: str, record: dict) -> list[str]:
        """Files listed in the record that are missing or no longer match their checksum."""
        folder = self.run_dir(name, key)
        damaged = []
        for filename, checksum in (record.get("files") or {}).items():
            path = folder / filename
            if not path.exists() or sha256_file(path) != checksum:
                damaged.append(filename)
        return damaged

    def status(self, name: str, key: str) -> str:
        """done / diverged / partial / failed / missing / stale / damaged."""
        record = self.read_record(name, key)
        if record is None:
            if (self.run_dir(name, key) / CHECKPOINT).exists():
                return "partial"
            return "stale" if self.other_keys(name, key) else "missing"
        status = record.get("status", "partial")
        if status in FINISHED and self.damaged_files(name, key, record):
            return "damaged"
        return status

    def other_keys(self, name: str, key: str) -> list[str]:
        folder = self.root / name
        if not folder.is_dir():
            return []
        return sorted(
            p.name
            for p in folder.iterdir()
            if p.is_dir() and p.name != key and not p.name.startswith(".") and (p / RECORD).exists()
        )

    def last_duration(self, name: str) -> float | None:
        """How long the newest finished run of this name took (any key, set-aside ones too), if any."""
        records = [self._record_at(path) for path in (self.root / name).glob("*/" + RECORD)]
        finished = [r for r in records if r.get("status") in FINISHED and isinstance(r.get("duration_s"), (int, float))]
        if not finished:
            return None
        return float(max(finished, key=lambda record: record.get("finished") or "")["duration_s"])

    @staticmethod
    def _record_at(path: Path) -> dict:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return record if isinstance(record, dict) else {}

    def why_stale(self, spec) -> str:
        """Why the newest other run of this name is not current: its parameters, or its code (which files)."""
        from lab.core import fingerprint

        others = [self.read_record(spec.name, key) or {} for key in self.other_keys(spec.name, spec.key)]
        others.sort(key=lambda record: record.get("started") or "", reverse=True)
        if not others:
            return "no earlier run"
        previous = others[0]
        params = previous.get("params") or {}
        differ = sorted(k for k in set(params) | set(spec.params) if params.get(k) != spec.params.get(k))
        if differ:
            return f"parameters changed: {', '.join(differ)}"
        files = fingerprint.changed(previous.get("code") or {}, spec.code) if spec.code else []
        if files:
            return f"code changed: {', '.join(fingerprint.display_name(name) for name in files)}"
        return "code changed"

    def load(self, name: str, key: str) -> LoadedRun | None:
        """The run if it is finished and intact, else None (with a warning if damaged)."""
        record = self.read_record(name, key)
        if record is None or record.get("status") not in FINISHED:
            return None
        damaged = self.damaged_files(name, key, record)
        if damaged:
            warnings.warn(
                f"run {name} ({self.run_dir(name, key)}): "
                f"{', '.join(damaged)} missing or changed since it was written; "
                "it will be recomputed",
                stacklevel=2,
            )
            return None
        return LoadedRun(name, key, record.get("params", {}), self.run_dir(name, key), record)

    def finished(self, names: list[str]) -> Iterator[LoadedRun]:
        """Every intact finished run of these experiments, newest first."""
        found = []
        for name in names:
            for record_path in (self.root / name).glob("*/record.json"):
                key = record_path.parent.name
                if not key.startswith("."):
                    run = self.load(name, key)
                    if run is not None:
                        found.append(run)
        yield from sorted(found, key=lambda run: run.record.get("finished") or "", reverse=True)

    def write_record(self, name: str, key: str, record: dict) -> None:
        path = self.run_dir(name, key) / RECORD
        with self.changing():
            write_text_atomic(path, json.dumps(record, indent=2, ensure_ascii=False, sort_keys=False))

    def put_file(self, name: str, key: str, relative: str, data: bytes) -> None:
        """A file of a run as computed elsewhere (a Ray worker); its record as `write_record` writes one."""
        if relative == RECORD:
            with self.changing():
                write_atomic(self.run_dir(name, key) / relative, data)
        else:
            write_atomic(self.run_dir(name, key) / relative, data)

    def checksums(self, name: str, key: str) -> dict[str, str]:
        folder = self.run_dir(name, key)
        return {
            str(p.relative_to(folder)): sha256_file(p)
            for p in sorted(folder.rglob("*"))
            if p.is_file()
            and p.name != RECORD
            and not p.name.startswith(".")
            and "checkpoints" not in p.relative_to(folder).parts
        }

    def set_aside(self, name: str, key: str) -> Path | None:
        """Move an existing run folder out of the way (kept as <key>.previous)."""
        folder = self.run_dir(name, key)
        if not folder.exists():
            return None
        backup = folder.with_name(f".{key}.previous")
        with self.changing():
            if backup.exists():
                shutil.rmtree(backup)
            os.replace(folder, backup)
        return backup

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """One labreport process computing runs in this store at a time."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise UserError(
                f"{self.root}: cannot create the run store ({error.strerror}); choose a writable folder with --store"
            ) from error
        path, holder = self.root / WRITER_LOCK, self.root / WRITER_HOLDER
        try:
            lock = FileLock(path, timeout=0)
            lock.acquire()
        except Timeout:
            who = read_text_or(holder, "another process")
            raise UserError(
                f"{self.root}: the run store is in use by labreport ({who}); wait for it to finish, then run again"
            ) from None
        except OSError as error:
            raise UserError(
                f"{path}: cannot open the store lock ({error.strerror}); make the folder writable"
            ) from error
        try:
            write_text_atomic(holder, f"pid {os.getpid()}")
            yield
        finally:
            with contextlib.suppress(OSError):
                holder.unlink()
            lock.release()

    def access_lock(self) -> ReadWriteLock | None:
        """The readers' and writers' lock, or None where this store cannot be changed by us (read-only):
        then no labreport process of ours writes into it either."""
        if not self.root.is_dir():
            return None
        try:
            return ReadWriteLock(self.root / ACCESS_LOCK)
        except (OSError, sqlite3.Error):
            return None

    def reading(self) -> contextlib.AbstractContextManager[None]:
        """Read a consistent store: no record is replaced and no run set aside while this block reads."""
        return self.holding_access("read")

    def changing(self) -> contextlib.AbstractContextManager[None]:
        """Change what a reader may be reading, once no reader is (see `reading`)."""
        return self.holding_access("write")

    @contextlib.contextmanager
    def holding_access(self, mode: str) -> Iterator[None]:
        """The access lock for `mode` (read: shared, write: alone) for the block; a UserError
        saying who holds it when it stays taken (ACCESS_BUSY)."""
        wait = READ_WAIT_S if mode == "read" else WRITE_WAIT_S
        access = self.access_lock()
        if access is None:
            yield
            return
        acquire = access.acquire_read if mode == "read" else access.acquire_write
        try:
            acquire(timeout=wait)
        except Timeout:
            raise UserError(f"{self.root}: {ACCESS_BUSY[mode].format(wait=wait)}") from None
        try:
            yield
        finally:
            access.release()


def read_text_or(path: Path, default: str) -> str:
    try:
        return path.read_text(encoding="utf-8").strip() or default
    except OSError:
        return default
