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

How the values were chosen: 10-epoch runs on the real data, seed 0, AMD EPYC,
two runs side by side on one core each (so their times are not the tool's),
final test accuracy / with the mirrored pass:

    peak lr  warm-up  crops  batch  other             final    mirrored
    0.1      1        4      128    BN zero-init      80.75    81.56
    0.1      1        2      128    BN zero-init      81.23    82.39
    0.2      2        4      128                     84.14    (a whole run, issue 14)
    0.4      2        4      128                     83.92    84.57
    0.2      2        2      128                     84.56    85.46
    0.1      2        2      64                      84.71    85.76

lr 0.2 to 0.4 is flat, 0.1 clearly worse (and 0.8 fell behind in its first
epochs, stopped); the 2-pixel border +0.4 to +0.5; a batch of 64 with half the
lr (twice the steps) +0.15, within the noise, so the course's batch stays.

Then, one change at a time from the chosen row (lr 0.2, warm-up 2, 2-pixel
crops), final / mirrored / mirrored and shifted one pixel both ways (6 views):

    change                                final   mirrored  6 views
    none, seed 1 (seed 0: the row above)  84.56   85.45     85.75
    first conv initialised to whiten      84.79   85.69     85.81
      3x3 patches (airbench's trick)
    no crops (flips only)                 84.77   85.71     86.23
    weight decay 1e-3                     84.62   85.57     86.00
    label smoothing 0.2                   84.43   85.30     85.44
    no crops, weight decay 1e-3           84.57   85.41     85.65
    fp32 instead of bf16 (twice the time) 84.58   85.81     85.87
    20 epochs (warm-up 4), for scale      86.70   87.82     87.91

Every change lands within 0.4 of the chosen schedule, as two seeds of it do of
each other, and the numerics are not the limit either: a plateau, so the
schedule stays as it is. The 6-view test pass adds 0.1 to 0.5 over the
mirrored one; not taken, as it would change the evaluation code and with it
every CIFAR run's key. The issue's target, 88 %, is not reached, and not within
reach of schedule changes: the same schedule over twice the epochs ends at
86.7 % (87.8 % mirrored).
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
