"""Reading run tables and summarising them: what every exercise's facts are built from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def read_csv(folder: Path, name: str) -> pd.DataFrame | None:
    path = Path(folder) / name
    return pd.read_csv(path) if path.exists() else None


def finite(values) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    return array[np.isfinite(array)]


def mean_std(values) -> tuple[float, float]:
    """Mean and sample std over the finite values (std NaN for fewer than two values)."""
    array = finite(values)
    if array.size == 0:
        return float("nan"), float("nan")
    return float(array.mean()), float(array.std(ddof=1)) if array.size > 1 else float("nan")
