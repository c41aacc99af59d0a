"""Facts over a CIFAR sweep: several seeds of the course schedule, and named variants.

With one seed and no variant there is no sweep (None) and the report is as without it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

COURSE = "cifar"


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
    best_test: float
    seconds_per_epoch: float  # train + test
    params: dict


@dataclass
class SweepFacts:
    seeds: list[int]  # of the course schedule, the declared seed first
    test_by_seed: pd.DataFrame  # epoch x seed: test accuracy
    jump: Spread | None  # test accuracy gained in the first epoch after the drop
    final_gap: Spread  # train - test after the last epoch
    final_test: Spread
    variants: list[VariantFacts]  # the course schedule (its declared seed) first
    keys: list[str]  # of every run it draws from

    @property
    def several_seeds(self) -> bool:
        return len(self.seeds) > 1

    @property
    def best(self) -> VariantFacts:
        return max(self.variants, key=lambda variant: variant.final_test)


def sweep_facts(runs: dict, course) -> SweepFacts | None:
    """From the runs by name (cifar, cifar.seed<N>, cifar.<variant>) and the course run's facts."""
    from lab.exercises.cifar.facts import read_cifar

    seeds = {name: read_cifar(run) for name, run in runs.items() if run is not None and is_seed_run(name)}
    variants = {name: read_cifar(run) for name, run in runs.items() if run is not None and is_variant_run(name)}
    if course is None or (not seeds and not variants):
        return None
    course_runs = [course, *seeds.values()]
    by_seed = pd.DataFrame({run.params["seed"]: run.epochs.set_index("epoch")["test_acc"] for run in course_runs})
    jumps = [run.facts.drop.test_jump for run in course_runs if run.facts.drop is not None]
    return SweepFacts(
        seeds=[int(run.params["seed"]) for run in course_runs],
        test_by_seed=by_seed,
        jump=Spread.of(jumps) if len(jumps) == len(course_runs) else None,
        final_gap=Spread.of([run.facts.final_gap for run in course_runs]),
        final_test=Spread.of([run.facts.final_test for run in course_runs]),
        variants=[variant_facts("course", course)]
        + [variant_facts(run.params["variant"], run) for run in variants.values()],
        keys=[run.key for run in runs.values() if run is not None and run.name.startswith(COURSE)],
    )


def variant_facts(name: str, run) -> VariantFacts:
    epochs = run.epochs
    seconds = float((epochs["train_seconds"] + epochs["test_seconds"]).mean())
    return VariantFacts(name, epochs, run.facts.final_test, run.facts.best_test, seconds, run.params)


def is_seed_run(name: str) -> bool:
    return name.startswith(f"{COURSE}.seed") and name.removeprefix(f"{COURSE}.seed").isdigit()


def is_variant_run(name: str) -> bool:
    return name.startswith(f"{COURSE}.") and not is_seed_run(name)


def sweep_table(sweep: SweepFacts) -> pd.DataFrame:
    """Test accuracy per epoch of each schedule, its final and best accuracy and its time (a CSV beside the report)."""
    rows = []
    for variant in sweep.variants:
        for _, row in variant.epochs.iterrows():
            rows.append(
                {"schedule": variant.name, "epoch": int(row["epoch"]), "lr": row["lr"], "test_acc": row["test_acc"]}
            )
    return pd.DataFrame(rows)
