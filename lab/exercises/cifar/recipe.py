"""How a CIFAR run trains beyond the course's phases: named variants and the per-step learning rate.

The course schedule (phases of constant lr, SGD without momentum) stays as the
handout has it. A *variant* is a named set of changes to it, declared with
``cifar.variants = ["tuned"]``; it trains the same ResNet-20 for the same epochs.

``tuned``: what fast CIFAR training does (Page's DAWNBench ResNet-9, Smith's
one-cycle, airbench) within the course's constraints, none of it costing time
per epoch (same batch, so the same images per second):

- SGD with Nesterov momentum 0.9 instead of none: the course's plain SGD moves
  ten times slower for the same lr, the main reason it needs a drop to settle;
- a linear warm-up (2 epochs, from a tenth of the peak) then a linear decay to 0
  by the last step, per step: a large lr early without BatchNorm blowing up, and
  a small one at the end, which is what the course's drop gets in one jump;
- peak lr 0.2 at batch 128 with weight decay 5e-4 (the usual ResNet-on-CIFAR
  values; a larger batch would cut the steps of only 10 epochs);
- label smoothing 0.1: less over-confidence, a fraction of a point on test.
"""

from __future__ import annotations

VARIANTS: dict[str, dict] = {
    "tuned": {
        "phases": [{"lr": 0.2, "epochs": 10}],
        "momentum": 0.9,
        "nesterov": True,
        "lr_schedule": "warmup_linear",
        "warmup_epochs": 2,
        "label_smoothing": 0.1,
    },
}


def epochs_of(params: dict) -> int:
    return sum(int(phase["epochs"]) for phase in params["phases"])


class StepLr:
    """The lr for every step: the course's phases (constant within an epoch), or
    warm-up then linear decay across the whole run (``lr_schedule = "warmup_linear"``)."""

    def __init__(self, params: dict, batches_per_epoch: int, set_lr):
        self.params = params
        self.set_lr = set_lr  # the training step's: on a CUDA graph, a device tensor's fill
        self.per_epoch = batches_per_epoch
        self.total = batches_per_epoch * epochs_of(params)
        self.step = 0

    @property
    def per_step(self) -> bool:
        return self.params.get("lr_schedule") == "warmup_linear"

    def lr_at(self, step: int) -> float:
        peak = float(self.params["phases"][0]["lr"])
        warmup = int(self.params.get("warmup_epochs", 0)) * self.per_epoch
        if step < warmup:
            return peak * (0.1 + 0.9 * step / warmup)
        return peak * max(0.0, (self.total - step) / max(1, self.total - warmup))

    def start_epoch(self, epoch: int, phase_lr: float) -> float:
        """Set the lr for the first step of `epoch` (from 1); it is the epoch's row's lr."""
        self.step = (epoch - 1) * self.per_epoch
        lr = self.lr_at(self.step) if self.per_step else phase_lr
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
