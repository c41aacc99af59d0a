"""Where pending runs are carried out: the `Executor` protocol and the registry `--executor` chooses from.

A run needs only (store folder, spec, device) and writes only into its own folder,
so it can execute anywhere. Adding an executor is one module with an object that
has `check` and `run`, and one entry below.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Protocol

from lab.core.errors import UserError

if TYPE_CHECKING:
    from lab.core.executor import Outcome
    from lab.core.matrix import RunSpec
    from lab.core.progress import Reporter
    from lab.core.store import Store


class Executor(Protocol):
    takes_address: bool  # joins a cluster at --address

    def check(self, device: str, address: str | None) -> None:
        """Before any work: what it needs is here (a package, the device); raise UserError otherwise."""

    def run(
        self, store: Store, specs: list[RunSpec], device: str, reporter: Reporter, address: str | None
    ) -> list[Outcome]:
        """Carry out `specs` (each writes into its own folder of `store`), their outcomes in the same order."""


# name -> (module:object, what --help says of it)
EXECUTORS = {
    "local": ("lab.core.executor:LOCAL", "here (short side-by-side runs in worker processes)"),
    "workers": ("lab.core.workers:WORKERS", "each run in a worker process of its own"),
    "ray": ("lab.core.ray_executor:RAY", "as tasks on a Ray cluster (pip install -e '.[ray]')"),
}


def executor(name: str) -> Executor:
    if name not in EXECUTORS:
        raise UserError(f"--executor {name!r}: choose {', '.join(EXECUTORS)}")
    module, _, attribute = EXECUTORS[name][0].partition(":")
    return getattr(importlib.import_module(module), attribute)


def executors_help() -> str:
    return "Where runs execute: " + "; ".join(f"{name}, {summary}" for name, (_, summary) in EXECUTORS.items()) + "."


def check_executor(name: str, device: str, address: str | None) -> None:
    """The executor exists, takes the address if one is given, and has what it needs."""
    chosen = executor(name)
    if address and not chosen.takes_address:
        joining = ", ".join(n for n in EXECUTORS if executor(n).takes_address)
        raise UserError(f"--address {address}: the address of a cluster to join; add --executor {joining}")
    chosen.check(device, address)
