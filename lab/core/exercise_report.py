"""What an exercise shows in the report, declared as `Exercise` declares its runs.

An exercise's report module (``Exercise.report``) defines ``REPORT``, an `ExerciseReport`:
how its stored files become facts (`analyse`), its CSV tables, its appendices, and one
ordered list of `Item`s, figures and tables alike (its parameter table too), whose order is
their numbering. Its templates (its folder's ``*.j2``) place each item with ``figure("fig:…")`` or
``table("tab:…")``, cite one with ``ref("…")`` and take short words from its catalogues
(``messages/<lang>.toml``) with ``text("…")``.

`check_report` runs when the exercise loads: a name its templates use that it does not
declare, an item no template places, or a caption a catalogue lacks stops every command
with one line naming the exercise and the name.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lab.core.errors import UserError

if TYPE_CHECKING:
    from lab.core.api import Exercise

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

KINDS = {"fig:": "figure", "tab:": "table"}
APPENDIX = "appendix:"
# A name given as a literal to figure(), table(), ref() or text() in a template.
NAMED = re.compile(r"""\b(figure|table|ref|text)\(\s*["']([^"']+)["']""")


def always(facts: Any) -> bool:
    return True


def nothing_else(facts: Any) -> str:
    return ""


@dataclass(frozen=True)
class Item:
    """A numbered figure or table of an exercise."""

    key: str  # "fig:NAME" or "tab:NAME": its kind, its anchor, what ref(key) cites
    caption: str  # the catalogue key of its caption
    runs: tuple[str, ...]  # the runs it shows: left out while one of them is missing
    make: Callable[[Any, str], Any]  # (facts, lang) -> a figure's SVG text, or a table (lab.report.items.Table)
    shown: Callable[[Any], bool] = always  # left out unless this holds for the facts
    inputs: Callable[[Any], str] = nothing_else  # what else a figure draws from (part of its cache key)
    # the caption's {placeholders}, or (facts) -> them when they depend on the run (how many rows it shows)
    caption_values: Mapping[str, Any] | Callable[[Any], Mapping[str, Any]] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return KINDS[self.key[:4]]


@dataclass(frozen=True)
class Appendix:
    """An appendix an exercise adds after the body (A, B, … in the order the exercises come)."""

    key: str  # "appendix:NAME": ref(key) cites it by its letter
    title: str  # the catalogue key of its heading
    contents: str  # the catalogue key of its line in the table of contents
    template: str  # its template, in the exercise's folder
    context: Callable[[Any, dict, Any], dict | None]  # (facts, runs, inputs) -> its template's values; None: left out


class ExerciseReport:
    """One exercise in the report: subclass it, set the class attributes, override the hooks it needs."""

    items: tuple[Item, ...] = ()  # in the order of the document, which numbers them
    appendices: tuple[Appendix, ...] = ()
    run_titles: Mapping[str, str] = {}  # run -> the catalogue key of its title (runs table, provenance)
    helpers: Mapping[str, Callable] = {}  # what its templates may call besides the number formats
    section: str = "section.html.j2"  # its part of the page, in its folder

    def analyse(self, runs: dict) -> Any:
        """The stored files of its runs (a missing run is None) -> the facts its words and items show."""
        raise NotImplementedError

    def csv_tables(self, facts: Any) -> dict:
        """The tables written beside the report as CSV, by file name (without .csv)."""
        return {}

    def run_title(self, run: str, text: Callable[..., str]) -> str:
        """A run's title, in the language of `text` (its catalogue, as the templates' text())."""
        return text(self.run_titles[run]) if run in self.run_titles else run


_checked: dict[str, ExerciseReport] = {}


def report_of(exercise: Exercise) -> ExerciseReport:
    """The exercise's `ExerciseReport` (``REPORT`` in its report module), checked the first time."""
    if exercise.report not in _checked:
        report = getattr(importlib.import_module(exercise.report), "REPORT", None)
        if not isinstance(report, ExerciseReport):
            raise UserError(f"exercise {exercise.name}: {exercise.report} defines no REPORT (an ExerciseReport)")
        problems = check_report(report, exercise.name, list(exercise.runs), exercise.folder)
        if problems:
            raise UserError(f"exercise {exercise.name}: " + "; ".join(problems))
        _checked[exercise.report] = report
    return _checked[exercise.report]


def check_report(report: ExerciseReport, name: str, runs: list[str], folder: Path) -> list[str]:
    """What is wrong with the names of an exercise's report, one line each (nothing: all is well)."""
    keys = [item.key for item in report.items]
    problems = [f"item {key!r} is declared twice" for key in sorted({k for k in keys if keys.count(k) > 1})]
    problems += [f"item {key!r}: a key starts with fig: or tab:" for key in keys if key[:4] not in KINDS]
    problems += [
        f"item {item.key!r} shows run {run!r}, which is not one of its runs ({', '.join(runs)})"
        for item in report.items
        for run in item.runs
        if run not in runs
    ]
    problems += [f"run title for {run!r}, which is not one of its runs" for run in report.run_titles if run not in runs]
    words = [item.caption for item in report.items] + list(report.run_titles.values())
    words += [key for appendix in report.appendices for key in (appendix.title, appendix.contents)]
    used = names_in_templates(folder)
    problems += missing_words(folder, words + [key for kind, key, _ in used if kind == "text"])
    return problems + misplaced(keys, [appendix.key for appendix in report.appendices], used)


def names_in_templates(folder: Path) -> list[tuple[str, str, str]]:
    """(figure|table|ref|text, name, template) for every literal name the exercise's templates use."""
    return [
        (kind, key, str(path.relative_to(folder)))
        for path in sorted(folder.rglob("*.j2"))
        for kind, key in NAMED.findall(path.read_text(encoding="utf-8"))
    ]


def misplaced(items: list[str], appendices: list[str], used: list[tuple[str, str, str]]) -> list[str]:
    """Names its templates place or cite that it does not declare, and items no template places."""
    known = ", ".join(items + appendices)
    problems = [
        f"{template} {'cites' if kind == 'ref' else 'places'} {key!r}, which is not one of its items ({known})"
        for kind, key, template in used
        if (kind in ("figure", "table") and key not in items) or (kind == "ref" and key not in items + appendices)
    ]
    placed = {key for kind, key, _ in used if kind in ("figure", "table")}
    return problems + [f"item {key!r} is placed by none of its templates" for key in items if key not in placed]


def missing_words(folder: Path, keys: list[str]) -> list[str]:
    """The catalogue keys some language's ``messages/<lang>.toml`` lacks."""
    problems = []
    for path in sorted((folder / "messages").glob("*.toml")):
        catalogue = tomllib.loads(path.read_text(encoding="utf-8"))
        problems += [f"messages/{path.name} has no {key!r}" for key in dict.fromkeys(keys) if key not in catalogue]
    return problems
