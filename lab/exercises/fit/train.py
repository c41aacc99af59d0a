"""Exercise 1: fit f(x) with a small MLP (Adam, full batch, MSE).

``run`` serves fit.epochs and fit.lr: every (lr, seed) pair is one row of a
single batched model trained to the largest epochs value, with snapshots at
each epochs value. ``run_custom`` serves fit.custom: a validation search over
learning rates × epochs × widths, then the chosen setting and the course
baseline trained on all training points.

Snapshot at N == a separate N-epoch run, bit for bit on CPU: the training step
does not depend on how long the run is, and evaluation only reads the weights.
"""
from __future__ import annotations

import contextlib
import math
import os
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
import torch

from lab.core.errors import UserError
from lab.exercises.fit import expr
from lab.exercises.fit.batched_mlp import BatchedAdam, BatchedMLP, initial_parameters, parameter_count
from lab.exercises.fit.functions import (
    Points,
    dense_grid,
    heldout_points,
    seeded_generator,
    training_points,
    validation_split,
)
from lab.exercises.fit.rules import OSCILLATION_REBOUND

PROGRESS_CHUNK = 100        # epochs between progress updates
LOSS_CURVE_POINTS = 200     # log-spaced epochs kept in loss.csv (plus the last)
# One thread: the matmuls are small (200×64×64), and with OpenMP's spinning
# threads on a shared 2-core machine a second thread made steps ~5x slower.
TRAINING_THREADS = 1
CHECKPOINT_SECONDS = 10.0   # of training between checkpoints of fit.epochs / fit.lr
# Set to N, a checkpoint every N epochs instead (whole progress chunks): tests use
# it to stop a run at a known epoch. When checkpoints happen never changes a number.
CHECKPOINT_EPOCHS_ENV = "LABREPORT_FIT_CHECKPOINT_EPOCHS"


# --- training a batch of models ------------------------------------------------

@dataclass
class EvalSet:
    """Points every model is scored on: x, y as ``[M or 1, K, 1]``."""

    x: torch.Tensor                        # float32, what the models read
    y: torch.Tensor                        # float64, the targets as drawn
    keep_predictions: bool = False


@dataclass
class Snapshot:
    epochs: int
    seconds: float
    train_loss: np.ndarray                 # [M]
    errors: dict[str, np.ndarray]          # eval name -> [M] mean squared error
    predictions: dict[str, np.ndarray]     # eval name -> [M, K] (only keep_predictions)


@dataclass
class Trajectory:
    lrs: list[float]                       # per model
    seeds: list[int]                       # per model
    losses: np.ndarray                     # [E, M] training MSE of each epoch's forward pass
    snapshots: dict[int, Snapshot] = field(default_factory=dict)
    seconds: float = 0.0                   # wall time of training and snapshots
    cpu_seconds: float = 0.0               # CPU time of this process meanwhile
    resumed_at: int = 0                    # the epoch a checkpoint gave back (0: from the start)

    def first_nonfinite_epoch(self) -> list[int | None]:
        bad = ~np.isfinite(self.losses)
        return [int(np.argmax(bad[:, m])) + 1 if bad[:, m].any() else None
                for m in range(bad.shape[1])]


def stack_models(values: list[torch.Tensor], dtype=torch.float32) -> torch.Tensor:
    """Per-model vectors → ``[M, K, 1]``."""
    return torch.stack([v.to(dtype) for v in values]).unsqueeze(-1)


@dataclass
class TrainingSoFar:
    """Where a training run stands: what a checkpoint holds besides the tensors."""

    epoch: int = 0
    snapshots: dict[int, Snapshot] = field(default_factory=dict)
    seconds: float = 0.0
    cpu_seconds: float = 0.0


def train_models(hidden: list[int], lrs: list[float], seeds: list[int], x: torch.Tensor,
                 y: torch.Tensor, evals: dict[str, EvalSet], snapshot_epochs: list[int],
                 progress=None, checkpoints: TrainingCheckpoints | None = None) -> Trajectory:
    """Train one model per (lrs[m], seeds[m]) on its x[m], y[m] (``[M, N, 1]``).

    Models with equal learning rates must be consecutive. Each seed's initial
    weights come from its own "init" stream, so a model starts the same
    whatever else is in the batch. With ``checkpoints``, the run goes on from
    the last checkpoint, if any, and saves one every so often.
    """
    initial = [initial_parameters(hidden, seeded_generator(seed, "init")) for seed in seeds]
    model = BatchedMLP(initial, hidden)
    optimizer = BatchedAdam(model, lrs)
    sums = torch.empty(max(snapshot_epochs), len(seeds), dtype=torch.float32)
    so_far = checkpoints.restore(model, optimizer, sums) if checkpoints else TrainingSoFar()
    snapshots, epoch = so_far.snapshots, so_far.epoch
    with torch.no_grad(), _cpu_settings(TRAINING_THREADS):
        started = time.perf_counter() - so_far.seconds
        cpu_started = time.process_time() - so_far.cpu_seconds
        for target in sorted(set(snapshot_epochs)):
            while epoch < target:
                chunk = min(PROGRESS_CHUNK, target - epoch)
                for _ in range(chunk):
                    model.loss_and_gradient(x, y, sums[epoch])
                    optimizer.step()
                    epoch += 1
                if progress is not None:
                    progress.advance(chunk)
                if checkpoints is not None and checkpoints.due(epoch):
                    checkpoints.save(model, optimizer, sums, TrainingSoFar(
                        epoch, snapshots, time.perf_counter() - started,
                        time.process_time() - cpu_started))
            if target not in snapshots:  # earlier ones may come from a checkpoint
                snapshots[target] = _snapshot(model, x, y, evals, target, time.perf_counter() - started)
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    losses = (sums / x.shape[1]).numpy().astype(np.float64)
    return Trajectory(list(lrs), list(seeds), losses, snapshots, seconds, cpu_seconds,
                      so_far.epoch)


def _snapshot(model: BatchedMLP, x, y, evals: dict[str, EvalSet], epochs: int,
              seconds: float) -> Snapshot:
    errors, predictions = {}, {}
    for name, points in evals.items():
        predicted = model.forward(points.x)
        errors[name] = _mean_squared_error(predicted, points.y)
        if points.keep_predictions:
            predictions[name] = predicted[..., 0].numpy().astype(np.float64)
    train_loss = _mean_squared_error(model.forward(x), y)
    return Snapshot(epochs, seconds, train_loss, errors, predictions)


def _mean_squared_error(predicted: torch.Tensor, target: torch.Tensor) -> np.ndarray:
    # float64 for the metric: the grid has 1000 points and errors span decades
    difference = predicted.to(torch.float64) - target.to(torch.float64)
    return difference.square().mean(dim=(1, 2)).numpy()


@contextlib.contextmanager
def _cpu_settings(threads: int):
    """Thread count for the run, and denormals flushed to zero: Adam's moments
    of dead ReLU units decay through the denormal range, where x86 arithmetic
    is many times slower. (There is no getter; it is switched off after.)"""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)
        torch.set_num_threads(previous)


# --- checkpoints ------------------------------------------------------------------

class TrainingCheckpoints:
    """Saves a training run's state to the run's checkpoint every CHECKPOINT_SECONDS
    of work (or every N epochs, see CHECKPOINT_EPOCHS_ENV) and gives it back after
    a restart.

    The state is the weights, Adam's moments and step, the per-epoch losses and
    the snapshots so far. No random numbers are drawn while training (data and
    initial weights come from each seed's own generator, drawn again on a
    restart), so that is all a resumed run needs to go on bit for bit.
    """

    def __init__(self, ctx):
        self.ctx = ctx
        self.every_epochs = int(os.environ.get(CHECKPOINT_EPOCHS_ENV) or 0)
        self.saved_time, self.saved_epoch = time.perf_counter(), 0

    def due(self, epoch: int) -> bool:
        if self.every_epochs:
            return epoch - self.saved_epoch >= self.every_epochs
        return time.perf_counter() - self.saved_time >= CHECKPOINT_SECONDS

    def save(self, model: BatchedMLP, optimizer: BatchedAdam, sums: torch.Tensor,
             so_far: TrainingSoFar) -> None:
        self.ctx.save_checkpoint({
            "kind": "fit", "epoch": so_far.epoch,
            "model": model.state(), "optimizer": optimizer.state(),
            "losses": sums[:so_far.epoch].clone(),
            "snapshots": {epochs: asdict(snap) for epochs, snap in so_far.snapshots.items()},
            "seconds": so_far.seconds, "cpu_seconds": so_far.cpu_seconds})
        self.saved_time, self.saved_epoch = time.perf_counter(), so_far.epoch

    def restore(self, model: BatchedMLP, optimizer: BatchedAdam,
                sums: torch.Tensor) -> TrainingSoFar:
        """Load the last checkpoint into model, optimizer and sums; where it stood."""
        state = self.ctx.load_checkpoint()
        if state is None:
            return TrainingSoFar()
        if not _fits(state, model, sums):
            self.ctx.progress.log("the checkpoint is not one this code wrote for this run; "
                                  "starting from epoch 1")
            return TrainingSoFar()
        model.load_state(state["model"])
        optimizer.load_state(state["optimizer"])
        epoch = state["epoch"]
        sums[:epoch] = state["losses"]
        self.saved_epoch = epoch
        self.ctx.progress.advance(epoch)
        self.ctx.progress.log(f"resumed at epoch {epoch} of {sums.shape[0]}")
        snapshots = {epochs: Snapshot(**snap) for epochs, snap in state["snapshots"].items()}
        return TrainingSoFar(epoch, snapshots, state["seconds"], state["cpu_seconds"])


def _fits(state: dict, model: BatchedMLP, sums: torch.Tensor) -> bool:
    """Is `state` a fit checkpoint for a model and run of these sizes?

    (The run's folder is keyed by the hash of this code, so it was written by it.)"""
    if state.get("kind") != "fit":
        return False
    return (state["model"]["flat"].shape == model.flat.shape
            and state["losses"].shape[1:] == sums.shape[1:]
            and 0 < state["epoch"] <= sums.shape[0])


# --- data ---------------------------------------------------------------------

@dataclass
class Problem:
    """The function, its grid, and each seed's training and held-out points."""

    function: expr.Expression
    grid: Points
    training: dict[int, Points]
    heldout: dict[int, Points]


def load_problem(params: dict, function_key: str = "fit.function",
                 range_key: str = "fit.x_range") -> Problem:
    """Parse and check f, then draw every seed's data; UserError on a bad f
    naming the declaration keys it came from."""
    function = expr.parse(params["function"], source=function_key)
    lo, hi = (float(v) for v in params["x_range"])
    expr.check_domain(function, lo, hi, source=function_key, range_source=range_key)
    grid = dense_grid(function, (lo, hi), int(params["grid_points"]))
    training, heldout = {}, {}
    for seed in params["seeds"]:
        training[seed] = training_points(function, (lo, hi), int(params["samples"]),
                                         float(params["noise_std"]), seed)
        heldout[seed] = heldout_points(function, (lo, hi), int(params["heldout_samples"]),
                                       float(params["noise_std"]), seed)
    for name, points in [("grid", grid), *((f"seed {s}", p) for s, p in training.items()),
                         *((f"seed {s} held-out", p) for s, p in heldout.items())]:
        if not torch.isfinite(points.y).all():
            raise UserError(f"{function_key}: {function.text!r} is not finite at some "
                            f"of the {name} points in [{lo:g}, {hi:g}]; change f or {range_key}")
    return Problem(function, grid, training, heldout)


def grid_eval(problem: Problem) -> EvalSet:
    grid = problem.grid
    return EvalSet(stack_models([grid.x]), stack_models([grid.y], torch.float64),
                   keep_predictions=True)


def per_seed_eval(points: dict[int, Points], seeds: list[int]) -> EvalSet:
    return EvalSet(stack_models([points[s].x for s in seeds]),
                   stack_models([points[s].y for s in seeds], torch.float64))


# --- tables ---------------------------------------------------------------------

def snapshot_table(trajectory: Trajectory) -> pd.DataFrame:
    """snapshots.csv rows: one per (lr, epochs, seed)."""
    first_bad = trajectory.first_nonfinite_epoch()
    rows = []
    for epochs, snap in sorted(trajectory.snapshots.items()):
        for m, (lr, seed) in enumerate(zip(trajectory.lrs, trajectory.seeds)):
            metrics = [snap.train_loss[m], snap.errors["true"][m], snap.errors["heldout"][m]]
            diverged_at = _diverged_epoch(first_bad[m], epochs, metrics)
            rows.append({
                "lr": lr, "epochs": epochs, "seed": seed,
                "train_loss": _finite_or_nan(snap.train_loss[m]),
                "true_error": _finite_or_nan(snap.errors["true"][m]),
                "heldout_error": _finite_or_nan(snap.errors["heldout"][m]),
                "diverged": int(diverged_at is not None),
                "diverged_epoch": diverged_at,
                "seconds": round(snap.seconds, 4),
            })
    table = pd.DataFrame(rows)
    table["diverged_epoch"] = table["diverged_epoch"].astype("Int64")
    return table


def _diverged_epoch(first_bad: int | None, epochs: int, metrics) -> int | None:
    """The epoch whose loss first went NaN/inf, if by ``epochs``; a snapshot
    whose weights are already non-finite counts as diverged at ``epochs``."""
    if first_bad is not None and first_bad <= epochs:
        return first_bad
    if not all(math.isfinite(float(v)) for v in metrics):
        return epochs
    return None


def _finite_or_nan(value) -> float:
    value = float(value)
    return value if math.isfinite(value) else float("nan")


def loss_epochs(total: int, points: int = LOSS_CURVE_POINTS) -> np.ndarray:
    """About ``points`` log-spaced epochs in 1..total, always including the last."""
    spaced = np.unique(np.round(np.logspace(0, math.log10(total), points)).astype(int))
    return np.union1d(spaced[(spaced >= 1) & (spaced <= total)], [total])


def loss_table(trajectory: Trajectory) -> pd.DataFrame:
    """loss.csv rows: thinned training loss per (lr, seed); finite values only."""
    epochs = loss_epochs(trajectory.losses.shape[0])
    frames = []
    for m, (lr, seed) in enumerate(zip(trajectory.lrs, trajectory.seeds)):
        losses = trajectory.losses[epochs - 1, m]
        keep = np.isfinite(losses)
        frames.append(pd.DataFrame({"lr": lr, "seed": seed, "epoch": epochs[keep],
                                    "train_loss": losses[keep]}))
    return pd.concat(frames, ignore_index=True)


def curve_table(trajectory: Trajectory, grid: Points) -> pd.DataFrame:
    """curves.csv rows: the learnt curve on the grid per (lr, epochs, seed)."""
    x = grid.x.numpy()
    frames = []
    for epochs, snap in sorted(trajectory.snapshots.items()):
        for m, (lr, seed) in enumerate(zip(trajectory.lrs, trajectory.seeds)):
            frames.append(pd.DataFrame({"lr": lr, "epochs": epochs, "seed": seed, "x": x,
                                        "y_pred": snap.predictions["true"][m]}))
    return pd.concat(frames, ignore_index=True)


def data_table(training: dict[int, Points]) -> pd.DataFrame:
    return pd.concat([pd.DataFrame({"seed": seed, "x": p.x.numpy(), "y": p.y.numpy()})
                      for seed, p in training.items()], ignore_index=True)


def grid_table(grid: Points) -> pd.DataFrame:
    return pd.DataFrame({"x": grid.x.numpy(), "y_true": grid.y.numpy()})


# --- facts for the summary ------------------------------------------------------

def _stats(values) -> dict:
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not finite:
        return {"mean": None, "std": None, "n": 0}
    std = float(np.std(finite, ddof=1)) if len(finite) > 1 else 0.0
    return {"mean": float(np.mean(finite)), "std": std, "n": len(finite)}


def setting_summaries(snapshots: pd.DataFrame) -> list[dict]:
    """Mean ± std over seeds (diverged seeds left out) per (lr, epochs)."""
    settings = []
    for (lr, epochs), rows in snapshots.groupby(["lr", "epochs"], sort=True):
        fine = rows[rows["diverged"] == 0]
        settings.append({
            "lr": float(lr), "epochs": int(epochs),
            "true_error": _stats(fine["true_error"]),
            "heldout_error": _stats(fine["heldout_error"]),
            "train_loss": _stats(fine["train_loss"]),
            "diverged_seeds": [int(s) for s in rows.loc[rows["diverged"] == 1, "seed"]],
        })
    return settings


def diverged_list(snapshots: pd.DataFrame) -> list[dict]:
    """Each (lr, seed) that diverged, with the epoch (from its longest snapshot)."""
    last = snapshots[snapshots["epochs"] == snapshots["epochs"].max()]
    return [{"lr": float(r.lr), "seed": int(r.seed), "epoch": int(r.diverged_epoch)}
            for r in last.itertuples() if r.diverged]


def loss_behaviour(trajectory: Trajectory) -> list[dict]:
    """Per model: how non-monotone its per-epoch loss is, up to any divergence.

    rise_fraction: share of epochs whose loss is above the previous epoch's.
    rebound: the largest ratio of a loss to the best loss seen before it.
    """
    out = []
    for m, (lr, seed) in enumerate(zip(trajectory.lrs, trajectory.seeds)):
        losses = trajectory.losses[:, m]
        finite = losses[: np.argmax(~np.isfinite(losses))] if not np.isfinite(losses).all() else losses
        if finite.size < 2:
            out.append({"lr": lr, "seed": seed, "rise_fraction": None, "rebound": None})
            continue
        best_before = np.minimum.accumulate(finite)[:-1]
        out.append({"lr": lr, "seed": seed,
                    "rise_fraction": float(np.mean(np.diff(finite) > 0)),
                    "rebound": float(np.max(finite[1:] / np.maximum(best_before, 1e-300)))})
    return out


def lr_facts(trajectory: Trajectory, snapshots: pd.DataFrame) -> list[dict]:
    """Per learning rate: diverged seeds, how non-monotone the loss curves are
    (see loss_behaviour) and whether that counts as oscillating."""
    behaviour = pd.DataFrame(loss_behaviour(trajectory))
    last = snapshots[snapshots["epochs"] == snapshots["epochs"].max()]
    facts = []
    for lr, rows in behaviour.groupby("lr", sort=True):
        rise = rows["rise_fraction"].dropna()
        rebound = rows["rebound"].dropna()
        diverged = last[(last["lr"] == lr) & (last["diverged"] == 1)]
        rise_mean = float(rise.mean()) if len(rise) else None
        rebound_max = float(rebound.max()) if len(rebound) else None
        rebound_median = float(rebound.median()) if len(rebound) else None
        facts.append({
            "lr": float(lr),
            "diverged_seeds": [int(s) for s in diverged["seed"]],
            "rise_fraction_mean": rise_mean,
            "rebound_median": rebound_median,
            "rebound_max": rebound_max,
            "oscillating": bool((rebound_median or 0) >= OSCILLATION_REBOUND),
        })
    return facts


def longest_run_facts(snapshots: pd.DataFrame) -> dict | None:
    """Did the longest run's true error rise vs the previous snapshot while its
    training loss fell (fitting the noise)? Means over non-diverged seeds."""
    epochs = sorted(snapshots["epochs"].unique())
    if len(epochs) < 2:
        return None
    longest, previous = int(epochs[-1]), int(epochs[-2])
    fine = snapshots.groupby("seed")["diverged"].max()
    fine_seeds = fine[fine == 0].index
    rows = snapshots[snapshots["seed"].isin(fine_seeds)]
    if rows.empty:
        return None
    at = {n: rows[rows["epochs"] == n].set_index(["lr", "seed"]) for n in (longest, previous)}
    true_delta = at[longest]["true_error"] - at[previous]["true_error"]
    facts = {
        "epochs": longest, "previous_epochs": previous,
        "true_error": float(at[longest]["true_error"].mean()),
        "previous_true_error": float(at[previous]["true_error"].mean()),
        "train_loss": float(at[longest]["train_loss"].mean()),
        "previous_train_loss": float(at[previous]["train_loss"].mean()),
        "seeds_true_error_rose": int((true_delta > 0).sum()),
        "seeds": int(len(true_delta)),
    }
    facts["true_error_rose"] = facts["true_error"] > facts["previous_true_error"]
    facts["train_loss_fell"] = facts["train_loss"] < facts["previous_train_loss"]
    facts["overfitting"] = facts["true_error_rose"] and facts["train_loss_fell"]
    return facts


def _timing(trajectories: list[Trajectory], started: float) -> dict:
    seed_epochs = sum(t.losses.size for t in trajectories)
    train = sum(t.seconds for t in trajectories)
    return {"train_seconds": round(train, 3), "total_seconds": round(time.perf_counter() - started, 3),
            "train_cpu_seconds": round(sum(t.cpu_seconds for t in trajectories), 3),
            "seed_epochs": int(seed_epochs),
            "seed_epochs_per_second": round(seed_epochs / train, 1) if train > 0 else None,
            "threads": TRAINING_THREADS, "compute_device": "cpu",
            "resumed_at_epoch": max(t.resumed_at for t in trajectories)}


# --- fit.epochs and fit.lr -------------------------------------------------------

def sweep(problem: Problem, hidden: list[int], lrs: list[float], seeds: list[int],
          epochs: list[int], progress=None,
          checkpoints: TrainingCheckpoints | None = None) -> Trajectory:
    """All lrs × seeds as one batched model, snapshots at each epochs value."""
    models_lr = [lr for lr in lrs for _ in seeds]
    models_seed = [seed for _ in lrs for seed in seeds]
    x = stack_models([problem.training[s].x for s in models_seed])
    y = stack_models([problem.training[s].y for s in models_seed])
    evals = {"true": grid_eval(problem), "heldout": per_seed_eval(problem.heldout, models_seed)}
    return train_models(hidden, models_lr, models_seed, x, y, evals, epochs, progress,
                        checkpoints)


def run(ctx) -> dict:
    """fit.epochs / fit.lr: one batched trajectory, snapshots at each epochs value."""
    started = time.perf_counter()
    params = ctx.params
    problem = load_problem(params)
    lrs, seeds, epochs = _floats(params["lrs"]), _ints(params["seeds"]), _ints(params["epochs"])
    hidden = _ints(params["hidden"])
    ctx.progress.start(max(epochs), f"{len(lrs)} lr × {len(seeds)} seeds, {max(epochs)} epochs")
    trajectory = sweep(problem, hidden, lrs, seeds, epochs, ctx.progress, TrainingCheckpoints(ctx))
    snapshots = snapshot_table(trajectory)
    ctx.write_table("snapshots.csv", snapshots)
    ctx.write_table("loss.csv", loss_table(trajectory))
    ctx.write_table("curves.csv", curve_table(trajectory, problem.grid))
    ctx.write_table("data.csv", data_table(problem.training))
    ctx.write_table("grid.csv", grid_table(problem.grid))
    summary = {
        "sweep": params.get("sweep"), "function": problem.function.text,
        "settings": setting_summaries(snapshots), "diverged": diverged_list(snapshots),
        "lrs": lr_facts(trajectory, snapshots),
        "timings": _timing([trajectory], started),
    }
    summary["status"] = "diverged" if summary["diverged"] else "done"  # the runner shows it
    summary["diverged_lrs"] = [f["lr"] for f in summary["lrs"] if f["diverged_seeds"]]
    summary["oscillating_lrs"] = [f["lr"] for f in summary["lrs"] if f["oscillating"]]
    if params.get("sweep") == "epochs" or len(epochs) > 1:
        summary["longest"] = longest_run_facts(snapshots)
    ctx.progress.log(f"{trajectory.losses.size} seed-epochs in {trajectory.seconds:.1f} s; "
                     f"diverged: {len(summary['diverged'])}, oscillating lrs: "
                     f"{summary['oscillating_lrs'] or 'none'}")
    return _json_safe(summary)


# --- fit.custom --------------------------------------------------------------------

def search(problem: Problem, hidden_depth: int, space: dict, seeds: list[int],
           fraction: float, progress=None) -> tuple[pd.DataFrame, list[Trajectory]]:
    """Every lr × epochs × width on the fit part of each seed's training points,
    scored on the validation part. One batched model per width; epochs are
    snapshots. Returns the search table (search.csv) and the trajectories."""
    lrs, epochs, widths = _floats(space["lrs"]), _ints(space["epochs"]), _ints(space["widths"])
    splits = {s: validation_split(len(problem.training[s]), fraction, s) for s in seeds}
    fit = {s: problem.training[s].subset(splits[s][0]) for s in seeds}
    validation = {s: problem.training[s].subset(splits[s][1]) for s in seeds}
    # the validation part stands in the held-out slot: scored, never trained on
    fit_problem = Problem(problem.function, problem.grid, fit, validation)
    rows, trajectories = [], []
    for width in widths:
        trajectory = sweep(fit_problem, [width] * hidden_depth, lrs, seeds, epochs, progress)
        trajectories.append(trajectory)
        table = snapshot_table(trajectory).rename(columns={"heldout_error": "val_error"})
        table.insert(2, "width", width)
        rows.append(table[["lr", "epochs", "width", "seed", "train_loss", "val_error",
                           "true_error", "diverged"]])
    return pd.concat(rows, ignore_index=True), trajectories


def choose(search_table: pd.DataFrame, hidden_depth: int) -> dict:
    """The setting with the lowest mean validation error over seeds; a setting
    with any diverged seed is out; ties go to the cheaper (epochs × weights)."""
    candidates = []
    for (lr, epochs, width), rows in search_table.groupby(["lr", "epochs", "width"]):
        if rows["diverged"].any() or rows["val_error"].isna().any():
            continue
        cost = int(epochs) * parameter_count([int(width)] * hidden_depth)
        candidates.append((float(rows["val_error"].mean()), cost, float(lr), int(epochs), int(width)))
    if not candidates:
        raise UserError("fit.custom.search: every setting diverged (NaN/inf loss); add smaller "
                        "learning rates to fit.custom.search.lrs, or use a function with smaller values")
    best = min(candidates)
    return {"lr": best[2], "epochs": best[3], "width": best[4],
            "hidden": [best[4]] * hidden_depth, "val_error": best[0]}


def search_facts(search_table: pd.DataFrame, chosen: dict) -> dict:
    """How much the validation score can tell settings apart.

    The validation error carries the noise variance plus sampling noise; when
    the spread of mean validation errors across settings is within a couple of
    standard errors, the choice among them is close to a coin toss. The
    setting with the lowest true error on the search (which needs the noise-free
    f, so only the tool can know it) shows what a perfect choice would give.
    """
    settings = search_table[search_table["diverged"] == 0].groupby(["lr", "epochs", "width"])
    means = settings[["val_error", "true_error"]].mean()
    picked = search_table[(search_table["lr"] == chosen["lr"])
                          & (search_table["epochs"] == chosen["epochs"])
                          & (search_table["width"] == chosen["width"])]
    standard_error = float(picked["val_error"].std(ddof=1) / math.sqrt(len(picked))) \
        if len(picked) > 1 else None
    lr, epochs, width = means["true_error"].idxmin()
    return {
        "settings": int(len(means)),
        "val_error_range": [float(means["val_error"].min()), float(means["val_error"].max())],
        "chosen_val_standard_error": standard_error,
        "best_by_true_error": {"lr": float(lr), "epochs": int(epochs), "width": int(width),
                               "true_error": float(means["true_error"].min())},
        "chosen_search_true_error": float(picked["true_error"].mean()),
    }


def run_custom(ctx) -> dict:
    """fit.custom: tune on a validation split, then train chosen and baseline."""
    started = time.perf_counter()
    params = ctx.params
    problem = load_problem(params, "fit.custom.function", "fit.custom.x_range (or fit.x_range)")
    seeds, depth = _ints(params["seeds"]), len(params["hidden"])
    space, baseline = params["search"], params["baseline"]
    ctx.progress.start(_custom_total_epochs(params), "search, then chosen and baseline")
    search_table, search_runs = search(problem, depth, space, seeds,
                                       float(params["validation_fraction"]), ctx.progress)
    chosen = choose(search_table, depth)
    ctx.progress.log(f"chose lr={chosen['lr']:g}, epochs={chosen['epochs']}, "
                     f"width={chosen['width']} (validation MSE {chosen['val_error']:.4g})")
    final_runs = {
        "chosen": sweep(problem, chosen["hidden"], [chosen["lr"]], seeds, [chosen["epochs"]],
                        ctx.progress),
        "baseline": sweep(problem, _ints(baseline["hidden"]), [float(baseline["lr"])], seeds,
                          [int(baseline["epochs"])], ctx.progress),
    }
    ctx.write_table("search.csv", search_table)
    tables = {name: _labelled(final_runs, problem, name) for name in
              ("snapshots", "loss", "curves", "data", "grid")}
    for name, table in tables.items():
        ctx.write_table(f"{name}.csv", table)
    snapshots = tables["snapshots"]
    chosen_error = _stats(snapshots.loc[(snapshots["label"] == "chosen") & (snapshots["diverged"] == 0),
                                        "true_error"])
    baseline_error = _stats(snapshots.loc[(snapshots["label"] == "baseline") & (snapshots["diverged"] == 0),
                                          "true_error"])
    summary = {
        "function": problem.function.text,
        "chosen": {k: chosen[k] for k in ("lr", "epochs", "width", "hidden")},
        "chosen_val_error": chosen["val_error"],
        "chosen_true_error": chosen_error,
        "baseline": {"lr": float(baseline["lr"]), "epochs": int(baseline["epochs"]),
                     "hidden": _ints(baseline["hidden"]), "true_error": baseline_error},
        "improvement": (baseline_error["mean"] / chosen_error["mean"]
                        if baseline_error["mean"] and chosen_error["mean"] else None),
        "search": {**search_facts(search_table, chosen),
                   "diverged_settings": _diverged_settings(search_table),
                   "space": {"lrs": _floats(space["lrs"]), "epochs": _ints(space["epochs"]),
                             "widths": _ints(space["widths"])}},
        "diverged": [dict(d, label=label) for label, run in final_runs.items()
                     for d in diverged_list(snapshot_table(run))],
        "timings": _timing([*search_runs, *final_runs.values()], started),
    }
    summary["status"] = "diverged" if summary["diverged"] else "done"
    ctx.progress.update(_custom_total_epochs(params))  # the chosen run may be shorter than planned
    ctx.progress.log(f"true error {chosen_error['mean']:.4g} (chosen) vs "
                     f"{baseline_error['mean']:.4g} (baseline)")
    return _json_safe(summary)


def _custom_total_epochs(params: dict) -> int:
    space = params["search"]
    return (max(space["epochs"]) * len(space["widths"]) + int(params["baseline"]["epochs"])
            + max(space["epochs"]))


LABELLED_TABLES = {
    "snapshots": lambda trajectory, problem: snapshot_table(trajectory),
    "loss": lambda trajectory, problem: loss_table(trajectory),
    "curves": lambda trajectory, problem: curve_table(trajectory, problem.grid),
    "data": lambda trajectory, problem: data_table(problem.training),
    "grid": lambda trajectory, problem: grid_table(problem.grid),
}


def _labelled(runs: dict[str, Trajectory], problem: Problem, name: str) -> pd.DataFrame:
    frames = []
    for label, trajectory in runs.items():
        table = LABELLED_TABLES[name](trajectory, problem)
        table.insert(0, "label", label)
        frames.append(table)
    return pd.concat(frames, ignore_index=True)


def _diverged_settings(search_table: pd.DataFrame) -> list[dict]:
    bad = search_table[search_table["diverged"] == 1]
    return [{"lr": float(lr), "epochs": int(e), "width": int(w), "seeds": int(len(rows))}
            for (lr, e, w), rows in bad.groupby(["lr", "epochs", "width"])]


# --- small helpers -----------------------------------------------------------------

def _floats(values) -> list[float]:
    return [float(v) for v in values]


def _ints(values) -> list[int]:
    return [int(v) for v in values]


def _json_safe(value):
    """NaN/inf → None and numpy scalars → Python, so record.json stays valid JSON."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.bool_):
        return bool(value)
    return value
