"""A warm renderer: the stored runs analysed and the figures loaded once, the report's HTML
rendered from the templates on demand.

`labreport build --no-run` spends most of its seconds on what a template edit does not change:
imports, reading and analysing the runs, the figures (from the cache), the course check, and the
PDF. The preview keeps all but the last in this object and re-runs only the template step
(answers, context, Jinja2), as `build_report` does it; the declaration changing loads it again.
Nothing trains and nothing is written but figures missing from the cache.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jinja2

from lab.core.errors import UserError
from lab.core.session import Session, gather, plan_for_render
from lab.report import numbering
from lab.report import reading as reading_module
from lab.report.build import page_html
from lab.report.items import cache_folder
from lab.report.page_tables import environment_table, run_titles, runs_table
from lab.report.render import lab_template_folders, template_environment


@dataclass(frozen=True)
class Rendered:
    """One attempt: the HTML when it worked, else the error as the terminal and the page show it."""

    html: str | None
    error: str | None
    seconds: float


class WarmRenderer:
    """``render()`` -> the report's HTML; ``load()`` again when the declaration changes."""

    def __init__(self, open_session: Callable[[], Session], lang: str | None):
        self.open_session = open_session
        self.lang_option = lang
        self.load()

    def load(self) -> None:
        """The declaration, the runs that exist and everything drawn from them (not the templates);
        all or nothing, so a declaration that fails to load leaves the last one in place."""
        session = self.open_session()
        decl = session.decl
        lang = self.lang_option or decl.values["report"]["lang"]
        if lang not in ("zh", "en"):
            raise UserError(f"--lang {lang!r}: choose zh or en")
        runs, missing = gather(session, plan_for_render(session))
        groups = {exercise.name: list(decl.runs_of(exercise)) for exercise in decl.exercises}
        reading = reading_module.read(runs, decl.lab, missing, groups)
        titles = run_titles(reading, lang)
        cache = numbering.figure_cache(cache_folder(runs), reading.exercises)
        page_tables = {"tab:environment": environment_table(lang), "tab:runs": runs_table(reading, titles, lang)}
        items = numbering.numbered_items(reading, lang, cache, page_tables)
        self.session, self.lang, self.reading, self.titles, self.items = session, lang, reading, titles, items
        self.files: frozenset[Path] = frozenset()  # the next render starts a fresh template environment

    @property
    def template_folders(self) -> list[Path]:
        """Where the templates come from, first match wins: ./templates, the packaged ones, the lab's."""
        loader = template_environment(lab_template_folders(self.session.decl.lab)).loader
        assert isinstance(loader, jinja2.FileSystemLoader)
        return [Path(folder) for folder in loader.searchpath]

    def environment(self) -> jinja2.Environment:
        """The Jinja2 environment, kept while the same template files exist: it compiles a template
        again only when its file changed. Compiling all ten took 85 % of a render (0.4 s on 2 cores
        of an AMD EPYC, a quick real-data Lab 13 store, cProfile). A file added or removed (a
        section copied into ./templates, which shadows the packaged one) starts a fresh one."""
        files = template_files(self.template_folders)
        if files != self.files:
            self.env, self.files = template_environment(lab_template_folders(self.session.decl.lab)), files
        return self.env

    def render(self) -> str:
        """The template step of a build: appendices, answers, the page."""
        session = self.session
        return page_html(
            session.decl, self.reading, self.lang, self.items, self.titles, "", session.inputs, self.environment()
        )

    def attempt(self, reload: bool = False) -> Rendered:
        """``render()`` (after ``load()`` when asked) with any error caught and named by file and line."""
        started = time.perf_counter()
        try:
            if reload:
                self.load()
            html = self.render()
        except Exception as error:  # a render must never end the preview: the page shows what broke
            return Rendered(None, describe_error(error), time.perf_counter() - started)
        return Rendered(html, None, time.perf_counter() - started)


def template_files(folders: list[Path]) -> frozenset[Path]:
    return frozenset(path for folder in folders if folder.is_dir() for path in folder.rglob("*.j2"))


def describe_error(error: Exception) -> str:
    """One line: a UserError as it is (it names its file), else the template file and line that raised it."""
    if isinstance(error, UserError):
        return str(error)
    if isinstance(error, jinja2.TemplateSyntaxError):
        return f"{error.filename or error.name}:{error.lineno}: template syntax error: {error.message}"
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename.endswith((".j2", ".html"))]
    where = f"{frames[-1].filename}:{frames[-1].lineno}: " if frames else ""
    return f"{where}{type(error).__name__}: {error}"
