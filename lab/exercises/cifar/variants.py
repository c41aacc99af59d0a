"""Named CIFAR schedules beside the course's, declared with ``cifar.variants = ["tuned"]``.

A variant is a set of changes to the course's training parameters; it trains
the same ResNet-20 for the same number of epochs as the declared course schedule.
Its values become the run's parameters (and so its key); the code that reads
them is in lr_schedule.py, epochs.py and train.py, so changing a value here
retrains that variant only, never the course's runs.

``tuned``: what fast CIFAR training does (Page's DAWNBench ResNet-9, Smith's
one-cycle, airbench), within the course's constraints: same batch, so the same
images per second and the same time per epoch.

- SGD with Nesterov momentum 0.9 instead of none: the course's plain SGD moves
  ten times slower for the same lr, the main reason it needs a drop to settle;
- a linear warm-up over the first fifth of the epochs from a tenth of the peak,
  then a linear decay to 0 by the last step: a large lr early without
  BatchNorm blowing up, and a small one at the end, which is what the course's
  drop gets in one jump;
- peak lr 0.2 at batch 128, the course's weight decay 5e-4;
- label smoothing 0.1: less over-confidence;
- random crops from a 2-pixel border instead of 4 (airbench's translate-2): in
  ten epochs the network under-fits (train and test accuracy end level), so
  milder augmentation helps more than it over-fits;
- one more test pass at the end, each image's logits averaged with its mirror's.

How the values were chosen, run by run: docs/cifar-tuning.md.
"""

from __future__ import annotations

from lab.exercises.cifar.lr_schedule import epochs_of

PEAK_LR = 0.2
WARMUP_SHARE = 0.2  # of the epochs; at least one

VARIANTS: dict[str, dict] = {
    "tuned": {
        "momentum": 0.9,
        "nesterov": True,
        "lr_schedule": "warmup_linear",
        "label_smoothing": 0.1,
        "crop_padding": 2,
        "test_flip": True,
    },
}


def variant_params(name: str, section: dict) -> dict:
    """The changes `name` makes to the course's parameters in `section`: one phase
    over all of the course's epochs (a quick build's too)."""
    epochs = epochs_of(section)
    return {
        **VARIANTS[name],
        "phases": [{"lr": PEAK_LR, "epochs": epochs}],
        "warmup_epochs": max(1, round(WARMUP_SHARE * epochs)),
    }
