"""Exercise 1: fit f(x) with a small MLP — the epochs sweep, the learning-rate sweep, your own function.

Its section of the declaration is ``[fit]``; its runs are fit.epochs, fit.lr
(one batched trajectory each, `train.run`) and fit.custom (k-fold cross-validation with early stopping,
`train.run_custom`).
"""

from __future__ import annotations

import copy

from lab.core.api import Exercise
from lab.core.schema import Rule, integer, listof, number, text

X_RANGE = listof(number(-1e4, 1e4), 2, 2)
LEARNING_RATE = number(0, 1e6, low_open=True)
COMMON = ("function", "x_range", "samples", "noise_std", "seeds", "hidden", "grid_points", "heldout_samples")


class Fit(Exercise):
    name = "fit"
    report = "lab.exercises.fit.report"
    runs = {
        "fit.epochs": "lab.exercises.fit.train:run",
        "fit.lr": "lab.exercises.fit.train:run",
        "fit.custom": "lab.exercises.fit.train:run_custom",
    }
    side_by_side = True  # single-threaded and short: on a CPU they share the cores
    schema = {
        "function": text(),
        "samples": integer(10, 100_000),
        "x_range": X_RANGE,
        "noise_std": number(0, 1e3),
        "seeds": listof(integer(0, 2**32 - 1), 1, 20),
        "hidden": listof(integer(1, 1024), 1, 6),
        "grid_points": integer(10, 100_000),
        "heldout_samples": integer(10, 100_000),
        "epochs": {"values": listof(integer(1, 1_000_000), 1, 8), "lr": LEARNING_RATE},
        "lr": {"values": listof(LEARNING_RATE, 1, 8), "epochs": integer(1, 1_000_000)},
        "custom": {
            "function": text(),
            "x_range": Rule(list, items=number(-1e4, 1e4), min_items=2, max_items=2, optional=True),
            "samples": integer(10, 100_000, optional=True),
            "noise_std": number(0, 1e3, optional=True),
            "search": {
                "folds": integer(2, 20),
                "lrs": listof(LEARNING_RATE, 1, 8),
                "weight_decays": listof(number(0, 10), 1, 4),
                "widths": listof(integer(1, 1024), 1, 4),
                "depths": listof(integer(1, 6), 1, 3),
                "max_epochs": integer(1, 1_000_000),
                "check_every": integer(1, 1_000_000),
                "average": integer(1, 20),
            },
        },
    }

    def scale_down(self, section: dict) -> dict:
        fit = copy.deepcopy(section)
        fit["seeds"] = fit["seeds"][:2]
        fit["epochs"]["values"] = sorted({max(10, n // 10) for n in fit["epochs"]["values"]})
        fit["lr"]["epochs"] = max(10, fit["lr"]["epochs"] // 5)
        search = fit["custom"]["search"]
        search["max_epochs"] = max(10, search["max_epochs"] // 10)
        search["check_every"] = max(1, min(search["check_every"], search["max_epochs"] // 10))
        search["widths"] = search["widths"][:1]
        search["depths"] = search["depths"][:1]
        search["average"] = min(search["average"], 3)
        return fit

    def check(self, section: dict, runs: list[str], source: str) -> None:
        """Both functions parse and are finite on their ranges."""
        from lab.exercises.fit import expr

        checks = {"fit.function": (section["function"], section["x_range"], "fit.x_range")}
        if "fit.custom" in runs:
            custom = section["custom"]
            checks["fit.custom.function"] = (
                custom["function"],
                custom.get("x_range", section["x_range"]),
                "fit.custom.x_range",  # its own range: setting it leaves 1A and 1B as they are
            )
        for key, (function, (lo, hi), range_key) in checks.items():
            parsed = expr.parse(function, source=f"{source}: {key}")
            expr.check_domain(parsed, lo, hi, source=f"{source}: {key}", range_source=f"{source}: {range_key}")

    def params(self, run: str, section: dict, quick: bool) -> dict:
        common = {**{key: section[key] for key in COMMON}, "quick": quick}
        if run == "fit.epochs":
            return {
                "sweep": "epochs",
                **common,
                "lrs": [section["epochs"]["lr"]],
                "epochs": sorted(section["epochs"]["values"]),
            }
        if run == "fit.lr":
            return {"sweep": "lr", **common, "lrs": list(section["lr"]["values"]), "epochs": [section["lr"]["epochs"]]}
        custom = section["custom"]
        for key in ("x_range", "samples", "noise_std"):
            if key in custom:
                common[key] = custom[key]
        common.update(
            function=custom["function"],
            search=dict(custom["search"]),
            baseline={"lr": section["epochs"]["lr"], "epochs": section["lr"]["epochs"], "hidden": section["hidden"]},
        )
        return common


EXERCISE = Fit()
