"""Exercise 2's evaluation: the course's test pass, and what the report reads
after the last epoch (the confusion table and the misclassified images; facts.py
derives the per-class accuracy and the jumps at the phase boundaries)."""

import io
from contextlib import nullcontext

import numpy as np
import pandas as pd
import torch
from torch import nn

MISCLASSIFIED_LIMIT = 36


EVAL_BATCH_GPU = 2500  # a GPU (cuda, mps) evaluates the 10,000 test images in four batches


def evaluation_batch_size(device: str, batch_size: int) -> int:
    """The training batch on the CPU (its numbers stay as they were); large on a GPU."""
    return max(batch_size, EVAL_BATCH_GPU) if device in ("cuda", "mps") else batch_size


def evaluate(model, images, labels, batch_size, prepare, autocast=nullcontext, mirrored=False):
    """The course's test(epoch): eval mode, no gradients, count correct answers.
    With `mirrored`, each image's logits are averaged with its left-right
    mirror's (test-time flip: the training flips images, so both views are in
    the model's training distribution).

    Returns the mean cross-entropy per image, the accuracy in percent and the
    predicted class of every image (on the CPU). The sums stay on the
    images' device until the end: a GPU is read once per pass. The loss is
    summed in float64, one batch after another, as a Python float would.
    """
    model.eval()
    criterion = nn.CrossEntropyLoss(reduction="sum")
    test_loss, predictions = 0.0, []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            batch = images[start : start + batch_size]
            inputs = prepare(batch)
            targets = labels[start : start + batch_size].to(inputs.device)
            with autocast():
                outputs = model(inputs)
                if mirrored:  # flipped as uint8: a oneDNN tensor cannot be flipped
                    outputs = (outputs + model(prepare(batch.flip(3)))) / 2
            test_loss = test_loss + criterion(outputs.float(), targets).double()
            predictions.append(outputs.argmax(dim=1))
    predicted = torch.cat(predictions)
    correct = int((predicted == labels.to(predicted.device)).sum())
    return float(test_loss) / len(images), 100.0 * correct / len(images), predicted.cpu()


def confusion_table(labels, predictions, classes) -> pd.DataFrame:
    """Long format: one row per (true, predicted) pair, zeros included."""
    n = len(classes)
    counts = torch.bincount(labels * n + predictions, minlength=n * n).reshape(n, n)
    return pd.DataFrame(
        [(classes[t], classes[p], int(counts[t, p])) for t in range(n) for p in range(n)],
        columns=["true_class", "predicted_class", "count"],
    )


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
