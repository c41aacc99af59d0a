"""Training-time augmentation of whole batches (random crop with padding, flips), normalisation and subsets."""
from __future__ import annotations

import functools
from dataclasses import replace

import torch

from lab.core.errors import UserError
from lab.exercises.cifar.data.cache import CifarData
from lab.exercises.cifar.data.sources import CLASSES, MEAN, PAD, STD

# ------------------------------------------------------------ augmentation


def augment(
    images_uint8: torch.Tensor, generator: torch.Generator, draw_batch: int | None = None, pad: int = PAD
) -> torch.Tensor:
    """Random crop 32 from the zero-padded (`pad`, the course's 4) image plus random horizontal
    flip, per image, for uint8 images [N, 3, 32, 32] (a batch or a whole
    epoch, on any device); reproducible through `generator` (on the CPU or on
    the images' device).

    The random numbers are drawn `draw_batch` images at a time (all at once
    when None): an epoch augmented at once with draw_batch = the batch size
    gets exactly the images that augmenting it batch by batch gives."""
    count, device = images_uint8.shape[0], images_uint8.device
    step = draw_batch or count
    draws = [_crop_and_flip_draws(min(step, count - start), generator, pad) for start in range(0, count, step)]
    offsets = torch.cat([offsets for offsets, _ in draws], dim=1).to(device)
    flip = torch.cat([flip for _, flip in draws]).to(device)
    return shift_and_flip(images_uint8, offsets[0], offsets[1], flip, pad)


def _crop_and_flip_draws(count: int, generator: torch.Generator, pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Row and column offsets [2, count] in -pad..pad, then flips [count]: the order
    of the draws fixes the numbers, and CPU runs (and their resumption) depend on it."""
    offsets = torch.randint(-pad, pad + 1, (2, count), generator=generator, device=generator.device)
    flip = torch.randint(0, 2, (count,), generator=generator, device=generator.device) == 1
    return offsets, flip


def shift_and_flip(
    images: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor, flip: torch.Tensor, pad: int = PAD
) -> torch.Tensor:
    """out[b, :, i, j] = padded source at row i + dy[b], column j + dx[b]
    (zero outside the image), then mirrored left-right where flip[b].
    Offsets lie in -pad..pad; all zero and no flip is the identity."""
    count, channels, height, width = images.shape
    padded = torch.nn.functional.pad(images, (pad, pad, pad, pad))
    rows = torch.arange(height, device=images.device) + (dy[:, None] + pad)
    columns = torch.arange(width, device=images.device)
    # Flipping after the crop reads the crop's columns right to left.
    columns = torch.where(flip[:, None], width - 1 - columns, columns) + (dx[:, None] + pad)
    rows = rows[:, None, :, None].expand(count, channels, height, width + 2 * pad)
    cropped_rows = torch.gather(padded, 2, rows)
    columns = columns[:, None, None, :].expand(count, channels, height, width)
    return torch.gather(cropped_rows, 3, columns)


def normalize(images_uint8: torch.Tensor, dtype=torch.float32, channels_last: bool = False) -> torch.Tensor:
    """(x / 255 - MEAN) / STD per channel, computed in float32, returned as `dtype`."""
    mean, std = _channel_statistics(images_uint8.device)
    if channels_last:  # convert while still uint8: a quarter of the bytes to move
        images_uint8 = images_uint8.contiguous(memory_format=torch.channels_last)
    out = images_uint8.float().sub_(mean).div_(std).to(dtype)
    return out.contiguous(memory_format=torch.channels_last) if channels_last else out


@functools.cache
def _channel_statistics(device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """MEAN and STD * 255 as [1, 3, 1, 1] tensors, made once per device: a CUDA
    graph's capture may not copy from the host, as torch.tensor(..., device) does."""
    mean = torch.tensor(MEAN, device=device).view(1, 3, 1, 1) * 255
    std = torch.tensor(STD, device=device).view(1, 3, 1, 1) * 255
    return mean, std


# ------------------------------------------------------------------ subset


def subset(data: CifarData, train: int | None, test: int | None, seed: int) -> CifarData:
    """`train` / `test` images (None: all) chosen at random with `seed`, with
    equal shares per class as far as the counts allow."""
    generator = torch.Generator().manual_seed(seed)
    train_index = _stratified(data.train_labels, train, "train_subset", generator)
    test_index = _stratified(data.test_labels, test, "test_subset", generator)
    return replace(
        data,
        train_images=data.train_images[train_index], train_labels=data.train_labels[train_index],
        test_images=data.test_images[test_index], test_labels=data.test_labels[test_index],
    )


def _stratified(labels: torch.Tensor, count: int | None, key: str, generator: torch.Generator):
    """Indices of the chosen images (a whole slice when count is None)."""
    if count is None:
        return slice(None)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise UserError(f"cifar.{key} = {count!r} must be a positive whole number of images (or unset for all)")
    order = torch.randperm(len(labels), generator=generator)
    shuffled = labels[order]
    # Rank of each image within its class in the shuffled order; taking the
    # lowest ranks first deals the classes out round-robin.
    rank = torch.empty_like(order)
    for label in range(len(CLASSES)):
        positions = (shuffled == label).nonzero().squeeze(1)
        rank[positions] = torch.arange(len(positions))
    chosen = order[torch.argsort(rank, stable=True)[:count]]
    return chosen.sort().values
