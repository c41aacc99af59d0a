"""Exercise 2's evaluation: the course's test pass, and what the report reads
after the last epoch (confusion table, per-class accuracy, misclassified
images, accuracy jumps at the phase boundaries)."""

import io
from contextlib import nullcontext

import numpy as np
import pandas as pd
import torch
from torch import nn

MISCLASSIFIED_LIMIT = 36


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
