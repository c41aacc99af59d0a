"""labreport verify --rerun NAME: execute runs again from a report's attached declaration, in a
temporary store, and compare their result files with the attached ones, run by run.

On the CPU kind the run's record names, the numbers must agree exactly; on another, within the
exercise's `rerun_tolerance` (relative: floating-point sums are ordered differently by other
vector units, and a training run carries those differences on). Columns that time the work
(their names say seconds, time or duration) are left out of the comparison.

Runs that need a data set (given with --data or LABREPORT_DATA, never downloaded here) train
only their first `epochs` epochs, with the thread count their record names (a CPU's sums
depend on it); their tables must then be the first rows of the attached ones (`short_rerun`).
"""

from __future__ import annotations

import io
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from lab.core.api import Inputs
from lab.core.environment import cpu_model
from lab.core.errors import UserError
from lab.core.matrix import RunSpec, expand, select
from lab.core.progress import Reporter
from lab.core.store import RunContext, Store
from lab.report.evidence import flat_name
from lab.report.verify import Check, open_evidence

ABSOLUTE_TOLERANCE = 1e-9
TIMING = re.compile(r"second|time|duration", re.IGNORECASE)


def rerun_checks(
    manifest: dict, files: dict[str, bytes], only: str, epochs: int = 1, data: str | None = None
) -> list[Check]:
    """One check per run re-executed (`only`: an exercise or run name, as `labreport run --only`)."""
    with tempfile.TemporaryDirectory(prefix="labreport-rerun-") as scratch:
        decl, _ = open_evidence(manifest, files, Path(scratch) / "lab")
        try:
            names = select(decl, [only])
        except UserError as error:  # it names --only, the option of `labreport run`
            raise UserError(str(error).replace("--only", "--rerun", 1)) from None
        inputs = Inputs(folder=decl.folder, cache_dir=Path(scratch) / "cache", data=data, download=False)
        prepared = prepare_data(decl, names, inputs, only)
        specs = expand(decl, names, prepared, inputs)
        store = Store(Path(scratch) / "rerun")
        short = {name for exercise in decl.exercises if exercise.needs_data for name in decl.runs_of(exercise)}
        tolerance = {name: e.rerun_tolerance for e in decl.exercises for name in decl.runs_of(e)}
        from lab.core.runner import run_all

        whole = [spec for spec in specs if spec.name not in short]
        run_all(store, whole, device="cpu", reporter=Reporter(Console(stderr=True)))
        checks = {spec.name: compare_run(spec, store, manifest, files, tolerance[spec.name]) for spec in whole}
        for spec in specs:
            if spec.name in short:
                checks[spec.name] = short_rerun(spec, store, files, manifest, epochs, tolerance[spec.name])
        return [checks[spec.name] for spec in specs]


def prepare_data(decl, names: list[str], inputs: Inputs, only: str) -> dict[str, dict]:
    """What each exercise whose runs are chosen and need data adds to their keys (its data's fingerprint)."""
    prepared = {}
    for exercise in decl.exercises:
        if not exercise.needs_data or not set(names) & set(decl.runs_of(exercise)):
            continue
        if not inputs.data:
            raise UserError(
                f"--rerun {only}: the runs of {exercise.name} train on {exercise.data_label}, which verify "
                f"never downloads; give its archive or folder with --data PATH (or LABREPORT_DATA=PATH)"
            )
        with Reporter(Console(stderr=True)).task(exercise.data_label) as progress:
            prepared[exercise.name] = exercise.prepare(decl.values[exercise.name], inputs, progress)
    return prepared


def compare_run(spec: RunSpec, store: Store, manifest: dict, files: dict[str, bytes], tolerance: float) -> Check:
    name = f"rerun {spec.name}"
    attached_key = manifest["runs"].get(spec.name)
    if attached_key is None:
        return Check(name, None, "the report has no result of this run to compare with")
    record = store.read_record(spec.name, spec.key) or {}
    if record.get("status") not in ("done", "diverged"):
        return Check(name, False, f"the run did not finish here ({record.get('status', 'no record')})")
    attached = attached_record(files, spec.name)
    rule, within = agreement(attached, tolerance)
    folder = store.run_dir(spec.name, spec.key)
    problems = [
        problem
        for relative in sorted(attached.get("files") or {})
        if (problem := compare_file(relative, folder, files, spec.name, within))
    ]
    key_note = "" if spec.key == attached_key else f"; key {spec.key} here, {attached_key} in the report: other code"
    if problems:
        return Check(name, False, f"{'; '.join(problems[:3])} (expected {rule}){key_note}")
    count = len(attached.get("files") or {})
    return Check(name, True, f"{count} result files agree {rule}, timing columns aside{key_note}")


def agreement(attached: dict, tolerance: float) -> tuple[str, float | None]:
    """How closely a run executed here must agree with the attached one: the rule in words and the
    relative tolerance (None: exactly)."""
    if attached.get("device_name") == cpu_model():
        return "exactly (same CPU kind)", None
    return f"within {tolerance:g} relative (another CPU kind)", tolerance


def attached_record(files: dict[str, bytes], run: str) -> dict:
    import json

    return json.loads(files.get(flat_name(run, "record.json"), b"{}"))


def compare_file(
    relative: str, folder: Path, files: dict[str, bytes], run: str, within: float | None, first_rows: bool = False
) -> str:
    """'' when the file agrees, else what differs. `first_rows`: a shortened run's table, compared
    with as many first rows of the attached one."""
    attached = files.get(flat_name(run, relative))
    if attached is None:
        return ""  # left out of the report (too large): nothing to compare with
    path = folder / relative
    if not path.is_file():
        return f"{relative} not written here"
    again = path.read_bytes()
    if again == attached:
        return ""
    if not relative.endswith(".csv"):
        return f"{relative} differs"
    return compare_csv(relative, attached, again, within, first_rows)


def compare_csv(relative: str, attached: bytes, again: bytes, within: float | None, first_rows: bool = False) -> str:
    import numpy as np
    import pandas as pd

    before, after = (pd.read_csv(io.BytesIO(data)) for data in (attached, again))
    if first_rows:
        before = before.head(len(after))
    if list(before.columns) != list(after.columns) or len(before) != len(after):
        return f"{relative}: other columns or rows ({len(after)} rows here, {len(before)} attached)"
    for column in before.columns:
        if TIMING.search(str(column)):
            continue
        a, b = before[column], after[column]
        if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b):
            rtol, atol = (0.0, 0.0) if within is None else (within, ABSOLUTE_TOLERANCE)
            close = np.isclose(a.to_numpy(float), b.to_numpy(float), rtol=rtol, atol=atol, equal_nan=True)
        else:
            close = (a.astype(str) == b.astype(str)).to_numpy()
        if not close.all():
            row = int(np.argmin(close))
            return f"{relative}: row {row + 1}, {column}: {a.iloc[row]} attached, {b.iloc[row]} here"
    return ""


# --- a run that needs the data set: its first epochs ------------------------------


class EnoughEpochs(Exception):
    """Raised by `FirstEpochs` once the run has trained the epochs asked for."""


@dataclass
class FirstEpochs(RunContext):
    """A run's context that stops it at its `limit`-th checkpoint (a run that needs data
    checkpoints once an epoch, after writing that epoch's rows); the checkpoint is not written."""

    limit: int = 1

    def save_checkpoint(self, state: dict) -> None:
        self.checkpoints_saved += 1
        if self.checkpoints_saved >= self.limit:
            raise EnoughEpochs


def short_rerun(
    spec: RunSpec, store: Store, files: dict[str, bytes], manifest: dict, epochs: int, tolerance: float
) -> Check:
    """Train the run's first `epochs` epochs here, then compare the tables it wrote with the
    attached ones' first rows (every result file, where the run finished first)."""
    name = f"rerun {spec.name}"
    attached = attached_record(files, spec.name)
    refused = not_comparable(spec, manifest, attached)
    if refused is not None:
        return Check(name, *refused)
    folder = store.run_dir(spec.name, spec.key)
    threads = int(attached.get("threads") or 0)
    stopped, used = train_first_epochs(spec, folder, epochs, threads)
    rule, within = agreement(attached, tolerance)
    listed = sorted(attached.get("files") or {})
    compared = [relative for relative in listed if (folder / relative).is_file()] if stopped else listed
    problems = [p for relative in compared if (p := compare_file(relative, folder, files, spec.name, within, stopped))]
    trained = f"trained again for its first {plural(epochs, 'epoch')}" if stopped else "trained again in full"
    trained += f" on {plural(used, 'thread')}" + (" as at the build" if threads else " (the record names none)")
    if problems:
        return Check(name, False, f"{trained}: {'; '.join(problems[:3])} (expected {rule})")
    if not compared:
        return Check(name, False, f"{trained}, but it wrote none of the attached result files")
    agree = "agrees" if len(compared) == 1 else "agree"
    return Check(name, True, f"{trained}: {', '.join(compared)} {agree} {rule}, timing columns aside")


def not_comparable(spec: RunSpec, manifest: dict, attached: dict) -> tuple[bool | None, str] | None:
    """Why the run cannot be compared here (the check's result and detail), or None."""
    if manifest["runs"].get(spec.name) is None:
        return None, "the report has no result of this run to compare with"
    if attached.get("device", "cpu") != "cpu":
        where = attached.get("device_name") or attached.get("device")
        return None, f"not compared: trained on {where}, whose random numbers and sums differ from this CPU's"
    if other := other_params(spec.params, attached.get("params") or {}):
        return False, f"not the report's run: {other}"
    return None


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def other_params(here: dict, there: dict) -> str:
    """The parameters that differ between the run planned here and the report's ('' when none)."""
    keys = sorted(key for key in set(here) | set(there) if here.get(key) != there.get(key))
    said = [f"{key} {here.get(key)!r} here, {there.get(key)!r} in the report" for key in keys]
    return "; ".join(said)


def train_first_epochs(spec: RunSpec, folder: Path, epochs: int, threads: int) -> tuple[bool, int]:
    """Run `spec` in `folder` on `threads` threads (0: torch's default) until its `epochs`-th
    checkpoint: whether it stopped there (not finished first), and the threads it used."""
    import torch

    from lab.core.api import computation

    before = torch.get_num_threads()
    torch.set_num_threads(threads or before)
    used = torch.get_num_threads()
    try:
        with Reporter(Console(stderr=True)).task(spec.name) as progress:
            context = FirstEpochs(spec.name, spec.key, spec.params, folder, "cpu", spec.options, progress)
            context.limit = epochs
            computation(spec.entry)(context)
    except EnoughEpochs:
        return True, used
    finally:
        torch.set_num_threads(before)
    return False, used
