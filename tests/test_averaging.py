"""1C's averaged candidate: the mean of k networks, each from its own initial weights.

Checked against networks trained alone (one model per call), averaged here."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from lab.exercises.fit import averaging, training, tuning
from lab.exercises.fit import problem as fit_problem
from lab.exercises.fit import train as fit
from lab.exercises.fit.batched_mlp import initial_parameters
from lab.exercises.fit.functions import kfold_indices, seeded_generator
from tests.test_fit import context, tiny_custom_params

SETTING = {"lr": 0.03, "weight_decay": 0.001, "width": 8, "depth": 2}
NETWORKS = 3


def alone(seed: int, x, y, evals: dict, epochs: list[int]) -> training.Trajectory:
    stacked = {
        name: training.EvalSet(training.stack_models([vx]), training.stack_models([vy], torch.float64), True)
        for name, (vx, vy) in evals.items()
    }
    return training.train_models(
        [SETTING["width"]] * SETTING["depth"],
        [SETTING["lr"]],
        [seed],
        training.stack_models([x]),
        training.stack_models([y]),
        stacked,
        epochs,
        weight_decays=[SETTING["weight_decay"]],
    )


def test_member_0_starts_as_the_single_network_and_every_member_differently():
    seeds = averaging.member_seeds([2019, 2020], NETWORKS)
    assert seeds[0] == 2019 and seeds[NETWORKS] == 2020
    assert len(set(seeds)) == 2 * NETWORKS
    starts = [initial_parameters([8], seeded_generator(s, "init"))[0] for s in seeds[:NETWORKS]]
    assert not torch.equal(starts[0], starts[1]) and not torch.equal(starts[1], starts[2])


def test_the_averaged_cv_error_is_the_error_of_the_mean_of_networks_trained_alone():
    params = tiny_custom_params(samples=30)  # 4 folds of 8, 8, 7, 7 points: two batches
    problem = fit_problem.load_problem(params)
    units = tuning.folds_of(problem, [2019, 2020], 4)
    rows, _ = averaging.cross_validate_average(problem, units, SETTING, NETWORKS, [10, 20])
    assert set(rows["networks"]) == {NETWORKS} and len(rows) == 2 * 4 * 2
    for seed, fold in [(2019, 0), (2020, 3)]:
        validation = kfold_indices(30, 4, seed)[fold]
        points = problem.training[seed]
        keep = torch.ones(30, dtype=torch.bool)
        keep[validation] = False
        members = [
            alone(
                member, points.x[keep], points.y[keep], {"val": (points.x[validation], points.y[validation])}, [10, 20]
            )
            for member in averaging.member_seeds([seed], NETWORKS)
        ]
        for epochs in (10, 20):
            mean = np.mean([m.snapshots[epochs].predictions["val"][0] for m in members], axis=0)
            expected = np.mean((mean - points.y[validation].numpy()) ** 2)
            [got] = rows[(rows["seed"] == seed) & (rows["fold"] == fold) & (rows["epochs"] == epochs)]["val_error"]
            assert got == pytest.approx(expected, rel=1e-4)
            single = members[0].snapshots[epochs].errors["val"][0]
            assert got != pytest.approx(single, rel=1e-4)  # the mean, not its first member


def test_a_chosen_average_is_retrained_as_k_networks_per_seed_and_scored_as_their_mean():
    params = tiny_custom_params()
    problem = fit_problem.load_problem(params)
    chosen = {**SETTING, "hidden": [8, 8], "epochs": 20, "networks": NETWORKS}
    trainings = fit.final_trainings(problem, chosen, params["baseline"], [2019, 2020], None)
    members = trainings["chosen"](None)
    assert len(members.seeds) == 2 * NETWORKS
    mean_model = averaging.averaged(members, problem, [2019, 2020], NETWORKS)
    grid = problem.grid
    for i, seed in enumerate([2019, 2020]):
        points = problem.training[seed]
        runs = [
            alone(member, points.x, points.y, {"true": (grid.x, grid.y)}, [20])
            for member in averaging.member_seeds([seed], NETWORKS)
        ]
        mean = np.mean([r.snapshots[20].predictions["true"][0] for r in runs], axis=0)
        expected = np.mean((mean - grid.y.numpy()) ** 2)
        assert mean_model.snapshots[20].errors["true"][i] == pytest.approx(expected, rel=1e-4)
        assert mean_model.snapshots[20].predictions["true"][i] == pytest.approx(mean, rel=1e-4, abs=1e-5)


def test_the_search_adds_the_mean_of_k_networks_of_its_best_setting_and_chooses_by_cv_error(tmp_path):
    params = tiny_custom_params()
    params["search"]["average"] = NETWORKS
    ctx = context(tmp_path, "fit.custom", params)
    summary = fit.run_custom(ctx)
    search = pd.read_csv(ctx.dir / "search.csv")
    singles, means = search[search["networks"] == 1], search[search["networks"] == NETWORKS]
    assert len(singles) == 4 and len(means) == 1  # 2 lrs × 2 widths, then one averaged candidate
    best_single = singles.loc[singles["cv_error"].idxmin()]
    assert (means.iloc[0]["lr"], means.iloc[0]["width"]) == (best_single["lr"], best_single["width"])
    best = search.loc[search["cv_error"].idxmin()]
    assert summary["chosen"]["networks"] == best["networks"]
    snapshots = pd.read_csv(ctx.dir / "snapshots.csv")
    assert len(snapshots[snapshots["label"] == "chosen"]) == 2  # one (averaged) model per seed
