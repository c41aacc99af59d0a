"""2A's proof, the part that runs: the course-style test(epoch) of lab.exercises.cifar.course
on the final checkpoint, over the run's test images through a DataLoader.

The model is wrapped so that each batch is computed in the numerics the run used (bf16 on
oneDNN tensors, say); the course's function itself is unchanged.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from lab.core import devices
from lab.core.store import CHECKPOINT
from lab.exercises.cifar import course
from lab.exercises.cifar import data as cifar_data
from lab.exercises.cifar.crosscheck import CrossCheck, last_epoch_accuracy
from lab.exercises.cifar.model import resnet20
from lab.exercises.cifar.numerics import Numerics, choose_numerics


class TestImages(Dataset):
    """uint8 test images (N, 3, 32, 32) through the course's transform_test."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, transform):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index):
        return self.transform(self.images[index].permute(1, 2, 0).numpy()), int(self.labels[index])


class AsTrained(nn.Module):
    """The model computing each batch in the run's numerics (layout, precision)."""

    def __init__(self, net: nn.Module, numerics: Numerics, device: str):
        super().__init__()
        self.net, self.numerics, self.device = net, numerics, device

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.numerics.layout == "onednn":
            x = x.to(torch.bfloat16).to_mkldnn()
        elif self.numerics.layout == "channels_last":
            x = x.contiguous(memory_format=torch.channels_last)
        with self.numerics.autocast(self.device):
            return self.net(x).float()


def test_images(params: dict, cache_dir: Path, data: str | None) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The run's test images and labels (its subset, if any), from the decoded cache or the source."""
    path = cifar_data.cache_path(cache_dir, params.get("data_fingerprint", ""))
    if path.is_file():
        cached = torch.load(path, weights_only=True, mmap=True)
        loaded = cifar_data.CifarData(
            cached["train_images"],
            cached["train_labels"],
            cached["test_images"],
            cached["test_labels"],
            cifar_data.CLASSES,
            params.get("data_fingerprint", ""),
            str(path),
        )
    elif data is not None:
        try:
            loaded = cifar_data.load(data, cache_dir, download=False)
        except Exception:  # no data here: the check says so instead
            return None
    else:
        return None
    if params.get("train_subset") is not None or params.get("test_subset") is not None:
        loaded = cifar_data.subset(loaded, params.get("train_subset"), params.get("test_subset"), params["seed"])
    return loaded.test_images, loaded.test_labels


def course_accuracy(state: dict, images, labels, numerics: Numerics, device: str, epoch: int) -> float:
    net = resnet20(len(cifar_data.CLASSES)).to(device)
    net.load_state_dict(state["model"])
    loader = DataLoader(TestImages(images, labels, course.transform_test), batch_size=128, shuffle=False)
    course.setup(AsTrained(net, numerics, device), (), loader, device)
    with contextlib.redirect_stdout(io.StringIO()):
        return float(course.test(epoch))


def cross_check(run, cache_dir: Path, data: str | None) -> CrossCheck:
    """Run course.test on `run`'s last checkpoint and set it beside the reported accuracy."""
    result = CrossCheck(*last_epoch_accuracy(run))
    checkpoint = Path(run.dir) / CHECKPOINT
    if not checkpoint.is_file():
        result.why = "no checkpoint"
        return result
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    if int(state.get("epoch", -1)) != result.epoch:
        result.why = f"the checkpoint is of epoch {state.get('epoch')}, not {result.epoch}"
        return result
    found = test_images(run.params, cache_dir, data)
    if found is None:
        result.why = "no CIFAR-10 test images here"
        return result
    device = devices.usable(run.record.get("device"))
    numerics = choose_numerics(run.params.get("precision", "auto"), device)
    result.same_numerics = numerics.label == state.get("numerics")
    result.images = len(found[0])
    result.course = course_accuracy(state, *found, numerics, device, result.epoch)
    return result
