"""The experiments, by run name: each is ``run(ctx) -> summary`` plus a VERSION."""
from __future__ import annotations

import importlib
from typing import Callable

# run name -> (module, function); the module's VERSION is part of every run key
EXPERIMENTS: dict[str, tuple[str, str]] = {
    "fit.epochs": ("lab.exercises.fit.train", "run"),
    "fit.lr": ("lab.exercises.fit.train", "run"),
    "fit.custom": ("lab.exercises.fit.train", "run_custom"),
    "cifar": ("lab.exercises.cifar.train", "run"),
}


def experiment(name: str) -> tuple[Callable, str]:
    """(the function that computes run `name`, its code version)."""
    module_name, function = EXPERIMENTS[name]
    module = importlib.import_module(module_name)
    return getattr(module, function), str(module.VERSION)
