"""Exercise 2's facts: the CIFAR run on disk -> tables and the named facts the answers cite."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from lab.exercises.cifar.sweep import SweepFacts, sweep_csv, sweep_facts
from lab.report.frames import read_csv

# --- Exercise 2: CIFAR ---------------------------------------------------------


@dataclass
class DropFacts:
    """What happened at the first learning-rate drop."""

    epoch_before: int
    epoch_after: int
    lr_before: float
    lr_after: float
    test_before: float
    test_after: float
    train_before: float
    train_after: float
    test_loss_before: float
    test_loss_after: float
    gain_before: float | None  # test acc gained per epoch over the epochs just before the drop
    gain_after: float | None  # test acc gained per epoch after the first epoch at the new lr
    test_final: float
    epochs_after: int  # epochs run at the lower rate
    best_before: float = float("nan")  # the first phase's best test accuracy
    best_before_epoch: int = 0
    lowest_test_loss_before: float = float("nan")  # the first phase's lowest test loss
    steps_before: int = 0  # epoch-to-epoch steps in the first phase
    test_rises_before: int = 0  # ... in which the test accuracy rose
    test_loss_rises_before: list[int] = field(default_factory=list)  # epochs whose test loss rose over the one before

    @property
    def test_jump(self) -> float:
        return self.test_after - self.test_before

    @property
    def jump_from_best(self) -> float:
        """The jump measured from the first phase's best epoch rather than its last."""
        return self.test_after - self.best_before

    @property
    def last_below_best(self) -> bool:
        """The last epoch before the drop was clearly (over half a point) below the phase's best:
        a dip there inflates the jump measured from it."""
        return self.best_before_epoch != self.epoch_before and self.test_before < self.best_before - 0.5

    @property
    def train_jump(self) -> float:
        return self.train_after - self.train_before


@dataclass
class CifarFacts:
    epochs: int
    phases: list[tuple[float, int]]  # (lr, epochs) of each phase, as the run recorded its parameters
    final_test: float
    final_train: float
    best_test: float
    best_test_epoch: int
    final_gap: float  # train - test, percentage points
    largest_gap: float
    largest_gap_epoch: int
    epochs_test_above_train: int
    drop: DropFacts | None
    train_seconds: float
    test_seconds: float
    best_class: tuple[str, float] | None = None
    worst_class: tuple[str, float] | None = None
    top_confusion: tuple[str, str, int] | None = None  # (true, predicted, count)


@dataclass
class Cifar:
    params: dict
    epochs: pd.DataFrame  # epochs.csv plus gap
    per_class: pd.DataFrame | None
    confusion: pd.DataFrame | None  # rows true class, columns predicted class
    misclassified: dict | None
    facts: CifarFacts
    record: dict


def phases_of(epochs: pd.DataFrame) -> list[pd.DataFrame]:
    """Consecutive runs of epochs at one learning rate."""
    change = (epochs["lr"].diff().fillna(0) != 0).cumsum()
    return [group for _, group in epochs.groupby(change, sort=True)]


def gain_per_epoch(values: pd.Series) -> float | None:
    return float((values.iloc[-1] - values.iloc[0]) / (len(values) - 1)) if len(values) > 1 else None


# DropFacts' <fact>_before and <fact>_after: (epochs.csv column, type) on the last epoch of the
# first phase and the first epoch of the second
DROP_COLUMNS = {
    "epoch": ("epoch", int),
    "lr": ("lr", float),
    "test": ("test_acc", float),
    "train": ("train_acc", float),
    "test_loss": ("test_loss", float),
}


def drop_facts(epochs: pd.DataFrame) -> DropFacts | None:
    phases = phases_of(epochs)
    if len(phases) < 2:
        return None
    sides = {"before": phases[0].iloc[-1], "after": phases[1].iloc[0]}
    either_side = {
        f"{fact}_{side}": kind(row[column])
        for fact, (column, kind) in DROP_COLUMNS.items()
        for side, row in sides.items()
    }
    return DropFacts(
        **either_side,
        gain_before=gain_per_epoch(phases[0]["test_acc"].tail(3)),
        gain_after=gain_per_epoch(phases[1]["test_acc"]),
        test_final=float(phases[1]["test_acc"].iloc[-1]),
        epochs_after=len(phases[1]),
        best_before=float(phases[0]["test_acc"].max()),
        best_before_epoch=int(phases[0].loc[phases[0]["test_acc"].idxmax(), "epoch"]),
        lowest_test_loss_before=float(phases[0]["test_loss"].min()),
        steps_before=len(phases[0]) - 1,
        test_rises_before=int((phases[0]["test_acc"].diff() > 0).sum()),
        test_loss_rises_before=[int(e) for e in phases[0].loc[phases[0]["test_loss"].diff() > 0, "epoch"]],
    )


def confusion_tables(confusion: pd.DataFrame, classes: list[str] | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    matrix = confusion.pivot_table(
        index="true_class", columns="predicted_class", values="count", aggfunc="sum", fill_value=0
    )
    order = classes or sorted(set(matrix.index) | set(matrix.columns))
    matrix = matrix.reindex(index=order, columns=order, fill_value=0).astype(int)
    totals = matrix.sum(axis=1)
    correct = pd.Series(np.diag(matrix.to_numpy()), index=matrix.index)
    per_class = pd.DataFrame(
        {
            "class": order,
            "correct": correct.to_numpy(),
            "total": totals.to_numpy(),
            "accuracy": (100 * correct / totals.replace(0, np.nan)).to_numpy(),
        }
    )
    return matrix, per_class


def read_misclassified(folder: Path) -> dict | None:
    path = Path(folder) / "misclassified.npz"
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as npz:
        return {key: npz[key] for key in npz.files}


def cifar_facts(
    params: dict, epochs: pd.DataFrame, per_class: pd.DataFrame | None, matrix: pd.DataFrame | None
) -> CifarFacts:
    last = epochs.iloc[-1]
    best = epochs.loc[epochs["test_acc"].idxmax()]
    widest = epochs.loc[epochs["gap"].idxmax()]
    facts = CifarFacts(
        epochs=len(epochs),
        phases=[(float(phase["lr"]), int(phase["epochs"])) for phase in params["phases"]],
        final_test=float(last["test_acc"]),
        final_train=float(last["train_acc"]),
        best_test=float(best["test_acc"]),
        best_test_epoch=int(best["epoch"]),
        final_gap=float(last["gap"]),
        largest_gap=float(widest["gap"]),
        largest_gap_epoch=int(widest["epoch"]),
        epochs_test_above_train=int((epochs["gap"] < 0).sum()),
        drop=drop_facts(epochs),
        train_seconds=float(epochs["train_seconds"].sum()),
        test_seconds=float(epochs["test_seconds"].sum()),
    )
    if per_class is not None and per_class["accuracy"].notna().any():
        ranked = per_class.dropna(subset=["accuracy"]).sort_values("accuracy")
        facts.worst_class = (str(ranked["class"].iloc[0]), float(ranked["accuracy"].iloc[0]))
        facts.best_class = (str(ranked["class"].iloc[-1]), float(ranked["accuracy"].iloc[-1]))
    if matrix is not None and matrix.size:
        off = matrix.to_numpy().copy()
        np.fill_diagonal(off, -1)
        t, p = np.unravel_index(off.argmax(), off.shape)
        facts.top_confusion = (str(matrix.index[t]), str(matrix.columns[p]), int(off[t, p]))
    return facts


def read_cifar(run) -> Cifar:
    epochs = pd.read_csv(Path(run.dir) / "epochs.csv").sort_values("epoch").reset_index(drop=True)
    epochs["gap"] = epochs["train_acc"] - epochs["test_acc"]
    misclassified = read_misclassified(run.dir)
    classes = [str(c) for c in misclassified["classes"]] if misclassified is not None else None
    confusion = read_csv(run.dir, "confusion.csv")
    matrix, per_class = confusion_tables(confusion, classes) if confusion is not None else (None, None)
    return Cifar(
        params=run.params,
        epochs=epochs,
        per_class=per_class,
        confusion=matrix,
        misclassified=misclassified,
        facts=cifar_facts(run.params, epochs, per_class, matrix),
        record=run.record,
    )


@dataclass
class CifarAnalysis:
    """What Exercise 2's run established (None when it is missing)."""

    cifar: Cifar | None
    sweep: SweepFacts | None = None  # several seeds or named variants (lab.exercises.cifar.sweep)


def analyse(runs: dict) -> CifarAnalysis:
    course = read_cifar(runs["cifar"]) if runs.get("cifar") else None
    return CifarAnalysis(course, sweep_facts(runs, course))


def csv_tables(part: CifarAnalysis) -> dict[str, pd.DataFrame]:
    """The tables written beside the report, by file name (without .csv)."""
    tables: dict[str, pd.DataFrame] = {}
    cifar = part.cifar
    if cifar:
        tables["cifar_epochs"] = cifar.epochs
        if part.sweep is not None:
            tables["cifar_sweep"] = sweep_csv(part.sweep)
        if cifar.per_class is not None and cifar.confusion is not None:  # both from confusion.csv
            tables["cifar_per_class"] = cifar.per_class
            tables["cifar_confusion"] = cifar.confusion.rename_axis(index="true_class").reset_index()
    return tables
