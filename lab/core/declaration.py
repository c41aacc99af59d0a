"""The lab declaration: TOML → validated values, with --set overrides and --quick scaling.

The declaration names its lab (``lab = "NAME"``; the default lab when it names none);
the lab's default declaration holds every default, and its file name is the one a lab
folder's declaration has. A user's file is laid over it (tables merge,
everything else replaces), overrides are applied, and the result is checked
against the schema assembled from the core's sections and the lab's exercises:
every problem is one line naming the file, the key path and what to do.
"""

from __future__ import annotations

import copy
import hashlib
import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.core.api import Exercise, Lab, default_lab, load_lab
from lab.core.errors import UserError
from lab.core.schema import Rule, text, validate

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

# The sections every lab has; each exercise adds its own.
CORE_SCHEMA: dict[str, Any] = {
    "lab": text(optional=True),
    "student": {"name": text(), "id": text(), "class": text()},
    "report": {
        "lang": text("zh", "en"),
        "out": text(),
        "reflections": text(),
        "answers": text(),
        "title": text(optional=True),
        "attach_evidence": Rule(bool, optional=True),  # the PDF carries its runs for `labreport verify`
    },
}


def schema_of(exercises: list[Exercise]) -> dict[str, Any]:
    return {**CORE_SCHEMA, **{exercise.name: exercise.schema for exercise in exercises}}


# --- loading ---------------------------------------------------------------------


@dataclass
class Declaration:
    values: dict
    path: Path  # the user's file, or the lab's default
    folder: Path  # where relative paths in it resolve
    lab: Lab  # the lab it names
    quick: bool = False
    overrides: list[str] = field(default_factory=list)

    @property
    def exercises(self) -> list[Exercise]:
        return self.lab.loaded()

    def runs_of(self, exercise: Exercise) -> dict[str, str]:
        """The exercise's runs as this declaration has them (a sweep adds some)."""
        return exercise.declared_runs(self.values[exercise.name])

    @property
    def run_names(self) -> list[str]:
        """Every run this declaration asks for, exercise by exercise."""
        return [run for exercise in self.exercises for run in self.runs_of(exercise)]

    @property
    def name(self) -> str:
        """The declaration relative to its folder (the packaged example by its file name)."""
        try:
            return str(Path(self.path).relative_to(self.folder))
        except ValueError:
            return Path(self.path).name

    def options(self) -> list[str]:
        """The options that select these values in the lab folder: --config, each --set, --quick."""
        options = [] if self.name == self.lab.declaration.name else ["--config", self.name]
        for override in self.overrides:
            options += ["--set", override]
        return options + (["--quick"] if self.quick else [])

    @property
    def sha256(self) -> str:
        return values_sha256(self.values)

    def resolve(self, relative: str) -> Path:
        path = Path(relative).expanduser()
        return path if path.is_absolute() else self.folder / path


def values_sha256(values: dict) -> str:
    """The declaration's hash, as Appendix B gives it: of its resolved values."""
    canonical = json.dumps(values, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def command_line(*words: str, options: list[str] | tuple[str, ...] = ()) -> str:
    """A labreport command, quoted for a shell: ``labreport run --only NAME --set …``."""
    return shlex.join(["labreport", *words, *options])


def default_file_name() -> str:
    """The declaration's file name in a lab folder: the default lab's."""
    return load_lab().declaration.name


def find_file(config: Path | None, cwd: Path | None = None) -> tuple[Path | None, Path]:
    """(file to read, folder paths resolve against)."""
    cwd = cwd or Path.cwd()
    if config is not None:
        if not config.exists():
            raise UserError(f"{config}: no such declaration file; check the --config path")
        return config, config.resolve().parent
    local = cwd / default_file_name()
    if local.exists():
        return local, cwd
    return None, cwd


def display(path: Path) -> str:
    """The path as the user would type it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise UserError(f"{display(path)}: not valid TOML ({error}); fix the syntax at that line") from error
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: cannot read the declaration ({error})") from error


def load(
    config: Path | None = None, overrides: list[str] | tuple = (), quick: bool = False, cwd: Path | None = None
) -> Declaration:
    path, folder = find_file(config, cwd)
    user = read_toml(path) if path is not None else {}
    lab = lab_of(user, path)
    values = read_toml(lab.declaration)
    values = merge(values, user)
    for override in overrides:
        apply_override(values, override)
    exercises = lab.loaded()
    source = display(path) if path is not None else f"{lab.declaration.name} (packaged default)"
    validate(values, schema_of(exercises), source)
    if quick:
        values = scale_down(values, exercises)
    return Declaration(values, path or lab.declaration, folder, lab, quick, list(overrides))


def lab_of(user: dict, path: Path | None) -> Lab:
    name = user.get("lab", default_lab())
    if not isinstance(name, str) or not name.strip():
        raise UserError(
            f'{display(path) if path else "declaration"}: lab: expected the name of a lab, e.g. lab = "{default_lab()}"'
        )
    return load_lab(name)


def scale_down(values: dict, exercises: list[Exercise]) -> dict:
    """The same matrix, small enough for a draft build in well under a minute
    (35 s on 2 cores of an AMD EPYC, measured by bench/build.py)."""
    quick = copy.deepcopy(values)
    for exercise in exercises:
        quick[exercise.name] = exercise.scale_down(quick[exercise.name])
    return quick


def merge(base: dict, top: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


# --- --set KEY=VALUE -----------------------------------------------------------


def parse_value(raw: str) -> Any:
    """TOML syntax for the value (numbers, lists, booleans…), else the plain string."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def apply_override(values: dict, override: str) -> None:
    key, sep, raw = override.partition("=")
    key = key.strip()
    if not sep or not key:
        raise UserError(f"--set {override!r}: expected KEY=VALUE, e.g. --set report.lang=en")
    parts = key.split(".")
    if any(not part for part in parts):
        raise UserError(f"--set {override!r}: {key!r} is not a dotted key path, e.g. report.lang")
    container: Any = values
    for depth, part in enumerate(parts[:-1]):
        container = step_into(container, part, ".".join(parts[: depth + 1]), override)
    set_item(container, parts[-1], parse_value(raw.strip()), ".".join(parts[:-1]), override)


def step_into(container: Any, part: str, path: str, override: str) -> Any:
    if isinstance(container, list):
        return container[list_index(container, part, path, override)]
    if isinstance(container, dict):
        if part not in container:
            container[part] = {}  # validation names it if it is not a known key
        return container[part]
    raise UserError(f"--set {override!r}: {path!r} is a value, not a table or list")


def set_item(container: Any, part: str, value: Any, parent: str, override: str) -> None:
    if isinstance(container, list):
        container[list_index(container, part, f"{parent}.{part}", override)] = value
    elif isinstance(container, dict):
        container[part] = value
    else:
        raise UserError(f"--set {override!r}: {parent!r} is a value, not a table or list")


def list_index(items: list, part: str, path: str, override: str) -> int:
    if not part.isdigit() or int(part) >= len(items):
        raise UserError(f"--set {override!r}: {path!r}: list index must be 0..{len(items) - 1}")
    return int(part)
