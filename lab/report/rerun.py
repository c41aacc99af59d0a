"""labreport verify --rerun NAME: execute runs again from a report's attached declaration, in a
temporary store, and compare their result files with the attached ones, run by run.

On the CPU kind the run's record names, the numbers must agree exactly; on another, within
RELATIVE_TOLERANCE (floating-point sums are ordered differently by other vector units). Columns
that time the work (their names say seconds, time or duration) are left out of the comparison.
Runs that need a data set are not re-executed here yet.
"""

from __future__ import annotations

import io
import re
import tempfile
from pathlib import Path

from rich.console import Console

from lab.core.environment import cpu_model
from lab.core.errors import UserError
from lab.core.matrix import expand, select
from lab.core.progress import Reporter
from lab.core.store import Store
from lab.report.evidence import flat_name
from lab.report.verify import Check, open_evidence

RELATIVE_TOLERANCE = 1e-3
ABSOLUTE_TOLERANCE = 1e-9
TIMING = re.compile(r"second|time|duration", re.IGNORECASE)


def rerun_checks(manifest: dict, files: dict[str, bytes], only: str, device: str = "cpu") -> list[Check]:
    """One check per run re-executed (`only`: an exercise or run name, as `labreport run --only`)."""
    with tempfile.TemporaryDirectory(prefix="labreport-rerun-") as scratch:
        decl, _ = open_evidence(manifest, files, Path(scratch) / "lab")
        try:
            names = select(decl, [only])
        except UserError as error:  # it names --only, the option of `labreport run`
            raise UserError(str(error).replace("--only", "--rerun", 1)) from None
        needs_data = [e.name for e in decl.exercises if e.needs_data and set(names) & set(decl.runs_of(e))]
        if needs_data:
            raise UserError(
                f"--rerun {only}: runs of {', '.join(needs_data)} need the data set and are not re-executed "
                f"by verify yet; choose runs without data, e.g. --rerun {other_exercise(decl, needs_data)}"
            )
        specs = expand(decl, names, {}, None)
        store = Store(Path(scratch) / "rerun")
        from lab.core.runner import run_all

        run_all(store, specs, device=device, reporter=Reporter(Console(stderr=True)))
        return [compare_run(spec, store, manifest, files) for spec in specs]


def other_exercise(decl, needs_data: list[str]) -> str:
    return next((e.name for e in decl.exercises if e.name not in needs_data), "NAME")


def compare_run(spec, store: Store, manifest: dict, files: dict[str, bytes]) -> Check:
    name = f"rerun {spec.name}"
    attached_key = manifest["runs"].get(spec.name)
    if attached_key is None:
        return Check(name, None, "the report has no result of this run to compare with")
    record = store.read_record(spec.name, spec.key) or {}
    if record.get("status") not in ("done", "diverged"):
        return Check(name, False, f"the run did not finish here ({record.get('status', 'no record')})")
    attached = attached_record(files, spec.name)
    same_cpu = attached.get("device_name") == cpu_model()
    rule = "exactly (same CPU kind)" if same_cpu else f"within {RELATIVE_TOLERANCE:g} relative (another CPU kind)"
    problems = [
        problem
        for relative in sorted(attached.get("files") or {})
        if (problem := compare_file(relative, store.run_dir(spec.name, spec.key), files, spec.name, same_cpu))
    ]
    key_note = "" if spec.key == attached_key else f"; key {spec.key} here, {attached_key} in the report: other code"
    if problems:
        return Check(name, False, f"{'; '.join(problems[:3])} (expected {rule}){key_note}")
    count = len(attached.get("files") or {})
    return Check(name, True, f"{count} result files agree {rule}, timing columns aside{key_note}")


def attached_record(files: dict[str, bytes], run: str) -> dict:
    import json

    return json.loads(files.get(flat_name(run, "record.json"), b"{}"))


def compare_file(relative: str, folder: Path, files: dict[str, bytes], run: str, exact: bool) -> str:
    """'' when the file agrees, else what differs."""
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
    return compare_csv(relative, attached, again, exact)


def compare_csv(relative: str, attached: bytes, again: bytes, exact: bool) -> str:
    import numpy as np
    import pandas as pd

    before, after = (pd.read_csv(io.BytesIO(data)) for data in (attached, again))
    if list(before.columns) != list(after.columns) or len(before) != len(after):
        return f"{relative}: other columns or rows ({len(after)} rows here, {len(before)} attached)"
    for column in before.columns:
        if TIMING.search(str(column)):
            continue
        a, b = before[column], after[column]
        if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b):
            tolerance = (
                {"rtol": 0.0, "atol": 0.0} if exact else {"rtol": RELATIVE_TOLERANCE, "atol": ABSOLUTE_TOLERANCE}
            )
            close = np.isclose(a.to_numpy(float), b.to_numpy(float), equal_nan=True, **tolerance)
        else:
            close = (a.astype(str) == b.astype(str)).to_numpy()
        if not close.all():
            row = int(np.argmin(close))
            return f"{relative}: row {row + 1}, {column}: {a.iloc[row]} attached, {b.iloc[row]} here"
    return ""
