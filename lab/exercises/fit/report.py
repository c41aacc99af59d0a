"""Exercise 1 in the report: its items (its parameter table, figures and tables, in the order
they are numbered) and its run titles, declared as an `ExerciseReport`.

Its answers (1A, 1B, 1C) are templates, answers/<QID>.html.j2 (one for both languages), over the facts of
`lab.exercises.fit.facts`; its section is section.html.j2; its short words, messages/*.toml.
"""

from __future__ import annotations

from pathlib import Path

from lab.core.exercise_report import ExerciseReport, Item
from lab.exercises.fit.formula import formula
from lab.exercises.fit.numbers import fixed
from lab.report.items import Parameters, lazy_module
from lab.report.messages import Messages
from lab.report.wording import count, plain

msg = Messages(Path(__file__).parent)
facts = lazy_module("lab.exercises.fit.facts")  # pandas and matplotlib load only when a report is built
figures = lazy_module("lab.exercises.fit.figures")
tables = lazy_module("lab.exercises.fit.result_tables")
SEARCH_ROWS_SHOWN = 12

EPOCHS, LR, CUSTOM = ("fit.epochs",), ("fit.lr",), ("fit.custom",)


def parameter_table(fit, lang: str) -> Parameters:
    """The parameters the sweeps (1A, else 1B) actually ran with."""
    p = (fit.epochs or fit.lr).params
    lo, hi = (plain(v) for v in p["x_range"])
    points = msg(lang, "training_points_value", samples=count(p["samples"]), lo=lo, hi=hi, noise=p["noise_std"])
    evaluation = msg(lang, "evaluation_value", grid=count(p["grid_points"]), heldout=count(p["heldout_samples"]))
    rows = [
        (msg(lang, "function"), formula(str(p["function"]))),
        (msg(lang, "training_points"), points),
        (msg(lang, "network"), msg(lang, "network_value", hidden=p["hidden"])),
        (msg(lang, "training"), msg(lang, "training_value")),
        (msg(lang, "seeds"), ", ".join(str(s) for s in p["seeds"])),
        (msg(lang, "evaluation"), evaluation),
    ]
    return Parameters(rows)


def has_sweep(fit) -> bool:
    return fit.epochs is not None or fit.lr is not None


ITEMS = (
    Item("tab:fit_parameters", "parameters_caption", (), parameter_table, shown=has_sweep),
    Item(
        "fig:epochs_panels",
        "epochs_panels_caption",
        EPOCHS,
        lambda f, lang: figures.sweep_panels(f.epochs, "epochs", lang),
    ),
    Item("fig:epochs_loss", "epochs_loss_caption", EPOCHS, lambda f, lang: figures.loss_curves(f.epochs, lang)),
    Item(
        "fig:epochs_errors",
        "epochs_errors_caption",
        EPOCHS,
        lambda f, lang: figures.error_vs_setting(f.epochs, "epochs", lang),
    ),
    Item(
        "tab:epochs",
        "epochs_table_caption",
        EPOCHS,
        lambda f, lang: tables.sweep_table(f.epochs.settings, "epochs", lang),
    ),
    Item("fig:lr_panels", "lr_panels_caption", LR, lambda f, lang: figures.sweep_panels(f.lr, "lr", lang)),
    Item("fig:lr_loss", "lr_loss_caption", LR, lambda f, lang: figures.loss_curves(f.lr, lang)),
    Item("fig:lr_errors", "lr_errors_caption", LR, lambda f, lang: figures.error_vs_setting(f.lr, "lr", lang)),
    Item("tab:lr", "lr_table_caption", LR, lambda f, lang: tables.sweep_table(f.lr.settings, "lr", lang)),
    Item("fig:custom_search", "custom_search_caption", CUSTOM, lambda f, lang: figures.search_curves(f.custom, lang)),
    Item(
        "tab:custom_search",
        "custom_search_table_caption",
        CUSTOM,
        lambda f, lang: tables.search_table(f.custom, lang, SEARCH_ROWS_SHOWN),
        caption_values=lambda f: {"shown": min(len(f.custom.search), SEARCH_ROWS_SHOWN), "tried": len(f.custom.search)},
    ),
    Item("fig:custom_curves", "custom_curves_caption", CUSTOM, lambda f, lang: figures.custom_curves(f.custom, lang)),
    Item(
        "tab:custom_comparison",
        "custom_comparison_caption",
        CUSTOM,
        lambda f, lang: tables.comparison_table(f.custom, lang),
    ),
)


class FitReport(ExerciseReport):
    items = ITEMS
    run_titles = {"fit.epochs": "run_title_epochs", "fit.lr": "run_title_lr", "fit.custom": "run_title_custom"}
    helpers = {"formula": formula, "fixed": fixed}  # f(x) typeset (templates, overview); 1C numbers as in its tables

    def analyse(self, runs: dict):
        return facts.analyse(runs)

    def csv_tables(self, fit) -> dict:
        return facts.csv_tables(fit)


REPORT = FitReport()
