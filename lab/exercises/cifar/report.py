"""Exercise 2 in the report: its figures, table, parameter rows and the code it shows.

Its answers (2A, 2B, 2C) are templates: answers/<QID>.<lang>.html.j2.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from lab.exercises.cifar.facts import CifarAnalysis, analyse, csv_tables  # noqa: F401
from lab.exercises.cifar.names import class_name
from lab.report.items import FigureSpec, Table, figure_specs, lazy_module
from lab.report.messages import Messages
from lab.report.wording import lr_text, pct, pm, signed

msg = Messages(Path(__file__).parent)
figures = lazy_module("lab.exercises.cifar.figures")
sweep_figures = lazy_module("lab.exercises.cifar.sweep_figures")

RUN_TITLES = {"cifar": msg.text("exercise_2_cifar_10")}
# What its answer templates (answers/*.html.j2) may call besides the number formats.
TEMPLATE_HELPERS = {"class_name": class_name}
# The functions shown in the appendix (2A): the course's test(epoch) and schedule loop. The build
# runs test(epoch) on the final checkpoint (cross_check) to prove it returns the reported accuracy.
EVALUATION = ("lab.exercises.cifar.course", "test", "schedule")


def cross_check(runs: dict, cache_dir: Path, data: str | None, folder: Path | None):
    """The course's test(epoch) on the cifar run's final checkpoint (None without the run)."""
    from lab.exercises.cifar.crosscheck import remembered_cross_check

    run = runs.get("cifar")
    return remembered_cross_check(run, cache_dir, data, folder) if run is not None else None


def has(table: str) -> Callable[[CifarAnalysis], bool]:
    return lambda a: getattr(a.cifar, table) is not None


def has_images(a: CifarAnalysis) -> bool:
    images = a.cifar.misclassified if a.cifar is not None else None
    return images is not None and len(images.get("images", [])) > 0


FIGURES = figure_specs(
    figures,
    msg,
    {"cifar": "cifar"},
    [
        ("fig:cifar_curves", ("cifar_curves", "cifar"), "resnet_20_on_cifar_10_loss_and_accuracy"),
        ("fig:per_class", ("per_class_bars", "cifar"), "test_accuracy_per_class_after_the_last_e", has("per_class")),
        ("fig:confusion", ("confusion_matrix", "cifar"), "confusion_matrix_on_the_test_set_rows_tr", has("confusion")),
        ("fig:misclassified", ("misclassified_grid", "cifar"), "misclassified_test_images_top_true_class", has_images),
    ],
)


def has_sweep(a: CifarAnalysis) -> bool:
    return a.sweep is not None


FIGURES.append(
    FigureSpec(
        "fig:cifar_sweep",
        "cifar",
        lambda a, lang: sweep_figures.sweep_curves(a.sweep, lang),
        msg.text("test_accuracy_by_epoch_of_every_schedule"),
        has_sweep,
        inputs=lambda a: a.sweep.fingerprint if a.sweep else "",
    )
)


def course_cell(sweep, epoch: int) -> str:
    accuracy = sweep.test_by_seed.loc[epoch]
    return pm(accuracy.mean(), accuracy.std(ddof=1)) if sweep.several_seeds else pct(accuracy.iloc[0])


def sweep_table(lab: CifarAnalysis, lang: str) -> Table:
    """Rows: each epoch, then the final accuracy and the seconds per epoch; a column per schedule."""
    sweep = lab.sweep
    if sweep is None:
        return Table([], [], [])
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


def cifar_table(lab: CifarAnalysis, lang: str) -> Table:
    cifar = lab.cifar
    assert cifar is not None  # a table of the cifar run, made only with it
    rows = []
    for _, r in cifar.epochs.iterrows():
        rows.append(
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
        )
    columns = [
        msg(lang, "epoch"),
        msg(lang, "lr"),
        msg(lang, "train_loss"),
        msg(lang, "train_acc"),
        msg(lang, "test_loss"),
        msg(lang, "test_acc"),
        msg(lang, "gap_pp"),
        msg(lang, "time_s"),
    ]
    drop = cifar.facts.drop
    highlight = {drop.epoch_after - int(cifar.epochs["epoch"].iloc[0])} if drop else set()
    return Table(columns, rows, [True] * 8, highlight)


TABLES = {
    "tab:cifar_epochs": (
        lambda lab, runs, lang: cifar_table(lab, lang),
        "cifar",
        msg.text("per_epoch_training_and_test_results_gap"),
    ),
    "tab:cifar_sweep": (
        lambda lab, runs, lang: sweep_table(lab, lang),
        "cifar",
        msg.text("test_accuracy_per_epoch_of_each_schedule"),
    ),
}

ORDER = [
    "fig:cifar_curves",
    "tab:cifar_epochs",
    "fig:per_class",
    "fig:confusion",
    "fig:misclassified",
    "fig:cifar_sweep",
    "tab:cifar_sweep",
]


def parameters(lab: CifarAnalysis, lang: str) -> list[tuple[str, str]] | None:
    """The parameters Exercise 2 actually ran with, as (label, value) rows."""
    params = {}
    if lab.cifar is not None:
        p, summary = lab.cifar.params, lab.cifar.record.get("summary") or {}
        count = summary.get("parameters")
        size = f"{count / 1e6:.2f} M" if isinstance(count, (int, float)) else msg(lang, "about_0_27_m")
        precision = summary.get("precision") or p.get("precision")  # what ran, not "auto"
        schedule = msg(lang, "then").join(
            msg(lang, "phase", lr=lr_text(ph["lr"]), epochs=ph["epochs"]) for ph in p.get("phases", [])
        )
        subset = p.get("train_subset") or p.get("test_subset")
        params["cifar"] = [
            (msg(lang, "model"), msg(lang, "model_value", size=size)),
            (
                msg(lang, "data"),
                msg(lang, "cifar_10_50_000_training_and_10_000_test")
                + (
                    msg(
                        lang,
                        "subset",
                        train=p.get("train_subset") or msg(lang, "all"),
                        test=p.get("test_subset") or msg(lang, "all"),
                    )
                    if subset
                    else ""
                ),
            ),
            (msg(lang, "augmentation"), msg(lang, "random_crop_32_padding_4_random_horizont")),
            (
                msg(lang, "optimiser"),
                f"SGD, momentum {p.get('momentum')}, weight decay {p.get('weight_decay')}, batch {p.get('batch_size')}",
            ),
            (msg(lang, "schedule"), schedule),
            (msg(lang, "precision_seed"), f"{precision} / {p.get('seed')}"),
        ]
    return params.get("cifar")
