"""Exercise 1C's facts (the student's function, the tuning search) from the run's stored files."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lab.exercises.fit.sweep_facts import setting_table
from lab.report.frames import mean_std, read_csv


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
    search_spread: dict = field(default_factory=dict)  # see search_facts
    diverged_search_settings: list[dict] = field(default_factory=list)

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
    searched = read_csv(run.dir, "search.csv")
    search = search_table(searched)
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
        search_spread=search_facts(searched, chosen),
        diverged_search_settings=diverged_settings(searched),
    )


def search_facts(search_table: pd.DataFrame, chosen: dict) -> dict:
    """How much the validation score can tell settings apart.

    The validation error carries the noise variance plus sampling noise; when
    the spread of mean validation errors across settings is within a couple of
    standard errors, the choice among them is close to a coin toss. The
    setting with the lowest true error on the search (which needs the noise-free
    f, so only the tool can know it) shows what a perfect choice would give.
    """
    settings = search_table[search_table["diverged"] == 0].groupby(["lr", "epochs", "width"])
    means = settings[["val_error", "true_error"]].mean()
    picked = search_table[
        (search_table["lr"] == chosen["lr"])
        & (search_table["epochs"] == chosen["epochs"])
        & (search_table["width"] == chosen["width"])
    ]
    standard_error = float(picked["val_error"].std(ddof=1) / math.sqrt(len(picked))) if len(picked) > 1 else None
    lr, epochs, width = means["true_error"].idxmin()
    return {
        "settings": int(len(means)),
        "val_error_range": [float(means["val_error"].min()), float(means["val_error"].max())],
        "chosen_val_standard_error": standard_error,
        "best_by_true_error": {
            "lr": float(lr),
            "epochs": int(epochs),
            "width": int(width),
            "true_error": float(means["true_error"].min()),
        },
        "chosen_search_true_error": float(picked["true_error"].mean()),
    }


def diverged_settings(search_table: pd.DataFrame) -> list[dict]:
    bad = search_table[search_table["diverged"] == 1]
    return [
        {"lr": float(lr), "epochs": int(e), "width": int(w), "seeds": int(len(rows))}
        for (lr, e, w), rows in bad.groupby(["lr", "epochs", "width"])
    ]
