"""A lab's runs -> each exercise's facts, gathered for the report.

Each exercise's report module (``Exercise.report``) reads its own runs
(``analyse(runs)``); attribute access on the whole reaches into the parts, so a
figure or an answer of one exercise reads ``lab.cifar`` or ``lab.epoch_facts``
as before.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from lab.core.api import Exercise, Lab, load_lab


def report_module(exercise: Exercise) -> ModuleType:
    return importlib.import_module(exercise.report)


@dataclass
class LabAnalysis:
    parts: dict[str, Any]  # exercise name -> what its runs established
    missing: dict[str, str] = field(default_factory=dict)  # run name -> reason

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("parts", "missing"):
            raise AttributeError(name)
        for part in self.parts.values():
            if hasattr(part, name):
                return getattr(part, name)
        raise AttributeError(name)

    def records(self) -> dict[str, dict]:
        return {name: record for part in self.parts.values() for name, record in part.records().items()}

    @property
    def quick(self) -> bool:
        return any(bool(record.get("quick")) for record in self.records().values())


def analyse(runs: dict, missing: dict[str, str] | None = None, lab: Lab | None = None) -> LabAnalysis:
    """Read every available run; a run that is None is listed in ``missing``."""
    lab = lab or load_lab()
    missing = dict(missing or {})
    for name in lab.run_names():
        if runs.get(name) is None:
            missing.setdefault(name, "missing")
    parts = {exercise.name: report_module(exercise).analyse(runs) for exercise in lab.loaded()}
    return LabAnalysis(parts, {name: reason for name, reason in missing.items() if runs.get(name) is None})


def csv_tables(analysis: LabAnalysis, lab: Lab | None = None) -> dict:
    """The tables written beside the report, by file name (without .csv)."""
    lab = lab or load_lab()
    tables: dict = {}
    for exercise in lab.loaded():
        tables.update(report_module(exercise).csv_tables(analysis.parts[exercise.name]))
    return tables
