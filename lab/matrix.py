"""Declaration → the list of runs, each with its resolved parameters and key."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from lab.declaration import Declaration
from lab.errors import UserError
from lab.experiments import EXPERIMENTS, version

GROUPS = {"fit": ["fit.epochs", "fit.lr", "fit.custom"], "cifar": ["cifar"]}
NAMES = list(EXPERIMENTS)


@dataclass(frozen=True)
class RunSpec:
    name: str
    params: dict
    key: str
    options: dict = field(default_factory=dict, compare=False)  # not part of the key


def run_key(name: str, params: dict, version: str) -> str:
    canonical = json.dumps({"name": name, "version": version, "params": params},
                           sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def select(only: list[str] | None) -> list[str]:
    """Run names picked by --only (group or run names); all when empty."""
    if not only:
        return list(NAMES)
    chosen: list[str] = []
    for name in only:
        names = GROUPS.get(name, [name] if name in NAMES else None)
        if names is None:
            valid = ", ".join(list(GROUPS) + [n for n in NAMES if n not in GROUPS])
            raise UserError(f"--only {name!r}: unknown experiment; valid names: {valid}")
        chosen += [n for n in names if n not in chosen]
    return [n for n in NAMES if n in chosen]


def fit_common(fit: dict, quick: bool) -> dict:
    keys = ("function", "x_range", "samples", "noise_std", "seeds", "hidden",
            "grid_points", "heldout_samples")
    return {**{k: fit[k] for k in keys}, "quick": quick}


def fit_epochs_params(values: dict, quick: bool) -> dict:
    fit = values["fit"]
    return {"sweep": "epochs", **fit_common(fit, quick),
            "lrs": [fit["epochs"]["lr"]], "epochs": sorted(fit["epochs"]["values"])}


def fit_lr_params(values: dict, quick: bool) -> dict:
    fit = values["fit"]
    return {"sweep": "lr", **fit_common(fit, quick),
            "lrs": list(fit["lr"]["values"]), "epochs": [fit["lr"]["epochs"]]}


def fit_custom_params(values: dict, quick: bool) -> dict:
    fit, custom = values["fit"], values["fit"]["custom"]
    params = fit_common(fit, quick)
    for key in ("x_range", "samples", "noise_std"):
        if key in custom:
            params[key] = custom[key]
    params.update(function=custom["function"],
                  validation_fraction=custom["validation_fraction"],
                  search=dict(custom["search"]),
                  baseline={"lr": fit["epochs"]["lr"], "epochs": fit["lr"]["epochs"],
                            "hidden": fit["hidden"]})
    return params


def cifar_params(values: dict, quick: bool, data_fingerprint: str) -> dict:
    cifar = values["cifar"]
    keys = ("phases", "batch_size", "weight_decay", "momentum", "seed", "precision")
    return {**{k: cifar[k] for k in keys}, "data_fingerprint": data_fingerprint,
            "train_subset": cifar.get("train_subset"), "test_subset": cifar.get("test_subset"),
            "quick": quick}


BUILDERS = {"fit.epochs": fit_epochs_params, "fit.lr": fit_lr_params,
            "fit.custom": fit_custom_params}


def expand(decl: Declaration, names: list[str], *, data_fingerprint: str | None = None,
           cifar_options: dict | None = None) -> list[RunSpec]:
    """The runs for `names`. cifar needs the data's fingerprint (from the preflight)."""
    specs = []
    for name in names:
        if name == "cifar":
            if data_fingerprint is None:
                continue
            params = cifar_params(decl.values, decl.quick, data_fingerprint)
            options = dict(cifar_options or {})
        else:
            params, options = BUILDERS[name](decl.values, decl.quick), {}
        specs.append(RunSpec(name, params, run_key(name, params, version(name)), options))
    return specs
