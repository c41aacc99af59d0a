"""Each question of the lab -> its answer: the student's own Markdown, a note that the run is missing,
or the words its exercise's template for it generates from its facts (a template per language)."""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
import markdown
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor
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


def status_word(status: str, lang: str) -> str:
    """A run's status (missing, partial, stale, …) in the report's language."""
    return msg.get(lang, f"status_{status}", status)


def missing_text(
    run: str, reason: str, lang: str, repeated: bool = False, commands: tuple[str, str] | None = None
) -> Markup:
    """Why an answer is missing and the commands (run, then build) that fill it in."""
    if repeated:
        text = msg(lang, "answer_missing_again", run=code(run))
    else:
        command, build = commands or (f"labreport run --only {run}", "labreport build")
        text = msg(
            lang,
            "answer_missing",
            run=code(run),
            reason=escape(status_word(reason, lang)),
            command=code(command),
            build=code(build),
        )
    return Markup(f"<p>{text}</p>")


# Where the student's Markdown sits: an answer under a question of an exercise's section
# (h3), the reflections under their section (h2); their headings go below those.
ANSWER_HEADINGS_FROM, REFLECTION_HEADINGS_FROM = 4, 3
COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)  # the prompts `labreport init` writes stay out of the report
# TODO, TBD, "to be written" (in English or Chinese): what a file that is not an answer yet says
MARKER = r"(?:\b(?:TODO|TBD)\b|\u5f85\u586b\u5199|to be written)"
MARKERS = re.compile(MARKER, re.IGNORECASE)
# a line that is only a marker ("TODO", "- TBD.") or starts one ("TODO: explain the jump")
MARKER_LINE = re.compile(rf"^\W*{MARKER}(?:\W*$|\s*[:\uff1a])", re.IGNORECASE | re.MULTILINE)
MIN_ANSWER_CHARS = 20  # a marker with less than this around it is a placeholder, not an answer


class DemoteHeadings(Treeprocessor):
    """`#` becomes h<first>, `##` the level below it, and so on (at most h6)."""

    def __init__(self, md, first: int):
        super().__init__(md)
        self.shift = first - 1

    def run(self, root):
        for element in root.iter():
            if re.fullmatch(r"h[1-6]", element.tag):
                element.tag = f"h{min(6, int(element.tag[1]) + self.shift)}"


class Demote(Extension):
    def __init__(self, first: int):
        super().__init__()
        self.first = first

    def extendMarkdown(self, md):  # noqa: N802 (Markdown's name)
        md.treeprocessors.register(DemoteHeadings(md, self.first), "demote_headings", 0)


def student_text(path: Path, what: str = "answer") -> str | None:
    """The student's own words in ``path`` (comments left out), or None without the file."""
    if not path.is_file():
        return None
    try:
        return COMMENT.sub("", path.read_text(encoding="utf-8")).strip()
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: cannot read your {what} ({error}); save it as UTF-8 Markdown or remove it") from error


def student_markdown(text: str, first_heading: int) -> Markup:
    return Markup(markdown.markdown(text, extensions=["extra", "sane_lists", Demote(first_heading)]))


def student_answer(path: Path) -> Markup:
    return student_markdown(student_text(path) or "", ANSWER_HEADINGS_FROM)


def is_placeholder(text: str | None) -> bool:
    """Empty, a line that is only a TODO (or "to be written" in Chinese), or a marker with hardly
    anything else: not an answer yet. An answer that mentions a TODO ("I filled in the TODO in
    test()") is an answer."""
    if text is None:
        return False
    if not text or MARKER_LINE.search(text):
        return True
    return bool(MARKERS.search(text)) and len(MARKERS.sub("", text).strip()) < MIN_ANSWER_CHARS


def answer_files(answers_dir: Path, qids) -> tuple[dict[str, Path], list[Path]]:
    """(question -> the student's file, files there that answer no question: 1a.md, 1D.md, 2C.txt)."""
    if not answers_dir.is_dir():
        return {}, []
    expected = {f"{qid}.md": qid for qid in qids}
    found, misnamed = {}, []
    for path in sorted(answers_dir.iterdir()):
        if path.name in expected and path.is_file():
            found[expected[path.name]] = path
        elif not path.name.startswith(".") and path.name.lower() != "readme.md":
            misnamed.append(path)
    return found, misnamed


def build_answers(
    lab: LabAnalysis,
    lang: str,
    ref: Ref,
    answers_dir: Path | None,
    manifest: Lab | None = None,
    env: jinja2.Environment | None = None,
    commands: dict[str, tuple[str, str]] | None = None,
) -> dict[str, Answer]:
    """One Answer per question: the student's Markdown if present, else generated from the facts."""
    manifest = manifest or load_lab()
    env = env or template_environment(lab_template_folders(manifest))
    owners = {run: exercise for exercise in manifest.loaded() for run in exercise.runs}
    answers, reported = {}, set()
    own_files, _ = answer_files(answers_dir, manifest.questions) if answers_dir else ({}, [])
    for qid, run in manifest.questions.items():
        question = manifest.question_text(qid, lang)
        own = own_files.get(qid)
        if own is not None:
            answers[qid] = Answer(qid, question, student_answer(own), "student", own)
        elif run in lab.missing:
            text = missing_text(run, lab.missing[run], lang, run in reported, (commands or {}).get(run))
            answers[qid] = Answer(qid, question, text, "missing")
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
