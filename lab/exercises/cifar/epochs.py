"""Exercise 2's training epoch: the per-epoch random generator, and one pass of
shuffled, augmented minibatch SGD (the step itself, eager or a CUDA graph, is in
steps.py; the learning rate of each step, in lr_schedule.py)."""

import hashlib

import torch

from lab.exercises.cifar import data as cifar_data
from lab.exercises.cifar.data.sources import PAD


def epoch_generator(seed: int, epoch: int, device: str = "cpu") -> torch.Generator:
    """The generator for one epoch's shuffling and augmentation, on the data's device
    (the same seed gives other numbers on a GPU than on the CPU)."""
    digest = hashlib.sha256(f"cifar-epoch:{seed}:{epoch}".encode()).digest()
    return torch.Generator(device=device).manual_seed(int.from_bytes(digest[:8], "little") >> 1)


# --- one epoch of training -----------------------------------------------------


def train_one_epoch(step, images, labels, batch_size, generator, on_batch=lambda: None, crop_padding=PAD):
    """Shuffled, augmented minibatch SGD over `images` (uint8, on the
    generator's device): the whole epoch is shuffled and augmented at once,
    then `step` trains on it batch by batch.

    Returns the loss and accuracy (percent) averaged over every image of the
    epoch, measured in train mode while the weights change.
    """
    step.model.train()
    order = torch.randperm(len(images), generator=generator, device=generator.device)
    augmented = cifar_data.augment(images[order], generator, draw_batch=batch_size, pad=crop_padding)
    targets = labels[order]
    for start in range(0, len(order), batch_size):
        step(augmented[start : start + batch_size], targets[start : start + batch_size])
        on_batch()
    loss_sum, correct = step.totals()
    return loss_sum / len(images), 100.0 * correct / len(images)
