"""Before you hand in: what keeps a build from being the report a student attaches as their own.

Every `labreport build` lists these at its end; `build --final` refuses to write a PDF
while any is left, and `doctor` runs the checks that need no results. Each problem is
one line naming the file or run and what to do.
"""

from __future__ import annotations

from pathlib import Path

from lab.core.declaration import Declaration, display, read_toml
from lab.report.student import answer_files, is_placeholder, student_text

INIT_HINT = "labreport init"


def declaration_problems(decl: Declaration) -> list[str]:
    """What the student still has to do, whatever the results: name, reflections, answers, --quick."""
    problems = default_student(decl) + reflections_missing(decl) + answer_problems(decl)
    if decl.quick:
        problems.append("--quick: a draft with fewer epochs and seeds; build without --quick to hand in")
    return problems


def run_problems(runs: dict, missing: dict[str, str], quick: bool) -> list[str]:
    """What the results lack: runs missing or stale, quick results standing in for full ones."""
    listed = ", ".join(f"{name} ({reason})" for name, reason in missing.items())
    problems = [f"runs not available: {listed}; the report says so where they belong"] if missing else []
    quick_runs = [name for name, run in runs.items() if run is not None and run.record.get("quick")]
    if quick_runs and not quick:
        problems.append(f"runs {', '.join(quick_runs)}: quick results (--quick); compute the full ones: labreport run")
    return problems


def default_student(decl) -> list[str]:
    """The packaged example's name or ID still in the declaration."""
    example = read_toml(decl.lab.declaration).get("student", {})
    student = decl.values.get("student", {})
    same = [key for key in ("name", "id") if student.get(key) == example.get(key)]
    if not same:
        return []
    values = " and ".join(f"{'ID' if key == 'id' else key} {student[key]!r}" for key in same)
    return [
        f"{where(decl)}: the {values} are the packaged example's; put yours in [student] (or start with: {INIT_HINT})"
    ]


def where(decl) -> str:
    """The declaration as the student knows it."""
    if decl.path == decl.lab.declaration:
        return f"no {decl.lab.declaration.name} here (the packaged example is used)"
    return display(Path(decl.path))


def reflections_missing(decl) -> list[str]:
    path = decl.resolve(decl.values.get("report", {}).get("reflections", "reflections.md"))
    text = student_text(path, "reflections")
    if text is None:
        return [f"{display(path)}: no reflections yet; write them in your own words (Markdown)"]
    if is_placeholder(text):
        return [f"{display(path)}: the reflections are not written yet (only prompts, empty or TODO)"]
    return []


def answer_problems(decl) -> list[str]:
    """Answers still a placeholder, and files in answers/ that answer no question."""
    folder = decl.resolve(decl.values.get("report", {}).get("answers", "answers"))
    qids = list(decl.lab.questions)
    found, misnamed = answer_files(folder, qids)
    problems = [
        f"{display(path)}: still a placeholder (empty or TODO); write your answer or delete the file"
        for path in found.values()
        if is_placeholder(student_text(path))
    ]
    expected = ", ".join(f"{qid}.md" for qid in qids)
    problems += [
        f"{display(path)}: not used, no question has this name; name your answers {expected}" for path in misnamed
    ]
    return problems
