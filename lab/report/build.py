"""Runs -> the report: each exercise's facts, items, answers and appendices poured into the
page template, then HTML -> PDF.

Output: ``<out>`` (PDF), the same name with ``.html`` (self-contained, figures inlined),
and ``<stem>-tables/NAME.csv``. Rendering never trains. The lab (from the declaration) says
which exercises, in which order; each exercise's `ExerciseReport` gives its parts.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import jinja2
from markupsafe import Markup

from lab.core.atomic import write_text_atomic
from lab.core.declaration import Declaration
from lab.core.environment import labreport_version
from lab.report import evidence as evidence_module
from lab.report import numbering, pdf_process
from lab.report import reading as reading_module
from lab.report.answers import build_answers, helpers
from lab.report.context import appendices, page_context, provenance, sections
from lab.report.fonts import check_fonts
from lab.report.items import cache_folder
from lab.report.page_tables import environment_table, run_titles, runs_table
from lab.report.reading import Reading
from lab.report.render import check_pdf_variant, lab_template_folders, render_html, template_environment, write_pdf
from lab.report.spacing import space_cjk_html


def build_report(
    decl: Declaration,
    runs: dict,
    out: Path,
    *,
    lang: str,
    pdf_variant: str | None = None,
    command: str = "",
    missing: dict[str, str] | None = None,
    timings: dict | None = None,
    figure_cache: Path | None = None,
    inputs=None,
    stamp: evidence_module.Stamp | None = None,
    attach: bool | None = None,
) -> list[Path]:
    """Write the PDF at ``out``, the HTML beside it and the tables as CSV; return the paths written.

    ``timings`` (if given) receives the seconds spent on figures, HTML and PDF;
    ``figure_cache`` overrides where drawn figures are kept (default: beside the runs);
    ``command`` overrides the provenance's command that recomputes the report;
    ``stamp``: the date and machine the page names (today and here); ``attach``: whether the PDF
    carries its evidence (lab.report.evidence; default: the declaration's report.attach_evidence).
    """
    check_fonts(lang)
    if pdf_variant:  # without one there is nothing to check: no round trip to the PDF process
        pdf_process.call(check_pdf_variant, pdf_variant)
    timings = timings if timings is not None else {}
    stamp = stamp or evidence_module.Stamp.now()
    out = Path(out)
    started = time.perf_counter()
    groups = {exercise.name: list(decl.runs_of(exercise)) for exercise in decl.exercises}
    reading = reading_module.read(runs, decl.lab, missing, groups)
    titles = run_titles(reading, lang)
    cache = numbering.figure_cache(figure_cache or cache_folder(runs), reading.exercises)
    page_tables = {
        "tab:environment": environment_table(lang, stamp.environment),
        "tab:runs": runs_table(reading, titles, lang),
    }
    items = numbering.numbered_items(reading, lang, cache, page_tables)
    timings["figures"] = time.perf_counter() - started

    started = time.perf_counter()
    html = page_html(decl, reading, lang, items, titles, command, inputs, built=stamp.built)
    out.parent.mkdir(parents=True, exist_ok=True)
    html_path = out.with_suffix(".html")
    write_text_atomic(html_path, html)
    tables = write_tables(reading, out)
    timings["html"] = time.perf_counter() - started

    started = time.perf_counter()
    attach = evidence_module.wants_evidence(decl) if attach is None else attach
    build = {"lang": lang, "pdf_variant": pdf_variant, "command": command, "version": labreport_version()}
    evidence = evidence_module.collect(decl, runs, reading.missing, build, stamp) if attach else None
    attachments = evidence_module.pdf_attachments(evidence) if evidence else []
    pdf_process.call(write_pdf, html, out, pdf_variant, attachments)
    timings["pdf"] = time.perf_counter() - started
    return [out, html_path, *tables]


def page_html(
    decl: Declaration,
    reading: Reading,
    lang: str,
    items: dict,
    titles: dict,
    command: str,
    inputs,
    env: jinja2.Environment | None = None,
    built: date | None = None,
) -> str:
    """The page: appendices first (answers cite them), then the answers, then the template
    (from `env`, the preview's warm one, else a fresh one)."""
    env = env or template_environment(lab_template_folders(decl.lab))
    extra = appendices(reading, lang, inputs)
    ref = numbering.reference(items, {part.key: part.letter for part in extra}, lang)
    answers_dir = decl.resolve(decl.values["report"]["answers"])
    answers = build_answers(reading, lang, ref, answers_dir, decl.lab, env, decl.options())
    parts = {
        "items": items,
        "ref": lambda key: Markup(ref(key)),
        "answers": answers,
        "sections": sections(reading, lang, decl.lab.section_titles),
        "appendices": extra,
        "provenance": provenance(decl, reading, titles, command),
    }
    html = render_html(page_context(decl, reading, lang, parts, helpers(reading), built), env, decl.lab.template)
    return space_cjk_html(html) if lang == "zh" else html


def write_tables(reading: Reading, out: Path) -> list[Path]:
    folder = out.parent / f"{out.stem}-tables"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, frame in reading_module.csv_tables(reading).items():
        path = folder / f"{name}.csv"
        write_text_atomic(path, frame.to_csv(index=False))
        paths.append(path)
    return paths
