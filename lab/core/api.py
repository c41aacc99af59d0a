"""What the core asks of an exercise and of a lab, and what it gives them.

An *exercise* is a package under ``lab/exercises/`` (or any importable module)
whose ``EXERCISE`` object subclasses `Exercise`: it declares its section of the
lab declaration (schema, ``--quick`` scaling), the runs it produces and the
function computing each, and how their parameters follow from its section.

Its report side is declared the same way: ``REPORT`` in its report module, an
`lab.core.exercise_report.ExerciseReport`, checked when the exercise loads.

A *lab* is a package under ``lab/labs/`` (or any importable module) whose
``LAB`` object is a `Lab`: its title, the exercises it uses and its default
declaration. A declaration names its lab (``lab = "NAME"``); one that names none
gets ``DEFAULT`` of ``lab/labs/__init__.py``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from lab.core.errors import UserError
from lab.core.exercise_report import report_of

if TYPE_CHECKING:
    from lab.core.store import LoadedRun, Store

LABS, EXERCISES = "lab.labs", "lab.exercises"  # where a lab or an exercise is looked up by its short name


class Progress(Protocol):
    """A long step's progress: rich bars on a terminal, plain lines elsewhere, relayed from workers."""

    def start(self, total: int, description: str = "") -> None: ...
    def advance(self, n: int = 1) -> None: ...
    def update(self, completed: int) -> None: ...
    def log(self, message: str) -> None: ...


class Tasks(Protocol):
    """Hands out one progress task per label (a run, a data set): rich bars, plain lines, or relayed from a worker."""

    def task(self, label: str) -> AbstractContextManager[Progress]: ...


class NullProgress:
    """Progress sink for code run outside the CLI (tests, benchmarks)."""

    def start(self, total: int, description: str = "") -> None: ...
    def advance(self, n: int = 1) -> None: ...
    def update(self, completed: int) -> None: ...
    def log(self, message: str) -> None: ...


@dataclass(frozen=True)
class Inputs:
    """Where input data lives: settings that do not change results (never part of a key)."""

    folder: Path  # the declaration's folder: relative paths resolve here
    cache_dir: Path  # decoded data sets are kept here
    data: str | None = None  # --data or LABREPORT_DATA, overriding the declaration
    download: bool = True  # False with --no-download

    def resolve(self, relative: str) -> Path:
        path = Path(relative).expanduser()
        return path if path.is_absolute() else self.folder / path


class Exercise:
    """One exercise: subclass it, set the class attributes, override the hooks it needs."""

    name: str = ""  # its declaration section, e.g. [name]
    runs: dict[str, str] = {}  # run name -> "module:function" computing it
    schema: dict[str, Any] = {}  # rules for its section (lab.core.schema)
    side_by_side: bool = False  # short single-threaded runs: share the CPU cores
    needs_data: bool = False  # prepare() finds data the run keys depend on
    data_label: str = "data"  # how progress and `doctor` name that data
    input_files: tuple[str, ...] = ()  # options() naming files or folders a run reads: sent to cluster nodes
    node_folders: tuple[str, ...] = ()  # options() naming folders runs keep data in (a cache): any node's own will do
    report: str = ""  # module with its report parts (facts, figures, tables, answers)
    rerun_tolerance: float = 1e-3  # relative: how closely its runs repeat on another CPU kind (verify --rerun)

    @property
    def folder(self) -> Path:
        """The exercise's package folder: its templates (section, answers) live here."""
        return Path(sys.modules[type(self).__module__].__file__ or ".").resolve().parent

    def declared_runs(self, section: dict) -> dict[str, str]:
        """Run name -> "module:function" for this section: `runs`, plus those a sweep declares."""
        return self.runs

    def scale_down(self, section: dict) -> dict:
        """The same runs, small enough for --quick (a copy of `section`)."""
        return section

    def check(self, section: dict, runs: list[str], source: str) -> None:
        """Cheap checks before any run (raise UserError naming `source` and the key)."""

    def prepare(self, section: dict, inputs: Inputs, progress: Progress) -> dict:
        """Find and check the input data; what it returns joins every run's parameters."""
        return {}

    def params(self, run: str, section: dict, quick: bool) -> dict:
        """The resolved parameters of one run: what its key hashes."""
        raise NotImplementedError

    def options(self, section: dict, inputs: Inputs) -> dict:
        """Settings a run needs that do not change its results (not hashed)."""
        return {}

    def stand_in(self, store: Store, run: str, section: dict, quick: bool) -> LoadedRun | None:
        """With the input data gone, a finished run that still renders (or None)."""
        return None


def computation(entry: str) -> Callable:
    """The function named by ``module:function``."""
    module_name, _, function = entry.partition(":")
    return getattr(importlib.import_module(module_name), function)


@dataclass
class Lab:
    """A lab of the course: which exercises, in which order, its questions and default declaration."""

    name: str
    title: dict[str, str]  # by language
    exercises: list[str]  # a package name under lab.exercises, or a module path
    declaration: Path  # the default declaration (every default value)
    questions: dict[str, str] = field(default_factory=dict)  # question id -> the run answering it
    question_texts: dict[str, dict[str, str]] = field(default_factory=dict)  # id -> language -> text
    template: str = "report.html.j2"  # the report's page template
    section_titles: dict[str, dict[str, str]] = field(default_factory=dict)  # exercise -> language -> title
    folder: Path | None = None  # the lab's own templates (overview.html.j2)
    reflections: str = ""  # its template of the prompts `labreport init` writes in reflections.md

    @classmethod
    def from_manifest(cls, path: Path) -> Lab:
        """A lab described by a TOML manifest (see a lab's manifest.toml under lab/labs/)."""
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            import tomli as tomllib
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        questions = data.get("questions", {})
        return cls(
            name=data["name"],
            title=data["title"],
            exercises=list(data["exercises"]),
            declaration=path.parent / data["declaration"],
            questions={qid: q["run"] for qid, q in questions.items()},
            question_texts={qid: {k: v for k, v in q.items() if k != "run"} for qid, q in questions.items()},
            template=data.get("template", "report.html.j2"),
            section_titles=data.get("sections", {}),
            folder=path.parent,
            reflections=data.get("reflections", ""),
        )

    def question_text(self, qid: str, lang: str) -> str:
        return self.question_texts.get(qid, {}).get(lang, "")

    def loaded(self) -> list[Exercise]:
        return [load_exercise(name) for name in self.exercises]


def _import(kind: str, name: str, home: str, attribute: str) -> Any:
    """``name`` is a package under ``home`` (``myexercise``) or any importable module (``mylab.exercise``)."""
    candidates = [name] if "." in name else [f"{home}.{name}", name]
    for module_name in candidates:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name and module_name.startswith(error.name):
                continue
            raise
        try:
            return getattr(module, attribute)
        except AttributeError:
            raise UserError(f"{kind} {name!r}: {module_name} defines no {attribute}") from None
    raise UserError(
        f"{kind} {name!r}: not found (no module {' or '.join(candidates)}); "
        "check the name, or that its package is installed"
    )


def load_exercise(name: str) -> Exercise:
    """The exercise, its report checked (`report_of`): a misspelt name fails here, before any work."""
    exercise = _import("exercise", name, EXERCISES, "EXERCISE")
    if exercise.report:
        report_of(exercise)
    return exercise


def load_lab(name: str | None = None) -> Lab:
    """The lab `name`; without one, the default (``DEFAULT`` of the labs' package)."""
    return _import("lab", name or default_lab(), LABS, "LAB")


def default_lab() -> str:
    return importlib.import_module(LABS).DEFAULT
