"""Exercise 2's training epoch: the learning-rate schedule, the per-epoch
random generator, and one pass of shuffled, augmented minibatch SGD."""

import hashlib

import torch
import torch.nn.functional as F

from lab.exercises.cifar import data as cifar_data


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
    model,
    optimizer,
    scaler,
    images,
    labels,
    batch_size,
    generator,
    prepare,
    autocast,
    on_batch=lambda: None,
    label_smoothing=0.0,
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
            loss = F.cross_entropy(outputs, targets, label_smoothing=label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        loss_sum += loss.detach() * len(batch)
        correct += (outputs.argmax(dim=1) == targets).sum()
        on_batch()
    return float(loss_sum) / len(images), 100.0 * int(correct) / len(images)
