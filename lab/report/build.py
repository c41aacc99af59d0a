"""Runs -> the report: each exercise's facts, figures, tables and answers poured into a Jinja2 template, then HTML -> PDF.

Output: ``<out>`` (PDF), the same name with ``.html`` (self-contained, figures inlined),
and ``<stem>-tables/NAME.csv``. Rendering never trains. Figures are cached by the
content of the runs they draw and the code that draws them, so re-rendering is quick.
The lab (from the declaration) says which exercises, in which order; each
exercise's report module (``Exercise.report``) gives its parts.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from markupsafe import Markup

from lab.core.api import Exercise, Lab, load_lab
from lab.core.atomic import write_text_atomic
from lab.core.environment import current_environment
from lab.core.errors import UserError
from lab.report import analysis
from lab.report.analysis import LabAnalysis, report_module
from lab.report.answers import (
    REFLECTION_HEADINGS_FROM,
    build_answers,
    status_word,
    student_markdown,
    student_text,
)
from lab.report.code import code_style, function_source, highlighted
from lab.report.fonts import check_fonts
from lab.report.handin import lab_of
from lab.report.items import FigureCache, Item, Table, cache_folder, svg_html
from lab.report.messages import Messages, in_language
from lab.report.render import (
    check_pdf_variant,
    lab_template_folders,
    render_html,
    stylesheet,
    template_environment,
    write_pdf,
)
from lab.report.spacing import space_cjk_html
from lab.report.wording import Answer, seconds_text

CORE_ORDER = ["tab:environment", "tab:runs"]
msg = Messages(Path(__file__).parent)


# --- figures and tables as document items --------------------------------------------


def make_figures(
    lab: LabAnalysis, runs: dict, lang: str, cache: FigureCache, exercises: list[Exercise]
) -> dict[str, Item]:
    items = {}
    for exercise in exercises:
        part = lab.parts[exercise.name]
        for spec in getattr(report_module(exercise), "FIGURES", []):
            run = runs.get(spec.run)
            if spec.run in lab.missing or run is None or not spec.available(part):
                continue
            key = cache.key(spec, lang, run, spec.inputs(part))
            svg = cache.get(key)
            if svg is None:
                svg = spec.draw(part, lang)
                cache.put(key, svg)
            items[spec.key] = Item(
                spec.key,
                "figure",
                in_language(spec.caption, lang),
                html=svg_html(svg),
                css_class=spec.key.split(":")[1],
            )
    return items


def environment_table(lang: str) -> Table:
    env = current_environment()
    memory = f"{env.memory_gb:.0f} GB" if env.memory_gb else "—"
    rows = [
        [msg(lang, "operating_system"), env.os],
        [msg(lang, "cpu"), msg(lang, "cpu_value", cpu=env.cpu, cores=env.cores)],
        [msg(lang, "memory"), memory],
        ["GPU", env.gpu or msg(lang, "none_or_not_detected")],
        ["Python", env.python],
        ["PyTorch", env.torch],
        ["torchvision", env.torchvision],
    ]
    return Table([msg(lang, "item"), msg(lang, "value")], rows, [False, False])


def runs_table(runs: dict, missing: dict[str, str], lang: str, titles: dict[str, Any]) -> Table:
    rows = []
    for name, text in titles.items():
        title = in_language(text, lang)
        run = runs.get(name)
        if run is None:
            reason = missing.get(name, "missing")
            rows.append([title, "—", "—", "—", msg(lang, "not_available", reason=status_word(reason, lang))])
            continue
        record = run.record
        device = str(record.get("device", "—"))
        rows.append(
            [
                title,
                device,
                str(record.get("torch", "—")),
                seconds_text(record.get("duration_s"), lang),
                str(record.get("finished", "—"))[:19].replace("T", " "),
            ]
        )
    columns = [msg(lang, "experiment"), msg(lang, "device"), "PyTorch", msg(lang, "wall_time"), msg(lang, "finished")]
    return Table(columns, rows, [False, False, False, True, False])


CORE_CAPTIONS = {
    "tab:environment": msg.text("machine_and_software_the_report_was_buil"),
    "tab:runs": msg.text("device_and_wall_time_of_each_experiment"),
}


def run_titles(exercises: list[Exercise], run_names) -> dict[str, Any]:
    """A title per run, in the exercises' order: their own runs, then the runs a sweep
    adds (cifar.seed1 under cifar's title, with its name)."""
    titles: dict[str, Any] = {}
    for exercise in exercises:
        named = getattr(report_module(exercise), "RUN_TITLES", {})
        for name in exercise.runs:
            titles[name] = named.get(name, (name, name))
            for added in (n for n in run_names if n.startswith(f"{name}.") and n not in exercise.runs):
                titles[added] = sweep_title(titles[name], added.removeprefix(f"{name}."))
    return titles


def sweep_title(title, cell: str):
    return lambda lang: f"{in_language(title, lang)} · {cell}"


def make_tables(lab: LabAnalysis, runs: dict, lang: str, exercises: list[Exercise]) -> dict[str, Item]:
    made = {
        "tab:environment": environment_table(lang),
        "tab:runs": runs_table(runs, lab.missing, lang, run_titles(exercises, runs)),
    }
    items = {
        key: Item(key, "table", in_language(CORE_CAPTIONS[key], lang), html=table.html(), css_class=key.split(":")[1])
        for key, table in made.items()
    }
    for exercise in exercises:
        part = lab.parts[exercise.name]
        for key, (make, run, caption) in getattr(report_module(exercise), "TABLES", {}).items():
            if run is not None and run in lab.missing:
                continue
            items[key] = Item(
                key,
                "table",
                in_language(caption, lang),
                html=make(part, runs, lang).html(),
                css_class=key.split(":")[1],
            )
    return items


# --- numbering: the order items appear in the document --------------------------------


def document_order(exercises: list[Exercise]) -> list[str]:
    return CORE_ORDER + [key for exercise in exercises for key in getattr(report_module(exercise), "ORDER", [])]


def number_items(items: dict[str, Item], lang: str, order: list[str]) -> None:
    counters = {"figure": 0, "table": 0}
    for key in order:
        item = items.get(key)
        if item is None:
            continue
        counters[item.kind] += 1
        item.number = counters[item.kind]
        word = msg(lang, "figure") if item.kind == "figure" else msg(lang, "table")
        item.label = f"{word} {item.number}"


def reference(items: dict[str, Item], lang: str) -> Callable[[str], str]:
    def ref(key: str) -> str:
        if key == "code:evaluate":
            return msg(lang, "appendix_a")
        item = items[key]
        return f'<a href="#{item.key.replace(":", "-")}">{item.label}</a>'

    return ref


# --- the evaluation code (2A) ------------------------------------------------------------


def evaluation_source(exercises: list[Exercise] | None = None) -> str:
    """The source of the function an exercise shows in the appendix (its ``EVALUATION``)."""
    for exercise in exercises if exercises is not None else load_lab().loaded():
        shown = getattr(report_module(exercise), "EVALUATION", None)
        if shown is not None:
            module, *functions = shown
            return "\n\n".join(function_source(module, name) for name in functions)
    raise AttributeError("no exercise of this lab shows code in the appendix")


# --- context, template, outputs --------------------------------------------------------------


def today(lang: str) -> str:
    d = date.today()
    return msg(lang, "date", year=d.year, month=d.month, day=d.day, month_name=d.strftime("%B"))


def reflections_html(path: Path) -> Markup | None:
    text = student_text(path, "reflections")
    return student_markdown(text, REFLECTION_HEADINGS_FROM) if text else None


def provenance(decl, runs: dict, command: str, names: list[str]) -> dict:
    commits = sorted(
        {str(r.record.get("git_commit")) for r in runs.values() if r is not None and r.record.get("git_commit")}
    )
    return {
        "runs": [(name, runs[name].key if runs.get(name) else None) for name in names],
        "declaration": declaration_name(decl),
        "sha256": decl.sha256,
        "commits": commits,
        "command": command or reproduce_command(decl),
    }


def declaration_name(decl) -> str:
    """The declaration relative to the lab folder (the packaged example by its name)."""
    path = Path(decl.path)
    try:
        return str(path.relative_to(decl.folder))
    except ValueError:
        return path.name


def reproduce_command(decl) -> str:
    """What recomputes every result from scratch and writes this report, run in the lab folder.

    From the declaration, not from the command that happened to build it (`--no-run`, an
    absolute --out): the same in every language.
    """
    options = declared_options(decl)
    return f"{shlex.join(['labreport', 'run', '--force', *options])} && {shlex.join(['labreport', 'build', *options])}"


def declared_options(decl) -> list[str]:
    """The options that select this declaration: --config, each --set, --quick."""
    options = [] if declaration_name(decl) == "lab13.toml" else ["--config", declaration_name(decl)]
    for override in decl.overrides:
        options += ["--set", override]
    return options + (["--quick"] if decl.quick else [])


def missing_run_commands(decl, missing: dict) -> dict[str, tuple[str, str]]:
    """For each missing run, what computes it and then builds this report again."""
    options = declared_options(decl)
    build = shlex.join(["labreport", "build", *options])
    return {run: (shlex.join(["labreport", "run", "--only", run, *options]), build) for run in missing}


def parameters(lab: LabAnalysis, lang: str, exercises: list[Exercise]) -> dict[str, list[tuple[str, str]]]:
    """The parameters each exercise actually ran with, as (label, value) rows."""
    rows = {exercise.name: report_module(exercise).parameters(lab.parts[exercise.name], lang) for exercise in exercises}
    return {name: value for name, value in rows.items() if value is not None}


def write_tables(lab: LabAnalysis, out: Path, manifest: Lab | None = None) -> list[Path]:
    folder = out.parent / f"{out.stem}-tables"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, frame in analysis.csv_tables(lab, manifest).items():
        path = folder / f"{name}.csv"
        write_text_atomic(path, frame.to_csv(index=False))
        paths.append(path)
    return paths


def code_cross_check(runs: dict, exercises: list[Exercise], inputs=None):
    """An exercise's proof that the code it shows is the code that ran (its ``cross_check``):
    a mismatch stops the build with both numbers."""
    store = cache_folder(runs)
    cache_dir = inputs.cache_dir if inputs is not None else (store.parent.parent / "cache" if store else None)
    for exercise in exercises:
        check = getattr(report_module(exercise), "cross_check", None)
        result = check(runs, cache_dir, getattr(inputs, "data", None), store) if check and cache_dir else None
        if result is not None and result.checked and result.same_numerics and not result.matches:
            raise UserError(
                f"the course's test(epoch) returned {result.course:.2f}% on the final checkpoint of "
                f"{exercise.name}, but the run reported {result.reported:.2f}%: the code in the report is "
                "not the code that ran; run it again with: labreport run --force --only " + exercise.name
            )
        if result is not None:
            return result
    return None


def exercise_helpers(exercises: list[Exercise]) -> dict:
    """What the exercises give their templates besides the number formats (e.g. ``formula``)."""
    helpers: dict = {}
    for exercise in exercises:
        helpers.update(getattr(report_module(exercise), "TEMPLATE_HELPERS", {}))
    return helpers


def build_context(
    decl,
    lab: LabAnalysis,
    runs: dict,
    lang: str,
    command: str,
    items: dict[str, Item],
    answers: dict[str, Answer],
    missing_commands: dict[str, tuple[str, str]],
    code_check=None,
) -> dict:
    manifest = lab_of(decl)
    exercises = manifest.loaded()
    report = decl.values.get("report", {})
    reflections_path = decl.resolve(report.get("reflections", "reflections.md"))
    source, source_error = None, None
    if any(hasattr(report_module(exercise), "EVALUATION") for exercise in exercises):
        try:
            source = evaluation_source(exercises)
        except (ImportError, AttributeError, OSError, TypeError) as error:
            source_error = f"{type(error).__name__}: {error}"
    student = decl.values.get("student", {})
    quick = bool(decl.quick) or lab.quick
    titles = run_titles(exercises, runs)
    return {
        "lang": lang,
        "title": report.get("title") or manifest.title.get(lang, manifest.name),
        "student": {"name": student.get("name", ""), "id": student.get("id", ""), "class": student.get("class", "")},
        "date": today(lang),
        "quick": quick,
        "items": items,
        "answers": answers,
        "missing": {run: status_word(reason, lang) for run, reason in lab.missing.items()},
        "missing_commands": missing_commands,
        "run_titles": {k: in_language(v, lang) for k, v in titles.items()},
        "parameters": parameters(lab, lang, exercises),
        "analysis": lab.parts,  # each exercise's facts, for a section that grows with them
        "exercises": exercises,
        "lab_name": manifest.folder.name if manifest.folder else manifest.name,
        "exercise_titles": {name: titles.get(lang, name) for name, titles in manifest.section_titles.items()}
        | {e.name: manifest.section_titles.get(e.name, {}).get(lang, e.name) for e in exercises},
        "reflections": reflections_html(reflections_path),
        "reflections_path": str(reflections_path),
        "evaluation_code": highlighted(source) if source else None,
        "evaluation_error": source_error,
        "code_check": code_check,
        "declared": decl.values,
        **exercise_helpers(exercises),
        "code_css": Markup(code_style()),
        "css": Markup(stylesheet()),
        "provenance": provenance(decl, runs, command, list(titles)),
    }


def build_report(
    decl,
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
) -> list[Path]:
    """Write the PDF at ``out``, the HTML beside it and the tables as CSV; return the paths written.

    ``timings`` (if given) receives the seconds spent on figures, HTML and PDF;
    ``figure_cache`` overrides where drawn figures are kept (default: beside the runs).
    """
    check_fonts(lang)
    check_pdf_variant(pdf_variant)
    timings = timings if timings is not None else {}
    out = Path(out)
    manifest = lab_of(decl)
    exercises = manifest.loaded()
    started = time.perf_counter()
    lab = analysis.analyse(runs, missing, manifest)
    catalogues = sorted(path for exercise in exercises for path in (exercise.folder / "messages").glob("*.toml"))
    cache = FigureCache(figure_cache or cache_folder(runs), figure_code(exercises), catalogues)
    items = {**make_figures(lab, runs, lang, cache, exercises), **make_tables(lab, runs, lang, exercises)}
    number_items(items, lang, document_order(exercises))
    timings["figures"] = time.perf_counter() - started

    started = time.perf_counter()
    env = template_environment(lab_template_folders(manifest))
    answers_dir = decl.resolve(decl.values.get("report", {}).get("answers", "answers"))
    commands = missing_run_commands(decl, lab.missing)
    answers = build_answers(lab, lang, reference(items, lang), answers_dir, manifest, env, commands)
    checked = code_cross_check(runs, exercises, inputs)
    context = build_context(decl, lab, runs, lang, command, items, answers, commands, checked)
    html = render_html(context, env, manifest.template)
    if lang == "zh":
        html = space_cjk_html(html)
    out.parent.mkdir(parents=True, exist_ok=True)
    html_path = out.with_suffix(".html")
    write_text_atomic(html_path, html)
    tables = write_tables(lab, out, manifest)
    timings["html"] = time.perf_counter() - started

    started = time.perf_counter()
    write_pdf(html, out, pdf_variant)
    timings["pdf"] = time.perf_counter() - started
    return [out, html_path, *tables]


def figure_code(exercises: list[Exercise]) -> list[str]:
    """The modules whose code may draw the figures: every module of each exercise's
    package (its facts and figures import several), so a change to any redraws."""
    modules = ["lab.report.plotting"]
    for exercise in exercises:
        package = exercise.report.rpartition(".")[0]
        modules += [f"{package}.{path.stem}" for path in sorted(exercise.folder.glob("*.py"))]
    return modules
