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
    configurations: int
    folds: int
    seeds: int
    max_epochs: int
    check_every: int
    chosen_lr: float
    chosen_weight_decay: float
    chosen_epochs: int  # the early-stopping epoch
    chosen_width: int
    chosen_depth: int
    chosen_cv_error: float  # mean over seeds × folds at chosen_epochs
    chosen_cv_se: float  # its standard error over those models
    runner_up_cv_error: float  # the next-best setting's (NaN with one setting)
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


def chosen_setting(run, search: pd.DataFrame) -> dict:
    chosen = (run.record.get("summary") or {}).get("chosen")
    if chosen:
        return chosen
    best = search.loc[search["cv_error"].idxmin()]
    return {key: best[key] for key in (*SETTING, "epochs", "cv_error", "cv_se")}


def _true_errors(snapshots: pd.DataFrame, label: str) -> pd.Series:
    return snapshots[snapshots["label"] == label].set_index("seed")["true_error"].astype(float)


def _mean_se(values: pd.Series) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    se = float(finite.std(ddof=1) / math.sqrt(len(finite))) if len(finite) > 1 else float("nan")
    return float(finite.mean()), se


def _nan(value) -> float:
    return float("nan") if value is None or pd.isna(value) else float(value)


def custom_facts(run, search: pd.DataFrame, snapshots: pd.DataFrame) -> CustomFacts:
    chosen = chosen_setting(run, search)
    space, baseline = run.params.get("search", {}), run.params.get("baseline", {})
    chosen_true, baseline_true = _true_errors(snapshots, "chosen"), _true_errors(snapshots, "baseline")
    paired = paired_difference(chosen_true, baseline_true)
    ranked = search["cv_error"].dropna().sort_values()
    return CustomFacts(
        function=str(run.params.get("function", "")),
        configurations=len(search),
        folds=int(space.get("folds", 0)),
        seeds=int(snapshots["seed"].nunique()),
        max_epochs=int(space.get("max_epochs", 0)),
        check_every=int(space.get("check_every", 0)),
        chosen_lr=float(chosen["lr"]),
        chosen_weight_decay=float(chosen["weight_decay"]),
        chosen_epochs=int(chosen["epochs"]),
        chosen_width=int(chosen["width"]),
        chosen_depth=int(chosen["depth"]),
        chosen_cv_error=_nan(chosen["cv_error"]),
        chosen_cv_se=_nan(chosen["cv_se"]),
        runner_up_cv_error=float(ranked.iloc[1]) if len(ranked) > 1 else float("nan"),
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
    search = read_csv(run.dir, "search.csv")
    snapshots = read_csv(run.dir, "snapshots.csv")
    grid = pd.read_csv(Path(run.dir) / "grid.csv")
    if "label" in grid:  # the same grid once per label
        grid = grid[grid["label"] == grid["label"].iloc[0]].drop(columns="label")
    return Custom(
        params=run.params,
        search=search,
        cv_curves=mean_curves(read_csv(run.dir, "cv_curves.csv")),
        comparison=setting_table(snapshots, ["label", "lr", "epochs"]),
        snapshots=snapshots,
        curves=read_curves(run.dir, grid),
        data=read_csv(run.dir, "data.csv"),
        grid=grid,
        loss=read_csv(run.dir, "loss.csv"),
        facts=custom_facts(run, search, snapshots),
        record=run.record,
    )
