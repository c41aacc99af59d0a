"""A lab's runs -> what the report reads: each exercise's facts, from its `ExerciseReport`.

Rendering never trains: an exercise's `analyse` reads the stored files of its runs, and
a run that is missing is None there and named in `Reading.missing`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lab.core.api import Exercise, Lab, load_lab
from lab.core.exercise_report import ExerciseReport, report_of
from lab.core.store import LoadedRun


@dataclass
class Reading:
    """What a lab's runs established, by exercise, and which runs are missing (and why)."""

    exercises: list[Exercise]
    runs: dict[str, LoadedRun | None]
    facts: dict[str, Any]  # exercise name -> what its runs established
    groups: dict[str, list[str]]  # exercise name -> its runs, as the declaration has them
    missing: dict[str, str] = field(default_factory=dict)  # run name -> reason

    def report(self, exercise: Exercise) -> ExerciseReport:
        return report_of(exercise)

    @property
    def quick(self) -> bool:
        return any(run is not None and bool(run.record.get("quick")) for run in self.runs.values())


def read(
    runs: dict, lab: Lab | None = None, missing: dict[str, str] | None = None, groups: dict | None = None
) -> Reading:
    """Each exercise's facts from the runs by name; a run that is None (or absent) is missing.

    `groups`: each exercise's runs as the declaration has them (`Declaration.runs_of`; a sweep
    adds some); without it, the exercises' own `runs`.
    """
    exercises = (lab or load_lab()).loaded()
    groups = groups or {exercise.name: list(exercise.runs) for exercise in exercises}
    missing = dict(missing or {})
    for name in (run for names in groups.values() for run in names):
        if runs.get(name) is None:
            missing.setdefault(name, "missing")
    facts = {exercise.name: report_of(exercise).analyse(runs) for exercise in exercises}
    missing = {name: why for name, why in missing.items() if runs.get(name) is None}
    return Reading(exercises, dict(runs), facts, groups, missing)


def csv_tables(reading: Reading) -> dict:
    """The tables written beside the report, by file name (without .csv)."""
    tables: dict = {}
    for exercise in reading.exercises:
        tables.update(reading.report(exercise).csv_tables(reading.facts[exercise.name]))
    return tables
