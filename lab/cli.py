"""The `labreport` command: run, build, list, doctor.

Parses options, checks everything that can be checked before the long work,
then hands over to the runner and the report. Exit codes: 0 ok, 1 a run
failed (or `build --final`: not ready to hand in), 2 usage or input error, 130 interrupted.
"""

from __future__ import annotations

import functools
import shlex
import sys
import warnings
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lab.core import declaration as declaration_module
from lab.core.api import Exercise, load_lab
from lab.core.errors import UserError
from lab.core.matrix import RunSpec, expand, select
from lab.core.progress import Reporter, format_seconds
from lab.core.session import (
    Session,
    check_exercises,
    check_store,
    gather,
    open_session,
    output_status,
    plan_for_render,
    prepare_output,
    unplanned_status,
)

EXIT_RUN_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130
EXIT_NOT_READY = 1  # build --final: something is not ready to hand in
DATA_PREFIX = "data_"  # prepared data_fingerprint shows as "fingerprint …"

# Plain (click-style) help: Typer's rich panels label every flag, --help included, "<bool>".
app = typer.Typer(
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Run the Lab 13 (PyTorch) experiments and write the lab report.",
)
console = Console(highlight=False, soft_wrap=True)
errors = Console(stderr=True, highlight=False, soft_wrap=True)  # one error, one line

# --- options shared by the commands ------------------------------------------------

Config = Annotated[
    Optional[Path],
    typer.Option(
        "--config", "-c", metavar="FILE", help="Lab declaration (default: ./lab13.toml, else the packaged one)."
    ),
]
Sets = Annotated[
    Optional[list[str]],
    typer.Option(
        "--set",
        "-s",
        metavar="KEY=VALUE",
        help="Override a value: KEY=VALUE, e.g. cifar.phases.1.lr=0.005 (repeatable).",
    ),
]
Quick = Annotated[
    bool,
    typer.Option(
        "--quick",
        help="The same matrix scaled down (a first build: 35 s on 2 cores of an AMD EPYC, bench/build.py); marked quick everywhere.",
    ),
]
Device = Annotated[
    str, typer.Option("--device", metavar="auto|cpu|cuda", help="auto, cpu or cuda (auto takes CUDA when present).")
]
Executor = Annotated[
    str,
    typer.Option(
        "--executor",
        metavar="local|ray",
        help="Where runs execute: here (local), or as tasks on a Ray cluster (ray; pip install -e '.[ray]').",
    ),
]
Address = Annotated[
    Optional[str],
    typer.Option(
        "--address",
        metavar="ADDR",
        help="With --executor ray: the cluster to join (auto: the one `ray start --head` made here; "
        "else host:port); default: a cluster of this machine, started for the command.",
    ),
]
Data = Annotated[
    Optional[str],
    typer.Option(
        "--data",
        metavar="PATH",
        help="Data set location (folder or archive), for the exercises that read one; also LABREPORT_DATA.",
    ),
]
Precision = Annotated[
    Optional[str],
    typer.Option(
        "--precision",
        metavar="fp32|bf16|auto",
        help="Exercise 2's numerics (sets cifar.precision): auto is bf16 where the hardware has it, fp16 on older GPUs.",
    ),
]
NoDownload = Annotated[bool, typer.Option("--no-download", help="Never download a data set; fail if it is not found.")]
Lang = Annotated[Optional[str], typer.Option("--lang", metavar="zh|en", help="zh or en (default: report.lang).")]
StoreOpt = Annotated[
    Optional[Path],
    typer.Option("--store", metavar="DIR", help="Run store folder (default: reports/runs beside the declaration)."),
]
Only = Annotated[
    Optional[list[str]],
    typer.Option(
        "--only",
        metavar="NAME",
        help="Select experiments: an exercise or a run name, as `labreport list` shows them (repeatable).",
    ),
]


def main() -> None:
    """Entry point: store warnings (a damaged run, say) become one plain line each."""
    warnings.showwarning = lambda message, *rest, **kw: errors.print(f"[yellow]warning:[/] {message}")
    app(prog_name="labreport")


def labreport_version() -> str:
    """The installed version, else the one in pyproject.toml of this source tree."""
    from importlib import metadata

    try:
        return metadata.version("labreport")
    except metadata.PackageNotFoundError:
        pass
    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    try:
        return f"{declaration_module.tomllib.loads(pyproject.read_text())['project']['version']} (not installed)"
    except (OSError, ValueError, KeyError):
        return "unknown (not installed)"


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


# --- preflight: everything checked before the first epoch -------------------------


def start_session(config, set_, quick, data, no_download, store) -> Session:
    """The session; one line when no declaration of the student's own is found."""
    session = open_session(config, set_, quick, data, no_download, store)
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


def plan(session: Session, names: list[str]) -> list[RunSpec]:
    """Check inputs, then expand the matrix (with what each exercise's data adds to its keys)."""
    check_exercises(session.decl, names)
    prepared = {
        exercise.name: prepare(session, exercise)
        for exercise in session.decl.exercises
        if exercise.needs_data and any(name in names for name in session.decl.runs_of(exercise))
    }
    return expand(session.decl, names, prepared, session.inputs)


def check_executor(executor: str, address: str | None) -> None:
    if executor not in ("local", "ray"):
        raise UserError(f"--executor {executor!r}: choose local or ray")
    if address and executor != "ray":
        raise UserError(f"--address {address}: a Ray cluster's address; add --executor ray")
    if executor == "ray":
        from lab.core.ray_executor import import_ray

        import_ray()


def run_specs(
    session: Session, specs: list[RunSpec], device: str, force: bool, executor: str = "local", address=None
) -> int:
    from lab.core import runner

    if executor == "local":
        runner.resolve_device(device)
    check_store(session.store)
    with session.store.lock():
        outcomes = runner.run_all(
            session.store,
            specs,
            device=device,
            force=force,
            reporter=Reporter(console),
            executor=executor,
            address=address,
        )
    print_summary(outcomes)
    return EXIT_RUN_FAILED if any(o.status == "failed" for o in outcomes) else 0


def print_summary(outcomes) -> None:
    table = Table(title="runs", title_justify="left")
    for column in ("run", "key", "result", "time"):
        table.add_column(column)
    for outcome in outcomes:
        result = "cached (already done)" if outcome.status == "cached" else outcome.status
        style = {"failed": "red", "diverged": "yellow"}.get(outcome.status, "")
        table.add_row(
            outcome.spec.name,
            outcome.spec.key,
            f"[{style}]{result}[/]" if style else result,
            format_seconds(outcome.seconds) if outcome.status != "cached" else "-",
        )
    console.print(table)


def with_precision(sets: list[str] | None, precision: str | None) -> list[str]:
    """--precision is --set cifar.precision=VALUE: a parameter of the run, so part of its key."""
    if precision is None:
        return list(sets or [])
    if precision not in ("fp32", "bf16", "auto"):
        raise UserError(f"--precision {precision!r}: choose fp32, bf16 or auto")
    return [*(sets or []), f"cifar.precision={precision}"]


# --- commands ------------------------------------------------------------------


@app.command(short_help="Compute the runs that are missing, stale or interrupted.")
@guarded
def run(
    config: Config = None,
    set_: Sets = None,
    quick: Quick = False,
    only: Only = None,
    force: Annotated[
        bool, typer.Option("--force", help="Recompute even finished runs (the old result is kept aside).")
    ] = False,
    device: Device = "auto",
    precision: Precision = None,
    executor: Executor = "local",
    address: Address = None,
    data: Data = None,
    no_download: NoDownload = False,
    store: StoreOpt = None,
) -> None:
    """Compute the runs that are missing, stale or interrupted (resuming them)."""
    check_executor(executor, address)
    session = start_session(config, with_precision(set_, precision), quick, data, no_download, store)
    names = select(session.decl, only)
    code = run_specs(session, plan(session, names), device, force, executor, address)
    raise typer.Exit(code)


@app.command(short_help="Run what is missing, then write the report.")
@guarded
def build(
    config: Config = None,
    set_: Sets = None,
    quick: Quick = False,
    out: Annotated[
        Optional[Path],
        typer.Option("--out", "-o", metavar="FILE", help="PDF to write (HTML and CSV tables go beside it)."),
    ] = None,
    lang: Lang = None,
    no_run: Annotated[
        bool, typer.Option("--no-run", help="Render from the results that exist; train nothing.")
    ] = False,
    pdf_variant: Annotated[
        Optional[str], typer.Option("--pdf-variant", metavar="VARIANT", help="e.g. pdf/a-3b for archival submission.")
    ] = None,
    device: Device = "auto",
    precision: Precision = None,
    executor: Executor = "local",
    address: Address = None,
    data: Data = None,
    no_download: NoDownload = False,
    store: StoreOpt = None,
    final: Annotated[
        bool,
        typer.Option("--final", help="The report to hand in: refuse (exit 1, no PDF) while anything is not ready."),
    ] = False,
) -> None:
    """Run what is missing, then write the report (PDF, HTML and CSV tables).

    Ends with what is not ready to hand in; with --final each of those is an error
    (exit 1, no PDF written).
    """
    from lab.report import handin
    from lab.report.build import build_report
    from lab.report.fonts import check_fonts

    check_executor(executor, address)
    session = start_session(config, with_precision(set_, precision), quick, data, no_download, store)
    lang = lang or session.decl.values["report"]["lang"]
    if lang not in ("zh", "en"):
        raise UserError(f"--lang {lang!r}: choose zh or en")
    out = out if out is not None else default_out(session)
    prepare_output(out, session.store)
    check_fonts(lang)
    unready = handin.declaration_problems(session.decl)
    if final:
        refuse_if_unready(unready)  # before any training: nothing to wait for
    code = 0
    if no_run:
        specs = plan_for_render(session)
    else:
        specs = plan(session, session.decl.run_names)
        code = run_specs(session, specs, device, False, executor, address)
    runs, missing = gather(session, specs)
    for name, reason in missing.items():
        errors.print(
            f"[yellow]missing:[/] {name} ({reason}); the report says so. "
            f"Compute it with: {session.command('run', '--only', name)}"
        )
    unready += handin.run_problems(runs, missing, session.decl.quick)
    if final:
        refuse_if_unready(unready)
    written = build_report(
        session.decl, runs, out, lang=lang, pdf_variant=pdf_variant, missing=missing, inputs=session.inputs
    )
    for path in written:
        console.print(f"wrote {path}")
    print_unready(unready, "before you hand in:", "yellow")
    raise typer.Exit(code)


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


@app.command(short_help="Start a lab folder of your own: declaration, reflections prompts, answers/.")
@guarded
def init(
    folder: Annotated[Path, typer.Argument(metavar="[DIR]", help="The lab folder (default: here).")] = Path("."),
    name: Annotated[Optional[str], typer.Option("--name", help="Your name (asked on a terminal).")] = None,
    student_id: Annotated[Optional[str], typer.Option("--id", help="Your student ID (asked on a terminal).")] = None,
    klass: Annotated[Optional[str], typer.Option("--class", help="Your class (asked on a terminal).")] = None,
    lang: Lang = None,
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


@app.command("list", short_help="Show the status and time of every run.")
@guarded
def list_runs(
    config: Config = None, set_: Sets = None, quick: Quick = False, data: Data = None, store: StoreOpt = None
) -> None:
    """Show the matrix of runs: status (done / partial / missing / stale) and time."""
    session = start_session(config, set_, quick, data, True, store)
    specs = plan_for_render(session)
    table = Table(title=f"runs in {session.store.root}", title_justify="left")
    for column in ("run", "key", "status", "time", "finished"):
        table.add_column(column)
    listed = {spec.name for spec in specs}
    for spec in specs:
        record = session.store.read_record(spec.name, spec.key) or {}
        seconds = record.get("duration_s")
        status = session.store.status(spec.name, spec.key)
        if status == "stale":
            status = f"stale ({session.store.why_stale(spec)})"
        table.add_row(
            spec.name, spec.key, status, format_seconds(seconds) if seconds else "-", record.get("finished") or "-"
        )
    for name in session.decl.run_names:
        if name not in listed:
            table.add_row(name, "-", unplanned_status(session.store, name), "-", "-")
    console.print(table)


@app.command(short_help="Check everything long work needs, before it starts.")
@guarded
def doctor(
    config: Config = None,
    set_: Sets = None,
    quick: Quick = False,
    data: Data = None,
    no_download: NoDownload = False,
    device: Device = "auto",
    lang: Lang = None,
    store: StoreOpt = None,
) -> None:
    """Check what must hold before long work: declaration, data, fonts, output, device."""
    from lab.core import executor, runner
    from lab.report.fonts import check_fonts, font_subsetting_note

    session = start_session(config, set_, quick, data, no_download, store)
    decl = session.decl
    lang = lang or decl.values["report"]["lang"]
    out = decl.resolve(decl.values["report"]["out"])
    checks = [
        ("declaration", lambda: f"{decl.path} ({'quick' if decl.quick else 'full'})"),
        (
            "exercises",
            lambda: (
                check_exercises(decl, session.decl.run_names)
                or f"{', '.join(exercise.name for exercise in decl.exercises)}: inputs checked"
            ),
        ),
        *[
            (exercise.data_label, functools.partial(describe_data, session, exercise))
            for exercise in decl.exercises
            if exercise.needs_data
        ],
        (f"font for {lang}", lambda: check_fonts(lang) or font_subsetting_note() or "found"),
        ("output folder", lambda: output_status(out, session.store)),
        ("run store", lambda: check_store(session.store)),
        ("hand-in", functools.partial(ready_to_hand_in, session)),
        ("device", lambda: executor.device_name(runner.resolve_device(device))),
    ]
    failed = 0
    for label, check in checks:
        try:
            console.print(f"[green]ok[/]    {label}: {check()}")
        except UserError as error:
            failed += 1
            console.print(f"[red]fail[/]  {label}: {error}")
    console.print("all checks passed" if not failed else f"{failed} check(s) failed")
    raise typer.Exit(EXIT_USAGE if failed else 0)


def ready_to_hand_in(session: Session) -> str:
    """The hand-in checks that need no results (build lists the runs too)."""
    from lab.report import handin

    problems = handin.declaration_problems(session.decl)
    if problems:
        raise UserError("; ".join(problems))
    return "name, ID, reflections and answers are yours (labreport list shows the runs)"


def describe_data(session: Session, exercise: Exercise) -> str:
    where = exercise.options(session.decl.values[exercise.name], session.inputs).get("data", "")
    found = prepare(session, exercise)
    return (
        f"{where} ({', '.join(f'{key.removeprefix(DATA_PREFIX)} {str(value)[:12]}' for key, value in found.items())})"
    )


if __name__ == "__main__":
    main()
