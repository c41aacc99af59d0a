"""Exercise 1's sweeps from the runs' stored files, and the facts of 1A (epochs); 1B's are in lr_facts.py.

Facts tolerate partial data (a quick build with one seed and two epochs): a comparison
that the data cannot support is ``None``, never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from lab.report.frames import finite, mean_std, read_csv

METRICS = ("train_loss", "true_error", "heldout_error")


def standard_error(values) -> float:
    """The standard error of the mean over the finite values: sample SD / √n (NaN below two)."""
    n = finite(values).size
    return mean_std(values)[1] / np.sqrt(n) if n > 1 else float("nan")


def setting_table(snapshots: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per setting: mean, SD and SE over seeds of each metric (the report compares means by
    their SE), diverged count, time."""
    rows = []
    for setting, group in snapshots.groupby(keys, sort=True):
        setting = setting if isinstance(setting, tuple) else (setting,)
        row = dict(zip(keys, setting))
        for metric in METRICS:
            row[f"{metric}_mean"], row[f"{metric}_std"] = mean_std(group[metric])
            row[f"{metric}_se"] = standard_error(group[metric])
        row["diverged"] = int(group["diverged"].fillna(0).astype(int).sum())
        row["seeds"] = int(group["seed"].nunique())
        row["seconds_mean"] = float(group["seconds"].mean())
        rows.append(row)
    return pd.DataFrame(rows)


@dataclass
class Sweep:
    """One fit sweep's tables as read from its run folder."""

    name: str
    params: dict
    snapshots: pd.DataFrame
    loss: pd.DataFrame
    curves: pd.DataFrame
    data: pd.DataFrame
    grid: pd.DataFrame
    settings: pd.DataFrame
    record: dict
    rebound: pd.DataFrame | None = None  # per (lr, seed), from every epoch (tables.rebound_table)

    @property
    def seeds(self) -> list[int]:
        return sorted(int(s) for s in self.snapshots["seed"].unique())


def read_sweep(run) -> Sweep:
    snapshots = read_csv(run.dir, "snapshots.csv")
    grid = pd.read_csv(Path(run.dir) / "grid.csv")
    return Sweep(
        name=run.name,
        params=run.params,
        snapshots=snapshots,
        loss=read_csv(run.dir, "loss.csv"),
        curves=read_curves(run.dir, grid),
        data=read_csv(run.dir, "data.csv"),
        grid=grid,
        settings=setting_table(snapshots, ["lr", "epochs"]),
        record=run.record,
        rebound=read_csv(run.dir, "rebound.csv"),
    )


def read_curves(folder, grid: pd.DataFrame) -> pd.DataFrame:
    """curves.csv (tables.curve_table) with its x: each curve's rows are the grid's points in order.
    y_pred is read as the float32 it was written as, so its numbers are the network's own."""
    curves = pd.read_csv(Path(folder) / "curves.csv", dtype={"y_pred": np.float32})
    curves["y_pred"] = curves["y_pred"].astype(np.float64)
    x = grid["x"].to_numpy()
    if len(curves) % len(x):
        raise ValueError(f"{folder}/curves.csv: {len(curves)} rows are not whole curves of {len(x)} grid points")
    curves.insert(curves.columns.get_loc("y_pred"), "x", np.tile(x, len(curves) // len(x)))
    return curves


EDGE_FRACTION = 0.1  # "near the edges": the outer 10 % of the x range on each side


@dataclass
class EpochSetting:
    """One epochs value of 1A: its errors over the seeds, and where along x the error sits."""

    epochs: int
    true_error: float
    true_error_se: float  # standard error of the mean over the seeds
    train_loss: float
    edge_error: float  # true error on the outer EDGE_FRACTION of x on both sides
    centre_error: float  # on the rest

    @property
    def worse_at_edges(self) -> bool:
        """The edges carry clearly more error than the middle (twice as much per point)."""
        return self.edge_error > 2 * self.centre_error


@dataclass
class EpochFacts:
    """1A: how the fit changes with the number of epochs (fixed learning rate)."""

    lr: float
    epochs: list[int]
    noise_variance: float
    best_epochs: int
    best_true_error: float
    shortest: int
    shortest_true_error: float
    shortest_train_loss: float
    underfit_ratio: float  # true error at the shortest run / at the best
    longest: int
    longest_true_error: float
    longest_train_loss: float
    previous: int | None = None  # the setting before the longest
    previous_true_error: float | None = None
    previous_train_loss: float | None = None
    # The pair of consecutive settings the rise is judged on: the first where the true error rose
    # by more than the combined standard error on most seeds (the onset of over-fitting), else
    # previous -> longest. None with one setting.
    rise_from: int | None = None
    rise_to: int | None = None
    true_error_rose: bool | None = None  # across rise_from -> rise_to
    train_loss_fell: bool | None = None  # across rise_from -> rise_to
    seeds_rose: int = 0  # seeds whose own true error rose across rise_from -> rise_to
    seeds: int = 0
    diverged_settings: list[int] = field(default_factory=list)
    settings: list[EpochSetting] = field(default_factory=list)  # by epochs, ascending

    # What the answer to 1A may claim (answers/1A.html.j2 words it).
    @property
    def under_fitting(self) -> bool:
        """The shortest run is clearly worse than the best (over twice its true error)."""
        return self.underfit_ratio > 2 and self.shortest != self.best_epochs

    def setting(self, epochs: int) -> EpochSetting:
        return next(s for s in self.settings if s.epochs == epochs)

    @property
    def tied_with_best(self) -> list[int]:
        """Other epochs values whose true error is within the combined standard error of the best's:
        the measurement cannot tell them apart, so none of them is "the lowest"."""
        best = self.setting(self.best_epochs) if self.settings else None
        if best is None or not np.isfinite(best.true_error_se):
            return []
        return [
            s.epochs
            for s in self.settings
            if s.epochs != best.epochs
            and np.isfinite(s.true_error_se)
            and s.true_error - best.true_error <= float(np.hypot(s.true_error_se, best.true_error_se))
        ]

    @property
    def best_in_between(self) -> bool:
        return self.best_epochs not in (self.shortest, self.longest)

    @property
    def rise_noise(self) -> float:
        """The combined standard error of the two settings the rise is judged on."""
        before, after = self.setting(self.rise_from), self.setting(self.rise_to)  # type: ignore[arg-type]
        return float(np.hypot(before.true_error_se, after.true_error_se))

    @property
    def fitting_noise(self) -> bool:
        """At the onset the points were fitted better and the true function worse than the setting before."""
        return bool(self.true_error_rose and self.train_loss_fell)


def metric_at(settings: pd.DataFrame, column: str, value, metric: str) -> float:
    row = settings[settings[column] == value]
    return float(row[f"{metric}_mean"].iloc[0])


def epoch_facts(sweep: Sweep) -> EpochFacts:
    settings = sweep.settings.sort_values("epochs")
    epochs = [int(e) for e in settings["epochs"]]
    finite_rows = settings[np.isfinite(settings["true_error_mean"])]
    best = finite_rows.loc[finite_rows["true_error_mean"].idxmin()] if len(finite_rows) else settings.iloc[-1]
    at = lambda e, metric: metric_at(settings, "epochs", e, metric)  # noqa: E731
    facts = EpochFacts(
        lr=float(settings["lr"].iloc[0]),
        epochs=epochs,
        noise_variance=float(sweep.params.get("noise_std", float("nan"))) ** 2,
        best_epochs=int(best["epochs"]),
        best_true_error=float(best["true_error_mean"]),
        shortest=epochs[0],
        shortest_true_error=at(epochs[0], "true_error"),
        shortest_train_loss=at(epochs[0], "train_loss"),
        underfit_ratio=at(epochs[0], "true_error") / float(best["true_error_mean"]),
        longest=epochs[-1],
        longest_true_error=at(epochs[-1], "true_error"),
        longest_train_loss=at(epochs[-1], "train_loss"),
        seeds=len(sweep.seeds),
        diverged_settings=[int(e) for e in settings.loc[settings["diverged"] > 0, "epochs"]],
    )
    facts.settings = [epoch_setting(sweep, e) for e in epochs]
    if len(epochs) > 1:
        facts.previous = epochs[-2]
        facts.previous_true_error = at(facts.previous, "true_error")
        facts.previous_train_loss = at(facts.previous, "train_loss")
        judge_rise(facts, sweep.snapshots)
    return facts


def rose_on_most_seeds(facts: EpochFacts, snapshots: pd.DataFrame, before: int, after: int) -> tuple[bool, int]:
    """(the mean true error rose beyond the combined standard error and on most seeds, seeds that rose)"""
    seeds_rose = seeds_where_error_rose(snapshots, before, after)
    return clearly_rose(facts.setting(before), facts.setting(after)) and seeds_rose * 2 > facts.seeds, seeds_rose


def judge_rise(facts: EpochFacts, snapshots: pd.DataFrame) -> None:
    """The onset of over-fitting: the first step up in epochs where the true error clearly rose."""
    pairs = list(zip(facts.epochs, facts.epochs[1:]))
    judged = [(before, after, *rose_on_most_seeds(facts, snapshots, before, after)) for before, after in pairs]
    onset = next((pair for pair in judged if pair[2]), judged[-1])
    facts.rise_from, facts.rise_to, facts.true_error_rose, facts.seeds_rose = onset
    facts.train_loss_fell = bool(facts.setting(facts.rise_to).train_loss < facts.setting(facts.rise_from).train_loss)


def clearly_rose(before: EpochSetting, after: EpochSetting) -> bool:
    """The mean true error rose by more than the combined standard error (never with one seed)."""
    noise = float(np.hypot(before.true_error_se, after.true_error_se))
    return bool(after.true_error - before.true_error > noise)


def edge_and_centre_error(sweep: Sweep, epochs: int) -> tuple[float, float]:
    """Mean squared error against f on the outer EDGE_FRACTION of x (both sides) and on the rest."""
    curves = sweep.curves[sweep.curves["epochs"] == epochs] if sweep.curves is not None else None
    if curves is None or curves.empty or sweep.grid is None:
        return float("nan"), float("nan")
    merged = curves.merge(sweep.grid, on="x")
    lo, hi = float(sweep.grid["x"].min()), float(sweep.grid["x"].max())
    margin = EDGE_FRACTION * (hi - lo)
    edge = (merged["x"] < lo + margin) | (merged["x"] > hi - margin)
    squared = (merged["y_pred"] - merged["y_true"]) ** 2
    return float(squared[edge].mean()), float(squared[~edge].mean())


def epoch_setting(sweep: Sweep, epochs: int) -> EpochSetting:
    rows = sweep.snapshots[sweep.snapshots["epochs"] == epochs]
    edge, centre = edge_and_centre_error(sweep, epochs)
    return EpochSetting(
        epochs=epochs,
        true_error=mean_std(rows["true_error"])[0],
        true_error_se=standard_error(rows["true_error"]),
        train_loss=mean_std(rows["train_loss"])[0],
        edge_error=edge,
        centre_error=centre,
    )


def seeds_where_error_rose(snapshots: pd.DataFrame, before: int, after: int) -> int:
    pivot = snapshots.pivot_table(index="seed", columns="epochs", values="true_error", aggfunc="first")
    return int((pivot[after] > pivot[before]).sum())
