"""Training speed of this project's CIFAR-10 loop against the course's loop,
on the real data, in one process (so both see the same machine and load).

The course loop is exp2.py as students run it: torchvision PIL transforms
(RandomCrop(32, padding=4), RandomHorizontalFlip, ToTensor, Normalize) in a
DataLoader (batch 128, shuffled), fp32, the same ResNet-20 and SGD settings.
The project loop is lab/experiments/cifar.py itself.

    python bench/cifar_epoch.py [DATA] [--batches 100]          # quick: N batches + a test pass each
    python bench/cifar_epoch.py [DATA] --full [--epochs 10]     # the whole schedule, both loops

DATA: the CIFAR-10 folder or archive; default $LABREPORT_DATA, else ./data.
Run it alone on the machine (e.g. under flock): both loops use every core.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from lab.data import cifar as cifar_data
from lab.errors import UserError
from lab.experiments import cifar
from lab.models import resnet20
from lab.store import RunContext

SEED, WEIGHT_DECAY, MOMENTUM, BATCH = 0, 5e-4, 0.0, 128


# --- the course loop -----------------------------------------------------------


class CourseDataset(Dataset):
    """What torchvision.datasets.CIFAR10 does per item: HWC uint8 -> PIL -> transform."""

    def __init__(self, images_nchw: torch.Tensor, labels: torch.Tensor, transform):
        self.images = images_nchw.permute(0, 2, 3, 1).numpy()
        self.labels = labels.tolist()
        self.transform = transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        return self.transform(Image.fromarray(self.images[index])), self.labels[index]


def course_loaders(data, workers: int):
    import torchvision.transforms as T

    normalize = T.Normalize(cifar_data.MEAN, cifar_data.STD)
    train_transform = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(),
                                 T.ToTensor(), normalize])
    test_transform = T.Compose([T.ToTensor(), normalize])
    train = DataLoader(CourseDataset(data.train_images, data.train_labels, train_transform),
                       batch_size=BATCH, shuffle=True, num_workers=workers)
    test = DataLoader(CourseDataset(data.test_images, data.test_labels, test_transform),
                      batch_size=BATCH, shuffle=False, num_workers=workers)
    return train, test


def course_train(model, optimizer, loader, max_batches=None):
    """exp2.py's train(epoch); returns (images seen, loss, accuracy %)."""
    model.train()
    train_loss, correct, total = 0.0, 0, 0
    for batch_idx, (inputs, targets) in enumerate(loader):
        if batch_idx == max_batches:
            break
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = F.cross_entropy(outputs, targets)
        loss.backward()
        optimizer.step()
        train_loss += loss.item()
        correct += outputs.argmax(1).eq(targets).sum().item()
        total += targets.size(0)
    return total, train_loss / (batch_idx + 1), 100.0 * correct / total


def course_test(model, loader):
    """The completed test(epoch), as a student writes it."""
    model.eval()
    test_loss, correct, total = 0.0, 0, 0
    with torch.no_grad():
        for inputs, targets in loader:
            outputs = model(inputs)
            test_loss += F.cross_entropy(outputs, targets, reduction="sum").item()
            correct += outputs.argmax(1).eq(targets).sum().item()
            total += targets.size(0)
    return test_loss / total, 100.0 * correct / total


def course_model_and_optimizer(lr):
    torch.manual_seed(SEED)
    model = resnet20(seed=SEED)
    return model, torch.optim.SGD(model.parameters(), lr=lr, momentum=MOMENTUM,
                                  weight_decay=WEIGHT_DECAY)


# --- the project loop ------------------------------------------------------------


def project_pieces(data, precision: str):
    numerics = cifar.choose_numerics(precision, "cpu")
    memory_format = torch.channels_last if numerics.channels_last else torch.contiguous_format
    model = resnet20(seed=SEED).to(memory_format=memory_format)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=MOMENTUM,
                                weight_decay=WEIGHT_DECAY)
    scaler = torch.amp.GradScaler("cpu", enabled=False)

    def prepare(images):
        return cifar_data.normalize(images, channels_last=numerics.channels_last)

    return numerics, model, optimizer, scaler, prepare, lambda: numerics.autocast("cpu")


def timed(function, *args, **kwargs):
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - started, result


# --- the two modes ---------------------------------------------------------------


def quick(data, batches: int, precision: str, workers: int) -> None:
    count = min(batches * BATCH, len(data.train_images))
    numerics, model, optimizer, scaler, prepare, autocast = project_pieces(data, precision)
    warm = cifar.epoch_generator(SEED, 0)  # first batches pay for oneDNN's kernel setup
    cifar.train_one_epoch(model, optimizer, scaler, data.train_images[:2 * BATCH],
                          data.train_labels[:2 * BATCH], BATCH, warm, prepare, autocast)
    ours_train, _ = timed(cifar.train_one_epoch, model, optimizer, scaler,
                          data.train_images[:count], data.train_labels[:count], BATCH,
                          cifar.epoch_generator(SEED, 1), prepare, autocast)
    ours_test, _ = timed(cifar.evaluate, model, data.test_images, data.test_labels,
                         BATCH, prepare, autocast)

    model, optimizer = course_model_and_optimizer(0.1)
    train_loader, test_loader = course_loaders(data, workers)
    course_train(model, optimizer, train_loader, max_batches=2)
    course_seconds, (seen, _, _) = timed(course_train, model, optimizer, train_loader, batches)
    course_test_seconds, _ = timed(course_test, model, test_loader)

    ours_ips, course_ips = count / ours_train, seen / course_seconds
    ours_epoch = len(data.train_images) / ours_ips + ours_test
    course_epoch = len(data.train_images) / course_ips + course_test_seconds
    print(f"project loop ({numerics.name}, channels_last={numerics.channels_last}): "
          f"{ours_ips:7.1f} train images/s ({1000 * ours_train / (count / BATCH):.0f} ms/batch), "
          f"test pass {ours_test:.1f} s")
    print(f"course loop  (PIL + DataLoader, fp32):      {course_ips:7.1f} train images/s "
          f"({1000 * course_seconds / (seen / BATCH):.0f} ms/batch), test pass {course_test_seconds:.1f} s")
    print(f"speed-up: training {ours_ips / course_ips:.2f}x, test {course_test_seconds / ours_test:.2f}x; "
          f"estimated epoch (train + test) {ours_epoch:.1f} s vs {course_epoch:.1f} s = "
          f"{course_epoch / ours_epoch:.2f}x")


class PrintProgress:
    def start(self, total, description=""): ...
    def advance(self, n=1): ...
    def update(self, completed): ...
    def log(self, message): print("  project " + message, flush=True)


def full(data, epochs: int, precision: str, workers: int) -> None:
    phases = [{"lr": 0.1, "epochs": (epochs + 1) // 2}, {"lr": 0.01, "epochs": epochs // 2}]
    params = {"phases": phases, "batch_size": BATCH, "weight_decay": WEIGHT_DECAY,
              "momentum": MOMENTUM, "seed": SEED, "precision": precision}
    with tempfile.TemporaryDirectory() as folder:
        ctx = RunContext("cifar", "bench", params, folder, progress=PrintProgress())
        started = time.perf_counter()
        summary = cifar.train(ctx, data, cifar.choose_numerics(precision, "cpu"))
        ours_total = time.perf_counter() - started
    print(f"project loop: {ours_total:.0f} s, final test acc {summary['final_test_acc']:.2f}%, "
          f"test acc jump at each lr change {[round(d['test_acc_jump'], 2) for d in summary['phase_boundaries']]}", flush=True)

    model, optimizer = course_model_and_optimizer(0.1)
    train_loader, test_loader = course_loaders(data, workers)
    course_total = 0.0
    for epoch, lr in enumerate(cifar.epoch_schedule(phases), start=1):
        for group in optimizer.param_groups:
            group["lr"] = lr[1]
        train_seconds, (_, train_loss, train_acc) = timed(course_train, model, optimizer, train_loader)
        test_seconds, (test_loss, test_acc) = timed(course_test, model, test_loader)
        course_total += train_seconds + test_seconds
        print(f"  course epoch {epoch}/{epochs}  lr {lr[1]:g}  train loss {train_loss:.3f} "
              f"acc {train_acc:.2f}%  test loss {test_loss:.3f} acc {test_acc:.2f}%  "
              f"{train_seconds:.1f}+{test_seconds:.1f} s", flush=True)
    print(f"course loop: {course_total:.0f} s, final test acc {test_acc:.2f}%")
    print(f"speed-up over the whole schedule: {course_total / ours_total:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", nargs="?", default=os.environ.get("LABREPORT_DATA", "data"))
    parser.add_argument("--batches", type=int, default=100, help="quick mode: batches per loop")
    parser.add_argument("--full", action="store_true", help="run the whole schedule for both loops")
    parser.add_argument("--epochs", type=int, default=10, help="--full: epochs (half at lr 0.1, half at 0.01)")
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    parser.add_argument("--workers", type=int, default=0, help="course DataLoader num_workers")
    parser.add_argument("--cache-dir", default=str(Path(tempfile.gettempdir()) / "labreport-bench-cache"))
    args = parser.parse_args()

    try:
        data = cifar_data.load(args.data, args.cache_dir, download=False)
    except UserError as error:
        raise SystemExit(f"error: {error}") from None
    print(f"data: {data.source} ({len(data.train_images)} train, {len(data.test_images)} test); "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    if args.full:
        full(data, args.epochs, args.precision, args.workers)
    else:
        quick(data, args.batches, args.precision, args.workers)


if __name__ == "__main__":
    main()
