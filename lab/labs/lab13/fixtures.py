"""Small but realistic run folders in the contract formats, for report tests and the render benchmark.

Nothing here trains: the numbers follow the shapes real runs show (under-fitting at
100 epochs, the noise being fitted at 50000, lr = 1 diverging, a jump in CIFAR accuracy
at the learning-rate drop), so every branch of the analysis and the answers is exercised.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from lab.core.store import LoadedRun

STUDENT = Path(__file__).with_name("fixture_student.toml")
SEEDS = [2019, 2020, 2021]
FUNCTION = "x**2 + 2*sin(x) + cos(x-1) - 5"
CUSTOM_FUNCTION = "(x+1)**2 + sin(x**2+1) - log(x**2+1)"
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
GRID_POINTS = 200
SAMPLES = 200
NOISE_STD = 3.0

# (lr, epochs) -> target true error (MSE against f on the grid) and final training loss
EPOCH_SWEEP = {100: (25.0, 31.0), 1000: (0.55, 9.4), 10000: (0.38, 8.7), 50000: (1.3, 7.6)}
LR_SWEEP = {1.0: (None, None), 0.1: (0.9, 9.0), 0.01: (0.55, 9.4), 0.001: (6.5, 15.0)}
DIVERGED_SEEDS_AT_LR1 = {2019: 37, 2020: 52}  # seed 2021 oscillates instead

CIFAR_TEST = [45.1, 57.9, 63.6, 68.2, 70.4, 82.6, 83.3, 83.6, 83.8, 83.9]
CIFAR_TRAIN = [37.8, 54.6, 62.9, 67.4, 70.1, 80.7, 82.4, 83.2, 83.7, 84.2]


@dataclass
class FixtureDeclaration:
    """Same attributes as lab.core.declaration.Declaration, without reading a file."""

    values: dict
    path: Path
    folder: Path
    quick: bool = False
    overrides: list = field(default_factory=list)

    @property
    def sha256(self) -> str:
        canonical = json.dumps(self.values, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()

    def resolve(self, relative: str) -> Path:
        path = Path(relative)
        return path if path.is_absolute() else self.folder / path


def fixture_declaration(folder: Path, lang: str = "zh", quick: bool = False) -> FixtureDeclaration:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "lab13.toml"
    path.write_text("# fixture declaration\n", encoding="utf-8")
    values = {
        "student": tomllib.loads(STUDENT.read_text(encoding="utf-8")),
        "report": {"lang": lang, "out": "reports/lab13.pdf", "reflections": "reflections.md", "answers": "answers"},
        "fit": {
            "function": FUNCTION,
            "samples": SAMPLES,
            "x_range": [-5, 5],
            "noise_std": NOISE_STD,
            "seeds": SEEDS,
            "hidden": [64, 64],
        },
        "cifar": {"phases": [{"lr": 0.1, "epochs": 5}, {"lr": 0.01, "epochs": 5}]},
    }
    return FixtureDeclaration(values=values, path=path, folder=folder, quick=quick)


def f_true(x: np.ndarray) -> np.ndarray:
    return x**2 + 2 * np.sin(x) + np.cos(x - 1) - 5


def f_custom(x: np.ndarray) -> np.ndarray:
    return (x + 1) ** 2 + np.sin(x**2 + 1) - np.log(x**2 + 1)


def prediction(truth: np.ndarray, x: np.ndarray, true_error: float, wiggle: float, seed: int) -> np.ndarray:
    """A learnt curve whose MSE against ``truth`` is exactly ``true_error``."""
    rng = np.random.default_rng(seed)
    smooth = truth.mean() - truth  # under-fitting: pulled towards the mean
    wavy = np.sin(wiggle * x + rng.uniform(0, 6.28))  # over-fitting: wiggles through the noise
    shape = smooth if wiggle == 0 else wavy
    shape = shape / np.sqrt(np.mean(shape**2))
    return truth + np.sqrt(true_error) * shape


def loss_curve(
    final: float, epochs: int, seed: int, *, start: float = 60.0, still_falling: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    steps = np.unique(np.round(np.geomspace(1, epochs, 40)).astype(int))
    if still_falling:  # a small step: still going down steadily when the run ends
        loss = final * (epochs / steps) ** 0.3
    else:
        loss = final + (start - final) * np.exp(-18 * np.log(steps) / np.log(epochs))
    jitter = 1 + 0.003 * np.random.default_rng(seed).standard_normal(len(steps))
    jitter[-1] = 1.0
    return steps, loss * jitter


def finish_run(
    name: str, folder: Path, params: dict, summary: dict, *, quick: bool, duration: float, status: str = "done"
) -> LoadedRun:
    files = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != "record.json"
    }
    record = {
        "status": status,
        "started": "2026-11-28T09:00:00+00:00",
        "finished": "2026-11-28T09:10:00+00:00",
        "duration_s": duration,
        "device": "cpu",
        "torch": "2.14.1",
        "python": "3.11.2",
        "git_commit": "0123456789abcdef",
        "quick": quick,
        "params": params,
        "summary": summary,
        "files": files,
    }
    (folder / "record.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
    return LoadedRun(name, folder.name, params, folder, record)


def write_points(folder: Path, truth_fn, label: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    grid_x = np.linspace(-5, 5, GRID_POINTS)
    rows = []
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        x = rng.uniform(-5, 5, SAMPLES)
        rows.append(pd.DataFrame({"seed": seed, "x": x, "y": truth_fn(x) + rng.normal(0, NOISE_STD, SAMPLES)}))
    data = pd.concat(rows)
    grid = pd.DataFrame({"x": grid_x, "y_true": truth_fn(grid_x)})
    if label is None:
        data.to_csv(folder / "data.csv", index=False)
        grid.to_csv(folder / "grid.csv", index=False)
    return grid_x, truth_fn(grid_x)


def sweep_rows(
    lr: float,
    epochs: int,
    true_error: float | None,
    final_loss: float | None,
    grid_x: np.ndarray,
    truth: np.ndarray,
    wiggle: float,
    label: str | None = None,
):
    snapshots, curves = [], []
    for i, seed in enumerate(SEEDS):
        diverged_at = DIVERGED_SEEDS_AT_LR1.get(seed) if lr == 1.0 and label is None else None
        if lr == 1.0 and label is None:
            error, final = (None, None) if diverged_at else (48.0, 41.0)
        else:
            error, final = true_error * (1 + 0.08 * (i - 1)), final_loss * (1 + 0.02 * (i - 1))
        row = {
            "lr": lr,
            "epochs": epochs,
            "seed": seed,
            "train_loss": np.inf if diverged_at else final,
            "true_error": np.nan if diverged_at else error,
            "heldout_error": np.nan if diverged_at else error + NOISE_STD**2,
            "diverged": int(bool(diverged_at)),
            "diverged_epoch": diverged_at,
            "seconds": 0.0004 * epochs * (1 + 0.1 * i),
        }
        snapshots.append(row)
        if not diverged_at:
            y = prediction(truth, grid_x, error, wiggle, seed)
            curves.append(pd.DataFrame({"lr": lr, "epochs": epochs, "seed": seed, "x": grid_x, "y_pred": y}))
    return snapshots, curves


def loss_rows(lr: float, epochs: int, final_by_seed: dict, *, still_falling=False, oscillate=False):
    rows = []
    for seed, final in final_by_seed.items():
        diverged_at = DIVERGED_SEEDS_AT_LR1.get(seed) if lr == 1.0 else None
        if diverged_at:
            steps = np.unique(np.round(np.geomspace(1, diverged_at, 12)).astype(int))
            loss = 60.0 * np.exp(np.linspace(0, 8, len(steps)))
            loss[-1] = np.inf
        else:
            steps, loss = loss_curve(final, epochs, seed, still_falling=still_falling)
            if oscillate:
                loss = loss * (1 + 0.8 * (np.arange(len(loss)) % 2))
                loss[-1] = final
        rows.append(pd.DataFrame({"lr": lr, "seed": seed, "epoch": steps, "train_loss": loss}))
    return rows


def sweep_params(sweep: str, lrs: list, epochs: list, quick: bool) -> dict:
    return {
        "sweep": sweep,
        "function": FUNCTION,
        "x_range": [-5, 5],
        "samples": SAMPLES,
        "noise_std": NOISE_STD,
        "seeds": SEEDS,
        "hidden": [64, 64],
        "lrs": lrs,
        "epochs": epochs,
        "grid_points": GRID_POINTS,
        "heldout_samples": 200,
        "quick": quick,
    }


def write_epoch_sweep(folder: Path, quick: bool) -> LoadedRun:
    folder.mkdir(parents=True)
    grid_x, truth = write_points(folder, f_true)
    snapshots, curves = [], []
    for epochs, (error, final) in EPOCH_SWEEP.items():
        wiggle = 0.0 if epochs == 100 else (1.3 if epochs < 50000 else 6.0)
        s, c = sweep_rows(0.01, epochs, error, final, grid_x, truth, wiggle)
        snapshots += s
        curves += c
    losses = loss_rows(0.01, 50000, {seed: EPOCH_SWEEP[50000][1] for seed in SEEDS})
    pd.DataFrame(snapshots).to_csv(folder / "snapshots.csv", index=False)
    pd.concat(curves).to_csv(folder / "curves.csv", index=False)
    pd.concat(losses).to_csv(folder / "loss.csv", index=False)
    params = sweep_params("epochs", [0.01], list(EPOCH_SWEEP), quick)
    return finish_run("fit.epochs", folder, params, {"settings": 4}, quick=quick, duration=96.0)


def write_lr_sweep(folder: Path, quick: bool) -> LoadedRun:
    folder.mkdir(parents=True)
    grid_x, truth = write_points(folder, f_true)
    snapshots, curves, losses = [], [], []
    for lr, (error, final) in LR_SWEEP.items():
        s, c = sweep_rows(lr, 1000, error, final, grid_x, truth, 1.3 if lr != 0.001 else 0.0)
        snapshots += s
        curves += c
        finals = {row["seed"]: row["train_loss"] for row in s}
        losses += loss_rows(lr, 1000, finals, still_falling=lr == 0.001, oscillate=lr == 1.0)
    pd.DataFrame(snapshots).to_csv(folder / "snapshots.csv", index=False)
    pd.concat(curves).to_csv(folder / "curves.csv", index=False)
    pd.concat(losses).to_csv(folder / "loss.csv", index=False)
    params = sweep_params("lr", list(LR_SWEEP), [1000], quick)
    return finish_run("fit.lr", folder, params, {"settings": 4}, quick=quick, duration=31.0)


def write_custom(folder: Path, quick: bool) -> LoadedRun:
    folder.mkdir(parents=True)
    grid_x, truth = write_points(folder, f_custom)
    search = []
    for lr in [0.003, 0.01, 0.03]:
        for epochs in [1000, 3000, 10000]:
            for width in [64, 128]:
                for seed in SEEDS:
                    error = 0.2 + abs(np.log10(lr / 0.01)) + 3000 / epochs * 0.3 + (64 / width) * 0.1
                    search.append(
                        {
                            "lr": lr,
                            "epochs": epochs,
                            "width": width,
                            "seed": seed,
                            "train_loss": 8.5 + error / 4,
                            "val_error": error + 9.2,
                            "true_error": error,
                            "diverged": 0,
                        }
                    )
    pd.DataFrame(search).to_csv(folder / "search.csv", index=False)
    data = pd.concat(
        [
            pd.DataFrame({"label": label, **frame})
            for label in ("chosen", "baseline")
            for frame in [pd.read_csv(folder / "data.csv")]
        ]
    )
    data.to_csv(folder / "data.csv", index=False)
    snapshots, curves, losses = [], [], []
    for label, lr, epochs, error, final in (("chosen", 0.01, 10000, 0.27, 8.6), ("baseline", 0.01, 1000, 0.9, 9.6)):
        s, c = sweep_rows(lr, epochs, error, final, grid_x, truth, 1.3, label=label)
        snapshots += [{"label": label, **row} for row in s]
        curves += [
            pd.concat([pd.DataFrame({"label": [label] * len(frame)}), frame.reset_index(drop=True)], axis=1)
            for frame in c
        ]
        losses += [
            pd.concat([pd.DataFrame({"label": [label] * len(frame)}), frame.reset_index(drop=True)], axis=1)
            for frame in loss_rows(lr, epochs, {seed: final for seed in SEEDS})
        ]
    pd.DataFrame(snapshots).to_csv(folder / "snapshots.csv", index=False)
    pd.concat(curves).to_csv(folder / "curves.csv", index=False)
    pd.concat(losses).to_csv(folder / "loss.csv", index=False)
    params = {
        "function": CUSTOM_FUNCTION,
        "x_range": [-5, 5],
        "samples": SAMPLES,
        "noise_std": NOISE_STD,
        "seeds": SEEDS,
        "hidden": [64, 64],
        "grid_points": GRID_POINTS,
        "heldout_samples": 200,
        "validation_fraction": 0.2,
        "search": {"lrs": [0.003, 0.01, 0.03], "epochs": [1000, 3000, 10000], "widths": [64, 128]},
        "baseline": {"lr": 0.01, "epochs": 1000, "hidden": [64, 64]},
        "quick": quick,
    }
    summary = {"chosen": {"lr": 0.01, "epochs": 10000, "width": 128}}
    return finish_run("fit.custom", folder, params, summary, quick=quick, duration=240.0)


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
    params = {
        "phases": [{"lr": 0.1, "epochs": 5}, {"lr": 0.01, "epochs": 5}],
        "batch_size": 128,
        "weight_decay": 5e-4,
        "momentum": 0.0,
        "seed": 0,
        "precision": "auto",
        "data_fingerprint": "fixture",
        "train_subset": None,
        "test_subset": None,
        "quick": quick,
    }
    summary = {"final_test_acc": CIFAR_TEST[-1], "final_train_acc": CIFAR_TRAIN[-1]}
    return finish_run("cifar", folder, params, summary, quick=quick, duration=236.0)


def write_fixture_store(root: Path, quick: bool = False) -> dict[str, LoadedRun]:
    """All four runs under ``root``, as the runner would hand them to the report."""
    return {
        "fit.epochs": write_epoch_sweep(root / "fit.epochs" / "k-epochs", quick),
        "fit.lr": write_lr_sweep(root / "fit.lr" / "k-lr", quick),
        "fit.custom": write_custom(root / "fit.custom" / "k-custom", quick),
        "cifar": write_cifar(root / "cifar" / "k-cifar", quick),
    }


def rewrite_record(run: LoadedRun, **changes) -> LoadedRun:
    record = dict(run.record, **changes)
    record["files"] = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(run.dir.iterdir())
        if p.is_file() and p.name != "record.json"
    }
    (run.dir / "record.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
    return LoadedRun(run.name, run.key, record["params"], run.dir, record)


def trim_to_quick(runs: dict[str, LoadedRun]) -> dict[str, LoadedRun]:
    """What a quick build leaves: one seed, two snapshot epochs, one CIFAR epoch per phase."""
    trimmed = {}
    for name, run in runs.items():
        if name == "cifar":
            epochs = pd.read_csv(run.dir / "epochs.csv")
            epochs = epochs[epochs["epoch"].isin([5, 6])].assign(epoch=[1, 2])
            epochs.to_csv(run.dir / "epochs.csv", index=False)
            params = dict(run.params, phases=[{"lr": 0.1, "epochs": 1}, {"lr": 0.01, "epochs": 1}], quick=True)
        else:
            for filename in ("snapshots.csv", "loss.csv", "curves.csv", "data.csv", "search.csv"):
                path = run.dir / filename
                if path.exists():
                    frame = pd.read_csv(path)
                    frame = frame[frame["seed"] == SEEDS[0]]
                    if "epochs" in frame and name == "fit.epochs":
                        frame = frame[frame["epochs"].isin([100, 1000])]
                    frame.to_csv(path, index=False)
            params = dict(run.params, seeds=SEEDS[:1], quick=True)
            if name == "fit.epochs":
                params["epochs"] = [100, 1000]
        trimmed[name] = rewrite_record(run, params=params, quick=True)
    return trimmed
