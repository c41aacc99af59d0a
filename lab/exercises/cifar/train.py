"""Exercise 2: train ResNet-20 on CIFAR-10 with the course's schedule.

One run trains through every phase of `params["phases"]`, evaluates after each
epoch, and checkpoints each epoch so an interrupted run resumes where it
stopped and ends with exactly the numbers an uninterrupted run would have.
Shuffling and augmentation draw from a generator seeded by (seed, epoch), so a
resumed epoch needs no saved RNG state.

On CUDA the uint8 data set is copied to the GPU once, each epoch is shuffled
and augmented there at once, the training step is a CUDA graph (steps.py) and
the GPU is read once per epoch and once per test pass.
"""

import os
import time
from dataclasses import replace
from functools import partial

import pandas as pd
import torch

from lab.core.errors import UserError
from lab.exercises.cifar import data as cifar_data
from lab.exercises.cifar.allocator import retain_freed_memory
from lab.exercises.cifar.checkpoint import checkpoint_state, resume
from lab.exercises.cifar.data.sources import PAD
from lab.exercises.cifar.epochs import epoch_generator, train_one_epoch
from lab.exercises.cifar.evaluation import (
    confusion_table,
    evaluate,
    evaluation_batch_size,
    misclassified_npz,
)
from lab.exercises.cifar.lr_schedule import StepLr
from lab.exercises.cifar.model import parameter_count, resnet20
from lab.exercises.cifar.numerics import Numerics, choose_numerics
from lab.exercises.cifar.steps import STEP_ENV, choose_step, make_step

EPOCH_COLUMNS = [
    "epoch",
    "phase",
    "lr",
    "train_loss",
    "train_acc",
    "test_loss",
    "test_acc",
    "train_seconds",
    "test_seconds",
]


def load_data(ctx):
    params, options = ctx.params, ctx.options
    data = cifar_data.load(
        options["data"],
        cache_dir=options.get("cache_dir"),
        download=options.get("download", True),
        progress=ctx.progress,
    )
    expected = params.get("data_fingerprint")
    if expected and expected != data.fingerprint:
        raise UserError(
            f"CIFAR-10 data at {options['data']} has fingerprint "
            f"{data.fingerprint}, not the {expected} this run was declared "
            "with; re-run so the runs are planned for this data"
        )
    if params.get("train_subset") is not None or params.get("test_subset") is not None:
        data = cifar_data.subset(data, params.get("train_subset"), params.get("test_subset"), params["seed"])
    return data


def run(ctx) -> dict:
    """The run of `ctx.params`, as the exercise's `params` made them from the validated declaration."""
    numerics = choose_numerics(ctx.params.get("precision", "auto"), ctx.device)
    step_kind = choose_step(ctx.device, os.environ.get(STEP_ENV) or None, numerics.grad_scaler)
    data = load_data(ctx)
    with numerics.backend_flags(ctx.device):
        return train(ctx, data, numerics, step_kind)


def on_device(data, device: str):
    """The data set's tensors on `device` (the same tensors on the CPU)."""
    return replace(
        data,
        train_images=data.train_images.to(device),
        train_labels=data.train_labels.to(device),
        test_images=data.test_images.to(device),
        test_labels=data.test_labels.to(device),
    )


def build_training(params: dict, numerics: Numerics, device: str, lr: float, num_classes: int = 10):
    """The model (in the numerics' memory format), its SGD optimizer at learning rate `lr`
    (fused into one kernel on CUDA, which also takes the learning rate as a device tensor),
    and the gradient scaler."""
    retain_freed_memory()
    model = resnet20(num_classes, seed=params["seed"]).to(device).to(memory_format=numerics.memory_format())
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=lr,
        momentum=params["momentum"],
        weight_decay=params["weight_decay"],
        fused=True if device == "cuda" else None,
        nesterov=params.get("nesterov", False),
    )
    return model, optimizer, torch.amp.GradScaler(device, enabled=numerics.grad_scaler)


def train(ctx, data, numerics: Numerics, step_kind: str = "eager") -> dict:
    """Every epoch of the schedule not yet in the checkpoint, then the run's summary."""
    params, device = ctx.params, ctx.device
    batch_size = params["batch_size"]
    step_lr = StepLr(params, -(-len(data.train_images) // batch_size))
    model, optimizer, scaler = build_training(params, numerics, device, step_lr.first_lr, len(data.classes))
    resident = on_device(data, device)
    test_batch = evaluation_batch_size(device, batch_size)

    def test_pass(mirrored=False):
        prepare, autocast = partial(numerics.prepare, device=device), partial(numerics.autocast, device)
        return evaluate(model, resident.test_images, resident.test_labels, test_batch, prepare, autocast, mirrored)

    rows = resume(ctx, model, optimizer, scaler, numerics)
    smoothing = params.get("label_smoothing", 0.0)
    step = make_step(step_kind, model, optimizer, scaler, numerics, device, batch_size, label_smoothing=smoothing)
    step_lr.set_lr = step.set_lr  # after resume: see steps
    total = len(step_lr.epochs)
    ctx.progress.start(step_lr.total, f"ResNet-20 on CIFAR-10, {total} epochs, {numerics.label}, {step_kind} step")
    ctx.progress.update(step_lr.per_epoch * len(rows))
    predictions = None
    for epoch in range(len(rows) + 1, total + 1):
        row, predictions = train_epoch(ctx, epoch, step, step_lr, resident, test_pass)
        rows.append(row)
        ctx.write_table("epochs.csv", pd.DataFrame(rows, columns=EPOCH_COLUMNS))
        ctx.save_checkpoint(checkpoint_state(epoch, rows, numerics, model, optimizer, scaler))
        ctx.progress.log(epoch_line(row, total))
    if predictions is None:  # resumed after the last epoch's checkpoint
        _, _, predictions = test_pass()
    crop_padding = params.get("crop_padding", PAD)
    summary = {**finish(ctx, data, rows, predictions, model, numerics), "training_step": step_kind}
    summary["crop_padding"] = crop_padding
    if params.get("test_flip"):
        summary |= mirrored_test(lambda: test_pass(mirrored=True))
    return summary


def train_epoch(ctx, epoch: int, step, step_lr: StepLr, resident, test_pass) -> tuple[dict, object]:
    """One epoch of training at the schedule's learning rate, then a test pass: its row of epochs.csv."""
    params = ctx.params
    lr = step_lr.start_epoch(epoch)
    started = time.perf_counter()
    train_loss, train_acc = train_one_epoch(
        step,
        resident.train_images,
        resident.train_labels,
        params["batch_size"],
        epoch_generator(params["seed"], epoch, ctx.device),
        step_lr.after_batch(ctx.progress.advance),
        crop_padding=params.get("crop_padding", PAD),
    )
    trained = time.perf_counter()
    test_loss, test_acc, predictions = test_pass()
    row = {
        "epoch": epoch,
        "phase": step_lr.epochs[epoch - 1][0],
        "lr": lr,
        "train_loss": train_loss,
        "train_acc": train_acc,
        "test_loss": test_loss,
        "test_acc": test_acc,
        "train_seconds": trained - started,
        "test_seconds": time.perf_counter() - trained,
    }
    return row, predictions


def mirrored_test(test_pass) -> dict:
    """The final weights' test accuracy with each image's logits averaged with its
    mirror's: one more test pass, after training, so the per-epoch curve stays
    comparable with the course schedule's."""
    started = time.perf_counter()
    _, accuracy, _ = test_pass()
    return {"test_acc_mirrored": accuracy, "mirrored_test_seconds": time.perf_counter() - started}


def epoch_line(row: dict, total_epochs: int) -> str:
    return (
        f"epoch {row['epoch']}/{total_epochs}  lr {row['lr']:g}  "
        f"train loss {row['train_loss']:.3f} acc {row['train_acc']:.2f}%  "
        f"test loss {row['test_loss']:.3f} acc {row['test_acc']:.2f}%  "
        f"{row['train_seconds']:.1f}+{row['test_seconds']:.1f} s"
    )


def finish(ctx, data, rows, predictions, model, numerics) -> dict:
    labels, classes = data.test_labels, list(data.classes)
    ctx.write_table("confusion.csv", confusion_table(labels, predictions, classes))
    ctx.write_bytes("misclassified.npz", misclassified_npz(data.test_images, labels, predictions, classes))
    train_seconds = sum(row["train_seconds"] for row in rows)
    return {
        "epochs": len(rows),
        "train_images_per_second": len(data.train_images) * len(rows) / train_seconds,
        "precision": numerics.name,
        "layout": numerics.layout,
        "device": ctx.device,
        "parameters": parameter_count(model),
        "train_images": len(data.train_images),
        "test_images": len(data.test_images),
    }
