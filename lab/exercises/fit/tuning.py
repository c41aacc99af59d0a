"""fit.custom's tuning: every lr × epochs × width scored on a validation split, the choice,
and what the search can tell apart."""

from __future__ import annotations

import pandas as pd

from lab.core.errors import UserError
from lab.exercises.fit.batched_mlp import parameter_count
from lab.exercises.fit.functions import (
    validation_split,
)
from lab.exercises.fit.problem import Problem, floats, ints, sweep
from lab.exercises.fit.tables import curve_table, data_table, grid_table, loss_table, snapshot_table
from lab.exercises.fit.training import Trajectory

# --- fit.custom --------------------------------------------------------------------


def search(
    problem: Problem, hidden_depth: int, space: dict, seeds: list[int], fraction: float, progress=None
) -> tuple[pd.DataFrame, list[Trajectory]]:
    """Every lr × epochs × width on the fit part of each seed's training points,
    scored on the validation part. One batched model per width; epochs are
    snapshots. Returns the search table (search.csv) and the trajectories."""
    lrs, epochs, widths = floats(space["lrs"]), ints(space["epochs"]), ints(space["widths"])
    splits = {s: validation_split(len(problem.training[s]), fraction, s) for s in seeds}
    fit = {s: problem.training[s].subset(splits[s][0]) for s in seeds}
    validation = {s: problem.training[s].subset(splits[s][1]) for s in seeds}
    # the validation part stands in the held-out slot: scored, never trained on
    fit_problem = Problem(problem.function, problem.grid, fit, validation)
    rows, trajectories = [], []
    for width in widths:
        trajectory = sweep(fit_problem, [width] * hidden_depth, lrs, seeds, epochs, progress)
        trajectories.append(trajectory)
        table = snapshot_table(trajectory).rename(columns={"heldout_error": "val_error"})
        table.insert(2, "width", width)
        rows.append(table[["lr", "epochs", "width", "seed", "train_loss", "val_error", "true_error", "diverged"]])
    return pd.concat(rows, ignore_index=True), trajectories


def choose(search_table: pd.DataFrame, hidden_depth: int) -> dict:
    """The setting with the lowest mean validation error over seeds; a setting
    with any diverged seed is out; ties go to the cheaper (epochs × weights)."""
    candidates = []
    for (lr, epochs, width), rows in search_table.groupby(["lr", "epochs", "width"]):
        if rows["diverged"].any() or rows["val_error"].isna().any():
            continue
        cost = int(epochs) * parameter_count([int(width)] * hidden_depth)
        candidates.append((float(rows["val_error"].mean()), cost, float(lr), int(epochs), int(width)))
    if not candidates:
        raise UserError(
            "fit.custom.search: every setting diverged (NaN/inf loss); add smaller "
            "learning rates to fit.custom.search.lrs, or use a function with smaller values"
        )
    best = min(candidates)
    return {
        "lr": best[2],
        "epochs": best[3],
        "width": best[4],
        "hidden": [best[4]] * hidden_depth,
        "val_error": best[0],
    }


def custom_total_epochs(params: dict) -> int:
    space = params["search"]
    return max(space["epochs"]) * len(space["widths"]) + int(params["baseline"]["epochs"]) + max(space["epochs"])


LABELLED_TABLES = {
    "snapshots": lambda trajectory, problem: snapshot_table(trajectory),
    "loss": lambda trajectory, problem: loss_table(trajectory),
    "curves": lambda trajectory, problem: curve_table(trajectory, problem.grid),
    "data": lambda trajectory, problem: data_table(problem.training),
    "grid": lambda trajectory, problem: grid_table(problem.grid),
}


def labelled_table(runs: dict[str, Trajectory], problem: Problem, name: str) -> pd.DataFrame:
    frames = []
    for label, trajectory in runs.items():
        table = LABELLED_TABLES[name](trajectory, problem)
        table.insert(0, "label", label)
        frames.append(table)
    return pd.concat(frames, ignore_index=True)
