"""`labreport init`: a lab folder of the student's own.

The declaration (the lab's default, with the student's name, ID, class and language),
``reflections.md`` with the lab's prompts (its manifest's ``reflections`` template), which
quote the student's measurements when the folder already holds results, and
``answers/README.md``. The prompts are a Markdown comment: the reflections stay the
student's own words.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2

from lab.core.api import Lab, load_lab
from lab.core.atomic import write_text_atomic
from lab.core.declaration import display, tomllib
from lab.core.errors import UserError
from lab.report.wording import FORMATS

TEMPLATES = Path(__file__).with_name("starter")


@dataclass
class Student:
    name: str
    id: str
    klass: str  # "class"

    def check(self) -> None:
        for option, value in (("--name", self.name), ("--id", self.id), ("--class", self.klass)):
            if not value.strip():
                raise UserError(f"labreport init {option}: must not be empty")


def planned_files(folder: Path, lab: Lab) -> list[Path]:
    return [folder / lab.declaration.name, folder / "reflections.md", folder / "answers" / "README.md"]


def refuse_to_overwrite(folder: Path, lab: Lab) -> None:
    existing = [path for path in planned_files(folder, lab) if path.exists()]
    if existing:
        raise UserError(
            f"{', '.join(display(path) for path in existing)}: already there; init never overwrites "
            f"(edit the file, or start in another folder: labreport init NEW-FOLDER)"
        )


def declaration_text(lab: Lab, student: Student, lang: str | None) -> str:
    """The lab's default declaration, comments and all, with the student's values."""
    text = lab.declaration.read_text(encoding="utf-8")
    default = tomllib.loads(text)
    lang = lang or default["report"]["lang"]
    wanted = {"name": student.name, "id": student.id, "class": student.klass}
    for key, value in wanted.items():
        text = replace_value(text, key, default["student"][key], value)
    text = replace_value(text, "lang", default["report"]["lang"], lang)
    written = tomllib.loads(text)
    if written["student"] != wanted or written["report"]["lang"] != lang:
        raise RuntimeError(f"{lab.declaration}: [student] or report.lang not as expected; cannot fill it in")
    return text


def replace_value(text: str, key: str, old: str, new: str) -> str:
    # json.dumps writes a valid TOML basic string (escapes included)
    pattern = re.compile(rf"^{re.escape(key)}(\s*)=(\s*){re.escape(json.dumps(old, ensure_ascii=False))}", re.M)
    return pattern.sub(lambda m: f"{key}{m[1]}={m[2]}{json.dumps(new, ensure_ascii=False)}", text, count=1)


def measurements(session) -> dict | None:
    """Each exercise's facts from results already in the folder's run store (None: no results)."""
    from lab.core.session import gather, plan_for_render
    from lab.report import reading

    if not session.store.root.is_dir():
        return None
    runs, missing = gather(session, plan_for_render(session))
    if not any(runs.values()):
        return None
    decl = session.decl
    groups = {exercise.name: list(decl.runs_of(exercise)) for exercise in decl.exercises}
    return reading.read(runs, decl.lab, missing, groups).facts


def render(name: str, lang: str, folders: Sequence[Path] = (), **values) -> str:
    """`name` from `folders` (a lab's own), else from the starter's templates."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([*folders, TEMPLATES]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template(name).render(lang=lang, **FORMATS, **values)


def start_folder(folder: Path, student: Student, lang: str | None, session_for=None) -> list[Path]:
    """Write the three files (never over existing ones); return them.

    ``session_for(declaration)`` opens the new declaration's session, to quote results
    already in the folder; without it the prompts are generic.
    """
    student.check()
    lab = load_lab()
    refuse_to_overwrite(folder, lab)
    declaration, reflections, readme = planned_files(folder, lab)
    folder.mkdir(parents=True, exist_ok=True)
    text = declaration_text(lab, student, lang)
    lang = tomllib.loads(text)["report"]["lang"]
    write_text_atomic(declaration, text)
    analysis = measurements(session_for(declaration)) if session_for else None
    readme.parent.mkdir(exist_ok=True)
    prompts = lab.reflections or "reflections.md.j2"
    write_text_atomic(reflections, render(prompts, lang, [lab.folder] if lab.folder else [], analysis=analysis))
    files = ", ".join(f"{qid}.md" for qid in lab.questions)
    example = list(lab.questions)[-1] if lab.questions else "Q1"
    write_text_atomic(readme, render("answers-README.md.j2", lang, files=files, example=example))
    return [declaration, reflections, readme]
