"""Exercise 1's run files (snapshots, loss, curves, data, grid as tables) and the run summary."""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd

from lab.exercises.fit.functions import (
    Points,
)
from lab.exercises.fit.rules import OSCILLATION_REBOUND
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
    """curves.csv rows: the learnt curve on the grid per (lr, epochs, seed)."""
    x = grid.x.numpy()
    frames = []
    for epochs, snap in sorted(trajectory.snapshots.items()):
        for m, (lr, seed) in enumerate(zip(trajectory.lrs, trajectory.seeds)):
            frames.append(
                pd.DataFrame({"lr": lr, "epochs": epochs, "seed": seed, "x": x, "y_pred": snap.predictions["true"][m]})
            )
    return pd.concat(frames, ignore_index=True)


def data_table(training: dict[int, Points]) -> pd.DataFrame:
    return pd.concat(
        [pd.DataFrame({"seed": seed, "x": p.x.numpy(), "y": p.y.numpy()}) for seed, p in training.items()],
        ignore_index=True,
    )


def grid_table(grid: Points) -> pd.DataFrame:
    return pd.DataFrame({"x": grid.x.numpy(), "y_true": grid.y.numpy()})


# --- facts for the summary ------------------------------------------------------


def stats(values) -> dict:
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not finite:
        return {"mean": None, "std": None, "n": 0}
    std = float(np.std(finite, ddof=1)) if len(finite) > 1 else 0.0
    return {"mean": float(np.mean(finite)), "std": std, "n": len(finite)}


def setting_summaries(snapshots: pd.DataFrame) -> list[dict]:
    """Mean ± std over seeds (diverged seeds left out) per (lr, epochs)."""
    settings = []
    for (lr, epochs), rows in snapshots.groupby(["lr", "epochs"], sort=True):
        fine = rows[rows["diverged"] == 0]
        settings.append(
            {
                "lr": float(lr),
                "epochs": int(epochs),
                "true_error": stats(fine["true_error"]),
                "heldout_error": stats(fine["heldout_error"]),
                "train_loss": stats(fine["train_loss"]),
                "diverged_seeds": [int(s) for s in rows.loc[rows["diverged"] == 1, "seed"]],
            }
        )
    return settings


def diverged_list(snapshots: pd.DataFrame) -> list[dict]:
    """Each (lr, seed) that diverged, with the epoch (from its longest snapshot)."""
    last = snapshots[snapshots["epochs"] == snapshots["epochs"].max()]
    return [
        {"lr": float(r.lr), "seed": int(r.seed), "epoch": int(r.diverged_epoch)}
        for r in last.itertuples()
        if r.diverged
    ]


def loss_behaviour(trajectory: Trajectory) -> list[dict]:
    """Per model: how non-monotone its per-epoch loss is, up to any divergence.

    rise_fraction: share of epochs whose loss is above the previous epoch's.
    rebound: the largest ratio of a loss to the best loss seen before it.
    """
    out = []
    for m, (lr, seed) in enumerate(zip(trajectory.lrs, trajectory.seeds)):
        losses = trajectory.losses[:, m]
        finite = losses[: np.argmax(~np.isfinite(losses))] if not np.isfinite(losses).all() else losses
        if finite.size < 2:
            out.append({"lr": lr, "seed": seed, "rise_fraction": None, "rebound": None})
            continue
        best_before = np.minimum.accumulate(finite)[:-1]
        out.append(
            {
                "lr": lr,
                "seed": seed,
                "rise_fraction": float(np.mean(np.diff(finite) > 0)),
                "rebound": float(np.max(finite[1:] / np.maximum(best_before, 1e-300))),
            }
        )
    return out


def lr_facts(trajectory: Trajectory, snapshots: pd.DataFrame) -> list[dict]:
    """Per learning rate: diverged seeds, how non-monotone the loss curves are
    (see loss_behaviour) and whether that counts as oscillating."""
    behaviour = pd.DataFrame(loss_behaviour(trajectory))
    last = snapshots[snapshots["epochs"] == snapshots["epochs"].max()]
    facts = []
    for lr, rows in behaviour.groupby("lr", sort=True):
        rise = rows["rise_fraction"].dropna()
        rebound = rows["rebound"].dropna()
        diverged = last[(last["lr"] == lr) & (last["diverged"] == 1)]
        rise_mean = float(rise.mean()) if len(rise) else None
        rebound_max = float(rebound.max()) if len(rebound) else None
        rebound_median = float(rebound.median()) if len(rebound) else None
        facts.append(
            {
                "lr": float(lr),
                "diverged_seeds": [int(s) for s in diverged["seed"]],
                "rise_fraction_mean": rise_mean,
                "rebound_median": rebound_median,
                "rebound_max": rebound_max,
                "oscillating": bool((rebound_median or 0) >= OSCILLATION_REBOUND),
            }
        )
    return facts


def longest_run_facts(snapshots: pd.DataFrame) -> dict | None:
    """Did the longest run's true error rise vs the previous snapshot while its
    training loss fell (fitting the noise)? Means over non-diverged seeds."""
    epochs = sorted(snapshots["epochs"].unique())
    if len(epochs) < 2:
        return None
    longest, previous = int(epochs[-1]), int(epochs[-2])
    fine = snapshots.groupby("seed")["diverged"].max()
    fine_seeds = fine[fine == 0].index
    rows = snapshots[snapshots["seed"].isin(fine_seeds)]
    if rows.empty:
        return None
    at = {n: rows[rows["epochs"] == n].set_index(["lr", "seed"]) for n in (longest, previous)}
    true_delta = at[longest]["true_error"] - at[previous]["true_error"]
    facts = {
        "epochs": longest,
        "previous_epochs": previous,
        "true_error": float(at[longest]["true_error"].mean()),
        "previous_true_error": float(at[previous]["true_error"].mean()),
        "train_loss": float(at[longest]["train_loss"].mean()),
        "previous_train_loss": float(at[previous]["train_loss"].mean()),
        "seeds_true_error_rose": int((true_delta > 0).sum()),
        "seeds": int(len(true_delta)),
    }
    facts["true_error_rose"] = facts["true_error"] > facts["previous_true_error"]
    facts["train_loss_fell"] = facts["train_loss"] < facts["previous_train_loss"]
    facts["overfitting"] = facts["true_error_rose"] and facts["train_loss_fell"]
    return facts


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
