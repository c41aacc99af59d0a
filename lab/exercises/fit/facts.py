"""Exercise 1's facts: its runs on disk -> pandas tables and the named facts the answers cite.

Every number in the report's prose and tables comes from here (sweep_facts.py for 1A,
lr_facts.py for 1B, custom_facts.py for 1C), computed from the stored files, so the two never disagree
and a re-render never retrains. A run's summary keeps only what the runner shows.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from lab.exercises.fit.custom_facts import Custom, read_custom
from lab.exercises.fit.lr_facts import LrFacts, lr_facts
from lab.exercises.fit.sweep_facts import EpochFacts, Sweep, epoch_facts, read_sweep


@dataclass
class FitAnalysis:
    """What Exercise 1's runs established (None where a run is missing)."""

    epochs: Sweep | None
    epoch_facts: EpochFacts | None
    lr: Sweep | None
    lr_facts: LrFacts | None
    custom: Custom | None


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
