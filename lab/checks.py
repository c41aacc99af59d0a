"""What `labreport doctor` checks before long work: PDF engine, declaration, exercises' inputs, data, fonts,
output folder, run store, hand-in readiness, device. Each check returns what it found, or
raises UserError saying what to do."""

from __future__ import annotations

import functools
from collections.abc import Callable

from lab.core.api import Exercise
from lab.core.errors import UserError
from lab.core.session import Session, check_exercises, check_store, output_status

DATA_PREFIX = "data_"  # prepared data_fingerprint shows as "fingerprint …"


def doctor_checks(session: Session, lang: str, device: str, prepare: Callable) -> list[tuple[str, Callable[[], str]]]:
    """(label, check) for each thing doctor looks at; `prepare(session, exercise)` finds an exercise's data."""
    from lab.core import executor, runner
    from lab.report.fonts import check_fonts, font_subsetting_note
    from lab.report.pdf_engine import engine_status

    decl = session.decl
    out = decl.resolve(decl.values["report"]["out"])
    names = ", ".join(exercise.name for exercise in decl.exercises)

    def exercises() -> str:
        check_exercises(decl, decl.run_names)
        return f"{names}: inputs checked"

    def font() -> str:
        check_fonts(lang)
        return font_subsetting_note() or "found"

    return [
        ("PDF engine", engine_status),  # first: without it no build writes a PDF
        ("declaration", lambda: f"{decl.path} ({'quick' if decl.quick else 'full'})"),
        ("exercises", exercises),
        *[
            (exercise.data_label, functools.partial(describe_data, session, exercise, prepare))
            for exercise in decl.exercises
            if exercise.needs_data
        ],
        (f"font for {lang}", font),
        ("output folder", lambda: output_status(out, session.store)),
        ("run store", lambda: check_store(session.store)),
        ("hand-in", functools.partial(ready_to_hand_in, session)),
        ("device", lambda: executor.device_name(runner.resolve_device(device))),
    ]


def ready_to_hand_in(session: Session) -> str:
    """The hand-in checks that need no results (build lists the runs too)."""
    from lab.report import handin

    problems = handin.declaration_problems(session.decl)
    if problems:
        raise UserError("; ".join(problems))
    return "name, ID, reflections and answers are yours (labreport list shows the runs)"


def describe_data(session: Session, exercise: Exercise, prepare: Callable) -> str:
    where = exercise.options(session.decl.values[exercise.name], session.inputs).get("data", "")
    found = prepare(session, exercise)
    described = ", ".join(f"{key.removeprefix(DATA_PREFIX)} {str(value)[:12]}" for key, value in found.items())
    return f"{where} ({described})"
