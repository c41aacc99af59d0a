"""Facts over a CIFAR sweep: several seeds of the course schedule, and named variants.

With one seed and no variant there is no sweep (None) and the report is as without it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd

from lab.exercises.cifar import COURSE_RUN, cell_of
from lab.exercises.cifar.lr_schedule import WARMUP_START

UNDER_FIT_GAP = 3.0  # percentage points


@dataclass
class Spread:
    """One measurement over the seeds: mean, sample standard deviation, range."""

    mean: float
    sd: float
    low: float
    high: float
    n: int

    @classmethod
    def of(cls, values: list[float]) -> Spread:
        series = pd.Series(values, dtype=float)
        return cls(
            float(series.mean()), float(series.std(ddof=1)), float(series.min()), float(series.max()), len(series)
        )


@dataclass
class VariantFacts:
    name: str  # "course" for the course schedule
    epochs: pd.DataFrame  # epoch, lr, test_acc, train_acc, train_seconds, test_seconds
    final_test: float
    mirrored_test: float | None  # the final weights, each test image averaged with its mirror (if measured)
    mirrored_seconds: float | None  # that one extra pass
    seconds_per_epoch: float  # train + test
    device_name: str  # where it ran: times compare only on the same
    crop_padding: int | None  # the border random crops were taken from (None: not recorded)
    params: dict
    phases: list[tuple[float, int]]  # (lr, epochs) of each phase, as its facts read them from its record

    @property
    def final_train(self) -> float:
        return float(self.epochs["train_acc"].iloc[-1])

    @property
    def under_fits(self) -> bool:
        """Train and test accuracy end within UNDER_FIT_GAP points: more fitting, not less, is what it lacks."""
        return abs(self.final_train - self.final_test) < UNDER_FIT_GAP

    @property
    def peak_lr(self) -> float:
        return self.phases[0][0]

    @property
    def warmup_from(self) -> float:
        return self.peak_lr * WARMUP_START


@dataclass
class SweepFacts:
    seeds: list[int]  # of the course schedule, the declared seed first
    test_by_seed: pd.DataFrame  # epoch x seed: test accuracy
    jump: Spread | None  # test accuracy gained in the first epoch after the drop
    final_gap: Spread  # train - test after the last epoch
    final_test: Spread
    variants: list[VariantFacts]  # the course schedule (its declared seed) first
    fingerprint: str  # the keys and files of every run it draws from: a rerun with --force redraws its figure

    @property
    def several_seeds(self) -> bool:
        return len(self.seeds) > 1

    @property
    def mirrored(self) -> bool:
        return any(variant.mirrored_test is not None for variant in self.variants)


def sweep_facts(runs: dict, course) -> SweepFacts | None:
    """From the runs by name (cifar, cifar.seed<N>, cifar.<variant>) and the course run's facts."""
    from lab.exercises.cifar.facts import read_cifar

    cells = {name: cell_of(name) for name, run in runs.items() if run is not None and name.startswith(COURSE_RUN)}
    seeds = [read_cifar(runs[name]) for name, cell in cells.items() if cell.seed is not None]
    variants = [read_cifar(runs[name]) for name, cell in cells.items() if cell.variant is not None]
    if course is None or (not seeds and not variants):
        return None
    course_runs = [course, *seeds]
    drawn_from = [runs[name] for name in cells]
    by_seed = pd.DataFrame({run.params["seed"]: run.epochs.set_index("epoch")["test_acc"] for run in course_runs})
    jumps = [run.facts.drop.test_jump for run in course_runs if run.facts.drop is not None]
    return SweepFacts(
        seeds=[int(run.params["seed"]) for run in course_runs],
        test_by_seed=by_seed,
        jump=Spread.of(jumps) if len(jumps) == len(course_runs) else None,
        final_gap=Spread.of([run.facts.final_gap for run in course_runs]),
        final_test=Spread.of([run.facts.final_test for run in course_runs]),
        variants=[variant_facts("course", course)] + [variant_facts(run.params["variant"], run) for run in variants],
        fingerprint=json.dumps({run.key: run.record.get("files") for run in drawn_from}, sort_keys=True),
    )


def variant_facts(name: str, run) -> VariantFacts:
    epochs = run.epochs
    seconds = float((epochs["train_seconds"] + epochs["test_seconds"]).mean())
    summary = run.record.get("summary") or {}
    return VariantFacts(
        name,
        epochs,
        run.facts.final_test,
        summary.get("test_acc_mirrored"),
        summary.get("mirrored_test_seconds"),
        seconds,
        str(run.record.get("device_name", "")),
        summary.get("crop_padding"),
        run.params,
        run.facts.phases,
    )


def sweep_csv(sweep: SweepFacts) -> pd.DataFrame:
    """Test accuracy per epoch of each schedule (its declared seed), a CSV beside the report."""
    rows = []
    for variant in sweep.variants:
        for _, row in variant.epochs.iterrows():
            rows.append(
                {"schedule": variant.name, "epoch": int(row["epoch"]), "lr": row["lr"], "test_acc": row["test_acc"]}
            )
    return pd.DataFrame(rows)
