"""Exercise 1C's paired comparison: the chosen setting against the course defaults,
seed by seed, and its verdict. No torch here: the report reads it without training."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

SETTING = ["lr", "weight_decay", "width", "depth", "networks"]  # what the search varies (search.csv columns)

TIE_STANDARD_ERRORS = 2.0  # |mean difference| within this many SE: a tie


def verdict(mean_difference: float, standard_error: float | None) -> str:
    """beat, tie or lost for a chosen − baseline true-error difference.

    A difference within TIE_STANDARD_ERRORS standard errors (or with no standard
    error: one seed) is within the noise: a tie."""
    if standard_error is None or not math.isfinite(standard_error):
        return "tie"
    if abs(mean_difference) <= TIE_STANDARD_ERRORS * standard_error:
        return "tie"
    return "beat" if mean_difference < 0 else "lost"


def paired_difference(chosen: pd.Series, baseline: pd.Series) -> dict:
    """Per-seed true errors (indexed by seed) → mean difference, its SE, wins and the verdict.

    A seed where either model diverged (no finite true error) has no difference: it is
    left out of every number here and counted as dropped."""
    seeds = chosen.index.intersection(baseline.index)
    all_differences = (chosen[seeds] - baseline[seeds]).astype(float)
    difference = all_differences[np.isfinite(all_differences)]
    n = len(difference)
    se = float(difference.std(ddof=1) / math.sqrt(n)) if n > 1 else None
    mean = float(difference.mean()) if n else float("nan")
    return {
        "mean": mean,
        "se": se,
        "wins": int((difference < 0).sum()),
        "seeds": n,
        "dropped": len(all_differences) - n,
        "verdict": verdict(mean, se),
    }
