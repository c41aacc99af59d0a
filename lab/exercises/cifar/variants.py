"""Named CIFAR schedules beside the course's (``cifar.variants = ["tuned"]``): their values,
and the measurements behind them, are in variants.toml.

The values are data, not code, so a run's key hashes them as its parameters: changing
one retrains that variant only. This module, which turns them into parameters, is code
(every CIFAR run's, as the package imports it).
"""

from __future__ import annotations

from pathlib import Path

from lab.exercises.cifar.lr_schedule import epochs_of

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

VARIANTS: dict[str, dict] = tomllib.loads(Path(__file__).with_name("variants.toml").read_text(encoding="utf-8"))


def variant_params(name: str, section: dict) -> dict:
    """The changes `name` makes to the course's parameters in `section`: one phase
    over all of the course's epochs (a quick build's too)."""
    variant = VARIANTS[name]
    epochs = epochs_of(section)
    return {
        **variant["changes"],
        "phases": [{"lr": variant["peak_lr"], "epochs": epochs}],
        "warmup_epochs": max(1, round(variant["warmup_share"] * epochs)),
    }
