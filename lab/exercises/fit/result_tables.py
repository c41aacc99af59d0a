"""Exercise 1's tables in the report: a row per setting of a sweep (1A, 1B), the 1C search
and its chosen setting against the course defaults."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lab.exercises.fit.custom_facts import Custom, layers_text
from lab.exercises.fit.numbers import fixed
from lab.report.items import Table
from lab.report.messages import Messages
from lab.report.wording import lr_text, num, pm

msg = Messages(Path(__file__).parent)


def metric_columns(lang: str, timed: bool = False) -> list[str]:
    columns = [msg(lang, "training_loss"), msg(lang, "true_error"), msg(lang, "held_out_error"), msg(lang, "diverged")]
    return columns + [msg(lang, "time_s")] if timed else columns


def metric_cells(row, timed: bool = False) -> list[str]:
    cells = [
        pm(row["train_loss_mean"], row["train_loss_se"]),
        pm(row["true_error_mean"], row["true_error_se"]),
        pm(row["heldout_error_mean"], row["heldout_error_se"]),
        f"{int(row['diverged'])}/{int(row['seeds'])}",
    ]
    return cells + [num(row["seconds_mean"], 2)] if timed else cells


def sweep_table(settings: pd.DataFrame, column: str, lang: str) -> Table:
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


def search_table(custom: Custom, lang: str, shown: int) -> Table:
    """The `shown` settings with the lowest CV error, the chosen one emphasised."""
    f = custom.facts
    ranked = custom.search.sort_values("cv_error", na_position="last").reset_index(drop=True)
    rows, highlight = [], set()
    for i, r in ranked.head(shown).iterrows():
        setting = (r["width"], r["depth"], r["weight_decay"], r["networks"])
        chosen = setting == (f.chosen_width, f.chosen_depth, f.chosen_weight_decay, f.chosen_networks)
        if chosen and abs(r["lr"] - f.chosen_lr) < 1e-12:
            highlight.add(i)
        rows.append(
            [
                str(i + 1),
                lr_text(r["lr"]),
                lr_text(r["weight_decay"]),
                layers_text([r["width"]] * int(r["depth"])),
                f"{int(r['networks'])}",
                "—" if pd.isna(r["epochs"]) else f"{int(r['epochs']):,}",
                fixed(r["cv_error"], r["cv_se"]),
                f"{int(r['diverged'])}/{int(r['units'])}",
            ]
        )
    keys = ["rank", "lr", "weight_decay", "hidden", "networks", "early_stopping_epoch", "cv_error_column", "diverged"]
    return Table([msg(lang, key) for key in keys], rows, [True] * 8, highlight)


def comparison_table(custom: Custom, lang: str) -> Table:
    """The defaults and the chosen setting, each trained on all points, then their paired difference."""
    f = custom.facts
    settings = {
        "baseline": (
            f.baseline_lr,
            0.0,
            f.baseline_epochs,
            f.baseline_hidden,
            f.baseline_true_error,
            f.baseline_true_error_se,
        ),
        "chosen": (
            f.chosen_lr,
            f.chosen_weight_decay,
            f.chosen_epochs,
            [f.chosen_width] * f.chosen_depth,
            f.chosen_true_error,
            f.chosen_true_error_se,
        ),
    }
    networks = {"baseline": 1, "chosen": f.chosen_networks}
    rows = [
        [msg(lang, label), lr_text(lr), lr_text(decay), f"{epochs:,}", layers_text(hidden)]
        + [str(networks[label]), fixed(true, se), ""]
        for label, (lr, decay, epochs, hidden, true, se) in settings.items()
    ]
    difference = fixed(f.difference, f.difference_se)
    rows.append([msg(lang, "chosen_minus_baseline"), "", "", "", "", "", difference, f"{f.wins}/{f.compared_seeds}"])
    keys = ["setting", "lr", "weight_decay", "epochs_column", "hidden", "networks", "true_error_all_points", "wins"]
    return Table([msg(lang, key) for key in keys], rows, [False] + [True] * 7)
