"""Each question of the lab -> its answer: the student's own Markdown, the note that its run is
missing, or the words its exercise's template for it generates from the facts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import jinja2
import markdown
from markupsafe import Markup, escape

from lab.core.api import Exercise, Lab
from lab.core.declaration import command_line
from lab.core.errors import UserError
from lab.report.messages import Messages
from lab.report.reading import Reading
from lab.report.student import answer_files, student_answer
from lab.report.wording import FORMATS, Answer, Ref, code

msg = Messages(Path(__file__).parent)


def status_word(status: str, lang: str) -> str:
    """A run's status (missing, partial, stale, …) in the report's language."""
    return msg.get(lang, f"status_{status}", status)


def missing_note(run: str, reason: str, lang: str, options: list[str] | tuple[str, ...] = ()) -> Markup:
    """The report's one note on a run it lacks: why, and the command that computes it (with
    the declaration's own options), after which the report is built again."""
    command = command_line("run", "--only", run, options=options)
    text = msg(lang, "run_missing", run=code(run), reason=escape(status_word(reason, lang)), command=code(command))
    return Markup(f'<p class="missing">{text}</p>')


def build_answers(
    reading: Reading,
    lang: str,
    ref: Ref,
    answers_dir: Path | None,
    lab: Lab,
    env: jinja2.Environment,
    options: list[str] | tuple[str, ...] = (),
) -> dict[str, Answer]:
    """One Answer per question: the student's Markdown if present, else the missing run's note
    (once per run; a later question on it refers back), else generated from the facts."""
    owners = {run: exercise for exercise in reading.exercises for run in exercise.runs}
    answers, noted = {}, set()
    own_files, _ = answer_files(answers_dir, lab.questions) if answers_dir else ({}, [])
    for qid, run in lab.questions.items():
        question = lab.question_text(qid, lang)
        if qid in own_files:
            answers[qid] = Answer(qid, question, student_answer(own_files[qid]), "student", own_files[qid])
        elif run in reading.missing:
            again = Markup(f"<p>{msg(lang, 'answer_missing_again', run=code(run))}</p>")
            body = again if run in noted else missing_note(run, reading.missing[run], lang, options)
            answers[qid] = Answer(qid, question, body, "missing")
            noted.add(run)
        else:
            exercise = owners[run]
            body = generated(exercise, qid, reading, lang, ref, env)
            answers[qid] = Answer(qid, question, body, "generated")
    return answers


def helpers(reading: Reading) -> dict[str, Callable]:
    """What every template may call: the number formats, and what each exercise adds (its ``helpers``)."""
    added = {name: value for exercise in reading.exercises for name, value in reading.report(exercise).helpers.items()}
    return {**FORMATS, **added}


def answer_template(env: jinja2.Environment, name: str) -> jinja2.Template | None:
    try:
        return env.get_template(name)
    except jinja2.TemplateNotFound:
        return None


def answer_template_names(folder: str, qid: str, lang: str) -> list[tuple[str, str]]:
    """Where an answer's words may live, first found wins: one template for both languages
    (``answers/<qid>.html.j2``, its text in per-language blocks under one set of conditions, so
    the two languages cannot drift), else one per language (``answers/<qid>.<lang>.html.j2``);
    each as HTML or as Markdown (``.md.j2``)."""
    stems = (f"{folder}/answers/{qid}", f"{folder}/answers/{qid}.{lang}")
    return [(f"{stem}.{suffix}.j2", suffix) for stem in stems for suffix in ("html", "md")]


def generated(exercise: Exercise, qid: str, reading: Reading, lang: str, ref: Ref, env: jinja2.Environment) -> Markup:
    """The exercise's words for question ``qid``, rendered from its facts (see answer_template_names)."""
    for name, suffix in answer_template_names(exercise.folder.name, qid, lang):
        template = answer_template(env, name)
        if template is None:
            continue
        facts = reading.facts[exercise.name]
        text = template.render(facts=facts, ref=lambda key: Markup(ref(key)), lang=lang, **helpers(reading))
        return Markup(text) if suffix == "html" else Markup(markdown.markdown(text, extensions=["extra", "sane_lists"]))
    raise UserError(
        f"question {qid}: exercise {exercise.name} has no answer template "
        f"({exercise.folder.name}/answers/{qid}.html.j2, or {qid}.{lang}.html.j2, or either as .md.j2)"
    )
