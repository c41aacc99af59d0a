"""fit.custom's tuning: k-fold cross-validation of every lr × weight decay × width × depth,
early stopping on the mean validation curve, and the choice (comparison.py: the verdict)."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from lab.core.errors import UserError
from lab.exercises.fit.averaging import cross_validate_average
from lab.exercises.fit.batched_mlp import parameter_count
from lab.exercises.fit.comparison import SETTING
from lab.exercises.fit.functions import kfold_indices
from lab.exercises.fit.problem import Problem, floats, fold_batch, ints
from lab.exercises.fit.tables import curve_table, data_table, grid_table, loss_table, snapshot_table
from lab.exercises.fit.training import Stages, Trajectory, train_models

# --- fit.custom: cross-validation -------------------------------------------------


@dataclass(frozen=True)
class Unit:
    """One seed's training points without one fold: a model trains on them, is scored on the fold."""

    seed: int
    fold: int
    validation: torch.Tensor  # indices into the seed's training points


def folds_of(problem: Problem, seeds: list[int], folds: int) -> list[Unit]:
    return [
        Unit(seed, fold, index)
        for seed in seeds
        for fold, index in enumerate(kfold_indices(len(problem.training[seed]), folds, seed))
    ]


def check_epochs(space: dict) -> list[int]:
    """The epochs at which every model's validation error is recorded."""
    every, budget = int(space["check_every"]), int(space["max_epochs"])
    return sorted({*range(every, budget + 1, every), budget})


def cross_validate(
    problem: Problem, space: dict, seeds: list[int], progress=None, stages: Stages | None = None
) -> tuple[pd.DataFrame, list]:
    """Every setting × seed × fold, one batched model per network shape and fold size,
    scored on its fold every check_every epochs. Returns one row per model and check
    (cv_curves.csv) and the trajectories. With `stages`, each batched model is a
    training of the run, checkpointed and resumed."""
    units = folds_of(problem, seeds, int(space["folds"]))
    optimizer_settings = [(lr, decay) for lr in floats(space["lrs"]) for decay in floats(space["weight_decays"])]
    rows, trajectories = [], []
    for depth in ints(space["depths"]):
        for width in ints(space["widths"]):
            for size in sorted({len(unit.validation) for unit in units}):
                same_size = [unit for unit in units if len(unit.validation) == size]
                models = [(lr, decay, unit) for lr, decay in optimizer_settings for unit in same_size]
                train = functools.partial(_train_folds, problem, [width] * depth, models, check_epochs(space), progress)
                trajectory = stages.train(f"cv-{depth}x{width}-{size}", train) if stages else train()
                trajectories.append(trajectory)
                rows.append(_curve_rows(trajectory, models, width, depth))
    return pd.concat(rows, ignore_index=True), trajectories


def _train_folds(
    problem: Problem, hidden: list[int], models: list, checks: list[int], progress, checkpoints=None
) -> Trajectory:
    x, y, validation = fold_batch(problem, [unit for _, _, unit in models])
    lrs, decays = [lr for lr, _, _ in models], [decay for _, decay, _ in models]
    seeds = [unit.seed for _, _, unit in models]
    return train_models(hidden, lrs, seeds, x, y, {"val": validation}, checks, progress, checkpoints, decays)


def _curve_rows(trajectory: Trajectory, models: list, width: int, depth: int) -> pd.DataFrame:
    diverged_at = trajectory.first_nonfinite_epoch()
    frames = []
    for epochs, snapshot in sorted(trajectory.snapshots.items()):
        frames.append(
            pd.DataFrame(
                {
                    "lr": [lr for lr, _, _ in models],
                    "weight_decay": [decay for _, decay, _ in models],
                    "width": width,
                    "depth": depth,
                    "networks": 1,
                    "seed": [unit.seed for _, _, unit in models],
                    "fold": [unit.fold for _, _, unit in models],
                    "epochs": epochs,
                    "train_loss": snapshot.train_loss,
                    "val_error": snapshot.errors["val"],
                    "diverged": [at is not None and at <= epochs for at in diverged_at],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def search_summary(curves: pd.DataFrame) -> pd.DataFrame:
    """One row per setting (search.csv): the early-stopping epoch, the argmin of the
    mean validation curve over seeds × folds, and the CV error there ± its standard
    error over the seed × fold models. A setting with a diverged model has none."""
    rows = []
    if "networks" not in curves:  # a run from before averaging was a candidate
        curves = curves.assign(networks=1)
    for setting, group in curves.groupby(SETTING, sort=True):
        units = group.groupby(["seed", "fold"]).ngroups
        diverged = int(group.groupby(["seed", "fold"])["diverged"].any().sum())
        row = dict(zip(SETTING, setting), units=units, diverged=diverged)
        mean_curve = group.groupby("epochs")["val_error"].mean()
        if diverged or not np.isfinite(mean_curve.to_numpy()).all():
            rows.append(dict(row, epochs=None, cv_error=None, cv_se=None))
            continue
        best = int(mean_curve.idxmin())
        at_best = group.loc[group["epochs"] == best, "val_error"]
        se = float(at_best.std(ddof=1) / math.sqrt(len(at_best))) if len(at_best) > 1 else None
        rows.append(dict(row, epochs=best, cv_error=float(mean_curve[best]), cv_se=se))
    table = pd.DataFrame(rows)
    for column in ("width", "depth", "networks"):
        table[column] = table[column].astype(int)
    table["epochs"] = table["epochs"].astype("Int64")
    return table


def choose(search: pd.DataFrame) -> dict:
    """The setting with the lowest CV error; ties go to the cheaper (epochs × weights × networks)."""
    candidates = []
    for _, row in search.dropna(subset=["cv_error"]).iterrows():
        hidden = [int(row["width"])] * int(row["depth"])
        cost = int(row["epochs"]) * parameter_count(hidden) * int(row.get("networks", 1))
        candidates.append((float(row["cv_error"]), cost, row.name))
    if not candidates:
        raise UserError(
            "fit.custom.search: every setting diverged (NaN/inf loss); add smaller "
            "learning rates to fit.custom.search.lrs, or use a function with smaller values"
        )
    row = search.loc[min(candidates)[2]]
    width, depth = int(row["width"]), int(row["depth"])
    return {
        "lr": float(row["lr"]),
        "weight_decay": float(row["weight_decay"]),
        "epochs": int(row["epochs"]),
        "width": width,
        "depth": depth,
        "hidden": [width] * depth,
        "networks": int(row.get("networks", 1)),
        "cv_error": float(row["cv_error"]),
        "cv_se": None if pd.isna(row["cv_se"]) else float(row["cv_se"]),
    }


def custom_total_epochs(params: dict) -> int:
    """Progress units of fit.custom: every batched CV run's epochs (the averaged candidate's
    too), then the two final runs."""
    space = params["search"]
    folds, samples = int(space["folds"]), int(params["samples"])
    sizes = 1 if samples % folds == 0 else 2
    shapes = len(space["widths"]) * len(space["depths"]) + (1 if averages(space) else 0)
    return int(space["max_epochs"]) * (shapes * sizes + 1) + int(params["baseline"]["epochs"])


def averages(space: dict) -> int:
    """k of the averaged candidate (the mean of k networks); 0 when it is not searched."""
    networks = int(space.get("average", 1))
    return networks if networks > 1 else 0


# The mean of k networks trains k times as many models as one setting; it is stopped early on
# its own mean curve, within this many times the best single network's early-stopping epoch
# (on the handout's function its minimum came before the single network's: 300 against 650).
AVERAGE_EPOCHS_FACTOR = 2


def average_checks(space: dict, single_epochs: int) -> list[int]:
    """The checks of the averaged candidate: the search's, up to its budget."""
    budget = min(int(space["max_epochs"]), AVERAGE_EPOCHS_FACTOR * int(single_epochs))
    checks = [epochs for epochs in check_epochs(space) if epochs <= budget]
    return checks or check_epochs(space)[:1]


def search_with_average(problem: Problem, space: dict, seeds: list[int], progress=None, stages=None):
    """The search of every setting, then, when declared, the mean of k networks of the best
    one, on the same folds: cv_curves, search.csv, the choice and every trajectory."""
    curves, trajectories = cross_validate(problem, space, seeds, progress, stages)
    search = search_summary(curves)
    networks = averages(space)
    if networks:
        best = choose(search)
        units, checks = folds_of(problem, seeds, int(space["folds"])), average_checks(space, best["epochs"])
        mean_curves, more = cross_validate_average(problem, units, best, networks, checks, progress, stages)
        curves = pd.concat([curves, mean_curves], ignore_index=True)
        search, trajectories = search_summary(curves), [*trajectories, *more]
    return curves, search, choose(search), trajectories


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
