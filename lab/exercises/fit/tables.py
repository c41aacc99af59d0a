"""Exercise 1's run files (snapshots, loss, curves, data, grid as tables) and the run summary."""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd

from lab.exercises.fit.functions import (
    Points,
)
from lab.exercises.fit.training import TRAINING_THREADS, Trajectory

LOSS_CURVE_POINTS = 200  # log-spaced epochs kept in loss.csv (plus the last)


# --- tables ---------------------------------------------------------------------


def snapshot_table(trajectory: Trajectory) -> pd.DataFrame:
    """snapshots.csv rows: one per (lr, epochs, seed)."""
    first_bad = trajectory.first_nonfinite_epoch()
    rows = []
    for epochs, snap in sorted(trajectory.snapshots.items()):
        for m, (lr, seed) in enumerate(zip(trajectory.lrs, trajectory.seeds)):
            metrics = [snap.train_loss[m], snap.errors["true"][m], snap.errors["heldout"][m]]
            diverged_at = _diverged_epoch(first_bad[m], epochs, metrics)
            rows.append(
                {
                    "lr": lr,
                    "epochs": epochs,
                    "seed": seed,
                    "train_loss": _finite_or_nan(snap.train_loss[m]),
                    "true_error": _finite_or_nan(snap.errors["true"][m]),
                    "heldout_error": _finite_or_nan(snap.errors["heldout"][m]),
                    "diverged": int(diverged_at is not None),
                    "diverged_epoch": diverged_at,
                    "seconds": round(snap.seconds, 4),
                    # share of hidden units dead (see Snapshot); a diverged model's NaN weights say nothing
                    "dead_units": float(snap.dead_units[m]) if diverged_at is None else float("nan"),
                }
            )
    table = pd.DataFrame(rows)
    table["diverged_epoch"] = table["diverged_epoch"].astype("Int64")
    return table


def _diverged_epoch(first_bad: int | None, epochs: int, metrics) -> int | None:
    """The epoch whose loss first went NaN/inf, if by ``epochs``; a snapshot
    whose weights are already non-finite counts as diverged at ``epochs``."""
    if first_bad is not None and first_bad <= epochs:
        return first_bad
    if not all(math.isfinite(float(v)) for v in metrics):
        return epochs
    return None


def _finite_or_nan(value) -> float:
    value = float(value)
    return value if math.isfinite(value) else float("nan")


def loss_epochs(total: int, points: int = LOSS_CURVE_POINTS) -> np.ndarray:
    """About ``points`` log-spaced epochs in 1..total, always including the last."""
    spaced = np.unique(np.round(np.logspace(0, math.log10(total), points)).astype(int))
    return np.union1d(spaced[(spaced >= 1) & (spaced <= total)], [total])


def loss_table(trajectory: Trajectory) -> pd.DataFrame:
    """loss.csv rows: thinned training loss per (lr, seed); finite values only."""
    epochs = loss_epochs(trajectory.losses.shape[0])
    frames = []
    for m, (lr, seed) in enumerate(zip(trajectory.lrs, trajectory.seeds)):
        losses = trajectory.losses[epochs - 1, m]
        keep = np.isfinite(losses)
        frames.append(pd.DataFrame({"lr": lr, "seed": seed, "epoch": epochs[keep], "train_loss": losses[keep]}))
    return pd.concat(frames, ignore_index=True)


def curve_table(trajectory: Trajectory, grid: Points) -> pd.DataFrame:
    """curves.csv rows: the learnt curve on the grid per (lr, epochs, seed), each curve's rows
    at the grid's points in order (their x is grid.csv's, not repeated here: sweep_facts.read_curves).
    y_pred is the network's float32 output, written as float32 (its shortest repr, 8 or 9 digits
    instead of 17), which read back as float32 is the same number."""
    frames = []
    for epochs, snap in sorted(trajectory.snapshots.items()):
        for m, (lr, seed) in enumerate(zip(trajectory.lrs, trajectory.seeds)):
            y_pred = snap.predictions["true"][m].astype(np.float32)
            frames.append(pd.DataFrame({"lr": lr, "epochs": epochs, "seed": seed, "y_pred": y_pred}))
    return pd.concat(frames, ignore_index=True)


def data_table(training: dict[int, Points]) -> pd.DataFrame:
    return pd.concat(
        [pd.DataFrame({"seed": seed, "x": p.x.numpy(), "y": p.y.numpy()}) for seed, p in training.items()],
        ignore_index=True,
    )


def grid_table(grid: Points) -> pd.DataFrame:
    return pd.DataFrame({"x": grid.x.numpy(), "y_true": grid.y.numpy()})


# --- per-epoch loss facts (loss.csv is thinned) ----------------------------------


def rebound_table(trajectory: Trajectory) -> pd.DataFrame:
    """rebound.csv rows: per (lr, seed), from the loss at every epoch up to any divergence,
    the best loss and the largest ratio of a loss to the best loss seen before it (the
    oscillation verdict in facts.py reads it, as loss.csv keeps only ~200 epochs)."""
    rows = []
    for m, (lr, seed) in enumerate(zip(trajectory.lrs, trajectory.seeds)):
        losses = trajectory.losses[:, m]
        finite = losses[: np.argmax(~np.isfinite(losses))] if not np.isfinite(losses).all() else losses
        rebound = best = float("nan")
        if finite.size:
            best = float(finite.min())
        if finite.size >= 2:
            best_before = np.minimum.accumulate(finite)[:-1]
            rebound = float(np.max(finite[1:] / np.maximum(best_before, 1e-300)))
        rows.append({"lr": lr, "seed": seed, "best_loss": best, "rebound": rebound})
    return pd.DataFrame(rows)


def diverged_list(snapshots: pd.DataFrame) -> list[dict]:
    """Each (lr, seed) that diverged, with the epoch (from its longest snapshot): the
    run's status and the runner's line."""
    last = snapshots[snapshots["epochs"] == snapshots["epochs"].max()]
    return [
        {"lr": float(r.lr), "seed": int(r.seed), "epoch": int(r.diverged_epoch)}
        for r in last.itertuples()
        if r.diverged
    ]


def timing(trajectories: list[Trajectory], started: float) -> dict:
    seed_epochs = sum(t.losses.size for t in trajectories)
    train = sum(t.seconds for t in trajectories)
    return {
        "train_seconds": round(train, 3),
        "total_seconds": round(time.perf_counter() - started, 3),
        "train_cpu_seconds": round(sum(t.cpu_seconds for t in trajectories), 3),
        "seed_epochs": int(seed_epochs),
        "seed_epochs_per_second": round(seed_epochs / train, 1) if train > 0 else None,
        "threads": TRAINING_THREADS,
        "compute_device": "cpu",
        "resumed_at_epoch": max(t.resumed_at for t in trajectories),
    }
