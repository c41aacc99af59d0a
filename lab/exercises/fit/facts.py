"""Exercise 1's facts: its runs on disk -> pandas tables and the named facts the answers cite.

Every number in the report's prose and tables comes from here, so the two never
disagree. Facts tolerate partial data (a quick build with one seed and two epochs):
a comparison that the data cannot support is ``None``, never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lab.exercises.fit.rules import OSCILLATION_REBOUND
from lab.report.frames import finite, mean_std, read_csv

METRICS = ("train_loss", "true_error", "heldout_error")

# Loss-curve classification for 1B. A healthy full-batch Adam curve falls almost
# monotonically (wobbles of a few percent); these thresholds separate that from
# bouncing and from stalling. The rebound rule matches lab.exercises.fit.tables, whose
# run summary (from every epoch, not the thinned loss.csv) is preferred when present.
STALLED_FRACTION = 0.8  # final loss above 80 % of the first: not decreasing
STILL_FALLING_FRACTION = 0.9  # final loss below 90 % of the mid-run loss: still converging


# --- Exercise 1: sweeps --------------------------------------------------------


def setting_table(snapshots: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per setting: mean and std over seeds of each metric, diverged count, time."""
    rows = []
    for setting, group in snapshots.groupby(keys, sort=True):
        setting = setting if isinstance(setting, tuple) else (setting,)
        row = dict(zip(keys, setting))
        for metric in METRICS:
            row[f"{metric}_mean"], row[f"{metric}_std"] = mean_std(group[metric])
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

    @property
    def seeds(self) -> list[int]:
        return sorted(int(s) for s in self.snapshots["seed"].unique())


def read_sweep(run) -> Sweep:
    snapshots = read_csv(run.dir, "snapshots.csv")
    return Sweep(
        name=run.name,
        params=run.params,
        snapshots=snapshots,
        loss=read_csv(run.dir, "loss.csv"),
        curves=read_csv(run.dir, "curves.csv"),
        data=read_csv(run.dir, "data.csv"),
        grid=read_csv(run.dir, "grid.csv"),
        settings=setting_table(snapshots, ["lr", "epochs"]),
        record=run.record,
    )


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
    true_error_rose: bool | None = None  # longest vs previous; None with one setting
    train_loss_fell: bool | None = None
    seeds_rose: int = 0  # seeds whose own true error rose
    seeds: int = 0
    train_below_noise: bool = False  # longest training loss < noise variance: fitting the noise
    diverged_settings: list[int] = field(default_factory=list)

    # What the answer to 1A may claim (answers/1A.<lang>.html.j2 words it).
    @property
    def under_fitting(self) -> bool:
        """The shortest run is clearly worse than the best (over twice its true error)."""
        return self.underfit_ratio > 2 and self.shortest != self.best_epochs

    @property
    def best_in_between(self) -> bool:
        return self.best_epochs not in (self.shortest, self.longest)

    @property
    def fitting_noise(self) -> bool:
        """The longest run fitted the points better and the true function worse than the one before."""
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
    facts.train_below_noise = bool(facts.longest_train_loss < facts.noise_variance)
    if len(epochs) > 1:
        facts.previous = epochs[-2]
        facts.previous_true_error = at(facts.previous, "true_error")
        facts.previous_train_loss = at(facts.previous, "train_loss")
        facts.true_error_rose = bool(facts.longest_true_error > facts.previous_true_error)
        facts.train_loss_fell = bool(facts.longest_train_loss < facts.previous_train_loss)
        facts.seeds_rose = seeds_where_error_rose(sweep.snapshots, facts.previous, facts.longest)
    return facts


def seeds_where_error_rose(snapshots: pd.DataFrame, before: int, after: int) -> int:
    pivot = snapshots.pivot_table(index="seed", columns="epochs", values="true_error", aggfunc="first")
    return int((pivot[after] > pivot[before]).sum())


@dataclass
class LrBehaviour:
    """How training went at one learning rate, judged from its loss curves."""

    lr: float
    status: str  # diverged | oscillating | stalled | slow | converged
    seeds: int
    diverged_seeds: int
    diverged_epoch: int | None  # earliest over seeds
    oscillating_seeds: int
    stalled_seeds: int
    still_falling_seeds: int
    true_error: float
    train_loss: float

    @property
    def troubled_seeds(self) -> int:
        """The seeds that show its status (diverged, else oscillating, else stalled)."""
        return self.diverged_seeds or self.oscillating_seeds or self.stalled_seeds

    @property
    def steady(self) -> bool:
        return self.status in ("converged", "slow")


@dataclass
class LrFacts:
    """1B: how the fit changes with the learning rate (fixed epochs)."""

    epochs: int
    lrs: list[float]  # largest first, as in the question
    behaviour: dict[float, LrBehaviour]
    best_lr: float | None
    best_true_error: float | None
    largest: float
    smallest: float

    # What the answer to 1B may claim (answers/1B.<lang>.html.j2 words it).
    @property
    def middle(self) -> list[LrBehaviour]:
        """The rates between the largest and the smallest, largest first."""
        return [self.behaviour[lr] for lr in self.lrs if lr not in (self.largest, self.smallest)]

    @property
    def steady_others(self) -> list[LrBehaviour]:
        """The converged (or slowly converging) rates other than the smallest."""
        return [self.behaviour[lr] for lr in self.lrs if lr != self.smallest and self.behaviour[lr].steady]

    @property
    def smallest_fit_least(self) -> bool:
        """The smallest rate fit the true function best while fitting the points least (its
        training loss above every other converged rate's): slow convergence as early stopping."""
        others = self.steady_others
        return (
            self.best_lr is not None
            and self.best_lr == self.smallest
            and bool(others)
            and self.behaviour[self.smallest].train_loss > max(b.train_loss for b in others)
        )


def curve_shape(losses: np.ndarray) -> str:
    """diverged / oscillating / stalled / still_falling / settled for one seed's curve."""
    if losses.size == 0 or not np.all(np.isfinite(losses)):
        return "diverged"
    if losses.size > 1:
        best_before = np.maximum(np.minimum.accumulate(losses)[:-1], 1e-300)
        if np.max(losses[1:] / best_before) >= OSCILLATION_REBOUND:
            return "oscillating"
    if losses[-1] > STALLED_FRACTION * losses[0]:
        return "stalled"
    middle = losses[len(losses) // 2]
    if losses[-1] < STILL_FALLING_FRACTION * middle:
        return "still_falling"
    return "settled"


def curve_shapes(loss: pd.DataFrame, lr: float) -> list[str]:
    shapes = []
    for _, group in loss[loss["lr"] == lr].groupby("seed"):
        shapes.append(curve_shape(group.sort_values("epoch")["train_loss"].to_numpy(dtype=float)))
    return shapes


def summary_says_oscillating(record: dict, lr: float) -> bool | None:
    """The run's own verdict, computed from the loss at every epoch, if it recorded one."""
    for entry in (record.get("summary") or {}).get("lrs") or []:
        if isinstance(entry, dict) and "oscillating" in entry and np.isclose(float(entry.get("lr", np.nan)), lr):
            return bool(entry["oscillating"])
    return None


def lr_behaviour(sweep: Sweep, lr: float, best_lr: float | None) -> LrBehaviour:
    rows = sweep.snapshots[sweep.snapshots["lr"] == lr]
    shapes = curve_shapes(sweep.loss, lr) if sweep.loss is not None else []
    diverged = max(int(rows["diverged"].fillna(0).sum()), shapes.count("diverged"))
    epochs = finite(rows["diverged_epoch"]) if "diverged_epoch" in rows else np.array([])
    seeds = int(rows["seed"].nunique())
    majority = lambda shape: shapes.count(shape) * 2 > len(shapes)  # noqa: E731
    oscillating = summary_says_oscillating(sweep.record, lr)
    if oscillating is None:
        oscillating = majority("oscillating")
    if diverged:
        status = "diverged"
    elif oscillating:
        status = "oscillating"
    elif majority("stalled"):
        status = "stalled"
    elif majority("still_falling") and lr != best_lr:
        status = "slow"
    else:
        status = "converged"
    true_error, _ = mean_std(rows["true_error"])
    train_loss, _ = mean_std(rows["train_loss"])
    return LrBehaviour(
        lr=lr,
        status=status,
        seeds=seeds,
        diverged_seeds=diverged,
        diverged_epoch=int(epochs.min()) if epochs.size else None,
        oscillating_seeds=shapes.count("oscillating"),
        stalled_seeds=shapes.count("stalled"),
        still_falling_seeds=shapes.count("still_falling"),
        true_error=true_error,
        train_loss=train_loss,
    )


def lr_facts(sweep: Sweep) -> LrFacts:
    settings = sweep.settings
    lrs = sorted((float(lr) for lr in settings["lr"].unique()), reverse=True)
    healthy = settings[(settings["diverged"] == 0) & np.isfinite(settings["true_error_mean"])]
    best = healthy.loc[healthy["true_error_mean"].idxmin()] if len(healthy) else None
    best_lr = float(best["lr"]) if best is not None else None
    return LrFacts(
        epochs=int(settings["epochs"].iloc[0]),
        lrs=lrs,
        behaviour={lr: lr_behaviour(sweep, lr, best_lr) for lr in lrs},
        best_lr=best_lr,
        best_true_error=float(best["true_error_mean"]) if best is not None else None,
        largest=lrs[0],
        smallest=lrs[-1],
    )


# --- Exercise 1C ---------------------------------------------------------------


@dataclass
class CustomFacts:
    function: str
    configurations: int
    chosen_lr: float
    chosen_epochs: int
    chosen_width: int
    chosen_val_error: float
    chosen_true_error: float
    chosen_true_error_std: float
    baseline_lr: float
    baseline_epochs: int
    baseline_hidden: list[int]
    baseline_true_error: float
    baseline_true_error_std: float
    improvement: float  # baseline true error / chosen true error
    depth: int  # hidden layers (the search varies their width)


@dataclass
class Custom:
    params: dict
    search: pd.DataFrame  # per configuration, means over seeds
    comparison: pd.DataFrame  # chosen vs baseline, per label
    snapshots: pd.DataFrame
    curves: pd.DataFrame
    data: pd.DataFrame
    grid: pd.DataFrame
    loss: pd.DataFrame | None
    facts: CustomFacts
    record: dict

    @property
    def search_seeds(self) -> int:
        return int(self.search["seeds"].max())

    @property
    def validation_percent(self) -> int:
        return round(100 * float(self.params.get("validation_fraction", 0.2)))

    @property
    def noise_variance(self) -> float:
        return float(self.params.get("noise_std", 0)) ** 2


def search_table(search: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (lr, epochs, width), group in search.groupby(["lr", "epochs", "width"], sort=True):
        val, val_std = mean_std(group["val_error"])
        true, true_std = mean_std(group["true_error"])
        rows.append(
            {
                "lr": lr,
                "epochs": int(epochs),
                "width": int(width),
                "val_error_mean": val,
                "val_error_std": val_std,
                "true_error_mean": true,
                "true_error_std": true_std,
                "diverged": int(group["diverged"].fillna(0).sum()),
                "seeds": int(group["seed"].nunique()),
            }
        )
    return pd.DataFrame(rows)


def chosen_setting(run, table: pd.DataFrame) -> dict:
    chosen = (run.record.get("summary") or {}).get("chosen")
    if chosen:
        return {"lr": float(chosen["lr"]), "epochs": int(chosen["epochs"]), "width": int(chosen["width"])}
    best = table.loc[table["val_error_mean"].idxmin()]
    return {"lr": float(best["lr"]), "epochs": int(best["epochs"]), "width": int(best["width"])}


def read_custom(run) -> Custom:
    search = search_table(read_csv(run.dir, "search.csv"))
    snapshots = read_csv(run.dir, "snapshots.csv")
    comparison = setting_table(snapshots, ["label", "lr", "epochs"])
    chosen = chosen_setting(run, search)
    baseline = run.params.get("baseline", {})
    row = search[
        (np.isclose(search["lr"], chosen["lr"]))
        & (search["epochs"] == chosen["epochs"])
        & (search["width"] == chosen["width"])
    ]
    chosen_true = comparison[comparison["label"] == "chosen"]
    baseline_true = comparison[comparison["label"] == "baseline"]
    facts = CustomFacts(
        function=str(run.params.get("function", "")),
        configurations=len(search),
        chosen_lr=chosen["lr"],
        chosen_epochs=chosen["epochs"],
        chosen_width=chosen["width"],
        chosen_val_error=float(row["val_error_mean"].iloc[0]) if len(row) else float("nan"),
        chosen_true_error=float(chosen_true["true_error_mean"].iloc[0]),
        chosen_true_error_std=float(chosen_true["true_error_std"].iloc[0]),
        baseline_lr=float(baseline.get("lr", baseline_true["lr"].iloc[0])),
        baseline_epochs=int(baseline.get("epochs", baseline_true["epochs"].iloc[0])),
        baseline_hidden=list(baseline.get("hidden", run.params.get("hidden", []))),
        baseline_true_error=float(baseline_true["true_error_mean"].iloc[0]),
        baseline_true_error_std=float(baseline_true["true_error_std"].iloc[0]),
        improvement=float(baseline_true["true_error_mean"].iloc[0] / chosen_true["true_error_mean"].iloc[0]),
        depth=len(run.params.get("hidden", [64, 64])),
    )
    grid = read_csv(run.dir, "grid.csv")
    if "label" in grid:  # the same grid once per label
        grid = grid[grid["label"] == grid["label"].iloc[0]].drop(columns="label")
    return Custom(
        params=run.params,
        search=search,
        comparison=comparison,
        snapshots=snapshots,
        curves=read_csv(run.dir, "curves.csv"),
        data=read_csv(run.dir, "data.csv"),
        grid=grid,
        loss=read_csv(run.dir, "loss.csv"),
        facts=facts,
        record=run.record,
    )


@dataclass
class FitAnalysis:
    """What Exercise 1's runs established (None where a run is missing)."""

    epochs: Sweep | None
    epoch_facts: EpochFacts | None
    lr: Sweep | None
    lr_facts: LrFacts | None
    custom: Custom | None

    def records(self) -> dict[str, dict]:
        found = {"fit.epochs": self.epochs, "fit.lr": self.lr, "fit.custom": self.custom}
        return {name: part.record for name, part in found.items() if part is not None}


def analyse(runs: dict) -> FitAnalysis:
    epochs = read_sweep(runs["fit.epochs"]) if runs.get("fit.epochs") else None
    lr = read_sweep(runs["fit.lr"]) if runs.get("fit.lr") else None
    return FitAnalysis(
        epochs=epochs,
        epoch_facts=epoch_facts(epochs) if epochs else None,
        lr=lr,
        lr_facts=lr_facts(lr) if lr else None,
        custom=read_custom(runs["fit.custom"]) if runs.get("fit.custom") else None,
    )


def csv_tables(fit: FitAnalysis) -> dict[str, pd.DataFrame]:
    """The tables written beside the report, by file name (without .csv)."""
    tables = {}
    if fit.epochs:
        tables["fit_epochs"] = fit.epochs.settings
    if fit.lr:
        tables["fit_lr"] = fit.lr.settings
    if fit.custom:
        tables["fit_custom_search"] = fit.custom.search
        tables["fit_custom_comparison"] = fit.custom.comparison
    return tables
