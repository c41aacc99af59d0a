"""The learning rate of every CIFAR training step, from the run's ``phases`` (validated by the
exercise's schema, read here once): the course's phases (constant within an epoch), or a
warm-up then a linear decay to 0 (``lr_schedule = "warmup_linear"``, the tuned variant's:
variants.toml)."""

from __future__ import annotations

WARMUP_START = 0.1  # the warm-up starts at this share of the peak


def epochs_of(params: dict) -> int:
    return sum(int(phase["epochs"]) for phase in params["phases"])


def epoch_schedule(phases: list[dict]) -> list[tuple[int, float]]:
    """(phase number from 1, learning rate) for every epoch, in order."""
    schedule = []
    for number, phase in enumerate(phases, start=1):
        schedule += [(number, float(phase["lr"]))] * int(phase["epochs"])
    return schedule


class StepLr:
    """The lr for every step: the course's phases (constant within an epoch), or
    warm-up then linear decay across the whole run (``lr_schedule = "warmup_linear"``)."""

    def __init__(self, params: dict, batches_per_epoch: int, set_lr=None):
        self.params = params
        self.epochs = epoch_schedule(params["phases"])  # (phase, lr) of every epoch
        self.set_lr = set_lr  # the training step's: on a CUDA graph, a device tensor's fill
        self.per_epoch = batches_per_epoch
        self.total = batches_per_epoch * len(self.epochs)
        self.step = 0

    @property
    def first_lr(self) -> float:
        """The first epoch's phase lr: what the optimizer starts with."""
        return self.epochs[0][1]

    @property
    def per_step(self) -> bool:
        return self.params.get("lr_schedule") == "warmup_linear"

    def lr_at(self, step: int) -> float:
        peak = self.first_lr
        warmup = int(self.params.get("warmup_epochs", 0)) * self.per_epoch
        if step < warmup:
            return peak * (WARMUP_START + (1 - WARMUP_START) * step / warmup)
        return peak * max(0.0, (self.total - step) / max(1, self.total - warmup))

    def start_epoch(self, epoch: int) -> float:
        """Set the lr for the first step of `epoch` (from 1); it is the epoch's row's lr."""
        self.step = (epoch - 1) * self.per_epoch
        lr = self.lr_at(self.step) if self.per_step else self.epochs[epoch - 1][1]
        self.set_lr(lr)
        return lr

    def after_batch(self, then):
        """The per-batch callback: the next step's lr, then `then()` (progress)."""
        if not self.per_step:
            return then

        def advance() -> None:
            self.step += 1
            self.set_lr(self.lr_at(self.step))
            then()

        return advance
