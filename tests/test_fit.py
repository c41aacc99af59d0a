"""Exercise 1: data, the batched MLP against autograd, snapshots, divergence, files."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from lab.core.errors import UserError
from lab.core.store import LoadedRun, RunContext
from lab.exercises.fit import batched_mlp, comparison, expr, facts, lr_facts, tables, training, tuning
from lab.exercises.fit import problem as fit_problem
from lab.exercises.fit import train as fit
from lab.exercises.fit.autograd_mlp import autograd_engine
from lab.exercises.fit.batched_mlp import BatchedAdam, BatchedMLP, initial_parameters
from lab.exercises.fit.functions import dense_grid, heldout_points, kfold_indices, seeded_generator, training_points

COURSE_F = "x**2 + 2*sin(x) + cos(x-1) - 5"


def tiny_params(**overrides) -> dict:
    params = {
        "sweep": "epochs",
        "function": COURSE_F,
        "x_range": [-5, 5],
        "samples": 32,
        "noise_std": 3.0,
        "seeds": [2019, 2020],
        "hidden": [8, 8],
        "lrs": [0.01],
        "epochs": [5, 20],
        "grid_points": 50,
        "heldout_samples": 20,
        "quick": True,
    }
    return {**params, **overrides}


def tiny_custom_params(**overrides) -> dict:
    params = tiny_params(function="(x+1)**2 + sin(x**2+1) - log(x**2+1)")
    for key in ("sweep", "lrs", "epochs"):
        params.pop(key)
    params.update(
        search={
            "folds": 4,
            "lrs": [1e-7, 0.03],
            "weight_decays": [0.0],
            "widths": [4, 8],
            "depths": [2],
            "max_epochs": 40,
            "check_every": 10,
        },
        baseline={"lr": 0.01, "epochs": 15, "hidden": [8, 8]},
    )
    return {**params, **overrides}


class RecordingProgress:
    def __init__(self):
        self.total, self.done, self.lines = None, 0, []

    def start(self, total, description=""):
        self.total = total

    def advance(self, n=1):
        self.done += n

    def update(self, completed):
        self.done = completed

    def log(self, message):
        self.lines.append(message)


def context(tmp_path, name, params) -> RunContext:
    return RunContext(name, "testkey", params, tmp_path / name, progress=RecordingProgress())


def analysed(ctx: RunContext, summary: dict) -> facts.FitAnalysis:
    """The facts the report would cite, read back from the run's folder."""
    return facts.analyse({ctx.name: LoadedRun(ctx.name, "testkey", ctx.params, ctx.dir, {"summary": summary})})


def course_function():
    return expr.parse(COURSE_F)


# --- data ----------------------------------------------------------------------


def test_training_points_are_reproducible_per_seed():
    f = course_function()
    first = training_points(f, (-5, 5), 50, 3.0, seed=2019)
    again = training_points(f, (-5, 5), 50, 3.0, seed=2019)
    other = training_points(f, (-5, 5), 50, 3.0, seed=2020)
    held = heldout_points(f, (-5, 5), 50, 3.0, seed=2019)
    assert torch.equal(first.x, again.x) and torch.equal(first.y, again.y)
    assert not torch.equal(first.x, other.x)
    assert not torch.equal(first.x, held.x)
    assert first.x.min() >= -5 and first.x.max() <= 5


def test_noise_has_the_declared_spread():
    f = expr.parse("0*x + 1")
    points = training_points(f, (0, 1), 20000, 3.0, seed=7)
    assert abs(float(points.y.mean()) - 1) < 0.1
    assert abs(float(points.y.std()) - 3.0) < 0.1


@pytest.mark.parametrize("count", [50, 53])
def test_kfold_splits_are_disjoint_and_cover_every_point(count):
    folds = kfold_indices(count, 5, seed=3)
    assert len(folds) == 5
    assert sorted(torch.cat(folds).tolist()) == list(range(count))  # disjoint and covering
    assert max(map(len, folds)) - min(map(len, folds)) <= 1
    assert all(torch.equal(a, b) for a, b in zip(folds, kfold_indices(count, 5, seed=3)))


# --- the batched model against plain PyTorch --------------------------------------


def reference_model(tensors: list[torch.Tensor], hidden: list[int]) -> nn.Sequential:
    widths = [1, *hidden, 1]
    layers = []
    for fan_in, fan_out in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
    model = nn.Sequential(*layers[:-1])
    linears = [m for m in model if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for index, linear in enumerate(linears):
            linear.weight.copy_(tensors[2 * index])
            linear.bias.copy_(tensors[2 * index + 1])
    return model


@pytest.mark.parametrize("hidden", [[5], [8, 6], [4, 7, 3], [6, 6], [4, 4, 4]])  # equal widths share buffers
def test_gradient_matches_autograd(hidden):
    seeds = [1, 2, 3]
    initial = [initial_parameters(hidden, seeded_generator(s, "init")) for s in seeds]
    batched = BatchedMLP(initial, hidden)
    x = torch.rand(3, 30, 1) * 10 - 5
    y = x**2 + torch.randn(3, 30, 1)
    sums = torch.empty(3)
    batched.loss_and_gradient(x, y, sums)
    for m in range(3):
        model = reference_model(initial[m], hidden)
        loss = nn.functional.mse_loss(model(x[m]), y[m])
        loss.backward()
        assert math.isclose(float(sums[m]) / 30, float(loss.detach()), rel_tol=1e-5)
        expected = [p.grad for p in model.parameters()]
        batched_grads = []
        for layer in batched.grads:
            batched_grads += [layer.weight[m].t(), layer.bias[m, 0]]
        for got, want in zip(batched_grads, expected):
            torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)


def test_training_matches_torch_adam():
    hidden = [8, 8]
    initial = [initial_parameters(hidden, seeded_generator(5, "init"))]
    batched = BatchedMLP(initial, hidden)
    optimizer = BatchedAdam(batched, [0.02])
    model = reference_model(initial[0], hidden)
    reference = torch.optim.Adam(model.parameters(), lr=0.02)
    x = torch.rand(1, 40, 1) * 10 - 5
    y = torch.sin(x) * 5
    sums = torch.empty(1)
    for _ in range(30):
        batched.loss_and_gradient(x, y, sums)
        optimizer.step()
        reference.zero_grad()
        nn.functional.mse_loss(model(x[0]), y[0]).backward()
        reference.step()
    for got, want in zip(batched.model_parameters(0), model.parameters()):
        torch.testing.assert_close(got, want.detach(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("decay", [0.0, 0.01])
def test_the_autograd_engine_trains_like_the_hand_written_one(decay):
    hidden = [6, 5]
    initial = [initial_parameters(hidden, seeded_generator(s, "init")) for s in (1, 2, 3)]
    lrs, decays = [0.01, 0.01, 0.05], [decay, decay, 0.0]
    x = torch.rand(3, 25, 1) * 4 - 2
    y = x**3
    batched = BatchedMLP(initial, hidden)
    optimizer = BatchedAdam(batched, lrs, decays)
    model, autograd_optimizer = autograd_engine(initial, hidden, lrs, decays)
    sums, autograd_sums = torch.empty(3), torch.empty(3)
    with torch.no_grad():  # as training.train_models runs them
        for _ in range(25):
            batched.loss_and_gradient(x, y, sums)
            optimizer.step()
            model.loss_and_gradient(x, y, autograd_sums)
            autograd_optimizer.step()
    torch.testing.assert_close(autograd_sums, sums, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(model.forward(x).detach(), batched.forward(x), rtol=1e-4, atol=1e-5)


def test_unfused_adam_matches_fused():
    hidden = [6, 6]
    initial = [initial_parameters(hidden, seeded_generator(s, "init")) for s in (1, 2)]
    x = torch.rand(2, 25, 1) * 4 - 2
    y = x**3
    results = []
    for fused in (True, False):
        batched = BatchedMLP(initial, hidden)
        optimizer = BatchedAdam(batched, [0.01, 0.05], [0.0, 0.02])
        optimizer.fused = fused
        sums = torch.empty(2)
        for _ in range(20):
            batched.loss_and_gradient(x, y, sums)
            optimizer.step()
        results.append(batched.flat.clone())
    torch.testing.assert_close(results[0], results[1], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(("hidden", "merged"), [([16, 16], True), ([7, 5], False)])
def test_one_adam_call_over_the_flat_buffers_equals_a_call_per_parameter(hidden, merged):
    """One lr and weight decay for all models: Adam runs once over the flat buffers where that
    is bit for bit a call per parameter (every parameter a whole number of 64-byte units)."""
    initial = [initial_parameters(hidden, seeded_generator(s, "init")) for s in (1, 2, 3)]
    x = torch.rand(3, 25, 1) * 4 - 2
    y = x**3
    batched, reference = BatchedMLP(initial, hidden), BatchedMLP(initial, hidden)
    optimizer = BatchedAdam(batched, [0.01] * 3, [0.02] * 3)
    assert len(optimizer.groups[0][2][0]) == (1 if merged else 2 * (len(hidden) + 1))
    state = [torch.zeros_like(reference.flat), torch.zeros_like(reference.flat), torch.zeros(())]
    sums = torch.empty(3)
    for _ in range(30):
        batched.loss_and_gradient(x, y, sums)
        optimizer.step()
        reference.loss_and_gradient(x, y, sums)
        adam_call_per_parameter(reference, hidden, *state, lr=0.01, weight_decay=0.02)
    assert torch.equal(batched.flat, reference.flat)
    assert torch.equal(optimizer.exp_avg, state[0])


def adam_call_per_parameter(model, hidden, exp_avg, exp_avg_sq, step, lr, weight_decay):
    def parameters(flat):
        return [t for layer in batched_mlp._layer_views(flat, model.models, hidden) for t in (layer.weight, layer.bias)]

    step.add_(1)
    params = parameters(model.flat)
    torch._fused_adam_(
        params,
        parameters(model.grad),
        parameters(exp_avg),
        parameters(exp_avg_sq),
        [],
        [step] * len(params),
        lr=lr,
        beta1=batched_mlp.ADAM_BETAS[0],
        beta2=batched_mlp.ADAM_BETAS[1],
        weight_decay=weight_decay,
        eps=batched_mlp.ADAM_EPS,
        amsgrad=False,
        maximize=False,
    )


# --- trajectories -----------------------------------------------------------------


def test_snapshot_equals_separate_run_bit_for_bit():
    problem = fit_problem.load_problem(tiny_params())
    long = fit_problem.sweep(problem, [8, 8], [0.01, 0.05], [2019, 2020], [7, 30])
    short = fit_problem.sweep(problem, [8, 8], [0.01, 0.05], [2019, 2020], [7])
    a, b = long.snapshots[7], short.snapshots[7]
    assert np.array_equal(a.train_loss, b.train_loss)
    for name in ("true", "heldout"):
        assert np.array_equal(a.errors[name], b.errors[name])
    assert np.array_equal(a.predictions["true"], b.predictions["true"])
    assert np.array_equal(long.losses[:7], short.losses)
    assert not np.array_equal(long.snapshots[30].errors["true"], a.errors["true"])


class StopAfter(RecordingProgress):
    """Progress that interrupts the run, as Ctrl-C would, once `epochs` are done."""

    def __init__(self, epochs):
        super().__init__()
        self.stop_at = epochs

    def advance(self, n=1):
        super().advance(n)
        if self.done >= self.stop_at:
            raise KeyboardInterrupt


def test_a_run_interrupted_after_a_checkpoint_resumes_from_it_bit_for_bit(tmp_path, monkeypatch):
    monkeypatch.setattr(training, "CHECKPOINT_SECONDS", 0.0)  # the time-based cadence: every chunk
    monkeypatch.setattr(training, "PROGRESS_CHUNK", 10)
    problem = fit_problem.load_problem(tiny_params())
    whole = fit_problem.sweep(problem, [8, 8], [0.01, 0.05], [2019, 2020], [15, 60])
    interrupted = RunContext("fit.epochs", "k", {}, tmp_path, progress=StopAfter(40))
    with pytest.raises(KeyboardInterrupt):
        fit_problem.sweep(
            problem,
            [8, 8],
            [0.01, 0.05],
            [2019, 2020],
            [15, 60],
            interrupted.progress,
            training.TrainingCheckpoints(interrupted),
        )
    again = RunContext("fit.epochs", "k", {}, tmp_path, progress=RecordingProgress())
    resumed = fit_problem.sweep(
        problem, [8, 8], [0.01, 0.05], [2019, 2020], [15, 60], again.progress, training.TrainingCheckpoints(again)
    )
    # chunks end at 10, 15 (a snapshot), 25, 35, 45: stopped at 45 before its checkpoint
    assert resumed.resumed_at == 35
    assert again.progress.lines == ["resumed at epoch 35 of 60"] and again.progress.done == 60
    assert np.array_equal(resumed.losses, whole.losses)
    for epochs in (15, 60):
        assert np.array_equal(
            resumed.snapshots[epochs].predictions["true"], whole.snapshots[epochs].predictions["true"]
        )
        assert np.array_equal(resumed.snapshots[epochs].errors["heldout"], whole.snapshots[epochs].errors["heldout"])
        assert np.array_equal(resumed.snapshots[epochs].dead_units, whole.snapshots[epochs].dead_units)


def test_a_checkpoint_of_another_run_shape_is_not_used(tmp_path):
    problem = fit_problem.load_problem(tiny_params())
    ctx = context(tmp_path, "fit.epochs", {})
    ctx.save_checkpoint({"kind": "fit", "epoch": 5, "model": {"flat": torch.zeros(3)}, "losses": torch.zeros(5, 1)})
    trajectory = fit_problem.sweep(
        problem, [8, 8], [0.01], [2019], [20], ctx.progress, training.TrainingCheckpoints(ctx)
    )
    assert trajectory.resumed_at == 0
    assert ctx.progress.lines == ["the checkpoint is not one this code wrote for this run; starting from epoch 1"]


def test_batched_run_matches_separate_runs():
    problem = fit_problem.load_problem(tiny_params())
    lrs, seeds = [0.003, 0.03], [2019, 2020]
    batched = fit_problem.sweep(problem, [8, 8], lrs, seeds, [25])
    for index, (lr, seed) in enumerate([(lr, s) for lr in lrs for s in seeds]):
        alone = fit_problem.sweep(problem, [8, 8], [lr], [seed], [25])
        np.testing.assert_allclose(batched.losses[:, index], alone.losses[:, 0], rtol=1e-4)
        np.testing.assert_allclose(
            batched.snapshots[25].errors["true"][index], alone.snapshots[25].errors["true"][0], rtol=1e-4
        )


def test_true_error_is_mse_against_the_noise_free_function_on_the_grid():
    hidden = [1]
    # f_hat(x) = relu(x) exactly: w1 = 1, b1 = 0, w2 = 1, b2 = 0
    weights = [torch.ones(1, 1), torch.zeros(1), torch.ones(1, 1), torch.zeros(1)]
    model = BatchedMLP([weights], hidden)
    params = tiny_params(function="x**2", x_range=[-1, 2], grid_points=7)
    problem = fit_problem.load_problem(params)
    x_train = training.stack_models([problem.training[2019].x])
    y_train = training.stack_models([problem.training[2019].y])
    snap = training._snapshot(model, x_train, y_train, {"true": fit_problem.grid_eval(problem)}, 0, 0.0)
    grid = np.linspace(-1, 2, 7)
    by_hand = np.mean((np.maximum(grid, 0) - grid**2) ** 2)
    assert snap.errors["true"][0] == pytest.approx(by_hand, rel=1e-6)
    np.testing.assert_allclose(snap.predictions["true"][0], np.maximum(grid, 0), atol=1e-6)


def hand_made_models() -> list[list[torch.Tensor]]:
    """Two 1 → 2 → 2 → 1 models (nn.Linear layout). In the first, hidden unit 1.0 has a bias
    far below any w·x on [-5, 5] (dead), 1.1 is x + 10 (alive), 2.0 reads 1.1 (alive), 2.1 is
    1.1 − 100 (dead): half its units are dead. In the second, 1.0 is x − 4.9, positive at
    x = 5 only, so it is alive there, and every other unit is alive too."""
    first = [
        torch.tensor([[1.0], [1.0]]),
        torch.tensor([-100.0, 10.0]),
        torch.tensor([[0.0, 1.0], [0.0, 1.0]]),
        torch.tensor([0.0, -100.0]),
        torch.ones(1, 2),
        torch.zeros(1),
    ]
    second = [
        torch.tensor([[1.0], [1.0]]),
        torch.tensor([-4.9, 10.0]),
        torch.tensor([[1.0, 1.0], [0.0, 1.0]]),
        torch.tensor([0.0, 0.0]),
        torch.ones(1, 2),
        torch.zeros(1),
    ]
    return [first, second]


def test_a_unit_is_dead_when_its_relu_is_zero_at_every_training_point():
    hidden = [2, 2]
    x = torch.linspace(-5, 5, 11).reshape(1, 11, 1).expand(2, 11, 1)
    models = hand_made_models()
    shares = BatchedMLP(models, hidden).dead_unit_share(x)
    np.testing.assert_array_equal(shares.numpy(), [0.5, 0.0])
    autograd_model, _ = autograd_engine(models, hidden, [0.01, 0.1], [0.0, 0.0])
    np.testing.assert_array_equal(autograd_model.dead_unit_share(x).numpy(), [0.5, 0.0])
    without_the_last_point = x[:, :-1]  # x = 5 was the second model's unit 1.0's only live point
    np.testing.assert_array_equal(BatchedMLP(models, hidden).dead_unit_share(without_the_last_point), [0.5, 0.25])
    snap = training._snapshot(BatchedMLP(models, hidden), x, torch.zeros_like(x), {}, 0, 0.0)
    np.testing.assert_array_equal(snap.dead_units, [0.5, 0.0])


def test_loss_epochs_are_log_spaced_and_end_at_the_last():
    epochs = tables.loss_epochs(50000)
    assert epochs[0] == 1 and epochs[-1] == 50000
    assert 150 <= len(epochs) <= 201
    assert np.all(np.diff(epochs) > 0)
    assert list(tables.loss_epochs(3)) == [1, 2, 3]


# --- whole runs: files, divergence, errors ------------------------------------------

SNAPSHOT_COLUMNS = [
    "lr",
    "epochs",
    "seed",
    "train_loss",
    "true_error",
    "heldout_error",
    "diverged",
    "diverged_epoch",
    "seconds",
    "dead_units",
]


def test_epoch_sweep_writes_the_contract_files(tmp_path):
    ctx = context(tmp_path, "fit.epochs", tiny_params(epochs=[3, 10, 30]))
    summary = fit.run(ctx)
    snapshots = pd.read_csv(ctx.dir / "snapshots.csv")
    assert list(snapshots.columns) == SNAPSHOT_COLUMNS
    assert len(snapshots) == 3 * 2
    assert list(pd.read_csv(ctx.dir / "loss.csv").columns) == ["lr", "seed", "epoch", "train_loss"]
    curves = pd.read_csv(ctx.dir / "curves.csv")
    assert list(curves.columns) == ["lr", "epochs", "seed", "y_pred"]  # x: grid.csv's, in order
    assert len(curves) == 3 * 2 * 50
    data = pd.read_csv(ctx.dir / "data.csv")
    assert list(data.columns) == ["seed", "x", "y"] and len(data) == 2 * 32
    assert list(pd.read_csv(ctx.dir / "grid.csv").columns) == ["x", "y_true"]
    rebound = pd.read_csv(ctx.dir / "rebound.csv")
    assert list(rebound.columns) == ["lr", "seed", "best_loss", "rebound"] and len(rebound) == 2
    found = analysed(ctx, summary).epoch_facts
    assert found.epochs == [3, 10, 30] and (found.longest, found.previous) == (30, 10)
    assert ctx.progress.total == 30 and ctx.progress.done == 30
    assert summary["status"] == "done" and summary["diverged"] == []


def test_a_diverging_learning_rate_is_recorded_and_the_others_go_on(tmp_path):
    ctx = context(tmp_path, "fit.lr", tiny_params(sweep="lr", lrs=[1e12, 0.01], epochs=[20]))
    summary = fit.run(ctx)
    snapshots = pd.read_csv(ctx.dir / "snapshots.csv")
    bad = snapshots[snapshots["lr"] == 1e12]
    good = snapshots[snapshots["lr"] == 0.01]
    assert bad["diverged"].eq(1).all()
    assert bad["diverged_epoch"].between(1, 20).all()
    assert good["diverged"].eq(0).all() and good["diverged_epoch"].isna().all()
    assert np.isfinite(good["true_error"]).all()
    assert summary["status"] == "diverged"
    behaviour = analysed(ctx, summary).lr_facts.behaviour
    assert (behaviour[1e12].status, behaviour[1e12].diverged_seeds) == ("diverged", 2)
    assert behaviour[0.01].diverged_seeds == 0
    # a diverged model's NaN weights have no dead share; the others' is measured, in %
    assert bad["dead_units"].isna().all() and behaviour[1e12].dead_share is None
    assert good["dead_units"].between(0, 1).all()
    assert behaviour[0.01].dead_units == pytest.approx(list(100 * good.sort_values("seed")["dead_units"]))
    assert {d["seed"] for d in summary["diverged"]} == {2019, 2020}
    loss = pd.read_csv(ctx.dir / "loss.csv")
    assert np.isfinite(loss["train_loss"]).all()
    assert (loss.loc[loss["lr"] == 1e12, "epoch"] < bad["diverged_epoch"].min()).all()


def test_a_function_undefined_on_the_range_fails_before_training(tmp_path):
    ctx = context(tmp_path, "fit.epochs", tiny_params(function="log(x)", x_range=[-1, 1]))
    with pytest.raises(UserError, match="fit.function"):
        fit.run(ctx)
    assert ctx.progress.total is None  # nothing started
    assert not (ctx.dir / "snapshots.csv").exists()


def test_custom_search_cross_validates_and_picks_the_lowest_cv_error(tmp_path):
    ctx = context(tmp_path, "fit.custom", tiny_custom_params())
    summary = fit.run_custom(ctx)
    curves = pd.read_csv(ctx.dir / "cv_curves.csv")
    # 2 lrs × 1 weight decay × 2 widths × 2 seeds × 4 folds models, checked at 10, 20, 30, 40
    assert len(curves) == 2 * 2 * 2 * 4 * 4
    search = pd.read_csv(ctx.dir / "search.csv")
    best = search.loc[search["cv_error"].idxmin()]
    chosen = summary["chosen"]
    assert (chosen["lr"], chosen["width"], chosen["epochs"]) == (best["lr"], best["width"], best["epochs"])
    assert chosen["lr"] == 0.03  # lr 1e-7 barely moves from the initial weights
    snapshots = pd.read_csv(ctx.dir / "snapshots.csv")
    assert list(snapshots.columns) == ["label", *SNAPSHOT_COLUMNS]
    assert set(snapshots["label"]) == {"chosen", "baseline"}
    assert set(snapshots.loc[snapshots["label"] == "chosen", "epochs"]) == {chosen["epochs"]}
    for name in ("loss", "curves", "data", "grid"):
        assert pd.read_csv(ctx.dir / f"{name}.csv").columns[0] == "label"
    found = analysed(ctx, summary).custom.facts
    picked = snapshots[snapshots["label"] == "chosen"].set_index("seed")["true_error"]
    defaults = snapshots[snapshots["label"] == "baseline"].set_index("seed")["true_error"]
    assert found.chosen_true_error == pytest.approx(picked.mean())
    assert found.difference == pytest.approx((picked - defaults).mean())
    assert found.wins == int((picked < defaults).sum())


def test_the_early_stopping_epoch_is_the_argmin_of_the_recorded_validation_curve(tmp_path):
    ctx = context(tmp_path, "fit.custom", tiny_custom_params())
    fit.run_custom(ctx)
    curves = pd.read_csv(ctx.dir / "cv_curves.csv")
    search = pd.read_csv(ctx.dir / "search.csv")
    for _, row in search.iterrows():
        mine = curves[(curves["lr"] == row["lr"]) & (curves["width"] == row["width"])]
        mean_curve = mine.groupby("epochs")["val_error"].mean()
        assert row["epochs"] == mean_curve.idxmin()
        assert row["cv_error"] == pytest.approx(mean_curve.min())
        at_best = mine.loc[mine["epochs"] == row["epochs"], "val_error"]
        assert row["cv_se"] == pytest.approx(at_best.std(ddof=1) / math.sqrt(len(at_best)))


def test_batched_cross_validation_equals_separate_runs():
    params = tiny_custom_params(samples=30)  # 30 points in 4 folds: fold sizes 8, 8, 7, 7
    problem = fit_problem.load_problem(params)
    space = dict(params["search"], widths=[8], lrs=[0.01, 0.03], weight_decays=[0.0, 0.01])
    curves, _ = tuning.cross_validate(problem, space, [2019, 2020])
    for lr, decay, seed, fold in [(0.01, 0.0, 2019, 0), (0.03, 0.01, 2020, 3)]:
        validation = kfold_indices(30, 4, seed)[fold]
        points = problem.training[seed]
        keep = torch.ones(30, dtype=torch.bool)
        keep[validation] = False
        alone = training.train_models(
            [8, 8],
            [lr],
            [seed],
            training.stack_models([points.x[keep]]),
            training.stack_models([points.y[keep]]),
            {
                "val": training.EvalSet(
                    training.stack_models([points.x[validation]]),
                    training.stack_models([points.y[validation]], torch.float64),
                )
            },
            [10, 20, 30, 40],
            weight_decays=[decay],
        )
        mine = curves[
            (curves["lr"] == lr)
            & (curves["weight_decay"] == decay)
            & (curves["seed"] == seed)
            & (curves["fold"] == fold)
        ].sort_values("epochs")
        expected = [alone.snapshots[e].errors["val"][0] for e in (10, 20, 30, 40)]
        np.testing.assert_allclose(mine["val_error"].to_numpy(), expected, rtol=1e-4)


@pytest.mark.parametrize(
    ("mean", "se", "expected"),
    [(-0.5, 0.1, "beat"), (-0.15, 0.1, "tie"), (0.15, 0.1, "tie"), (0.5, 0.1, "lost"), (-0.5, None, "tie")],
)
def test_the_verdict_counts_a_difference_within_two_standard_errors_as_a_tie(mean, se, expected):
    assert comparison.verdict(mean, se) == expected


SE = 0.25  # a power of two: 2 SE is exactly 0.5, and its neighbours are one float away
AT_TWO_SE, ABOVE, BELOW = 2 * SE, math.nextafter(2 * SE, 1.0), math.nextafter(2 * SE, 0.0)


@pytest.mark.parametrize(
    ("mean", "se", "expected"),
    [
        (-AT_TWO_SE, SE, "tie"),  # exactly 2 SE: still within the noise
        (AT_TWO_SE, SE, "tie"),
        (-ABOVE, SE, "beat"),  # one float beyond: a difference
        (ABOVE, SE, "lost"),
        (-BELOW, SE, "tie"),
        (BELOW, SE, "tie"),
        (-2.5 * SE, SE, "beat"),  # a rule at 3 or 4 SE would call these ties
        (2.5 * SE, SE, "lost"),
        (-10.0, float("nan"), "tie"),  # no usable SE: nothing to tell it from the noise
        (10.0, float("inf"), "tie"),
    ],
)
def test_the_verdict_rule_is_exactly_two_standard_errors(mean, se, expected):
    assert comparison.TIE_STANDARD_ERRORS == 2.0
    assert comparison.verdict(mean, se) == expected


def test_one_seed_has_no_standard_error_and_is_a_tie_however_large_the_difference():
    paired = comparison.paired_difference(pd.Series([1.0], index=[7]), pd.Series([9.0], index=[7]))
    assert (paired["seeds"], paired["mean"], paired["se"], paired["wins"]) == (1, -8.0, None, 1)
    assert paired["verdict"] == "tie"


def test_seeds_that_all_differ_alike_have_no_noise_to_hide_in():
    chosen = pd.Series([1.0, 2.0, float("inf")], index=[1, 2, 3])  # inf - inf: NaN, dropped
    baseline = pd.Series([3.0, 4.0, float("inf")], index=[1, 2, 3])
    paired = comparison.paired_difference(chosen, baseline)
    assert (paired["seeds"], paired["dropped"], paired["mean"], paired["se"]) == (2, 1, -2.0, 0.0)
    assert paired["verdict"] == "beat"


def test_a_diverged_seed_is_left_out_of_the_paired_difference():
    chosen = pd.Series([0.1, 0.3, float("nan")], index=[1, 2, 3])
    baseline = pd.Series([0.5, 0.5, 0.5], index=[1, 2, 3])
    paired = comparison.paired_difference(chosen, baseline)
    assert (paired["seeds"], paired["dropped"], paired["wins"]) == (2, 1, 2)
    assert paired["mean"] == pytest.approx(-0.3)
    assert paired["se"] == pytest.approx(0.1)  # std([-0.4, -0.2]) / sqrt(2), not / sqrt(3)


def test_choose_breaks_ties_towards_the_cheaper_setting():
    table = pd.DataFrame(
        {
            "lr": [0.01, 0.03, 0.01],
            "weight_decay": [0.0, 0.0, 0.0],
            "width": [8, 8, 16],
            "depth": [2, 2, 2],
            "units": [4, 4, 4],
            "diverged": [0, 1, 0],
            "epochs": [100, None, 100],
            "cv_error": [1.0, None, 1.0],
            "cv_se": [0.1, None, 0.1],
        }
    )
    # lr 0.03 diverged: out; widths 8 and 16 tie: the smaller network wins
    chosen = tuning.choose(table)
    assert (chosen["lr"], chosen["width"], chosen["hidden"]) == (0.01, 8, [8, 8])


def test_grid_is_noise_free_and_dense():
    grid = dense_grid(course_function(), (-5, 5), 11)
    assert torch.equal(grid.x, torch.linspace(-5, 5, 11, dtype=torch.float64))
    assert grid.y[5] == pytest.approx(2 * math.sin(0) + math.cos(-1) - 5)


def test_rebound_table_flags_a_climbing_loss_and_stops_at_divergence():
    steady = np.linspace(10, 1, 50)
    climbing = np.concatenate([np.linspace(10, 1, 25), np.full(25, 4.0)])
    exploding = np.concatenate([np.linspace(10, 5, 10), [np.inf], np.full(39, np.nan)])
    trajectory = training.Trajectory([0.01, 0.1, 1.0], [1, 1, 1], np.stack([steady, climbing, exploding], axis=1))
    steady_fact, climbing_fact, exploding_fact = tables.rebound_table(trajectory).to_dict("records")
    assert steady_fact["best_loss"] == 1 and steady_fact["rebound"] < 1
    assert climbing_fact["rebound"] == pytest.approx(4.0)
    assert exploding_fact["best_loss"] == 5 and exploding_fact["rebound"] < 1  # only the finite part
    assert trajectory.first_nonfinite_epoch() == [None, None, 11]


def test_the_oscillation_verdict_takes_the_median_seed_of_every_epoch():
    rebound = pd.DataFrame(
        {"lr": [1.0] * 3 + [0.01] * 3, "seed": [1, 2, 3] * 2, "rebound": [3.0, 2.0, 1.0, 1.0, 1.0, 1.6]}
    )
    assert lr_facts.oscillating_by_rebound(rebound, 1.0) is True
    assert lr_facts.oscillating_by_rebound(rebound, 0.01) is False  # one seed of three bounced
    assert lr_facts.oscillating_by_rebound(None, 1.0) is None  # no table: loss.csv decides


def test_curves_read_back_are_the_networks_numbers_at_the_grids_x(tmp_path):
    """curves.csv keeps y_pred as float32's shortest repr and no x: read back, each curve is the
    float32 output exactly (widened to float64) at grid.csv's points in order."""
    from lab.exercises.fit.sweep_facts import read_curves

    rng = np.random.default_rng(0)
    x = np.linspace(-5, 5, 7)
    y_pred = rng.normal(size=2 * len(x)).astype(np.float32)
    pd.DataFrame({"x": x, "y_true": x**2}).to_csv(tmp_path / "grid.csv", index=False)
    pd.DataFrame({"seed": np.repeat([1, 2], len(x)), "y_pred": y_pred}).to_csv(tmp_path / "curves.csv", index=False)
    curves = read_curves(tmp_path, pd.read_csv(tmp_path / "grid.csv"))
    assert list(curves.columns) == ["seed", "x", "y_pred"]
    assert np.array_equal(curves["x"].to_numpy(), np.tile(x, 2))
    assert np.array_equal(curves["y_pred"].to_numpy(), y_pred.astype(np.float64))
