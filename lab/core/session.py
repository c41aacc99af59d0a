"""A command's session: the declaration, the run store and the inputs, and the checks
and plans every command shares (what to run, what exists, where output may go).

Knows no lab: exercises are reached through `lab.core.api.Exercise`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from lab.core import declaration as declaration_module
from lab.core.api import Inputs
from lab.core.declaration import Declaration, command_line
from lab.core.errors import UserError
from lab.core.matrix import RunSpec, expand, run_spec
from lab.core.store import LoadedRun, Store

MIN_FREE_BYTES = 200 * 2**20  # checkpoints and the data cache need room


@dataclass
class Session:
    """Everything the commands share once the options are parsed."""

    decl: Declaration
    store: Store
    inputs: Inputs
    options: tuple[str, ...] = ()  # the options that chose this lab, its values and its store

    @property
    def packaged(self) -> bool:
        """No declaration of the student's own: the lab's packaged example is used."""
        return self.decl.path == self.decl.lab.declaration

    def command(self, *words: str) -> str:
        """A command line for the same lab, values and store, e.g. ``labreport run --only NAME --set …``."""
        return command_line(*words, options=self.options)


def selecting_options(config, sets, quick, data, store) -> tuple[str, ...]:
    """The command-line options a follow-up command needs to see the same runs."""
    options = ["--config", str(config)] if config is not None else []
    for override in sets or []:
        options += ["--set", override]
    options += ["--quick"] if quick else []
    options += ["--data", str(data)] if data else []
    options += ["--store", str(store)] if store is not None else []
    return tuple(options)


def open_session(config, sets, quick, data, no_download, store) -> Session:
    decl = declaration_module.load(config, sets or [], quick)
    store_root = store if store is not None else decl.folder / "reports" / "runs"
    inputs = Inputs(
        folder=decl.folder,
        cache_dir=Path(store_root).parent / "cache",
        data=data or os.environ.get("LABREPORT_DATA"),
        download=not no_download,
    )
    return Session(decl, Store(store_root), inputs, selecting_options(config, sets, quick, data, store))


def check_exercises(decl: Declaration, names: list[str]) -> None:
    """Each exercise's cheap checks (its functions parse, say), for the runs selected."""
    for exercise in decl.exercises:
        runs = [name for name in decl.runs_of(exercise) if name in names]
        if runs:
            exercise.check(decl.values[exercise.name], runs, decl.path.name)


def plan_for_render(session: Session) -> list[RunSpec]:
    """The matrix without training, without torch and without reading any data.

    A run that needs data is keyed by the data's fingerprint, which takes torch and
    seconds to compute; when nothing will train, such a run is the stored one with
    the declared settings (`Exercise.stand_in`), whatever data it saw.
    """
    return expand(session.decl, session.decl.run_names, {}, session.inputs) + stored_specs(session)


def stored_specs(session: Session) -> list[RunSpec]:
    """The stored runs standing in for the runs that need data, keyed by today's code:
    one computed by other code is stale, and `list` says which files changed."""
    specs = []
    for exercise in session.decl.exercises:
        if not exercise.needs_data:
            continue
        section = session.decl.values[exercise.name]
        options = exercise.options(section, session.inputs)
        for name, entry in session.decl.runs_of(exercise).items():
            run = exercise.stand_in(session.store, name, section, session.decl.quick)
            if run is not None:
                specs.append(run_spec(exercise, name, entry, run.params, options))
    return specs


def unplanned_status(store: Store, name: str) -> str:
    """A run with no spec (its settings match no stored run): stale when others exist."""
    return "stale" if store.other_keys(name, "") else "missing"


def gather(session: Session, specs: list[RunSpec]) -> tuple[dict[str, LoadedRun | None], dict[str, str]]:
    """The finished run for each experiment, and why the others are missing."""
    runs: dict[str, LoadedRun | None] = {name: None for name in session.decl.run_names}
    missing = {name: unplanned_status(session.store, name) for name in session.decl.run_names}
    for spec in specs:
        runs[spec.name] = session.store.load(spec.name, spec.key)
        missing[spec.name] = session.store.status(spec.name, spec.key)
    return runs, {name: reason for name, reason in missing.items() if runs[name] is None}


def missing_notes(session: Session, missing: dict[str, str]) -> list[str]:
    """For each run that is not there: why, and the command that computes it (build and preview print these)."""
    return [
        f"{name} ({reason}); the report says so. Compute it with: {session.command('run', '--only', name)}"
        for name, reason in missing.items()
    ]


def check_output(out: Path) -> None:
    folder = out.parent if str(out.parent) else Path(".")
    if out.suffix.lower() != ".pdf":
        raise UserError(f"--out {out}: the report is a PDF; give a path ending in .pdf")
    if not folder.is_dir():
        raise UserError(f"--out {out}: the folder {folder} does not exist; create it or choose another")
    if not writable(folder):
        raise UserError(f"--out {out}: the folder {folder} is not writable; choose another --out")


def beside_store(out: Path, store: Store) -> bool:
    """The report goes to the folder that holds the run store: build's own, created when missing."""
    return out.parent.resolve() == store.root.parent.resolve()


def prepare_output(out: Path, store: Store) -> None:
    """Before a build: create our own output folder, then check that ``out`` can be written."""
    if beside_store(out, store):
        out.parent.mkdir(parents=True, exist_ok=True)
    check_output(out)


def output_status(out: Path, store: Store) -> str:
    """doctor's view of ``out``, by the rule build follows (prepare_output), without creating anything."""
    if beside_store(out, store) and not out.parent.exists() and out.suffix.lower() == ".pdf":
        ancestor = next(folder for folder in out.parent.parents if folder.is_dir())
        if not writable(ancestor):
            raise UserError(f"--out {out}: build cannot create {out.parent} in {ancestor}; choose another --out")
        return f"{out.parent} does not exist yet; build creates it"
    check_output(out)
    return f"{out.parent} is writable"


def writable(folder: Path) -> bool:
    """Try it: permission bits say little when running as root or on odd file systems."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def check_store(store: Store) -> str:
    folder = store.root
    while not folder.exists():
        folder = folder.parent
    if not writable(folder):
        raise UserError(f"{store.root}: not writable; choose another --store")
    free = shutil.disk_usage(folder).free
    if free < MIN_FREE_BYTES:
        raise UserError(
            f"{store.root}: only {free // 2**20} MiB free; "
            f"free at least {MIN_FREE_BYTES // 2**20} MiB or choose another --store"
        )
    return f"{store.root} is writable ({free // 2**30} GiB free)"
