"""What the page template is given: the student, the sections and appendices of the lab's
exercises, their items and answers, the reflections and the provenance appendix.

Words come from catalogues: ``text("…")`` is the report's own (lab/report/messages) on the
page and the exercise's own inside its section and appendix.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from markupsafe import Markup

from lab.core.declaration import Declaration, command_line
from lab.core.errors import UserError
from lab.report.code import code_style
from lab.report.messages import Messages
from lab.report.numbering import PAGE_ITEMS
from lab.report.reading import Reading
from lab.report.render import css_string, stylesheet
from lab.report.student import REFLECTION_HEADINGS_FROM, student_markdown, student_text

msg = Messages(Path(__file__).parent)


@dataclass
class Part:
    """An exercise's part of the page: its section, or one of its appendices."""

    name: str  # the exercise
    template: str  # EXERCISE/section.html.j2, its folder's name first
    text: Any  # text("…") in its language: the exercise's catalogue
    facts: Any
    title: str = ""  # a section's (the lab's manifest), an appendix's heading
    key: str = ""  # an appendix's: appendix:NAME, its anchor appendix-NAME
    letter: str = ""
    contents: str = ""  # an appendix's line in the table of contents
    values: Any = None  # an appendix's: what its context gave


def sections(reading: Reading, lang: str, titles: dict[str, dict[str, str]]) -> list[Part]:
    """Each exercise's section, in the lab's order, titled as its manifest says."""
    return [
        Part(
            exercise.name,
            f"{exercise.folder.name}/{reading.report(exercise).section}",
            Messages(exercise.folder).bound(lang),
            reading.facts[exercise.name],
            title=titles.get(exercise.name, {}).get(lang, exercise.name),
        )
        for exercise in reading.exercises
    ]


def appendices(reading: Reading, lang: str, inputs) -> list[Part]:
    """The exercises' appendices that have something to show, lettered A, B, … in order (the
    provenance appendix comes after them)."""
    parts: list[Part] = []
    for exercise in reading.exercises:
        text, facts = Messages(exercise.folder).bound(lang), reading.facts[exercise.name]
        for appendix in reading.report(exercise).appendices:
            values = appendix.context(facts, reading.runs, inputs)
            if values is None:
                continue
            letter = string.ascii_uppercase[len(parts)]
            parts.append(
                Part(
                    exercise.name,
                    f"{exercise.folder.name}/{appendix.template}",
                    text,
                    facts,
                    title=msg(lang, "appendix_heading", letter=letter, title=text(appendix.title)),
                    key=appendix.key,
                    letter=letter,
                    contents=msg(lang, "appendix_heading", letter=letter, title=text(appendix.contents)),
                    values=values,
                )
            )
    return parts


def provenance(decl: Declaration, reading: Reading, titles: dict[str, str], command: str) -> dict:
    """Appendix B: the declaration, the key of each run, the code's commits, the command that recomputes it all."""
    runs = reading.runs
    commits = {
        str(run.record["git_commit"]) for run in runs.values() if run is not None and run.record.get("git_commit")
    }
    options = decl.options()
    return {
        "runs": [(title, name, getattr(runs.get(name), "key", None)) for name, title in titles.items()],
        "declaration": decl.name,
        "sha256": decl.sha256,
        "commits": sorted(commits),
        "command": command
        or f"{command_line('run', '--force', options=options)} && {command_line('build', options=options)}",
    }


def known_items(reading: Reading):
    """known_item(key): nothing for an item the page or an exercise declares; a UserError for
    any other key (a student's restyled template that misspells one, say)."""
    declared = [*PAGE_ITEMS, *(item.key for e in reading.exercises for item in reading.report(e).items)]

    def known_item(key: str) -> str:
        if key not in declared:
            raise UserError(f"a template places {key!r}, which is none of the report's items ({', '.join(declared)})")
        return ""

    return known_item


def page_footer(lang: str) -> Markup:
    """The footer's CSS content, "Page " counter(page) " of " counter(pages), from the catalogue."""
    words = msg(lang, "page_of", page="\0page\0", pages="\0pages\0").split("\0")
    css = [f"counter({word})" if word in ("page", "pages") else css_string(word) for word in words if word]
    return Markup(" ".join(css))


def today(lang: str, built: date | None = None) -> str:
    d = built or date.today()
    return msg(lang, "date", year=d.year, month=d.month, day=d.day, month_name=d.strftime("%B"))


def reflections(decl: Declaration) -> tuple[Markup | None, Path]:
    path = decl.resolve(decl.values["report"]["reflections"])
    text = student_text(path, "reflections")
    return (student_markdown(text, REFLECTION_HEADINGS_FROM) if text else None), path


def page_context(
    decl: Declaration, reading: Reading, lang: str, parts: dict, formats: dict, built: date | None = None
) -> dict:
    """Everything the page template reads. `parts`: items, ref, answers, sections,
    appendices, run titles and provenance, made by the build; `built`: the date it gives (today)."""
    lab, report, student = decl.lab, decl.values["report"], decl.values["student"]
    written, path = reflections(decl)
    return {
        **formats,
        **parts,
        "lang": lang,
        "text": msg.bound(lang),
        "title": report.get("title") or lab.title.get(lang, lab.name),
        "student": {key: student.get(key, "") for key in ("name", "id", "class")},
        "date": today(lang, built),
        "quick": bool(decl.quick) or reading.quick,
        "page_footer": page_footer(lang),
        "known_item": known_items(reading),
        "analysis": reading.facts,  # every exercise's facts, for the lab's overview
        "overview": f"{lab.folder.name}/overview.html.j2" if lab.folder else "",
        "declared": decl.values,
        "reflections": written,
        "reflections_path": str(path),
        "code_css": Markup(code_style()),
        "css": Markup(stylesheet()),
    }
