"""Exercise 1C's facts (the student's function, the cross-validated search, the paired
comparison with the course defaults) from the run's stored files."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lab.exercises.fit.comparison import SETTING, paired_difference
from lab.exercises.fit.sweep_facts import read_curves, setting_table
from lab.report.frames import read_csv


@dataclass
class CustomFacts:
    function: str
    configurations: int  # one-network settings searched (the averaged candidate aside)
    folds: int
    seeds: int
    max_epochs: int
    check_every: int
    chosen_lr: float
    chosen_weight_decay: float
    chosen_epochs: int  # the early-stopping epoch
    chosen_width: int
    chosen_depth: int
    chosen_networks: int  # 1: one network; k: the mean of k networks from different initial weights
    networks_tried: int  # k of the averaged candidate; 1 when averaging was not searched
    chosen_cv_error: float  # mean over seeds × folds at chosen_epochs
    chosen_cv_se: float  # its standard error over those models
    runner_up_cv_error: float  # the next-best setting's (NaN with one setting)
    single_cv_error: float  # the best one-network setting's CV error ± SE
    single_cv_se: float
    average_cv_error: float  # the mean of k networks' CV error ± SE (NaN: not searched)
    average_cv_se: float
    single_epochs: int  # the best single network's early-stopping epoch
    average_epochs: int  # the averaged candidate's early-stopping epoch (0: not searched)
    average_budget: int  # the last epoch its cross-validation trained to (0: not searched)
    average_gap: float  # averaged − best single CV error, paired over the same seed × fold models
    average_gap_se: float
    runner_up_gap: float  # runner-up − chosen CV error, paired over the same seed × fold models
    runner_up_gap_se: float
    best_two_mean_and_single: bool  # the best two candidates are the mean of k networks and one network
    noise_variance: float  # σ²
    samples: int  # n, training points per seed
    noise_floor_se: float  # σ²·√(2/(n·seeds)): the CV error's SE from the noise alone (see noise_floor)
    noise_and_fit_se: float  # √((2σ⁴ + 4σ²·e)/(n·seeds)), e the chosen fit's true error
    chosen_true_error: float  # trained on all points: mean over seeds
    chosen_true_error_se: float
    baseline_lr: float
    baseline_epochs: int
    baseline_hidden: list[int]
    baseline_true_error: float
    baseline_true_error_se: float
    difference: float  # mean over seeds of chosen − baseline true error
    difference_se: float  # NaN with one seed
    wins: int  # seeds where the chosen setting's true error is lower
    compared_seeds: int  # seeds where both models have a finite true error
    dropped_seeds: int  # seeds left out of the comparison: a model diverged
    verdict: str  # "beat", "tie" or "lost"


@dataclass
class Custom:
    params: dict
    search: pd.DataFrame  # per setting: early-stopping epoch, CV error ± SE
    cv_curves: pd.DataFrame  # per setting and check: mean validation error over seeds × folds
    comparison: pd.DataFrame  # chosen vs baseline, per label
    snapshots: pd.DataFrame
    curves: pd.DataFrame
    data: pd.DataFrame
    grid: pd.DataFrame
    loss: pd.DataFrame | None
    facts: CustomFacts
    record: dict

    @property
    def noise_variance(self) -> float:
        return float(self.params.get("noise_std", 0)) ** 2


def layers_text(layers) -> str:
    """Hidden layer widths as the declaration writes them: [64, 64]."""
    return "[" + ", ".join(str(int(width)) for width in layers) + "]"


def mean_curves(cv_curves: pd.DataFrame) -> pd.DataFrame:
    """The mean validation curve of each setting: mean over its seed × fold models per check."""
    return cv_curves.groupby([*SETTING, "epochs"], as_index=False)["val_error"].mean()


def with_networks(table: pd.DataFrame) -> pd.DataFrame:
    """Runs from before averaging was a candidate have no networks column: one network each."""
    return table if "networks" in table else table.assign(networks=1)


def noise_floor(noise_variance: float, points: int, seeds: int, true_error: float = 0.0) -> float:
    """The standard error of a CV error over `seeds` × `points` validation points (each point is
    in one fold per seed). A point's squared residual is (d − ε)², d = f̂(x) − f(x), ε ~ N(0, σ²):
    Var = 4σ²·E[d²] + 2σ⁴ (Var ε² = E ε⁴ − σ⁴ = 2σ⁴; the cross terms have mean 0), neglecting
    Var(d²), small beside σ⁴ when the fit is close. With true_error = E[d²] = 0: the noise alone."""
    variance = 2 * noise_variance**2 + 4 * noise_variance * true_error
    return math.sqrt(variance / (points * seeds)) if points * seeds else float("nan")


def paired_gap(raw_curves: pd.DataFrame, first, second) -> tuple[float, float]:
    """first's CV error minus second's (search.csv rows), seed × fold by seed × fold, each at its
    own early-stopping epoch: mean ± SE of the paired differences."""
    gaps = (_unit_errors(raw_curves, first) - _unit_errors(raw_curves, second)).dropna()
    se = float(gaps.std(ddof=1) / math.sqrt(len(gaps))) if len(gaps) > 1 else float("nan")
    return (float(gaps.mean()) if len(gaps) else float("nan")), se


def average_gap(raw_curves: pd.DataFrame, search: pd.DataFrame) -> tuple[float, float]:
    """The averaged candidate's CV error minus the best single network's, paired; NaN when
    averaging was not searched."""
    ranked = search.dropna(subset=["cv_error"]).sort_values("cv_error")
    singles, means = ranked[ranked["networks"] == 1], ranked[ranked["networks"] > 1]
    if singles.empty or means.empty:
        return float("nan"), float("nan")
    return paired_gap(raw_curves, means.iloc[0], singles.iloc[0])


def runner_up_gap(raw_curves: pd.DataFrame, search: pd.DataFrame) -> tuple[float, float]:
    """The runner-up's CV error minus the best candidate's, paired; NaN with one candidate."""
    ranked = search.dropna(subset=["cv_error"]).sort_values("cv_error", kind="stable")
    if len(ranked) < 2:
        return float("nan"), float("nan")
    return paired_gap(raw_curves, ranked.iloc[1], ranked.iloc[0])


def _best_two_differ_in_networks(search: pd.DataFrame) -> bool:
    ranked = search.dropna(subset=["cv_error"]).sort_values("cv_error", kind="stable")
    return len(ranked) > 1 and (ranked["networks"].iloc[0] > 1) != (ranked["networks"].iloc[1] > 1)


def _unit_errors(raw_curves: pd.DataFrame, row) -> pd.Series:
    mine = raw_curves
    for column in (*SETTING, "epochs"):
        mine = mine[np.isclose(mine[column].astype(float), float(row[column]))]
    return mine.set_index(["seed", "fold"])["val_error"].astype(float)


def _best(search: pd.DataFrame, averaged: bool) -> tuple[float, float, int]:
    """The best single network's (or the averaged candidate's) CV error, SE and early-stopping epoch."""
    rows = search[(search["networks"] > 1) == averaged].dropna(subset=["cv_error"])
    if rows.empty:
        return float("nan"), float("nan"), 0
    best = rows.loc[rows["cv_error"].idxmin()]
    return float(best["cv_error"]), _nan(best["cv_se"]), int(best["epochs"])


def chosen_setting(run, search: pd.DataFrame) -> dict:
    chosen = (run.record.get("summary") or {}).get("chosen")
    if chosen:
        return chosen
    best = search.loc[search["cv_error"].idxmin()]
    return {key: best[key] for key in (*SETTING, "epochs", "cv_error", "cv_se")}


def _chosen_networks(chosen: dict) -> int:
    return int(chosen.get("networks", 1))


def _true_errors(snapshots: pd.DataFrame, label: str) -> pd.Series:
    return snapshots[snapshots["label"] == label].set_index("seed")["true_error"].astype(float)


def _mean_se(values: pd.Series) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    se = float(finite.std(ddof=1) / math.sqrt(len(finite))) if len(finite) > 1 else float("nan")
    return float(finite.mean()), se


def _nan(value) -> float:
    return float("nan") if value is None or pd.isna(value) else float(value)


def custom_facts(run, search: pd.DataFrame, snapshots: pd.DataFrame, raw_curves: pd.DataFrame) -> CustomFacts:
    chosen = chosen_setting(run, search)
    seeds = int(snapshots["seed"].nunique())
    noise_variance, samples = float(run.params.get("noise_std", 0)) ** 2, int(run.params.get("samples", 0))
    gap, gap_se = average_gap(raw_curves, search)
    second, second_se = runner_up_gap(raw_curves, search)
    chosen_true_mean = _mean_se(_true_errors(snapshots, "chosen"))[0]
    space, baseline = run.params.get("search", {}), run.params.get("baseline", {})
    chosen_true, baseline_true = _true_errors(snapshots, "chosen"), _true_errors(snapshots, "baseline")
    paired = paired_difference(chosen_true, baseline_true)
    ranked = search["cv_error"].dropna().sort_values()
    return CustomFacts(
        function=str(run.params.get("function", "")),
        configurations=int((search["networks"] == 1).sum()),
        folds=int(space.get("folds", 0)),
        seeds=seeds,
        max_epochs=int(space.get("max_epochs", 0)),
        check_every=int(space.get("check_every", 0)),
        chosen_lr=float(chosen["lr"]),
        chosen_weight_decay=float(chosen["weight_decay"]),
        chosen_epochs=int(chosen["epochs"]),
        chosen_width=int(chosen["width"]),
        chosen_depth=int(chosen["depth"]),
        chosen_networks=_chosen_networks(chosen),
        networks_tried=int(search["networks"].max()),
        chosen_cv_error=_nan(chosen["cv_error"]),
        chosen_cv_se=_nan(chosen["cv_se"]),
        runner_up_cv_error=float(ranked.iloc[1]) if len(ranked) > 1 else float("nan"),
        single_cv_error=_best(search, averaged=False)[0],
        single_cv_se=_best(search, averaged=False)[1],
        average_cv_error=_best(search, averaged=True)[0],
        average_cv_se=_best(search, averaged=True)[1],
        single_epochs=_best(search, averaged=False)[2],
        average_epochs=_best(search, averaged=True)[2],
        average_budget=int(raw_curves.loc[raw_curves["networks"] > 1, "epochs"].max())
        if (raw_curves["networks"] > 1).any()
        else 0,
        average_gap=gap,
        average_gap_se=gap_se,
        runner_up_gap=second,
        runner_up_gap_se=second_se,
        best_two_mean_and_single=_best_two_differ_in_networks(search),
        noise_variance=noise_variance,
        samples=samples,
        noise_floor_se=noise_floor(noise_variance, samples, seeds),
        noise_and_fit_se=noise_floor(noise_variance, samples, seeds, chosen_true_mean),
        chosen_true_error=_mean_se(chosen_true)[0],
        chosen_true_error_se=_mean_se(chosen_true)[1],
        baseline_lr=float(baseline.get("lr", float("nan"))),
        baseline_epochs=int(baseline.get("epochs", 0)),
        baseline_hidden=list(baseline.get("hidden", run.params.get("hidden", []))),
        baseline_true_error=_mean_se(baseline_true)[0],
        baseline_true_error_se=_mean_se(baseline_true)[1],
        difference=paired["mean"],
        difference_se=_nan(paired["se"]),
        wins=paired["wins"],
        compared_seeds=paired["seeds"],
        dropped_seeds=paired["dropped"],
        verdict=paired["verdict"],
    )


def read_custom(run) -> Custom:
    search = with_networks(read_csv(run.dir, "search.csv"))
    snapshots = read_csv(run.dir, "snapshots.csv")
    raw_curves = with_networks(read_csv(run.dir, "cv_curves.csv"))
    grid = pd.read_csv(Path(run.dir) / "grid.csv")
    if "label" in grid:  # the same grid once per label
        grid = grid[grid["label"] == grid["label"].iloc[0]].drop(columns="label")
    return Custom(
        params=run.params,
        search=search,
        cv_curves=mean_curves(raw_curves),
        comparison=setting_table(snapshots, ["label", "lr", "epochs"]),
        snapshots=snapshots,
        curves=read_curves(run.dir, grid),
        data=read_csv(run.dir, "data.csv"),
        grid=grid,
        loss=read_csv(run.dir, "loss.csv"),
        facts=custom_facts(run, search, snapshots, raw_curves),
        record=run.record,
    )
