"""Exercise 2 in the report: its items (its parameter table, figures and tables, in the order they
are numbered), its run titles and Appendix A, declared as an `ExerciseReport`.

Its answers (2A, 2B, 2C) are templates, answers/<QID>.html.j2 (one for both languages); its section is
section.html.j2 (with beyond.html.j2 when a variant ran); its short words, messages/*.toml.
"""

from __future__ import annotations

from pathlib import Path

from lab.core.errors import UserError
from lab.core.exercise_report import Appendix, ExerciseReport, Item
from lab.exercises.cifar import COURSE_RUN, cell_of
from lab.exercises.cifar.names import class_name
from lab.report.code import function_source, highlighted
from lab.report.items import Parameters, Table, cache_folder, lazy_module
from lab.report.messages import Messages
from lab.report.wording import count, lr_text, pct, pm, signed

msg = Messages(Path(__file__).parent)
facts = lazy_module("lab.exercises.cifar.facts")  # pandas and matplotlib load only when a report is built
figures = lazy_module("lab.exercises.cifar.figures")
sweep_figures = lazy_module("lab.exercises.cifar.sweep_figures")
# Appendix A shows the course's test(epoch) and its phase-by-phase loop as the runs execute them; the
# build runs that test(epoch) on the final checkpoint to prove it returns the reported accuracy.
COURSE_CODE = ("lab.exercises.cifar.course", ("test", "schedule"))


def draw(figure: str):
    """An item's drawing: `figure` of figures.py over the course run."""
    return lambda f, lang: getattr(figures, figure)(f.cifar, lang)


def has(table: str):
    return lambda f: getattr(f.cifar, table) is not None


def has_images(f) -> bool:
    return f.cifar.misclassified is not None and len(f.cifar.misclassified.get("images", [])) > 0


def has_sweep(f) -> bool:
    return f.sweep is not None


def sweep_fingerprint(f) -> str:
    return f.sweep.fingerprint if f.sweep else ""


COURSE = (COURSE_RUN,)


def parameter_table(analysis, lang: str) -> Parameters:
    """The parameters the course run actually ran with (its record), as (label, value) rows."""
    p, summary = analysis.cifar.params, analysis.cifar.record.get("summary") or {}
    weights = summary.get("parameters")
    size = f"{weights / 1e6:.2f} M" if isinstance(weights, (int, float)) else msg(lang, "parameter_count_unknown")
    data = msg(lang, "data_value")
    if p.get("train_subset") or p.get("test_subset"):
        every = msg(lang, "all")
        train, test = (count(p[key]) if p.get(key) else every for key in ("train_subset", "test_subset"))
        data += msg(lang, "subset", train=train, test=test)
    optimiser = msg(
        lang, "optimiser_value", momentum=p["momentum"], weight_decay=p["weight_decay"], batch=p["batch_size"]
    )
    precision = summary.get("precision") or p["precision"]  # what ran, not "auto"
    rows = [
        (msg(lang, "model"), msg(lang, "model_value", size=size)),
        (msg(lang, "data"), data),
        (msg(lang, "augmentation"), msg(lang, "augmentation_value")),
        (msg(lang, "optimiser"), optimiser),
        (msg(lang, "schedule"), schedule_text(analysis.cifar.facts.phases, lang)),
        (msg(lang, "precision_seed"), f"{precision} / {p['seed']}"),
    ]
    return Parameters(rows)


ITEMS = (
    Item("tab:cifar_parameters", "parameters_caption", COURSE, parameter_table),
    Item("fig:cifar_curves", "curves_caption", COURSE, draw("cifar_curves")),
    Item("tab:cifar_epochs", "epochs_table_caption", COURSE, lambda f, lang: cifar_table(f.cifar, lang)),
    Item("fig:per_class", "per_class_caption", COURSE, draw("per_class_bars"), shown=has("per_class")),
    Item("fig:confusion", "confusion_caption", COURSE, draw("confusion_matrix"), shown=has("confusion")),
    Item("fig:misclassified", "misclassified_caption", COURSE, draw("misclassified_grid"), shown=has_images),
    Item(
        "fig:cifar_sweep",
        "sweep_figure_caption",
        COURSE,
        lambda f, lang: sweep_figures.sweep_curves(f.sweep, lang),
        shown=has_sweep,
        inputs=sweep_fingerprint,
    ),
    Item("tab:cifar_sweep", "sweep_table_caption", COURSE, lambda f, lang: sweep_table(f.sweep, lang), shown=has_sweep),
)


def course_cell(sweep, epoch: int) -> str:
    accuracy = sweep.test_by_seed.loc[epoch]
    return pm(accuracy.mean(), accuracy.std(ddof=1)) if sweep.several_seeds else pct(accuracy.iloc[0])


def sweep_table(sweep, lang: str) -> Table:
    """Rows: each epoch, then the final accuracy and the seconds per epoch; a column per schedule."""
    by_seed = sweep.test_by_seed
    columns = [{e: course_cell(sweep, e) for e in by_seed.index}]
    columns += [dict(zip(v.epochs["epoch"], (pct(a) for a in v.epochs["test_acc"]))) for v in sweep.variants[1:]]
    epochs = sorted({int(e) for column in columns for e in column})
    rows = [[str(e)] + [column.get(e, "") for column in columns] for e in epochs]
    final = pm(sweep.final_test.mean, sweep.final_test.sd) if sweep.several_seeds else pct(sweep.final_test.mean)
    rows.append([msg(lang, "final_row"), final] + [pct(v.final_test) for v in sweep.variants[1:]])
    if sweep.mirrored:
        mirrored = [pct(v.mirrored_test) if v.mirrored_test is not None else "" for v in sweep.variants]
        rows.append([msg(lang, "final_mirrored_row"), *mirrored])
    rows.append([msg(lang, "seconds_per_epoch_row")] + [f"{v.seconds_per_epoch:.1f}" for v in sweep.variants])
    names = [msg(lang, "sweep_course")] + [v.name for v in sweep.variants[1:]]
    return Table([msg(lang, "sweep_epoch"), *names], rows, [False] + [True] * len(names))


def cifar_table(cifar, lang: str) -> Table:
    """A row per epoch; the first epoch after the learning-rate drop emphasised."""
    rows = [
        [
            str(int(r["epoch"])),
            lr_text(r["lr"]),
            f"{r['train_loss']:.3f}",
            pct(r["train_acc"]),
            f"{r['test_loss']:.3f}",
            pct(r["test_acc"]),
            signed(r["gap"]),
            f"{r['train_seconds'] + r['test_seconds']:.1f}",
        ]
        for _, r in cifar.epochs.iterrows()
    ]
    keys = ["epoch", "lr", "train_loss", "train_acc", "test_loss", "test_acc", "gap_pp", "time_s"]
    drop = cifar.facts.drop
    highlight = {drop.epoch_after - int(cifar.epochs["epoch"].iloc[0])} if drop else set()
    return Table([msg(lang, key) for key in keys], rows, [True] * 8, highlight)


def schedule_text(phases: list[tuple[float, int]], lang: str) -> str:
    phase = {1: "phase_one_epoch"}  # "for 1 epoch", not "for 1 epochs"
    return msg(lang, "then").join(
        msg(lang, phase.get(epochs, "phase"), lr=lr_text(lr), epochs=epochs) for lr, epochs in phases
    )


def course_source() -> str:
    """The source of the course's functions Appendix A shows, as the runs execute them."""
    module, functions = COURSE_CODE
    return "\n\n".join(function_source(module, name) for name in functions)


def code_appendix(analysis, runs: dict, inputs) -> dict:
    """Appendix A: the course's code as the runs execute it, its learning rates as the run
    recorded them, and the check that its test(epoch) returns the accuracy the run reported."""
    try:
        source, error = course_source(), None
    except (ImportError, AttributeError, OSError, TypeError) as problem:
        source, error = None, f"{type(problem).__name__}: {problem}"
    phases = analysis.cifar.facts.phases if analysis.cifar is not None else []
    return {
        "code": highlighted(source) if source else None,
        "error": error,
        "rates": " → ".join(f"{lr:g}" for lr, _ in phases),
        "check": cross_check(runs, inputs),
    }


def cross_check(runs: dict, inputs):
    """The course's test(epoch) on the course run's final checkpoint (None without the run);
    a result other than the reported one, in the same numerics, stops the build."""
    from lab.exercises.cifar.crosscheck import remembered_cross_check

    run = runs.get(COURSE_RUN)
    store = cache_folder(runs)
    cache_dir = inputs.cache_dir if inputs is not None else (store.parent.parent / "cache" if store else None)
    if run is None or cache_dir is None:
        return None
    result = remembered_cross_check(run, cache_dir, getattr(inputs, "data", None), store)
    if result.checked and result.same_numerics and not result.matches:
        raise UserError(
            f"the course's test(epoch) returned {result.course:.2f}% on the final checkpoint of "
            f"{COURSE_RUN}, but the run reported {result.reported:.2f}%: the code in the report is "
            f"not the code that ran; run it again with: labreport run --force --only {COURSE_RUN}"
        )
    return result


class CifarReport(ExerciseReport):
    items = ITEMS
    appendices = (
        Appendix("appendix:code", "appendix_code_title", "appendix_code_contents", "appendix.html.j2", code_appendix),
    )
    run_titles = {COURSE_RUN: "run_title_course"}
    helpers = {"class_name": class_name}  # its answers name the classes in the report's language

    def analyse(self, runs: dict):
        return facts.analyse(runs)

    def csv_tables(self, analysis) -> dict:
        return facts.csv_tables(analysis)

    def run_title(self, run: str, text) -> str:
        """The course run's title; a sweep's runs under it with their cell (… · seed1, … · tuned)."""
        title = text("run_title_course")
        cell = cell_of(run)
        return text("sweep_run_title", title=title, cell=cell.suffix) if cell.suffix else title


REPORT = CifarReport()
