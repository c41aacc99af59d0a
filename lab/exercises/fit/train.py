"""Exercise 1: fit f(x) with a small MLP (Adam, full batch, MSE).

``run`` serves fit.epochs and fit.lr: every (lr, seed) pair is one row of a
single batched model trained to the largest epochs value, with snapshots at
each epochs value. ``run_custom`` serves fit.custom: k-fold cross-validation
of learning rates × weight decays × widths × depths with early stopping, then
the chosen setting and the course defaults trained on all training points.

The parts: problem.py (f, the points, a sweep as one batched model), training.py
(the batched training loop, snapshots, checkpoints), tables.py (the run files and
the summary's counts and timings), tuning.py (fit.custom's cross-validation and choice), comparison.py (its paired
verdict against the course defaults).
"""

from __future__ import annotations

import functools
import math
import time

import numpy as np

from lab.exercises.fit.averaging import average_sweep, averaged
from lab.exercises.fit.problem import floats, ints, load_problem, sweep
from lab.exercises.fit.tables import (
    curve_table,
    data_table,
    diverged_list,
    grid_table,
    loss_table,
    rebound_table,
    snapshot_table,
    timing,
)
from lab.exercises.fit.training import Stages, TrainingCheckpoints
from lab.exercises.fit.tuning import custom_total_epochs, labelled_table, search_with_average


def run(ctx) -> dict:
    """fit.epochs / fit.lr: one batched trajectory, snapshots at each epochs value."""
    started = time.perf_counter()
    params = ctx.params
    problem = load_problem(params)
    lrs, seeds, epochs = floats(params["lrs"]), ints(params["seeds"]), ints(params["epochs"])
    hidden = ints(params["hidden"])
    ctx.progress.start(max(epochs), f"{len(lrs)} lr × {len(seeds)} seeds, {max(epochs)} epochs")
    trajectory = sweep(problem, hidden, lrs, seeds, epochs, ctx.progress, TrainingCheckpoints(ctx))
    snapshots = snapshot_table(trajectory)
    ctx.write_table("snapshots.csv", snapshots)
    ctx.write_table("loss.csv", loss_table(trajectory))
    ctx.write_table("curves.csv", curve_table(trajectory, problem.grid))
    ctx.write_table("data.csv", data_table(problem.training))
    ctx.write_table("grid.csv", grid_table(problem.grid))
    ctx.write_table("rebound.csv", rebound_table(trajectory))
    # The summary keeps what the runner shows; the facts come from the files (facts.py).
    diverged = diverged_list(snapshots)
    summary = {
        "sweep": params.get("sweep"),
        "function": problem.function.text,
        "status": "diverged" if diverged else "done",
        "diverged": diverged,
        "timings": timing([trajectory], started),
    }
    ctx.progress.log(f"{trajectory.losses.size} seed-epochs in {trajectory.seconds:.1f} s; diverged: {len(diverged)}")
    return _json_safe(summary)


def run_custom(ctx) -> dict:
    """fit.custom: k-fold cross-validation with early stopping, then the chosen
    setting and the course defaults each trained on all training points."""
    started = time.perf_counter()
    params = ctx.params
    problem = load_problem(params, "fit.custom.function", "fit.custom.x_range")
    seeds = ints(params["seeds"])
    space = params["search"]
    ctx.progress.start(custom_total_epochs(params), "cross-validation, then chosen and defaults on all points")
    stages = Stages(ctx)  # every training checkpointed; a restart redoes none that finished
    curves, search_table, chosen, search_runs = search_with_average(problem, space, seeds, ctx.progress, stages)
    ctx.progress.log(
        f"chose lr={chosen['lr']:g}, weight decay={chosen['weight_decay']:g}, epochs={chosen['epochs']}, "
        f"hidden={chosen['hidden']}, mean of {chosen['networks']} (CV MSE {chosen['cv_error']:.4g})"
    )
    trainings = final_trainings(problem, chosen, params["baseline"], seeds, ctx.progress)
    final_runs = {label: stages.train(label, training) for label, training in trainings.items()}
    members = final_runs["chosen"]
    if chosen["networks"] > 1:  # the chosen candidate is the mean of its members, seed by seed
        final_runs["chosen"] = averaged(members, problem, seeds, chosen["networks"])
    ctx.write_table("cv_curves.csv", curves)
    ctx.write_table("search.csv", search_table)
    tables = {
        name: labelled_table(final_runs, problem, name) for name in ("snapshots", "loss", "curves", "data", "grid")
    }
    for name, table in tables.items():
        ctx.write_table(f"{name}.csv", table)
    # The choice is the run's decision (facts.py reads it); the facts come from the files.
    diverged = [dict(d, label=label) for label, run in final_runs.items() for d in diverged_list(snapshot_table(run))]
    summary = {
        "function": problem.function.text,
        "chosen": chosen,
        "status": "diverged" if diverged else "done",
        "diverged": diverged,
        "timings": timing([*search_runs, members, final_runs["baseline"]], started),
    }
    ctx.progress.update(custom_total_epochs(params))  # the chosen run may be shorter than planned
    return _json_safe(summary)


def final_trainings(problem, chosen: dict, baseline: dict, seeds: list[int], progress) -> dict:
    """1C's two trainings on all training points, by label: the chosen setting (the members of a
    mean of networks, when chosen) and the course defaults."""
    chosen_training = functools.partial(
        sweep, problem, chosen["hidden"], [chosen["lr"]], seeds, [chosen["epochs"]], progress
    )
    if chosen["networks"] > 1:
        chosen_training = functools.partial(
            average_sweep,
            problem,
            chosen["hidden"],
            chosen["lr"],
            seeds,
            chosen["networks"],
            chosen["epochs"],
            progress,
        )
    return {
        "chosen": functools.partial(chosen_training, weight_decay=chosen["weight_decay"]),
        "baseline": functools.partial(
            sweep,
            problem,
            ints(baseline["hidden"]),
            [float(baseline["lr"])],
            seeds,
            [int(baseline["epochs"])],
            progress,
        ),
    }


# --- small helpers -----------------------------------------------------------------


def _json_safe(value):
    """NaN/inf → None and numpy scalars → Python, so record.json stays valid JSON."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.bool_):
        return bool(value)
    return value
