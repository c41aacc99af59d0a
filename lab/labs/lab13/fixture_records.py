"""Run records for the fixture stores: what the runner writes in record.json."""

import hashlib
import json
from pathlib import Path

from lab.core.store import LoadedRun


def file_hashes(folder: Path) -> dict[str, str]:
    """The sha256 of every file of a run folder but its record."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != "record.json"
    }


def write_record(folder: Path, record: dict) -> None:
    (folder / "record.json").write_text(json.dumps(record, indent=2), encoding="utf-8")


def finish_run(
    name: str, folder: Path, params: dict, summary: dict, *, quick: bool, duration: float, status: str = "done"
) -> LoadedRun:
    record = {
        "status": status,
        "started": "2026-11-28T09:00:00+00:00",
        "finished": "2026-11-28T09:10:00+00:00",
        "duration_s": duration,
        "device": "cpu",
        "torch": "2.14.1",
        "python": "3.11.2",
        "git_commit": "0123456789abcdef",
        "quick": quick,
        "params": params,
        "summary": summary,
        "files": file_hashes(folder),
    }
    write_record(folder, record)
    return LoadedRun(name, folder.name, params, folder, record)


def rewrite_record(run: LoadedRun, **changes) -> LoadedRun:
    record = dict(run.record, **changes)
    record["files"] = file_hashes(run.dir)
    write_record(run.dir, record)
    return LoadedRun(run.name, run.key, record["params"], run.dir, record)
