"""`labreport init`: a lab folder of the student's own.

The declaration (the lab's default, with the student's name, ID, class and language),
``reflections.md`` with prompts drawn from the student's measurements when the folder
already holds results (generic ones otherwise), and ``answers/README.md``. The prompts
are a Markdown comment: the reflections stay the student's own words.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import jinja2

from lab.core.api import Lab, load_lab
from lab.core.atomic import write_text_atomic
from lab.core.declaration import DEFAULT_NAME, display, tomllib
from lab.core.errors import UserError
from lab.report.wording import num, pct, signed

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


def planned_files(folder: Path) -> list[Path]:
    return [folder / DEFAULT_NAME, folder / "reflections.md", folder / "answers" / "README.md"]


def refuse_to_overwrite(folder: Path) -> None:
    existing = [path for path in planned_files(folder) if path.exists()]
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


def measurements(session) -> dict:
    """What the prompts can quote from results already in the folder's run store."""
    from lab.core.session import gather, plan_for_render
    from lab.report import analysis

    if not session.store.root.is_dir():
        return {}
    runs, missing = gather(session, plan_for_render(session))
    if not any(runs.values()):
        return {}
    lab = analysis.analyse(runs, missing, session.decl.lab)
    return {
        "lr": lr_prompt(getattr(lab, "lr_facts", None)),
        "epochs": epochs_prompt(getattr(lab, "epoch_facts", None)),
        "drop": drop_prompt(getattr(lab, "cifar", None)),
    }


def lr_prompt(facts) -> dict | None:
    if facts is None:
        return None
    largest = facts.behaviour[facts.largest]
    return {
        "lr": f"{facts.largest:g}",
        "status": largest.status,
        "diverged": largest.diverged_seeds,
        "seeds": largest.seeds,
        "train_loss": num(largest.train_loss),
    }


def epochs_prompt(facts) -> dict | None:
    if facts is None:
        return None
    return {
        "all": [str(n) for n in facts.epochs],
        "best": facts.best_epochs,
        "error": num(facts.best_true_error),
    }


def drop_prompt(cifar) -> dict | None:
    drop = cifar.facts.drop if cifar is not None else None
    if drop is None:
        return None
    return {
        "lr_before": f"{drop.lr_before:g}",
        "lr_after": f"{drop.lr_after:g}",
        "before": pct(drop.test_before),
        "after": pct(drop.test_after),
        "jump": signed(drop.test_jump),
    }


def render(name: str, lang: str, **values) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template(f"{name}.{lang}.md.j2").render(**values)


def start_folder(folder: Path, student: Student, lang: str | None, session_for=None) -> list[Path]:
    """Write the three files (never over existing ones); return them.

    ``session_for(declaration)`` opens the new declaration's session, to quote results
    already in the folder; without it the prompts are generic.
    """
    student.check()
    refuse_to_overwrite(folder)
    lab = load_lab()
    declaration, reflections, readme = planned_files(folder)
    folder.mkdir(parents=True, exist_ok=True)
    text = declaration_text(lab, student, lang)
    lang = tomllib.loads(text)["report"]["lang"]
    write_text_atomic(declaration, text)
    measured = measurements(session_for(declaration)) if session_for else {}
    prompts = {key: measured.get(key) for key in ("lr", "epochs", "drop")}
    readme.parent.mkdir(exist_ok=True)
    write_text_atomic(reflections, render("reflections", lang, **prompts))
    files = ", ".join(f"{qid}.md" for qid in lab.questions)
    write_text_atomic(readme, render("answers-README", lang, files=files))
    return [declaration, reflections, readme]
