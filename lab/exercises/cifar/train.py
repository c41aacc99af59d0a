"""Exercise 2: train ResNet-20 on CIFAR-10 with the course's schedule.

One run trains through every phase of `params["phases"]`, evaluates after each
epoch, and checkpoints each epoch so an interrupted run resumes where it
stopped and ends with exactly the numbers an uninterrupted run would have.
Shuffling and augmentation draw from a generator seeded by (seed, epoch), so a
resumed epoch needs no saved RNG state.
"""

import hashlib
import io
import re
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from lab.core.errors import UserError
from lab.core.schema import validate
from lab.exercises.cifar import Cifar
from lab.exercises.cifar import data as cifar_data
from lab.exercises.cifar.allocator import retain_freed_memory
from lab.exercises.cifar.model import parameter_count, resnet20

TRAINING_PARAMS = ("phases", "batch_size", "weight_decay", "momentum")

MISCLASSIFIED_LIMIT = 36
CHECKPOINT_KEYS = {"epoch", "rows", "numerics", "model", "optimizer", "scaler"}
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


# --- numerics ---------------------------------------------------------------


@dataclass(frozen=True)
class Numerics:
    """How tensors are computed: "fp32" changes nothing; the rest trade exact
    fp32 arithmetic for speed."""

    name: str  # "fp32" | "bf16" | "fp16"
    autocast_dtype: torch.dtype | None  # mixed precision by autocast (CUDA)
    layout: str  # activations: "contiguous", "channels_last" or "onednn"
    grad_scaler: bool  # fp16 needs loss scaling; bf16 has fp32's range

    @property
    def label(self) -> str:
        return f"{self.name}, {self.layout}"

    def autocast(self, device: str):
        if self.autocast_dtype is None:
            return nullcontext()
        return torch.autocast(device_type=device, dtype=self.autocast_dtype)

    def backend_flags(self, device: str):
        """cuDNN convolutions use TF32 by default; fp32 must mean fp32."""
        if device == "cuda" and self.name == "fp32":
            return torch.backends.cudnn.flags(enabled=True, allow_tf32=False)
        return nullcontext()

    def memory_format(self) -> torch.memory_format:
        return torch.channels_last if self.layout == "channels_last" else torch.contiguous_format

    def prepare(self, images_uint8: torch.Tensor, device: str) -> torch.Tensor:
        """A normalised batch, in this layout, from uint8 images."""
        images = images_uint8.to(device, non_blocking=True)
        if self.layout == "onednn":  # bf16 activations without autocast: see choose_numerics
            return cifar_data.normalize(images, dtype=torch.bfloat16).to_mkldnn()
        return cifar_data.normalize(images, channels_last=self.layout == "channels_last")


def cpu_supports_bf16() -> bool:
    """oneDNN can run bf16 here (natively or emulated on older AVX-512)."""
    if not torch.backends.mkldnn.is_available():
        return False
    check = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    return bool(check()) if check is not None else False


def cpu_has_native_bf16() -> bool:
    """AVX512-BF16 or AMX: only then is bf16 faster than fp32 on a CPU."""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:  # not Linux: do not guess
        return False
    return cpu_supports_bf16() and re.search(r"\b(avx512_bf16|amx_bf16)\b", cpuinfo) is not None


def choose_numerics(precision: str, device: str) -> Numerics:
    """The fastest numerics `precision` allows on `device`.

    Measured on a 2-core AVX512-BF16 CPU, per training batch of 128: course
    loop (fp32, contiguous) 299-331 ms; channels_last alone 234 ms; bf16
    autocast + channels_last 132-147 ms; bf16 activations held as oneDNN
    tensors 117 ms against 133 ms for autocast in the same process. The
    oneDNN layout (16 channels to a block) makes BatchNorm and ReLU about
    twice as fast and saves the layout conversions around every convolution;
    the weights stay fp32 and are rounded to bf16 per convolution, as autocast
    does. Tried and dropped as no better than the noise: torch.compile (12%
    less CPU time on one thread, none in wall time on two, plus 30-150 s of
    compiling), bf16 inputs, in-place ReLU/add, foreach and fused SGD, and
    for the test pass larger batches, inference_mode and BatchNorm folded
    into the convolutions.
    """
    if precision not in ("auto", "fp32", "bf16"):
        raise UserError(
            f"cifar params.precision = {precision!r} is not one of 'auto', 'fp32', 'bf16'; pick one of those"
        )
    if precision == "fp32":
        return Numerics("fp32", None, "contiguous", grad_scaler=False)
    if device == "cuda":
        if precision == "bf16" or torch.cuda.is_bf16_supported():
            return Numerics("bf16", torch.bfloat16, "channels_last", grad_scaler=False)
        return Numerics("fp16", torch.float16, "channels_last", grad_scaler=True)
    if cpu_has_native_bf16() or (precision == "bf16" and cpu_supports_bf16()):
        return Numerics("bf16", None, "onednn", grad_scaler=False)
    if precision == "bf16":
        raise UserError(
            "cifar params.precision = 'bf16' but this CPU has no bf16 support; set precision to 'auto' or 'fp32'"
        )
    return Numerics("fp32", None, "channels_last", grad_scaler=False)


# --- schedule and randomness -------------------------------------------------


def epoch_schedule(phases: list[dict]) -> list[tuple[int, float]]:
    """(phase number from 1, learning rate) for every epoch, in order."""
    schedule = []
    for number, phase in enumerate(phases, start=1):
        schedule += [(number, float(phase["lr"]))] * int(phase["epochs"])
    return schedule


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """The generator for one epoch's shuffling and augmentation."""
    digest = hashlib.sha256(f"cifar-epoch:{seed}:{epoch}".encode()).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") >> 1)


# --- one epoch of training, one pass of evaluation ---------------------------


def train_one_epoch(
    model, optimizer, scaler, images, labels, batch_size, generator, prepare, autocast, on_batch=lambda: None
):
    """Shuffled, augmented minibatch SGD over `images` (uint8, on the CPU).

    Returns the loss and accuracy (percent) averaged over every image of the
    epoch, measured in train mode while the weights change.
    """
    model.train()
    order = torch.randperm(len(images), generator=generator)
    loss_sum, correct = 0.0, 0
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]
        inputs = prepare(cifar_data.augment(images[batch], generator))
        targets = labels[batch].to(inputs.device, non_blocking=True)
        with autocast():
            outputs = model(inputs)
            loss = F.cross_entropy(outputs, targets)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        loss_sum += loss.detach() * len(batch)
        correct += (outputs.argmax(dim=1) == targets).sum()
        on_batch()
    return float(loss_sum) / len(images), 100.0 * int(correct) / len(images)


def evaluate(model, images, labels, batch_size, prepare, autocast=nullcontext):
    """The course's test(epoch): eval mode, no gradients, count correct answers.

    Returns the mean cross-entropy per image, the accuracy in percent and the
    predicted class of every image.
    """
    model.eval()
    criterion = nn.CrossEntropyLoss(reduction="sum")
    test_loss, correct, predictions = 0.0, 0, []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            inputs = prepare(images[start : start + batch_size])
            targets = labels[start : start + batch_size].to(inputs.device)
            with autocast():
                outputs = model(inputs)
            test_loss += criterion(outputs.float(), targets).item()
            predicted = outputs.argmax(dim=1)
            correct += (predicted == targets).sum().item()
            predictions.append(predicted.cpu())
    accuracy = 100.0 * correct / len(images)
    return test_loss / len(images), accuracy, torch.cat(predictions)


# --- what the report reads after the last epoch ------------------------------


def confusion_table(labels, predictions, classes) -> pd.DataFrame:
    """Long format: one row per (true, predicted) pair, zeros included."""
    n = len(classes)
    counts = torch.bincount(labels * n + predictions, minlength=n * n).reshape(n, n)
    return pd.DataFrame(
        [(classes[t], classes[p], int(counts[t, p])) for t in range(n) for p in range(n)],
        columns=["true_class", "predicted_class", "count"],
    )


def per_class_accuracy(labels, predictions, classes) -> dict[str, float]:
    accuracy = {}
    for k, name in enumerate(classes):
        in_class = labels == k
        if in_class.any():
            accuracy[name] = 100.0 * int((predictions[in_class] == k).sum()) / int(in_class.sum())
    return accuracy


def misclassified_indices(labels, predictions, limit=MISCLASSIFIED_LIMIT):
    """Up to `limit` wrong answers, taken in turn from each true class so
    the sample shows many classes, not only the first in the test order."""
    wrong = torch.nonzero(predictions != labels).flatten()
    rank_in_class = torch.zeros_like(wrong)
    for k in labels[wrong].unique():
        in_class = labels[wrong] == k
        rank_in_class[in_class] = torch.arange(int(in_class.sum()))
    order = sorted(range(len(wrong)), key=lambda i: (int(rank_in_class[i]), int(labels[wrong[i]])))
    return wrong[order[:limit]]


def misclassified_npz(images, labels, predictions, classes) -> bytes:
    chosen = misclassified_indices(labels, predictions)
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        images=images[chosen].permute(0, 2, 3, 1).numpy().astype(np.uint8),
        true=labels[chosen].numpy().astype(np.int64),
        pred=predictions[chosen].numpy().astype(np.int64),
        classes=np.array(list(classes), dtype=str),
    )
    return buffer.getvalue()


def phase_boundaries(rows: list[dict]) -> list[dict]:
    """Accuracy change where the learning rate changes: the first epoch of a
    phase minus the last epoch of the one before."""
    boundaries = []
    for before, after in zip(rows, rows[1:]):
        if after["phase"] != before["phase"]:
            boundaries.append(
                {
                    "epoch_before": before["epoch"],
                    "epoch_after": after["epoch"],
                    "lr_before": before["lr"],
                    "lr_after": after["lr"],
                    "test_acc_jump": after["test_acc"] - before["test_acc"],
                    "train_acc_jump": after["train_acc"] - before["train_acc"],
                }
            )
    return boundaries


# --- the run -----------------------------------------------------------------


def validate_params(params: dict) -> None:
    """The training parameters against the exercise's schema, the one place their rules are
    written: a run started without a declaration (a test, a benchmark) gets the same checks."""
    rules = {key: Cifar.schema[key] for key in TRAINING_PARAMS}
    validate({key: params[key] for key in TRAINING_PARAMS if key in params}, rules, "cifar params")


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
    validate_params(ctx.params)
    numerics = choose_numerics(ctx.params.get("precision", "auto"), ctx.device)
    data = load_data(ctx)
    with numerics.backend_flags(ctx.device):
        return train(ctx, data, numerics)


def build_training(params: dict, numerics: Numerics, device: str, num_classes: int = 10):
    """The model (in the numerics' memory format), its SGD optimizer at the
    first epoch's learning rate, and the gradient scaler."""
    retain_freed_memory()
    model = resnet20(num_classes, seed=params["seed"]).to(device, memory_format=numerics.memory_format())
    first_lr = epoch_schedule(params["phases"])[0][1]
    optimizer = torch.optim.SGD(
        model.parameters(), lr=first_lr, momentum=params["momentum"], weight_decay=params["weight_decay"]
    )
    return model, optimizer, torch.amp.GradScaler(device, enabled=numerics.grad_scaler)


def set_lr(optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def train(ctx, data, numerics: Numerics) -> dict:
    params, device = ctx.params, ctx.device
    schedule = epoch_schedule(params["phases"])
    batch_size, seed = params["batch_size"], params["seed"]
    model, optimizer, scaler = build_training(params, numerics, device, len(data.classes))

    def prepare(images_uint8):
        return numerics.prepare(images_uint8, device)

    def autocast():
        return numerics.autocast(device)

    rows = resume(ctx, model, optimizer, scaler, numerics)
    batches_per_epoch = -(-len(data.train_images) // batch_size)
    ctx.progress.start(
        batches_per_epoch * len(schedule), f"ResNet-20 on CIFAR-10, {len(schedule)} epochs, {numerics.label}"
    )
    ctx.progress.update(batches_per_epoch * len(rows))

    predictions = None
    for epoch in range(len(rows) + 1, len(schedule) + 1):
        phase, lr = schedule[epoch - 1]
        set_lr(optimizer, lr)
        started = time.perf_counter()
        train_loss, train_acc = train_one_epoch(
            model,
            optimizer,
            scaler,
            data.train_images,
            data.train_labels,
            batch_size,
            epoch_generator(seed, epoch),
            prepare,
            autocast,
            ctx.progress.advance,
        )
        trained = time.perf_counter()
        test_loss, test_acc, predictions = evaluate(
            model, data.test_images, data.test_labels, batch_size, prepare, autocast
        )
        row = {
            "epoch": epoch,
            "phase": phase,
            "lr": lr,
            "train_loss": train_loss,
            "train_acc": train_acc,
            "test_loss": test_loss,
            "test_acc": test_acc,
            "train_seconds": trained - started,
            "test_seconds": time.perf_counter() - trained,
        }
        rows.append(row)
        ctx.write_table("epochs.csv", pd.DataFrame(rows, columns=EPOCH_COLUMNS))
        ctx.save_checkpoint(
            {
                "epoch": epoch,
                "rows": rows,
                "numerics": numerics.label,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scaler": scaler.state_dict(),
            }
        )
        ctx.progress.log(epoch_line(row, len(schedule)))

    if predictions is None:  # resumed after the last epoch's checkpoint
        _, _, predictions = evaluate(model, data.test_images, data.test_labels, batch_size, prepare, autocast)
    return finish(ctx, data, rows, predictions, model, numerics)


def resume(ctx, model, optimizer, scaler, numerics) -> list[dict]:
    """Restore the last checkpoint, if any; return the epoch rows done so far."""
    state = ctx.load_checkpoint()
    if state is None:
        return []
    if not CHECKPOINT_KEYS <= set(state):
        ctx.progress.log("the checkpoint is not one this code wrote; starting from epoch 1")
        return []
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scaler.load_state_dict(state["scaler"])
    if state["numerics"] != numerics.label:
        ctx.progress.log(
            f"resuming a run checkpointed with {state['numerics']} "
            f"numerics using {numerics.label}: results will differ slightly"
        )
    ctx.progress.log(f"resuming after epoch {state['epoch']}")
    return list(state["rows"])


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
        "final_test_acc": rows[-1]["test_acc"],
        "final_train_acc": rows[-1]["train_acc"],
        "best_test_acc": max(row["test_acc"] for row in rows),
        "epochs": len(rows),
        "train_images_per_second": len(data.train_images) * len(rows) / train_seconds,
        "precision": numerics.name,
        "layout": numerics.layout,
        "device": ctx.device,
        "phase_boundaries": phase_boundaries(rows),
        "per_class_test_acc": per_class_accuracy(labels, predictions, classes),
        "parameters": parameter_count(model),
        "train_images": len(data.train_images),
        "test_images": len(data.test_images),
    }
