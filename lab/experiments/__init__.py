"""The experiments, by run name: each is ``run(ctx) -> summary`` plus a VERSION."""
from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
from pathlib import Path
from typing import Callable

# run name -> (module, function); the module's VERSION is part of every run key
EXPERIMENTS: dict[str, tuple[str, str]] = {
    "fit.epochs": ("lab.experiments.fit", "run"),
    "fit.lr": ("lab.experiments.fit", "run"),
    "fit.custom": ("lab.experiments.fit", "run_custom"),
    "cifar": ("lab.experiments.cifar", "run"),
}


def experiment(name: str) -> tuple[Callable, str]:
    """(the function that computes run `name`, its code version)."""
    module_name, function = EXPERIMENTS[name]
    module = importlib.import_module(module_name)
    return getattr(module, function), str(module.VERSION)


@functools.cache
def version(name: str) -> str:
    """Run `name`'s code version, read from its module's source without importing it.

    The run keys need only the version; importing the module imports torch, which
    costs seconds that `list` and `build --no-run` must not spend (as setuptools
    reads an ``attr:`` version, the assignment is evaluated as a literal).
    """
    module_name, _ = EXPERIMENTS[name]
    spec = importlib.util.find_spec(module_name)
    if spec is None or spec.origin is None:
        raise LookupError(f"{module_name} not found")
    source = Path(spec.origin).read_text(encoding="utf-8")
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "VERSION" for t in node.targets):
            return str(ast.literal_eval(node.value))
    raise LookupError(f"{module_name} sets no VERSION")
