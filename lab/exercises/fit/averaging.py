"""fit.custom's averaged candidate: the mean of k networks of one setting, each from its own
initial weights, judged by the same cross-validation as a single network and retrained on
all points like one.

Member 0 of a seed starts from the seed's own initial weights (the single network's); member
j from those of seed + j·MEMBER_SEED_STRIDE, another draw of the same "init" stream. Every
member of a seed trains on the same points with the same setting; only the start differs.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import torch

from lab.exercises.fit.problem import Problem, fold_batch, grid_eval, per_seed_eval
from lab.exercises.fit.training import EvalSet, Snapshot, Trajectory, stack_models, train_models

MEMBER_SEED_STRIDE = 2**32  # seeds are below 2**32: no member shares another seed's start


def member_seeds(seeds: list[int], networks: int) -> list[int]:
    """The initial-weight seeds of each seed's `networks` members, seed by seed."""
    return [seed + member * MEMBER_SEED_STRIDE for seed in seeds for member in range(networks)]


# --- cross-validation --------------------------------------------------------------


def cross_validate_average(
    problem: Problem, units: list, setting: dict, networks: int, checks: list[int], progress=None, stages=None
) -> tuple[pd.DataFrame, list[Trajectory]]:
    """The mean of `networks` networks of `setting` on every seed × fold: each member trains on
    the fold's training points, and the mean of the members' predictions is scored on the fold
    at each check. Rows as tuning.cross_validate's (cv_curves.csv), with networks = k."""
    rows, trajectories = [], []
    for size in sorted({len(unit.validation) for unit in units}):
        same_size = [unit for unit in units if len(unit.validation) == size]
        train = functools.partial(_train_members, problem, same_size, setting, networks, checks, progress)
        name = f"cv-mean{networks}-{setting['depth']}x{setting['width']}-{size}"
        trajectory = stages.train(name, train) if stages else train()
        trajectories.append(trajectory)
        rows.append(_average_rows(trajectory, same_size, setting, networks, _validation_targets(problem, same_size)))
    return pd.concat(rows, ignore_index=True), trajectories


def _validation_targets(problem: Problem, units: list) -> np.ndarray:
    return np.stack([problem.training[u.seed].subset(u.validation).y.numpy().astype(np.float64) for u in units])


def _train_members(problem, units, setting, networks, checks, progress, checkpoints=None) -> Trajectory:
    members = [unit for unit in units for _ in range(networks)]
    x, y, validation = fold_batch(problem, members, keep_predictions=True)
    seeds = member_seeds([unit.seed for unit in units], networks)
    count = len(seeds)
    hidden = [int(setting["width"])] * int(setting["depth"])
    lrs, decays = [float(setting["lr"])] * count, [float(setting["weight_decay"])] * count
    return train_models(hidden, lrs, seeds, x, y, {"val": validation}, checks, progress, checkpoints, decays)


def mean_of_members(predictions: np.ndarray, networks: int) -> np.ndarray:
    """[models, K] predictions, `networks` consecutive models per group → [groups, K] means."""
    return predictions.reshape(-1, networks, predictions.shape[-1]).mean(axis=1)


def _average_rows(trajectory: Trajectory, units: list, setting: dict, networks: int, targets) -> pd.DataFrame:
    diverged_at = np.array([np.inf if at is None else at for at in trajectory.first_nonfinite_epoch()])
    diverged_at = diverged_at.reshape(-1, networks).min(axis=1)
    frames = []
    for epochs, snapshot in sorted(trajectory.snapshots.items()):
        average = mean_of_members(snapshot.predictions["val"], networks)
        frames.append(
            pd.DataFrame(
                {
                    "lr": float(setting["lr"]),
                    "weight_decay": float(setting["weight_decay"]),
                    "width": int(setting["width"]),
                    "depth": int(setting["depth"]),
                    "networks": networks,
                    "seed": [unit.seed for unit in units],
                    "fold": [unit.fold for unit in units],
                    "epochs": epochs,
                    # the members' mean training loss: the mean network's own is not recorded
                    "train_loss": snapshot.train_loss.reshape(-1, networks).mean(axis=1),
                    "val_error": ((average - targets) ** 2).mean(axis=1),
                    "diverged": diverged_at <= epochs,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


# --- on all training points --------------------------------------------------------


def average_sweep(
    problem: Problem,
    hidden: list[int],
    lr: float,
    seeds: list[int],
    networks: int,
    epochs: int,
    progress=None,
    checkpoints=None,
    weight_decay: float = 0.0,
) -> Trajectory:
    """`networks` members per seed trained on all of its points; `averaged` makes of them
    one model per seed, as problem.sweep's trajectory has."""
    owners = [seed for seed in seeds for _ in range(networks)]
    x = stack_models([problem.training[s].x for s in owners])
    y = stack_models([problem.training[s].y for s in owners])
    train_points = EvalSet(x, y.to(torch.float64), keep_predictions=True)
    heldout = per_seed_eval(problem.heldout, owners)
    evals = {"true": grid_eval(problem), "heldout": EvalSet(heldout.x, heldout.y, True), "train": train_points}
    count = len(owners)
    return train_models(
        hidden,
        [lr] * count,
        member_seeds(seeds, networks),
        x,
        y,
        evals,
        [epochs],
        progress,
        checkpoints,
        [weight_decay] * count,
    )


def averaged(members: Trajectory, problem: Problem, seeds: list[int], networks: int) -> Trajectory:
    """One model per seed, the mean of its members: its predictions are the members' mean, its
    errors are measured on those; its per-epoch loss (loss.csv) is the members' mean loss."""
    targets = {
        "true": problem.grid.y.numpy()[None, :],
        "heldout": np.stack([problem.heldout[s].y.numpy() for s in seeds]),
        "train": np.stack([problem.training[s].y.numpy() for s in seeds]),
    }
    snapshots = {}
    for epochs, snap in members.snapshots.items():
        means = {name: mean_of_members(values, networks) for name, values in snap.predictions.items()}
        errors = {name: ((means[name] - targets[name]) ** 2).mean(axis=1) for name in ("true", "heldout")}
        train_loss = ((means["train"] - targets["train"]) ** 2).mean(axis=1)
        dead = snap.dead_units.reshape(-1, networks).mean(axis=1)
        snapshots[epochs] = Snapshot(epochs, snap.seconds, train_loss, errors, {"true": means["true"]}, dead)
    losses = members.losses.reshape(members.losses.shape[0], -1, networks).mean(axis=2)
    lrs = members.lrs[::networks]
    return Trajectory(lrs, list(seeds), losses, snapshots, members.seconds, members.cpu_seconds, members.resumed_at)
