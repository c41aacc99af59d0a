"""The `labreport` command: run, build, preview, init, list, doctor, verify.

Parses options, checks everything that can be checked before the long work,
then hands over to the runner and the report. Exit codes: 0 ok, 1 a run
failed (or `build --final`: not ready to hand in), 2 usage or input error,
3 the HTML was written but no PDF (the PDF engine's libraries are missing), 130 interrupted.
"""

from __future__ import annotations

import functools
import os
import shlex
import sys
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape

from lab import cli_options as option
from lab.cli_tables import runs_table, show_verdict, summary_table
from lab.core.api import Exercise, load_lab
from lab.core.environment import labreport_version
from lab.core.errors import UserError
from lab.core.executors import check_executor
from lab.core.matrix import RunSpec, expand, select
from lab.core.progress import Reporter
from lab.core.session import (
    Session,
    check_exercises,
    check_store,
    gather,
    missing_notes,
    open_session,
    plan_for_render,
    prepare_output,
)
from lab.core.shutdown import skip_final_collection

EXIT_RUN_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130
EXIT_NOT_READY = 1  # build --final: something is not ready to hand in
EXIT_NO_PDF_ENGINE = 3  # build wrote the HTML but no PDF: WeasyPrint's libraries are missing (lab.report.pdf_engine)

# Plain (click-style) help: Typer's rich panels label every flag, --help included, "<bool>".
app = typer.Typer(
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Run the Lab 13 (PyTorch) experiments and write the lab report.",
)
console = Console(highlight=False, soft_wrap=True)
errors = Console(stderr=True, highlight=False, soft_wrap=True)  # one error, one line


def main() -> None:
    """Entry point: store warnings (a damaged run, say) become one plain line each."""
    skip_final_collection()
    warnings.showwarning = lambda message, *rest, **kw: errors.print(f"[yellow]warning:[/] {message}")
    app(prog_name="labreport")


def show_version(value: bool) -> None:
    if value:
        console.print(f"labreport {labreport_version()}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool, typer.Option("--version", callback=show_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Run the Lab 13 (PyTorch) experiments and write the lab report."""


def guarded(command):
    """Our errors become one line and an exit code; Ctrl-C says how to resume."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except UserError as error:
            errors.print(f"[red]error:[/] {escape(str(error))}")  # its brackets are text, not markup
            raise typer.Exit(EXIT_USAGE) from None
        except KeyboardInterrupt:
            errors.print("[yellow]interrupted.[/] Finished results are kept; run the same command again to resume.")
            raise typer.Exit(EXIT_INTERRUPTED) from None

    return wrapper


def command(short_help: str, *groups, name: str | None = None):
    """A labreport command: `guarded`, taking each group of shared options (cli_options) as one argument."""

    def decorate(function):
        for group in reversed(groups):
            function = group(function)
        return app.command(name, short_help=short_help)(guarded(function))

    return decorate


# --- preflight: everything checked before the first epoch -------------------------


def start_session(chosen: option.Selection) -> Session:
    """The session; one line when no declaration of the student's own is found."""
    session = open_session(chosen.config, chosen.set_, chosen.quick, chosen.data, chosen.no_download, chosen.store)
    if session.packaged:
        errors.print(
            f"[yellow]note:[/] no {session.decl.lab.declaration.name} here, so the packaged example is used "
            f"(its name and ID are not yours); start your own lab folder with: labreport init"
        )
    return session


def prepare(session: Session, exercise: Exercise) -> dict:
    """Find and check an exercise's data (decoding it the first time); it joins the run keys."""
    label = exercise.data_label
    with Reporter(console).task(label) as progress:
        return exercise.prepare(session.decl.values[exercise.name], session.inputs, progress)


def plan(
    session: Session, names: list[str], execution: option.Execution | None = None, force: bool = False
) -> list[RunSpec]:
    """Check inputs, then expand the matrix (with what each exercise's data adds to its keys).

    With `execution` (the runs will be computed): the workers for the runs that need no data
    are started first, so they get ready while the checks run."""
    if execution is not None:
        from lab.core import runner

        early = expand(session.decl, names, {}, session.inputs)
        runner.start_workers_early(
            session.store, early, device=execution.device, force=force, executor=execution.executor
        )
    try:
        return checked_plan(session, names)
    except BaseException:
        from lab.core.workers import discard_early

        discard_early()  # nothing will run: stop them now, not after their imports
        raise


def checked_plan(session: Session, names: list[str]) -> list[RunSpec]:
    from lab.core.workers import in_early_worker

    in_early_worker(check_exercises, session.decl, names)
    prepared = {
        exercise.name: prepare(session, exercise)
        for exercise in session.decl.exercises
        if exercise.needs_data and any(name in names for name in session.decl.runs_of(exercise))
    }
    return expand(session.decl, names, prepared, session.inputs)


def run_specs(session: Session, specs: list[RunSpec], execution: option.Execution, force: bool) -> int:
    from lab.core import runner

    check_store(session.store)
    e = execution
    with session.store.lock():
        reporter = Reporter(console)
        outcomes = runner.run_all(
            session.store,
            specs,
            device=e.device,
            force=force,
            reporter=reporter,
            executor=e.executor,
            address=e.address,
        )
    console.print(summary_table(outcomes))
    return EXIT_RUN_FAILED if any(o.status == "failed" for o in outcomes) else 0


# --- commands ------------------------------------------------------------------


@command("Compute the runs that are missing, stale or interrupted.", option.selecting(), option.executing())
def run(
    only: option.Only = None,
    force: option.Force = False,
    chosen: option.Selection = option.NOT_GIVEN,
    execution: option.Execution = option.NOT_GIVEN,
) -> None:
    """Compute the runs that are missing, stale or interrupted (resuming them)."""
    check_executor(execution.executor, execution.device, execution.address)
    session = start_session(chosen)
    names = select(session.decl, only)
    code = run_specs(session, plan(session, names, execution, force), execution, force)
    raise typer.Exit(code)


@command("Run what is missing, then write the report.", option.selecting(), option.executing())
def build(
    out: option.Out = None,
    lang: option.Lang = None,
    no_run: option.NoRun = False,
    pdf_variant: option.PdfVariant = None,
    final: option.Final = False,
    chosen: option.Selection = option.NOT_GIVEN,
    execution: option.Execution = option.NOT_GIVEN,
) -> None:
    """Run what is missing, then write the report (PDF, HTML and CSV tables).

    Ends with what is not ready to hand in; with --final each of those is an error
    (exit 1, no PDF written).
    """
    from lab.report import handin, pdf_process
    from lab.report.fonts import check_fonts

    if no_run:  # nothing trains first: the PDF engine loads while the declaration is read
        pdf_process.start()
    check_executor(execution.executor, execution.device, execution.address)
    session = start_session(chosen)
    lang = report_language(session, lang)
    out = out if out is not None else default_out(session)
    prepare_output(out, session.store)
    check_fonts(lang)
    unready = handin.declaration_problems(session.decl)
    if final:
        refuse_if_unready(unready)  # before any training: nothing to wait for
    code, specs = 0, None
    if not no_run:
        specs = plan(session, session.decl.run_names, execution)
        code = run_specs(session, specs, execution, False)
    with session.store.reading():  # no record replaced, no run moved away while the report reads them
        code = render(session, specs, out, lang, pdf_variant, final, unready) or code
    raise typer.Exit(code)


def report_language(session: Session, lang: str | None) -> str:
    lang = lang or session.decl.values["report"]["lang"]
    if lang not in ("zh", "en"):
        raise UserError(f"--lang {lang!r}: choose zh or en")
    return lang


def render(session: Session, specs, out: Path, lang: str, pdf_variant, final: bool, unready: list[str]) -> int:
    """The report from the finished runs (of `specs`; None: the stored matrix, build --no-run)."""
    from lab.report import handin, pdf_process
    from lab.report.build import build_report
    from lab.report.pdf_engine import PdfEngineMissing

    pdf_process.start()  # WeasyPrint loads on the other core while the runs are read
    specs = specs if specs is not None else plan_for_render(session)
    runs, missing = gather(session, specs)
    for note in missing_notes(session, missing):
        errors.print(f"[yellow]missing:[/] {escape(note)}")
    unready += handin.run_problems(runs, missing, session.decl.quick)
    if final:
        refuse_if_unready(unready)
    no_engine = None
    try:
        written = build_report(
            session.decl, runs, out, lang=lang, pdf_variant=pdf_variant, missing=missing, inputs=session.inputs
        )
    except PdfEngineMissing as error:  # the HTML is written: the report, but not the PDF
        written, no_engine = [out.with_suffix(".html")], error
    for path in written:
        console.print(f"wrote {path}")
    print_unready(unready, "before you hand in:", "yellow")
    if no_engine is not None:
        errors.print(f"[red]no PDF[/] (the HTML prints well from a browser): {escape(str(no_engine))}")
        return EXIT_NO_PDF_ENGINE
    return 0


def default_out(session: Session) -> Path:
    """report.out; a quick build writes beside it (lab13-quick.pdf), leaving the hand-in file alone."""
    out = session.decl.resolve(session.decl.values["report"]["out"])
    return out.with_name(f"{out.stem}-quick{out.suffix}") if session.decl.quick else out


def print_unready(problems: list[str], heading: str, colour: str) -> None:
    if problems:
        errors.print(f"[{colour}]{heading}[/]")
        for problem in problems:
            errors.print(f"  - {problem}")


def refuse_if_unready(problems: list[str]) -> None:
    if problems:
        print_unready(problems, "not ready to hand in (--final); no PDF written:", "red")
        raise typer.Exit(EXIT_NOT_READY)


@command(
    "Serve the report in the browser; it follows every save of a template, answer or reflection.",
    option.selecting("config", "set_", "quick", "data", "store"),
)
def preview(
    lang: option.Lang = None,
    port: Annotated[int, typer.Option("--port", metavar="N", help="Port on 127.0.0.1 (0: any free one).")] = 8000,
    no_browser: Annotated[bool, typer.Option("--no-browser", help="Do not open a browser.")] = False,
    chosen: option.Selection = option.NOT_GIVEN,
) -> None:
    """Serve the report's HTML on http://127.0.0.1:PORT/ in page boxes, rendered again (HTML only, from the
    stored runs and cached figures) whenever a template, the stylesheet, an answer, the reflections or the
    declaration is saved; the page follows without losing its place. Ctrl-C stops it (exit 0)."""
    from lab.report.preview.live import run_preview

    def session():
        return start_session(replace(chosen, no_download=True))

    run_preview(session, lang, port, not no_browser, console, errors)


@command("Start a lab folder of your own: declaration, reflections prompts, answers/.")
def init(
    folder: Annotated[Path, typer.Argument(metavar="[DIR]", help="The lab folder (default: here).")] = Path("."),
    name: Annotated[Optional[str], typer.Option("--name", help="Your name (asked on a terminal).")] = None,
    student_id: Annotated[Optional[str], typer.Option("--id", help="Your student ID (asked on a terminal).")] = None,
    klass: Annotated[Optional[str], typer.Option("--class", help="Your class (asked on a terminal).")] = None,
    lang: option.Lang = None,
) -> None:
    """Start a lab folder: lab13.toml with your name, ID and class, reflections.md with prompts
    from your own measurements (when the folder holds results), and answers/ with a README.
    Never overwrites a file."""
    from lab.report import starter

    starter.refuse_to_overwrite(folder, load_lab())  # before asking anything
    student = starter.Student(
        ask(name, "--name", "Your name"),
        ask(student_id, "--id", "Your student ID"),
        ask(klass, "--class", "Your class"),
    )
    if lang not in (None, "zh", "en"):
        raise UserError(f"--lang {lang!r}: choose zh or en")

    def session_for(declaration: Path) -> Session:
        return open_session(declaration, [], False, None, True, None)

    for path in starter.start_folder(folder, student, lang, session_for):
        console.print(f"wrote {path}")
    where = "" if folder.resolve() == Path.cwd().resolve() else f"cd {shlex.quote(str(folder))} && "
    console.print(f"next: {where}labreport build   (then write reflections.md; labreport build --final checks it)")


def ask(value: str | None, option: str, prompt: str) -> str:
    """The option's value, else asked on a terminal; off a terminal the option is needed."""
    if value is not None:
        return value
    if not sys.stdin.isatty():
        raise UserError(
            f"labreport init: {option} is needed when not run on a terminal, e.g. "
            "labreport init --name NAME --id ID --class CLASS"
        )
    return typer.prompt(prompt)


@command(
    "Show the status and time of every run.", option.selecting("config", "set_", "quick", "data", "store"), name="list"
)
def list_runs(
    chosen: option.Selection = option.NOT_GIVEN,
) -> None:
    """Show the matrix of runs: status (done / partial / missing / stale) and time."""
    session = start_session(replace(chosen, no_download=True))
    with session.store.reading():  # each record as a whole, and none replaced while the table is made
        console.print(runs_table(session))


@command("Check a report PDF against the evidence it carries (no store needed).")
def verify(
    report: Annotated[Path, typer.Argument(metavar="REPORT.pdf", help="The report's PDF.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the checks as JSON.")] = False,
    rerun: Annotated[
        Optional[str], typer.Option(metavar="NAME", help="Also execute these runs again and compare (e.g. fit).")
    ] = None,
    epochs: Annotated[
        int,
        typer.Option(min=1, metavar="N", help="With --rerun: runs that need the data set train their first N epochs."),
    ] = 1,
    data: option.Data = None,
) -> None:
    """Check a report PDF against its attached evidence: the attachments match their manifest (intact);
    rendered again from them alone, without training, the report has the PDF's text (consistent);
    --rerun NAME executes those runs again and compares their results (a run that needs the data set,
    from --data, its first --epochs). Exit 0 when all agree, 1 otherwise."""
    from lab.report.verify import verify as verify_report

    verdict = verify_report(report, rerun, epochs, data or os.environ.get("LABREPORT_DATA"))
    show_verdict(console, verdict, as_json)
    raise typer.Exit(0 if verdict.ok else EXIT_RUN_FAILED)


@command("Check everything long work needs, before it starts.", option.selecting())
def doctor(
    device: option.Device = "auto",
    lang: option.Lang = None,
    chosen: option.Selection = option.NOT_GIVEN,
) -> None:
    """Check what must hold before long work: PDF engine, declaration, data, fonts, output, device."""
    from lab.checks import doctor_checks

    session = start_session(chosen)
    checks = doctor_checks(session, lang or session.decl.values["report"]["lang"], device, prepare)
    failed = 0
    for label, check in checks:
        try:
            console.print(f"[green]ok[/]    {label}: {check()}")
        except UserError as error:
            failed += 1
            console.print(f"[red]fail[/]  {label}: {error}")
    console.print("all checks passed" if not failed else f"{failed} check(s) failed")
    raise typer.Exit(EXIT_USAGE if failed else 0)


if __name__ == "__main__":
    main()
