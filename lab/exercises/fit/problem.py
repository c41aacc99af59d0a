"""Exercise 1's problem: f, each seed's training and held-out points, the dense grid, and a
sweep of learning rates × seeds over it as one batched model."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lab.core.errors import UserError
from lab.exercises.fit import expr
from lab.exercises.fit.functions import (
    Points,
    dense_grid,
    heldout_points,
    training_points,
)
from lab.exercises.fit.training import EvalSet, TrainingCheckpoints, Trajectory, stack_models, train_models

# --- data ---------------------------------------------------------------------


@dataclass
class Problem:
    """The function, its grid, and each seed's training and held-out points."""

    function: expr.Expression
    grid: Points
    training: dict[int, Points]
    heldout: dict[int, Points]


def load_problem(params: dict, function_key: str = "fit.function", range_key: str = "fit.x_range") -> Problem:
    """Parse and check f, then draw every seed's data; UserError on a bad f
    naming the declaration keys it came from."""
    function = expr.parse(params["function"], source=function_key)
    lo, hi = (float(v) for v in params["x_range"])
    expr.check_domain(function, lo, hi, source=function_key, range_source=range_key)
    grid = dense_grid(function, (lo, hi), int(params["grid_points"]))
    training, heldout = {}, {}
    for seed in params["seeds"]:
        training[seed] = training_points(function, (lo, hi), int(params["samples"]), float(params["noise_std"]), seed)
        heldout[seed] = heldout_points(
            function, (lo, hi), int(params["heldout_samples"]), float(params["noise_std"]), seed
        )
    for name, points in [
        ("grid", grid),
        *((f"seed {s}", p) for s, p in training.items()),
        *((f"seed {s} held-out", p) for s, p in heldout.items()),
    ]:
        if not torch.isfinite(points.y).all():
            raise UserError(
                f"{function_key}: {function.text!r} is not finite at some "
                f"of the {name} points in [{lo:g}, {hi:g}]; change f or {range_key}"
            )
    return Problem(function, grid, training, heldout)


def grid_eval(problem: Problem) -> EvalSet:
    grid = problem.grid
    return EvalSet(stack_models([grid.x]), stack_models([grid.y], torch.float64), keep_predictions=True)


def per_seed_eval(points: dict[int, Points], seeds: list[int]) -> EvalSet:
    return EvalSet(
        stack_models([points[s].x for s in seeds]), stack_models([points[s].y for s in seeds], torch.float64)
    )


def fold_batch(
    problem: Problem, units: list, keep_predictions: bool = False
) -> tuple[torch.Tensor, torch.Tensor, EvalSet]:
    """One model per unit (a seed's points less one fold, ``unit.validation``; a unit may come
    several times): the training x and y, ``[M, N, 1]``, and each model's fold to score it on."""
    fits, folds = [], []
    for unit in units:
        points = problem.training[unit.seed]
        keep = torch.ones(len(points), dtype=torch.bool)
        keep[unit.validation] = False
        fits.append(points.subset(keep))
        folds.append(points.subset(unit.validation))
    validation = EvalSet(
        stack_models([fold.x for fold in folds]),
        stack_models([fold.y for fold in folds], torch.float64),
        keep_predictions,
    )
    return stack_models([fit.x for fit in fits]), stack_models([fit.y for fit in fits]), validation


# --- fit.epochs and fit.lr -------------------------------------------------------


def sweep(
    problem: Problem,
    hidden: list[int],
    lrs: list[float],
    seeds: list[int],
    epochs: list[int],
    progress=None,
    checkpoints: TrainingCheckpoints | None = None,
    weight_decay: float = 0.0,
) -> Trajectory:
    """All lrs × seeds as one batched model, snapshots at each epochs value."""
    models_lr = [lr for lr in lrs for _ in seeds]
    models_seed = [seed for _ in lrs for seed in seeds]
    x = stack_models([problem.training[s].x for s in models_seed])
    y = stack_models([problem.training[s].y for s in models_seed])
    evals = {"true": grid_eval(problem), "heldout": per_seed_eval(problem.heldout, models_seed)}
    decays = [weight_decay] * len(models_lr)
    return train_models(hidden, models_lr, models_seed, x, y, evals, epochs, progress, checkpoints, decays)


def floats(values) -> list[float]:
    return [float(v) for v in values]


def ints(values) -> list[int]:
    return [int(v) for v in values]
