"""Each question of the lab -> its answer: the student's own Markdown, a note that the run is missing,
or the words its exercise's template for it generates from its facts (a template per language)."""

from __future__ import annotations

from pathlib import Path

import jinja2
import markdown
from markupsafe import Markup, escape

from lab.core.api import Lab, load_lab
from lab.core.errors import UserError
from lab.report.analysis import LabAnalysis, report_module
from lab.report.messages import Messages
from lab.report.render import lab_template_folders, template_environment
from lab.report.wording import (
    Answer,
    Ref,
    code,
    count,
    join_values,
    lr_text,
    num,
    pct,
    plural,
    pm,
    seconds_text,
    signed,
)

msg = Messages(Path(__file__).parent)


def missing_text(run: str, reason: str, lang: str, repeated: bool = False) -> Markup:
    if repeated:
        text = msg(lang, "answer_missing_again", run=code(run))
    else:
        text = msg(
            lang,
            "answer_missing",
            run=code(run),
            reason=escape(reason),
            command=code(f"labreport run --only {run}"),
            build=code("labreport build"),
        )
    return Markup(f"<p>{text}</p>")


def student_answer(path: Path) -> Markup:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: cannot read your answer ({error}); save it as UTF-8 Markdown or remove it") from error
    return Markup(markdown.markdown(text, extensions=["extra", "sane_lists"]))


def build_answers(
    lab: LabAnalysis,
    lang: str,
    ref: Ref,
    answers_dir: Path | None,
    manifest: Lab | None = None,
    env: jinja2.Environment | None = None,
) -> dict[str, Answer]:
    """One Answer per question: the student's Markdown if present, else generated from the facts."""
    manifest = manifest or load_lab()
    env = env or template_environment(lab_template_folders(manifest))
    owners = {run: exercise for exercise in manifest.loaded() for run in exercise.runs}
    answers, reported = {}, set()
    for qid, run in manifest.questions.items():
        question = manifest.question_text(qid, lang)
        own = answers_dir / f"{qid}.md" if answers_dir else None
        if own is not None and own.is_file():
            answers[qid] = Answer(qid, question, student_answer(own), "student", own)
        elif run in lab.missing:
            answers[qid] = Answer(qid, question, missing_text(run, lab.missing[run], lang, run in reported), "missing")
            reported.add(run)
        else:
            exercise = owners[run]
            body = generated(exercise, qid, lab.parts[exercise.name], lang, ref, env)
            answers[qid] = Answer(qid, question, body, "generated")
    return answers


# Number formats an answer template may use (an exercise's report module can add its own).
TEMPLATE_HELPERS = {
    "num": num,
    "pm": pm,
    "pct": pct,
    "signed": signed,
    "lr_text": lr_text,
    "seconds_text": seconds_text,
    "count": count,
    "plural": plural,
    "join_values": join_values,
    "code": code,
}


def answer_template(env: jinja2.Environment | None, name: str) -> jinja2.Template | None:
    if env is None:
        return None
    try:
        return env.get_template(name)
    except jinja2.TemplateNotFound:
        return None


def generated(exercise, qid: str, facts, lang: str, ref: Ref, env: jinja2.Environment | None) -> Markup:
    """The exercise's words: its template ``answers/<qid>.<lang>.html.j2`` (HTML) or ``.md.j2`` (Markdown)."""
    for suffix in ("html", "md"):
        template = answer_template(env, f"{exercise.folder.name}/answers/{qid}.{lang}.{suffix}.j2")
        if template is None:
            continue
        helpers = {**TEMPLATE_HELPERS, **getattr(report_module(exercise), "TEMPLATE_HELPERS", {})}
        text = template.render(facts=facts, ref=lambda key: Markup(ref(key)), lang=lang, **helpers)
        return Markup(text) if suffix == "html" else Markup(markdown.markdown(text, extensions=["extra", "sane_lists"]))
    raise UserError(
        f"question {qid}: exercise {exercise.name} has no answer template "
        f"({exercise.folder.name}/answers/{qid}.{lang}.html.j2 or .md.j2)"
    )
