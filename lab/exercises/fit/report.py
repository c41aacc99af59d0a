"""Exercise 1 in the report: its figures, tables and parameter rows, for the report builder.

Its answers (1A, 1B, 1C) are templates: answers/<QID>.<lang>.html.j2, over the facts of
`lab.exercises.fit.facts` (which also name the claims an answer may make).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lab.exercises.fit.custom_facts import layers_text
from lab.exercises.fit.facts import FitAnalysis, analyse, csv_tables  # noqa: F401
from lab.exercises.fit.formula import formula
from lab.report.items import Table, figure_specs, lazy_module
from lab.report.messages import Messages
from lab.report.wording import lr_text, num, pm

msg = Messages(Path(__file__).parent)
figures = lazy_module("lab.exercises.fit.figures")

RUN_TITLES = {
    "fit.epochs": msg.text("exercise_1a_epochs"),
    "fit.lr": msg.text("exercise_1b_learning_rate"),
    "fit.custom": msg.text("exercise_1c_own_function"),
}

FIGURES = figure_specs(
    figures,
    msg,
    {"epochs": "fit.epochs", "lr": "fit.lr", "custom": "fit.custom"},
    [
        ("fig:epochs_panels", ("sweep_panels", "epochs", "epochs"), "learnt_curves_for_each_number_of_epochs"),
        ("fig:epochs_loss", ("loss_curves", "epochs"), "training_loss_over_epochs_log_log_dotted"),
        ("fig:epochs_errors", ("error_vs_setting", "epochs", "epochs"), "true_error_held_out_error_and_training_l"),
        ("fig:lr_panels", ("sweep_panels", "lr", "lr"), "learnt_curves_for_each_learning_rate_div"),
        ("fig:lr_loss", ("loss_curves", "lr"), "training_loss_curves_per_learning_rate_o"),
        ("fig:lr_errors", ("error_vs_setting", "lr", "lr"), "true_error_held_out_error_and_training_l_2"),
        ("fig:custom_search", ("search_curves", "custom"), "validation_error_of_the_grid_search_mean"),
        ("fig:custom_curves", ("custom_curves", "custom"), "own_function_curves_learnt_with_the_base"),
    ],
)


def metric_columns(lang: str, timed: bool = False) -> list[str]:
    columns = [msg(lang, "training_loss"), msg(lang, "true_error"), msg(lang, "held_out_error"), msg(lang, "diverged")]
    return columns + [msg(lang, "time_s")] if timed else columns


def metric_cells(row, timed: bool = False) -> list[str]:
    cells = [
        pm(row["train_loss_mean"], row["train_loss_std"]),
        pm(row["true_error_mean"], row["true_error_std"]),
        pm(row["heldout_error_mean"], row["heldout_error_std"]),
        f"{int(row['diverged'])}/{int(row['seeds'])}",
    ]
    return cells + [num(row["seconds_mean"], 2)] if timed else cells


def sweep_table(settings, column: str, lang: str) -> Table:
    """One row per setting. The time column only when the rows differ in it: the learning
    rates train side by side in one batched run, whose time would repeat on every row."""
    first = msg(lang, "epochs") if column == "epochs" else msg(lang, "learning_rate")
    order = settings.sort_values(column, ascending=column != "lr")
    timed = order["seconds_mean"].nunique() > 1
    rows = [
        [f"{int(r[column]):,}" if column == "epochs" else lr_text(r[column])] + metric_cells(r, timed)
        for _, r in order.iterrows()
    ]
    return Table([first] + metric_columns(lang, timed), rows, [True] * len(rows[0]) if rows else [])


SEARCH_ROWS_SHOWN = 12
DECIMALS = 3  # every error in the 1C tables, so a column reads alike


def fixed(value, se=None) -> str:
    """value (± se) with DECIMALS decimals; '—' when missing."""
    if value is None or pd.isna(value):
        return "—"
    if se is None or pd.isna(se):
        return f"{value:.{DECIMALS}f}"
    return f"{value:.{DECIMALS}f} ± {se:.{DECIMALS}f}"


def search_table(lab: FitAnalysis, lang: str) -> Table:
    assert lab.custom is not None  # a table of the fit.custom run, made only with it
    f = lab.custom.facts
    ranked = lab.custom.search.sort_values("cv_error", na_position="last").reset_index(drop=True)
    rows, highlight = [], set()
    for i, r in ranked.head(SEARCH_ROWS_SHOWN).iterrows():
        chosen = (r["width"], r["depth"], r["weight_decay"]) == (f.chosen_width, f.chosen_depth, f.chosen_weight_decay)
        if chosen and abs(r["lr"] - f.chosen_lr) < 1e-12:
            highlight.add(i)
        rows.append(
            [
                str(i + 1),
                lr_text(r["lr"]),
                lr_text(r["weight_decay"]),
                layers_text([r["width"]] * int(r["depth"])),
                "—" if pd.isna(r["epochs"]) else f"{int(r['epochs']):,}",
                fixed(r["cv_error"], r["cv_se"]),
                f"{int(r['diverged'])}/{int(r['units'])}",
            ]
        )
    columns = [
        msg(lang, "rank"),
        msg(lang, "lr"),
        msg(lang, "weight_decay"),
        msg(lang, "hidden"),
        msg(lang, "early_stopping_epoch"),
        msg(lang, "cv_error_column"),
        msg(lang, "diverged"),
    ]
    return Table(columns, rows, [True] * 7, highlight)


def comparison_table(lab: FitAnalysis, lang: str) -> Table:
    assert lab.custom is not None
    f = lab.custom.facts
    rows = []
    for label, lr, decay, epochs, hidden, true, se in (
        (
            "baseline",
            f.baseline_lr,
            0.0,
            f.baseline_epochs,
            f.baseline_hidden,
            f.baseline_true_error,
            f.baseline_true_error_se,
        ),
        (
            "chosen",
            f.chosen_lr,
            f.chosen_weight_decay,
            f.chosen_epochs,
            [f.chosen_width] * f.chosen_depth,
            f.chosen_true_error,
            f.chosen_true_error_se,
        ),
    ):
        rows.append(
            [
                msg(lang, label),
                lr_text(lr),
                lr_text(decay),
                f"{epochs:,}",
                layers_text(hidden),
                fixed(true, se),
                "",
            ]
        )
    rows.append(
        [
            msg(lang, "chosen_minus_baseline"),
            "",
            "",
            "",
            "",
            fixed(f.difference, f.difference_se),
            f"{f.wins}/{f.compared_seeds}",
        ]
    )
    columns = [
        msg(lang, "setting"),
        msg(lang, "lr"),
        msg(lang, "weight_decay"),
        msg(lang, "epochs_2"),
        msg(lang, "hidden"),
        msg(lang, "true_error_all_points"),
        msg(lang, "wins"),
    ]
    return Table(columns, rows, [False, True, True, True, True, True, True])


TABLES = {
    "tab:epochs": (
        lambda lab, runs, lang: sweep_table(lab.epochs.settings, "epochs", lang),
        "fit.epochs",
        msg.text("results_per_number_of_epochs_mean_std_ov"),
    ),
    "tab:lr": (
        lambda lab, runs, lang: sweep_table(lab.lr.settings, "lr", lang),
        "fit.lr",
        msg.text("results_per_learning_rate_mean_std_over"),
    ),
    "tab:custom_search": (
        lambda lab, runs, lang: search_table(lab, lang),
        "fit.custom",
        msg.text("search_caption", shown=SEARCH_ROWS_SHOWN),
    ),
    "tab:custom_comparison": (
        lambda lab, runs, lang: comparison_table(lab, lang),
        "fit.custom",
        msg.text("chosen_setting_against_the_baseline_mean"),
    ),
}

# The order figures and tables appear in the document (for their numbers).
ORDER = [
    "fig:epochs_panels",
    "fig:epochs_loss",
    "fig:epochs_errors",
    "tab:epochs",
    "fig:lr_panels",
    "fig:lr_loss",
    "fig:lr_errors",
    "tab:lr",
    "fig:custom_search",
    "tab:custom_search",
    "fig:custom_curves",
    "tab:custom_comparison",
]


# What its answer templates (answers/*.html.j2) and the page may call besides the number formats.
TEMPLATE_HELPERS = {"formula": formula}


def parameters(lab: FitAnalysis, lang: str) -> list[tuple[str, str]] | None:
    """The parameters Exercise 1 actually ran with, as (label, value) rows."""
    params = {}
    sweep = lab.epochs or lab.lr
    if sweep is not None:
        p = sweep.params
        params["fit"] = [
            (msg(lang, "function"), formula(str(p.get("function")))),
            (
                msg(lang, "training_points"),
                msg(
                    lang,
                    "training_points_value",
                    samples=p.get("samples"),
                    lo=p["x_range"][0],
                    hi=p["x_range"][1],
                    noise=p.get("noise_std"),
                ),
            ),
            (msg(lang, "network"), msg(lang, "network_value", hidden=p.get("hidden"))),
            (msg(lang, "training"), msg(lang, "adam_full_batch_mean_squared_error")),
            (msg(lang, "seeds"), ", ".join(str(s) for s in p.get("seeds", []))),
            (
                msg(lang, "evaluation"),
                msg(lang, "evaluation_value", grid=p.get("grid_points"), heldout=p.get("heldout_samples")),
            ),
        ]
    return params.get("fit")
