"""Declaration → the list of runs, each with its resolved parameters and key."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from lab.core import fingerprint
from lab.core.api import Exercise, Inputs
from lab.core.declaration import Declaration
from lab.core.errors import UserError


@dataclass(frozen=True)
class RunSpec:
    name: str
    params: dict
    key: str
    options: dict = field(default_factory=dict, compare=False)  # not part of the key
    entry: str = field(default="", compare=False)  # "module:function" computing it
    code_version: str = field(default="", compare=False)  # part of the key
    side_by_side: bool = field(default=False, compare=False)  # may share the CPU cores with others
    inputs: tuple[str, ...] = field(default=(), compare=False)  # options naming files the run reads
    node_folders: tuple[str, ...] = field(default=(), compare=False)  # options naming caches: any node's will do
    code: dict = field(default_factory=dict, compare=False)  # {module: fingerprint} of the code computing it


def run_key(name: str, params: dict, version: str) -> str:
    canonical = json.dumps({"name": name, "version": version, "params": params}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def select(decl: Declaration, only: list[str] | None) -> list[str]:
    """Run names picked by --only (exercise or run names); all when empty."""
    groups = {exercise.name: list(decl.runs_of(exercise)) for exercise in decl.exercises}
    names = [run for runs in groups.values() for run in runs]
    if not only:
        return names
    chosen: list[str] = []
    for name in only:
        picked = groups.get(name, [name] if name in names else None)
        if picked is None:
            valid = ", ".join(list(groups) + [n for n in names if n not in groups])
            raise UserError(f"--only {name!r}: unknown experiment; valid names: {valid}")
        chosen += [n for n in picked if n not in chosen]
    return [n for n in names if n in chosen]


def expand(
    decl: Declaration,
    names: list[str],
    prepared: Mapping[str, dict | None] | None = None,
    inputs: Inputs | None = None,
) -> list[RunSpec]:
    """The runs for `names`. An exercise that needs data is left out until `prepared` has its entry."""
    prepared = prepared or {}
    specs = []
    for exercise in decl.exercises:
        section = decl.values[exercise.name]
        if exercise.needs_data and prepared.get(exercise.name) is None:
            continue
        options = exercise.options(section, inputs) if inputs is not None else {}
        for name, entry in decl.runs_of(exercise).items():
            if name in names:
                params = exercise.params(name, section, decl.quick, **(prepared.get(exercise.name) or {}))
                specs.append(run_spec(exercise, name, entry, params, options))
    return specs


def run_spec(exercise: Exercise, name: str, entry: str, params: dict, options: dict) -> RunSpec:
    """Run `name` of `exercise` with these parameters, keyed by them and by the code computing it today."""
    code = fingerprint.run_code(entry)
    version = fingerprint.digest(code)[:16]
    return RunSpec(
        name,
        params,
        run_key(name, params, version),
        options,
        entry,
        version,
        exercise.side_by_side,
        exercise.input_files,
        exercise.node_folders,
        code,
    )
