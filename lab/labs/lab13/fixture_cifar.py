"""Exercise 2's fixture run: ten epochs with a jump in accuracy at the learning-rate drop,
a confusion table and a few misclassified images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from lab.core.store import LoadedRun
from lab.exercises.cifar import EXERCISE
from lab.labs.lab13.fixture_records import finish_run

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
PHASES = [{"lr": 0.1, "epochs": 5}, {"lr": 0.01, "epochs": 5}]
CIFAR_TEST = [45.1, 57.9, 63.6, 68.2, 70.4, 82.6, 83.3, 83.6, 83.8, 83.9]
CIFAR_TRAIN = [37.8, 54.6, 62.9, 67.4, 70.1, 80.7, 82.4, 83.2, 83.7, 84.2]


def write_cifar(folder: Path, quick: bool) -> LoadedRun:
    folder.mkdir(parents=True)
    rows = []
    for i, (test, train) in enumerate(zip(CIFAR_TEST, CIFAR_TRAIN)):
        phase, lr = (1, 0.1) if i < 5 else (2, 0.01)
        rows.append(
            {
                "epoch": i + 1,
                "phase": phase,
                "lr": lr,
                "train_loss": 1.9 - 1.4 * train / 100,
                "train_acc": train,
                "test_loss": 1.8 - 1.3 * test / 100,
                "test_acc": test,
                "train_seconds": 21.5 + 0.1 * i,
                "test_seconds": 1.6,
            }
        )
    pd.DataFrame(rows).to_csv(folder / "epochs.csv", index=False)
    rng = np.random.default_rng(0)
    per_class = np.array([88.0, 93.5, 75.2, 67.1, 82.4, 76.0, 88.8, 87.3, 91.2, 89.5])
    confusion = []
    for t, name in enumerate(CLASSES):
        correct = int(per_class[t] * 10)
        wrong = rng.multinomial(1000 - correct, np.ones(9) / 9)
        others = [c for c in range(10) if c != t]
        counts = dict(zip(others, wrong))
        counts[t] = correct
        confusion += [{"true_class": name, "predicted_class": CLASSES[p], "count": int(counts[p])} for p in range(10)]
    pd.DataFrame(confusion).to_csv(folder / "confusion.csv", index=False)
    images = rng.integers(0, 256, size=(16, 32, 32, 3), dtype=np.uint8)
    true = rng.integers(0, 10, 16)
    pred = (true + 1 + rng.integers(0, 9, 16)) % 10
    np.savez(folder / "misclassified.npz", images=images, true=true, pred=pred, classes=np.array(CLASSES))
    section = dict(phases=PHASES, batch_size=128, weight_decay=5e-4, momentum=0.0, seed=0, precision="auto")
    params = EXERCISE.params("cifar", section, quick, data_fingerprint="fixture")
    summary = {"epochs": len(CIFAR_TEST)}
    return finish_run("cifar", folder, params, summary, quick=quick, duration=236.0)


def trim_cifar_to_quick(run: LoadedRun) -> dict:
    """One epoch per phase; returns the quick params."""
    epochs = pd.read_csv(run.dir / "epochs.csv")
    epochs = epochs[epochs["epoch"].isin([5, 6])].assign(epoch=[1, 2])
    epochs.to_csv(run.dir / "epochs.csv", index=False)
    return dict(run.params, phases=[{"lr": 0.1, "epochs": 1}, {"lr": 0.01, "epochs": 1}], quick=True)
