"""Training speed of this project's CIFAR-10 loop against the course's loop,
on the real data.

The course loop is exp2.py as students run it: torchvision PIL transforms
(RandomCrop(32, padding=4), RandomHorizontalFlip, ToTensor, Normalize) in a
DataLoader (batch 128, shuffled), fp32, the same ResNet-20 and SGD settings.
The project loop is lab/exercises/cifar/train.py itself, twice: in fp32, the
course's precision, and in its default numerics (--precision, default auto: bf16
where the CPU has native bf16, mixed precision on a GPU, else fp32 in
channels-last). Two ratios come out of one run: the project against the course
at the same precision (the better loop alone), and each at its default numerics
(what a student gets). Where both project settings are the same numerics, one
project loop serves both.

    python bench/cifar_epoch.py [DATA]                 # one whole epoch (train + test) of each loop
    python bench/cifar_epoch.py [DATA] --epochs 10     # the whole schedule, both loops
    python bench/cifar_epoch.py [DATA] --batches 100   # quick: 100 batches + test passes each;
                                                       # its epoch times are estimates, said so
    python bench/cifar_epoch.py [DATA] --device cuda --epochs 10 [--step graph|compile|eager]

DATA: the CIFAR-10 folder or archive; default $LABREPORT_DATA, else ./data.
The course loop's DataLoader gets --workers num_workers; by default (auto) the
faster of 0 and 2 (on CUDA: of 4 and 8) for the course loop on this machine,
measured first over WORKER_TRIAL_BATCHES batches each and printed.
Each loop runs in its own fresh process, so none inherits another's
allocator settings or warm memory, and they take turns, --chunk batches at
a time (on CUDA a whole epoch, as the project shuffles and augments a whole
epoch at once there): this shared machine's speed drifts by 10-30 % over
minutes, so loops timed one after the other would compare different machines.
On CUDA each turn ends when the GPU has finished it (synchronised), and the
project loop's setup (data to the GPU, the CUDA graph's capture) is timed and
printed; torch.compile's compilation falls in its first epoch.
Run it alone on the machine (e.g. under flock): both loops use every core.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from lab.core.environment import cpu_model
from lab.core.errors import UserError
from lab.exercises.cifar import data as cifar_data
from lab.exercises.cifar import epochs, evaluation, numerics, steps
from lab.exercises.cifar import train as cifar
from lab.exercises.cifar.model import resnet20

SEED, WEIGHT_DECAY, MOMENTUM, BATCH = 0, 5e-4, 0.0, 128
TRAIN_IMAGES = 50_000  # one CIFAR-10 epoch
WORKER_TRIAL_BATCHES = 20


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
    train_transform = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(), normalize])
    test_transform = T.Compose([T.ToTensor(), normalize])
    train = DataLoader(
        CourseDataset(data.train_images, data.train_labels, train_transform),
        batch_size=BATCH,
        shuffle=True,
        num_workers=workers,
    )
    test = DataLoader(
        CourseDataset(data.test_images, data.test_labels, test_transform),
        batch_size=BATCH,
        shuffle=False,
        num_workers=workers,
    )
    return train, test


def course_train(model, optimizer, loader, device="cpu"):
    """exp2.py's train(epoch) over `loader`; returns (images, mean loss per batch, accuracy %)."""
    model.train()
    train_loss, correct, total = 0.0, 0, 0
    for batch_idx, (inputs, targets) in enumerate(loader):  # noqa: B007  (the course's loop, as written)
        inputs, targets = inputs.to(device), targets.to(device)
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = F.cross_entropy(outputs, targets)
        loss.backward()
        optimizer.step()
        train_loss += loss.item()
        correct += outputs.argmax(1).eq(targets).sum().item()
        total += targets.size(0)
    return total, train_loss / (batch_idx + 1), 100.0 * correct / total


def course_test(model, loader, device="cpu"):
    """The completed test(epoch), as a student writes it."""
    model.eval()
    test_loss, correct, total = 0.0, 0, 0
    with torch.no_grad():
        for inputs, targets in loader:
            inputs, targets = inputs.to(device), targets.to(device)
            outputs = model(inputs)
            test_loss += F.cross_entropy(outputs, targets, reduction="sum").item()
            correct += outputs.argmax(1).eq(targets).sum().item()
            total += targets.size(0)
    return test_loss / total, 100.0 * correct / total


def course_model_and_optimizer(lr, device="cpu"):
    torch.manual_seed(SEED)
    model = resnet20(seed=SEED).to(device)
    return model, torch.optim.SGD(model.parameters(), lr=lr, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY)


# --- the two loops, driven a chunk of batches at a time ------------------------------


def load(source: str, cache_dir: str):
    return cifar_data.load(source, cache_dir, download=False)


@dataclass
class EpochTally:
    """Running averages over the part of an epoch trained so far."""

    images: int = 0
    loss_sum: float = 0.0
    correct: float = 0.0

    def add(self, images: int, mean_loss: float, accuracy: float) -> None:
        self.images += images
        self.loss_sum += mean_loss * images
        self.correct += accuracy / 100 * images

    def result(self) -> tuple[float, float]:
        return self.loss_sum / self.images, 100 * self.correct / self.images


class ProjectLoop:
    """lab/exercises/cifar's training and evaluation functions, as train.py puts them together."""

    def __init__(self, data, setting: tuple[str, str, str | None]):
        precision, self.device, step = setting
        self.epoch = 0
        self.numerics = numerics.choose_numerics(precision, self.device)
        self.numerics.backend_flags(self.device).__enter__()  # for this process's life
        kind = steps.choose_step(self.device, step, self.numerics.grad_scaler)
        self.label = f"project ({self.numerics.label}, {kind})"
        params = {"seed": SEED, "momentum": MOMENTUM, "weight_decay": WEIGHT_DECAY}
        self.data = cifar.on_device(data, self.device)
        self.model, optimizer, scaler = cifar.build_training(params, self.numerics, self.device, lr=0.1)
        self.step = steps.make_step(kind, self.model, optimizer, scaler, self.numerics, self.device, BATCH)
        self.new_epoch()

    def new_epoch(self) -> None:
        self.epoch += 1
        self.generator = epochs.epoch_generator(SEED, self.epoch, self.device)
        self.order = torch.randperm(len(self.data.train_images), generator=self.generator, device=self.device)
        self.position, self.tally = 0, EpochTally()

    def set_lr(self, lr: float) -> None:
        self.step.set_lr(lr)

    def train(self, batches: int) -> int:
        chosen = self.order[self.position : self.position + batches * BATCH]
        self.position += len(chosen)
        loss, accuracy = epochs.train_one_epoch(
            self.step, self.data.train_images[chosen], self.data.train_labels[chosen], BATCH, self.generator
        )
        self.tally.add(len(chosen), loss, accuracy)
        return len(chosen)

    def prepare(self, images):
        return self.numerics.prepare(images, self.device)

    def numerics_autocast(self):
        return self.numerics.autocast(self.device)

    def test(self) -> tuple[float, float]:
        batch = evaluation.evaluation_batch_size(self.device, BATCH)
        loss, accuracy, _ = evaluation.evaluate(
            self.model, self.data.test_images, self.data.test_labels, batch, self.prepare, self.numerics_autocast
        )
        return loss, accuracy


class CourseLoop:
    """exp2.py's loop, from one DataLoader iterator per epoch."""

    def __init__(self, data, setting: tuple[int, str]):
        workers, self.device = setting
        self.label = f"course (PIL + DataLoader/{workers}, fp32)"
        self.model, self.optimizer = course_model_and_optimizer(0.1, self.device)
        self.train_loader, self.test_loader = course_loaders(data, workers)
        self.new_epoch()

    def new_epoch(self) -> None:
        self.batches, self.tally = iter(self.train_loader), EpochTally()

    def set_lr(self, lr: float) -> None:
        steps.set_lr(self.optimizer, lr)

    def train(self, batches: int) -> int:
        # lazily, so that loader workers prepare batches while the model trains
        images, loss, accuracy = course_train(
            self.model, self.optimizer, itertools.islice(self.batches, batches), self.device
        )
        self.tally.add(images, loss, accuracy)
        return images

    def test(self) -> tuple[float, float]:
        return course_test(self.model, self.test_loader, self.device)


def serve_loop(connection, kind: str, source: str, cache_dir: str, setting) -> None:
    """A worker process: build one loop, then do and time what the parent
    asks. The course loop's PIL decoding and augmentation count, as they do
    for a student."""
    started = time.perf_counter()
    loop = (ProjectLoop if kind == "project" else CourseLoop)(load(source, cache_dir), setting)
    finish_gpu_work(loop.device)
    connection.send((loop.label, time.perf_counter() - started))
    while (request := connection.recv()) is not None:
        command, value = request
        started = time.perf_counter()
        if command == "train":
            result = loop.train(value)
        elif command == "test":
            result = loop.test()
        elif command == "lr":
            result = loop.set_lr(value)
        elif command == "epoch":  # end of an epoch: its averages, then start the next
            result = loop.tally.result()
            loop.new_epoch()
        finish_gpu_work(loop.device)
        connection.send((result, time.perf_counter() - started))


def finish_gpu_work(device: str) -> None:
    """A GPU runs behind the host: a turn's time ends when its work is done."""
    if device == "cuda":
        torch.cuda.synchronize()


class LoopProcess:
    def __init__(self, kind: str, source: str, cache_dir: str, setting):
        context = multiprocessing.get_context("spawn")
        self.connection, child = context.Pipe()
        self.process = context.Process(
            target=serve_loop,  # not daemonic: DataLoader workers
            args=(child, kind, source, cache_dir, setting),
        )
        self.process.start()
        self.label, self.setup_seconds = self.connection.recv()
        self.train_seconds, self.train_images, self.test_seconds = 0.0, 0, []

    def ask(self, command: str, value=None):
        """(result, seconds) of one command in the worker."""
        self.connection.send((command, value))
        return self.connection.recv()

    def train(self, batches: int) -> float:
        """Seconds per image over `batches` batches; also added to the totals."""
        images, seconds = self.ask("train", batches)
        self.train_images += images
        self.train_seconds += seconds
        return seconds / images

    def test(self) -> tuple[float, float]:
        result, seconds = self.ask("test")
        self.test_seconds.append(seconds)
        return result

    def epoch_seconds(self) -> float:
        """A whole epoch at the measured speed: every training image, then a test pass."""
        return TRAIN_IMAGES * self.train_seconds / self.train_images + statistics.median(self.test_seconds)

    def close(self) -> None:
        self.connection.send(None)
        self.process.join()


@dataclass
class Loops:
    """The loops in one contest: the project's in fp32 and at its default numerics (the same
    process where they coincide), and the course's. Each comparison is (its title, a project loop)."""

    projects: list[LoopProcess]
    course: LoopProcess
    comparisons: list[tuple[str, LoopProcess]]

    @property
    def all(self) -> list[LoopProcess]:
        return [*self.projects, self.course]


def train_in_turns(loops: Loops, batches: int, chunk: int) -> dict[str, list[float]]:
    """Each loop trains `batches` batches, taking turns `chunk` at a time;
    each comparison's course/project speed ratio of every turn."""
    ratios: dict[str, list[float]] = {title: [] for title, _ in loops.comparisons}
    for start in range(0, batches, chunk):
        per_image = {loop: loop.train(min(chunk, batches - start)) for loop in loops.all}
        for title, project in loops.comparisons:
            ratios[title].append(per_image[loops.course] / per_image[project])
    return ratios


def report_speed(loops: Loops, ratios: dict[str, list[float]], chunk: int) -> None:
    for loop in loops.all:
        whole = loop.train_images >= TRAIN_IMAGES
        epoch = (
            "epoch (mean of whole epochs)"
            if whole
            else f"epoch (ESTIMATED: {loop.train_images // BATCH} batches scaled to {TRAIN_IMAGES} images)"
        )
        print(
            f"{loop.label:34} {1000 * BATCH * loop.train_seconds / loop.train_images:6.1f} ms/batch "
            f"over {loop.train_images // BATCH} batches, test pass "
            f"{statistics.median(loop.test_seconds):.1f} s, {epoch} {loop.epoch_seconds():.1f} s"
        )
    course = loops.course
    for title, ours in loops.comparisons:
        turns = ratios[title]
        training = (course.train_seconds / course.train_images) / (ours.train_seconds / ours.train_images)
        print(
            f"{title}: {ours.label} against {course.label}: speed-up training {training:.2f}x, "
            f"epoch (train + test) {course.epoch_seconds() / ours.epoch_seconds():.2f}x; per turn of {chunk} "
            f"batches: median {statistics.median(turns):.2f}x (min {min(turns):.2f}x, max {max(turns):.2f}x)",
            flush=True,
        )


SAME_PRECISION, DEFAULTS = "same precision (fp32 both)", "each loop's default numerics"


def start_loops(args) -> Loops:
    workers = course_workers(args)
    settings = {"fp32": ("fp32", args.device, args.step), "default": (args.precision, args.device, args.step)}
    coincide = same_numerics("fp32", args.precision, args.device)
    fp32 = LoopProcess("project", args.data, args.cache_dir, settings["fp32"])
    default = fp32 if coincide else LoopProcess("project", args.data, args.cache_dir, settings["default"])
    course = LoopProcess("course", args.data, args.cache_dir, (workers, args.device))
    if coincide:
        print(f"--precision {args.precision} here is fp32's numerics: one project loop serves both comparisons")
    projects = [fp32] if coincide else [fp32, default]
    for loop in projects:
        print(f"{loop.label} setup (data to the {args.device}, model, step): {loop.setup_seconds:.1f} s", flush=True)
    return Loops(projects, course, [(SAME_PRECISION, fp32), (DEFAULTS, default)])


def same_numerics(precision: str, other: str, device: str) -> bool:
    return numerics.choose_numerics(precision, device).label == numerics.choose_numerics(other, device).label


def course_workers(args) -> int:
    """--workers, or with auto the course loop's faster of two DataLoader worker counts here."""
    if args.workers != "auto":
        print(f"course DataLoader num_workers: {args.workers} (as given)")
        return int(args.workers)
    trials = {}
    for workers in (4, 8) if args.device == "cuda" else (0, 2):
        loop = LoopProcess("course", args.data, args.cache_dir, (workers, args.device))
        loop.ask("train", 3)  # the loader's start and the first batches
        trials[workers] = 1000 * BATCH * loop.train(WORKER_TRIAL_BATCHES)
        loop.close()
    best = min(trials, key=trials.get)
    print(
        "course DataLoader num_workers: "
        + ", ".join(f"{workers} -> {ms:.0f} ms/batch" for workers, ms in trials.items())
        + f" over {WORKER_TRIAL_BATCHES} batches; using {best}",
        flush=True,
    )
    return best


def quick(args) -> None:
    loops = start_loops(args)
    for loop in loops.all:  # first batches pay for oneDNN's kernel setup and the loader start
        loop.ask("train", 2)
    ratios = train_in_turns(loops, args.batches, args.chunk)
    for _ in range(args.test_passes):
        for loop in loops.all:
            loop.test()
    report_speed(loops, ratios, args.chunk)
    for loop in loops.all:
        loop.close()


def whole_epochs(args) -> None:
    """The course schedule (half the epochs at lr 0.1, half at 0.01) for both loops, in turns."""
    loops = start_loops(args)
    schedule = [0.1] * ((args.epochs + 1) // 2) + [0.01] * (args.epochs // 2)
    batches = -(-TRAIN_IMAGES // BATCH)
    ratios: dict[str, list[float]] = {title: [] for title, _ in loops.comparisons}
    for epoch, lr in enumerate(schedule, start=1):
        for loop in loops.all:
            loop.ask("lr", lr)
        for title, turns in train_in_turns(loops, batches, args.chunk).items():
            ratios[title] += turns
        for loop in loops.all:
            train_loss, train_acc = loop.ask("epoch")[0]
            test_loss, test_acc = loop.test()
            print(
                f"  {loop.label:34} epoch {epoch}/{args.epochs}  lr {lr:g}  train loss {train_loss:.3f} "
                f"acc {train_acc:.2f}%  test loss {test_loss:.3f} acc {test_acc:.2f}%",
                flush=True,
            )
    for loop in loops.all:
        seconds = loop.train_seconds + sum(loop.test_seconds)
        print(
            f"{loop.label}: {seconds:.1f} s for {args.epochs} epochs (train + test), "
            f"{seconds + loop.setup_seconds:.1f} s with its setup"
        )
    report_speed(loops, ratios, args.chunk)
    for loop in loops.all:
        loop.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", nargs="?", default=os.environ.get("LABREPORT_DATA", "data"))
    parser.add_argument(
        "--batches", type=int, default=0, help="quick mode: this many training batches per loop instead of whole epochs"
    )
    parser.add_argument(
        "--chunk", type=int, default=None, help="batches per turn (default: 10 on the CPU, a whole epoch on CUDA)"
    )
    parser.add_argument("--test-passes", type=int, default=2, help="quick mode: test passes per loop")
    parser.add_argument("--epochs", type=int, default=1, help="whole epochs (half at lr 0.1, half at 0.01)")
    parser.add_argument(
        "--precision",
        default="auto",
        choices=["auto", "fp32", "bf16"],
        help="the project's default numerics for the second comparison (the first is always fp32)",
    )
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument(
        "--step",
        default=None,
        choices=list(steps.STEP_KINDS),
        help="the project's training step on CUDA (default graph)",
    )
    parser.add_argument(
        "--workers",
        default="auto",
        help="course DataLoader num_workers (auto: the faster of 0 and 2 here, of 4 and 8 with --device cuda)",
    )
    parser.add_argument("--cache-dir", default=str(Path(tempfile.gettempdir()) / "labreport-bench-cache"))
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("error: --device cuda: no CUDA device is available here; use --device cpu")
    if args.chunk is None:
        args.chunk = -(-TRAIN_IMAGES // BATCH) if args.device == "cuda" else 10

    try:
        data = load(args.data, args.cache_dir)  # decode once here, so the workers hit the cache
    except UserError as error:
        raise SystemExit(f"error: {error}") from None
    print(f"CPU: {cpu_model()}, {os.cpu_count()} logical cores")
    if args.device == "cuda":
        print(f"GPU: {torch.cuda.get_device_name()}")
    print(
        f"data: {data.source} ({len(data.train_images)} train, {len(data.test_images)} test); "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    del data
    (quick if args.batches else whole_epochs)(args)


if __name__ == "__main__":
    main()
