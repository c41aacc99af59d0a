"""Exercise 1's training: a batch of MLPs (one per learning rate × seed) trained together
with full-batch Adam, snapshots at chosen epochs, and checkpoints to resume bit for bit.

Snapshot at N == a separate N-epoch run, bit for bit on CPU: the training step
does not depend on how long the run is, and evaluation only reads the weights.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from lab.core.faults import hold_if_asked
from lab.exercises.fit.autograd_mlp import autograd_engine
from lab.exercises.fit.batched_mlp import BatchedAdam, BatchedMLP, initial_parameters
from lab.exercises.fit.functions import (
    seeded_generator,
)

PROGRESS_CHUNK = 100  # epochs between progress updates
# One thread: the matmuls are small (200×64×64), and with OpenMP's spinning
# threads on a shared 2-core machine a second thread made steps ~5x slower.
TRAINING_THREADS = 1
CHECKPOINT_SECONDS = 10.0  # of training between checkpoints of fit.epochs / fit.lr
# Set to N, a checkpoint every N epochs instead (whole progress chunks): tests use
# it to stop a run at a known epoch. When checkpoints happen never changes a number.
CHECKPOINT_EPOCHS_ENV = "LABREPORT_FIT_CHECKPOINT_EPOCHS"
# "autograd": train with autograd_mlp.py instead of the hand-written backward
# (bench/fit.py --impl sets it to compare the two; results agree to rounding).
IMPL_ENV = "LABREPORT_FIT_IMPL"


# --- training a batch of models ------------------------------------------------


@dataclass
class EvalSet:
    """Points every model is scored on: x, y as ``[M or 1, K, 1]``."""

    x: torch.Tensor  # float32, what the models read
    y: torch.Tensor  # float64, the targets as drawn
    keep_predictions: bool = False


@dataclass
class Snapshot:
    """The models' state at ``epochs``. ``dead_units`` is, per model, the share of its hidden
    ReLU units (all hidden layers) whose output is 0 at every one of its own training x. The
    training points, not the dense grid: they are all the full-batch gradient sees, so a unit
    dead on them gets a zero gradient (only Adam's momentum, or a change in the layer below,
    can still move it), however it behaves on the grid between them."""

    epochs: int
    seconds: float
    train_loss: np.ndarray  # [M]
    errors: dict[str, np.ndarray]  # eval name -> [M] mean squared error
    predictions: dict[str, np.ndarray]  # eval name -> [M, K] (only keep_predictions)
    dead_units: np.ndarray  # [M] share of hidden units dead on the training x (see above)


@dataclass
class Trajectory:
    lrs: list[float]  # per model
    seeds: list[int]  # per model
    losses: np.ndarray  # [E, M] training MSE of each epoch's forward pass
    snapshots: dict[int, Snapshot] = field(default_factory=dict)
    seconds: float = 0.0  # wall time of training and snapshots
    cpu_seconds: float = 0.0  # CPU time of this process meanwhile
    resumed_at: int = 0  # the epoch a checkpoint gave back (0: from the start)

    def first_nonfinite_epoch(self) -> list[int | None]:
        bad = ~np.isfinite(self.losses)
        return [int(np.argmax(bad[:, m])) + 1 if bad[:, m].any() else None for m in range(bad.shape[1])]


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


def train_models(
    hidden: list[int],
    lrs: list[float],
    seeds: list[int],
    x: torch.Tensor,
    y: torch.Tensor,
    evals: dict[str, EvalSet],
    snapshot_epochs: list[int],
    progress=None,
    checkpoints: TrainingCheckpoints | None = None,
    weight_decays: list[float] | None = None,
) -> Trajectory:
    """Train one model per (lrs[m], seeds[m]) on its x[m], y[m] (``[M, N, 1]``).

    Models with equal learning rates (and weight decays) must be consecutive. Each seed's initial
    weights come from its own "init" stream, so a model starts the same
    whatever else is in the batch. With ``checkpoints``, the run goes on from
    the last checkpoint, if any, and saves one every so often.
    """
    initial = [initial_parameters(hidden, seeded_generator(seed, "init")) for seed in seeds]
    model, optimizer = engine(initial, hidden, lrs, weight_decays or [0.0] * len(lrs))
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
                    checkpoints.save(
                        model,
                        optimizer,
                        sums,
                        TrainingSoFar(
                            epoch, snapshots, time.perf_counter() - started, time.process_time() - cpu_started
                        ),
                    )
            if target not in snapshots:  # earlier ones may come from a checkpoint
                snapshots[target] = _snapshot(model, x, y, evals, target, time.perf_counter() - started)
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    losses = (sums / x.shape[1]).numpy().astype(np.float64)
    return Trajectory(list(lrs), list(seeds), losses, snapshots, seconds, cpu_seconds, so_far.epoch)


def engine(initial: list[list[torch.Tensor]], hidden: list[int], lrs: list[float], weight_decays: list[float]):
    """The batched model and its optimizer: hand-written (default) or autograd (IMPL_ENV)."""
    if os.environ.get(IMPL_ENV, "handwritten") == "autograd":
        return autograd_engine(initial, hidden, lrs, weight_decays)
    model = BatchedMLP(initial, hidden)
    return model, BatchedAdam(model, lrs, weight_decays)


def _snapshot(model: BatchedMLP, x, y, evals: dict[str, EvalSet], epochs: int, seconds: float) -> Snapshot:
    errors, predictions = {}, {}
    for name, points in evals.items():
        predicted = model.forward(points.x)
        errors[name] = _mean_squared_error(predicted, points.y)
        if points.keep_predictions:
            predictions[name] = predicted[..., 0].numpy().astype(np.float64)
    train_loss = _mean_squared_error(model.forward(x), y)
    dead_units = model.dead_unit_share(x).numpy()
    return Snapshot(epochs, seconds, train_loss, errors, predictions, dead_units)


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

    A run of several trainings (fit.custom: `Stages`) names each one `stage`; its
    checkpoints carry the trainings already `finished`, and after each one the run
    can be held at ``NAME:STAGE:epoch:N`` (lab.core.faults), e.g. ``fit.custom:chosen:epoch:10``.
    """

    def __init__(self, ctx, stage: str = "", finished: dict[str, Trajectory] | None = None):
        self.ctx = ctx
        self.stage = stage
        self.finished = finished if finished is not None else {}
        self.every_epochs = int(os.environ.get(CHECKPOINT_EPOCHS_ENV) or 0)
        self.saved_time, self.saved_epoch = time.perf_counter(), 0

    def due(self, epoch: int) -> bool:
        if self.every_epochs:
            return epoch - self.saved_epoch >= self.every_epochs
        return time.perf_counter() - self.saved_time >= CHECKPOINT_SECONDS

    def save(self, model: BatchedMLP, optimizer: BatchedAdam, sums: torch.Tensor, so_far: TrainingSoFar) -> None:
        self.ctx.save_checkpoint(
            {
                "kind": "fit",
                "stage": self.stage,
                "finished": finished_state(self.finished),
                "epoch": so_far.epoch,
                "model": model.state(),
                "optimizer": optimizer.state(),
                "losses": sums[: so_far.epoch].clone(),
                "snapshots": {epochs: asdict(snap) for epochs, snap in so_far.snapshots.items()},
                "seconds": so_far.seconds,
                "cpu_seconds": so_far.cpu_seconds,
            }
        )
        self.saved_time, self.saved_epoch = time.perf_counter(), so_far.epoch
        if self.stage:
            hold_if_asked(f"{self.ctx.name}:{self.stage}:epoch:{so_far.epoch}")

    def restore(self, model: BatchedMLP, optimizer: BatchedAdam, sums: torch.Tensor) -> TrainingSoFar:
        """Load the last checkpoint into model, optimizer and sums; where it stood."""
        state = self.ctx.load_checkpoint()
        if state is None or (state.get("kind") == "fit" and state.get("stage", "") != self.stage):
            return TrainingSoFar()  # none, or another training's of the same run
        if not _fits(state, model, sums):
            self.ctx.progress.log("the checkpoint is not one this code wrote for this run; starting from epoch 1")
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
    return (
        state["model"]["flat"].shape == model.state()["flat"].shape
        and state["losses"].shape[1:] == sums.shape[1:]
        and 0 < state["epoch"] <= sums.shape[0]
    )


class Stages:
    """A run of several trainings under one checkpoint (fit.custom: each batch of its
    cross-validation, then the chosen setting and the course defaults).

    A finished training is kept whole in the checkpoint; the one under way is saved as
    `TrainingCheckpoints` saves any. After a restart the finished ones are given back,
    not trained again, and the one under way goes on from its last checkpoint: each
    bit for bit as in an uninterrupted run.
    """

    def __init__(self, ctx):
        self.ctx = ctx
        state = ctx.load_checkpoint()
        kept = state.get("finished") if isinstance(state, dict) and state.get("kind") == "fit" else None
        self.finished = {stage: trajectory_from(saved) for stage, saved in (kept or {}).items()}
        if self.finished:
            ctx.progress.log(f"finished before the restart, kept: {', '.join(self.finished)}")

    def train(self, stage: str, training: Callable[[TrainingCheckpoints], Trajectory]) -> Trajectory:
        """`training` (given its checkpoints) as the run's training named `stage`, unless it has finished."""
        if stage in self.finished:
            trajectory = self.finished[stage]
            self.ctx.progress.advance(trajectory.losses.shape[0])
            return trajectory
        trajectory = training(TrainingCheckpoints(self.ctx, stage, self.finished))
        self.finished[stage] = trajectory
        self.ctx.save_checkpoint({"kind": "fit", "stage": None, "finished": finished_state(self.finished)})
        return trajectory


def finished_state(finished: dict[str, Trajectory]) -> dict[str, dict]:
    return {stage: asdict(trajectory) for stage, trajectory in finished.items()}


def trajectory_from(state: dict) -> Trajectory:
    snapshots = {epochs: Snapshot(**snapshot) for epochs, snapshot in state["snapshots"].items()}
    return Trajectory(**{**state, "snapshots": snapshots})
